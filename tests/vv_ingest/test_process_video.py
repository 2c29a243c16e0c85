import json
import logging
import shutil
import subprocess
import sys

import pytest

from vv_core.mediaprobe import probe_media
from vv_ingest import transcode
from vv_ingest.process_video import expand_inputs, process_videos, verify_output

pytestmark = pytest.mark.slow


def top_level_atoms(path):
    data, atoms, offset = path.read_bytes(), [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset:offset + 4], "big")
        atoms.append(data[offset + 4:offset + 8].decode("latin-1"))
        if size < 8:
            break
        offset += size
    return atoms


def mean_volume_db(path):
    done = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af", "volumedetect", "-f",
                           "null", "-"], capture_output=True, text=True, check=True)
    line = next(line for line in done.stderr.splitlines() if "mean_volume" in line)
    return float(line.split("mean_volume:")[1].split("dB")[0])


def test_standardizes_real_videos_and_quarantines_broken_ones(ingest_settings, small_config, inbox, caplog,
                                                              monkeypatch):
    monkeypatch.setattr("vv_core.progress.INTERVAL_S", 0)    # every ffmpeg progress report becomes a line
    caplog.set_level(logging.INFO, logger="vv.progress")
    report = process_videos([inbox], ingest_settings, small_config, tags=["demo"])
    progress_seen: dict[str, list] = {}
    for record in caplog.records:
        if record.name == "vv.progress":
            progress_seen.setdefault(record.task, []).append(record)
    library = ingest_settings.storage.tv_curado / "library"
    assert sorted(p.name for p in report.written) == ["bigbuckbunny.mp4", "bikes.mp4", "tone_clip.mp4"]
    for video in report.written:
        info = probe_media(video)
        assert (info.video_codec, info.video_profile, info.width, info.height) == ("h264", "High", 320, 180)
        assert info.audio_codec == "aac" and abs(info.fps - 15) < 0.01
        atoms = top_level_atoms(video)
        assert atoms.index("moov") < atoms.index("mdat")            # +faststart
        assert video.with_suffix(".jpg").read_bytes()[:2] == b"\xff\xd8"
        meta = json.loads(video.with_suffix(".meta.json").read_text())
        assert meta["tags"] == ["demo"] and meta["title"]
        # Off a terminal: JSON progress lines in seconds of video, done rising to the total, then finished.
        lines = next(v for k, v in progress_seen.items() if k.rsplit(".", 1)[0] == f"ingest {video.stem}")
        done = [line.done for line in lines]
        assert len(lines) >= 2 and done == sorted(done) and lines[0].unit == "s"
        assert lines[-1].finished is True and done[-1] == lines[-1].total > 0 and lines[-1].percent == 100
    assert 9.5 <= probe_media(library / "bikes.mp4").duration_s <= 10.5
    # Loudness: the tone is normalized (clearly audible); bikes had no audio and gets a silent track.
    assert mean_volume_db(library / "tone_clip.mp4") > -40
    assert mean_volume_db(library / "bikes.mp4") < -80
    # Broken inputs are moved to the quarantine with their reason; nothing half-written is left.
    quarantine = ingest_settings.storage.corrupted / "ingest"
    assert sorted(p.name for p in report.quarantined) == ["empty.mp4", "notes.mp4", "truncated.mp4"]
    for bad in report.quarantined:
        error = json.loads((quarantine / f"{bad.name}.error.json").read_text())
        assert error["stage"] == "vv_ingest.process_video" and error["reason"]
        assert not (inbox / bad.name).exists()
    assert "moov atom not found" in json.loads((quarantine / "truncated.mp4.error.json").read_text())["reason"]
    assert not [p for p in library.iterdir() if p.name.startswith(".")]


def test_silent_mode_replaces_the_audio(ingest_settings, small_config, made_clips, tmp_path):
    config = small_config.model_copy(update={"target": small_config.target.model_copy(update={"audio": "silent"})})
    source = tmp_path / "tone.mkv"
    shutil.copyfile(made_clips["tone"], source)
    [video] = process_videos([source], ingest_settings, config, output_dir=tmp_path / "lib").written
    assert probe_media(video).audio_codec == "aac" and mean_volume_db(video) < -80


def test_a_failing_transcode_is_quarantined_with_ffmpeg_reason(ingest_settings, small_config, made_clips,
                                                                 tmp_path, monkeypatch):
    source = tmp_path / "plain.mp4"
    shutil.copyfile(made_clips["plain"], source)
    monkeypatch.setattr(transcode, "FFMPEG", "false")
    report = process_videos([source], ingest_settings, small_config)
    assert report.written == [] and [p.name for p in report.quarantined] == ["plain.mp4"]
    error = json.loads((ingest_settings.storage.corrupted / "ingest" / "plain.mp4.error.json").read_text())
    assert error["reason"] == "ffmpeg failed: exit 1"
    # A second bad file with the same name does not overwrite the first quarantined one.
    shutil.copyfile(made_clips["empty"], source)
    report = process_videos([source], ingest_settings, small_config)
    assert [p.name for p in report.quarantined] == ["plain-1.mp4"]


def test_verify_output_names_what_is_wrong(media_dir, small_config):
    with pytest.raises(transcode.TranscodeError, match=r"size 1280x720.*audio aac|video h264/Main"):
        verify_output(media_dir / "bigbuckbunny.mp4", small_config.target)


def test_missing_input_is_an_error(ingest_settings, small_config, tmp_path):
    from vv_core.errors import VVError

    with pytest.raises(VVError, match="no such file"):
        process_videos([tmp_path / "absent.mp4"], ingest_settings, small_config)
    assert expand_inputs([tmp_path]) == []


def test_vv_ingest_process_cli(cli_env, storage_root, made_clips, tmp_path):
    good, bad = tmp_path / "good.mkv", tmp_path / "bad.mp4"
    shutil.copyfile(made_clips["tone"], good)
    shutil.copyfile(made_clips["text"], bad)
    env = dict(cli_env, INGEST_CONFIG_FILE=str(tmp_path / "ingest.yaml"))
    (tmp_path / "ingest.yaml").write_text("target: {width: 320, height: 180, fps: 10, preset: superfast}\n")
    result = subprocess.run([sys.executable, "-m", "vv_cli.main", "ingest", "process", str(good), str(bad),
                             "--tag", "tone", "--title", "A tone"], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=120, check=False)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [str(storage_root / "tv_curado" / "library" / "good.mp4")]
    assert result.stderr.strip().splitlines()[-1].startswith("error: 1 input(s) quarantined")
    progress = [json.loads(line) for line in result.stderr.splitlines() if '"message": "progress"' in line]
    assert {p["task"] for p in progress} == {"ingest good.mkv"}     # the unreadable input never started
    assert progress[-1]["finished"] is True and progress[-1]["percent"] == 100.0
    meta = json.loads((storage_root / "tv_curado" / "library" / "good.meta.json").read_text())
    assert meta["title"] == "A tone" and meta["tags"] == ["tone"]
    # Bad config: one line naming the key, exit 1.
    (tmp_path / "ingest.yaml").write_text("target: {widht: 320}\n")
    result = subprocess.run([sys.executable, "-m", "vv_ingest.process_video", str(good)], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=60, check=False)
    assert result.returncode == 1 and "target.widht" in result.stderr
