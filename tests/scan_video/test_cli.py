"""The command contract end to end: `python -m scan_video.scan_video`, the file form, and `vv scan`."""

import json
import shutil
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT, repo_env
from tests.scan_video import media

pytestmark = pytest.mark.slow


def cli_env(storage_root, models_dir, **extra):
    return repo_env(VIDEO_STORAGE_ROOT=str(storage_root), MODELS_DIR=str(models_dir),
                    SCAN_DETECTOR_MODEL=media.EXPORTED_FP32, **extra)


def under_input(storage_root, clip):
    """The stage-input rule: a video the stage commands take lies inside the storage root."""
    video = storage_root / "input" / clip.name
    video.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(clip, video)
    return video


def test_scan_cli_writes_the_analytic_and_prints_its_path(tmp_path, people_clip, models_dir):
    storage = tmp_path / "storage"
    video = storage / "input" / "cam1" / "20261121T101500Z.mp4"
    video.parent.mkdir(parents=True)
    shutil.copyfile(people_clip, video)
    done = subprocess.run([sys.executable, "-m", "scan_video.scan_video", str(video)], cwd=tmp_path,
                          env=cli_env(storage, models_dir, SCAN_INTERVAL_S="1.5"), capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    expected = storage / "analytic" / "cam1_20261121T101500Z.analytic.json"
    assert done.stdout.strip() == str(expected)
    analytic = json.loads(expected.read_text())
    assert analytic["camera"] == "cam1" and analytic["recorded_at"] == "2026-11-21T10:15:00Z"
    persons = [d for d in analytic["detections"] if d["label"] == "person"]
    assert persons and all(d["timestamp_utc"].startswith("2026-11-21T10:15:0") for d in persons)
    logs = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]  # JSON logs on stderr
    assert any(entry["message"] == "scan written" and entry["video_id"] == "cam1_20261121T101500Z" for entry in logs)


def test_vv_scan_bad_input_is_one_line_exit_1(tmp_path, models_dir):
    fake = tmp_path / "broken.mp4"
    fake.write_bytes(b"\0" * 1000)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "vv_cli.main", "scan", str(fake), "--output-dir", str(out),
                           "--id", "x1"], cwd=tmp_path, env=cli_env(tmp_path, models_dir), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert done.stdout == "" and done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: broken.mp4: not a readable video")
    assert not out.exists()


def test_script_file_form_runs_with_an_explicit_id(tmp_path, static_clip, models_dir):
    out = tmp_path / "out"
    video = under_input(tmp_path, static_clip)
    done = subprocess.run([sys.executable, str(REPO_ROOT / "scan_video" / "scan_video.py"), str(video),
                           "--output-dir", str(out), "--id", "static-1"], cwd=tmp_path,
                          env=cli_env(tmp_path, models_dir, SCAN_FACE_ENGINE="disabled", LOG_LEVEL="WARNING",
                                      SCAN_INTERVAL_S="4"),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out / "static-1.analytic.json")
    assert json.loads((out / "static-1.analytic.json").read_text())["faces"]["engine"] == "disabled"


def test_onnxruntime_scan_never_imports_torch(tmp_path, static_clip, models_dir):
    """The slim image has no torch: the onnxruntime path must not need it (imports stay lazy)."""
    code = ("import sys\n"
            "for name in ('torch', 'torchvision', 'ultralytics'):\n"
            "    sys.modules[name] = None  # any import of these now raises ImportError\n"
            "from scan_video.scan_video import main\n"
            f"main([{str(under_input(tmp_path, static_clip))!r}, '--output-dir', {str(tmp_path / 'out')!r}])\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path,
                          env=cli_env(tmp_path, models_dir, SCAN_INTERVAL_S="6", LOG_LEVEL="WARNING"),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "out" / "static_12s.analytic.json")


def test_several_videos_load_the_models_once_and_a_bad_one_stops_nothing(tmp_path, people_clip, static_clip,
                                                                         models_dir):
    """`vv scan A B C`: one model load; the bad middle video gets its own error line, A and C are written."""
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\0" * 1000)
    out = tmp_path / "out"
    people_clip, static_clip = under_input(tmp_path, people_clip), under_input(tmp_path, static_clip)
    done = subprocess.run([sys.executable, "-m", "vv_cli.main", "scan", str(people_clip), str(bad), str(static_clip),
                           "--output-dir", str(out), "--id", "first", "--id", "broken", "--id", "last"],
                          cwd=tmp_path, env=cli_env(tmp_path, models_dir, SCAN_INTERVAL_S="3"),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [str(out / "first.analytic.json"), str(out / "last.analytic.json")]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {bad}: broken.mp4: not a readable video")
    assert not (out / "broken.analytic.json").exists()
    first = json.loads((out / "first.analytic.json").read_text())
    last = json.loads((out / "last.analytic.json").read_text())
    assert any(d["label"] == "person" for d in first["detections"])
    assert last["video"]["duration_s"] == pytest.approx(12, abs=0.1) and last["source"] == str(static_clip)
    # one engine served both: the same load, its measured time equal to the last digit
    assert last["timings"]["model_load_ms"] == first["timings"]["model_load_ms"] > 0


def test_ids_must_match_the_videos_one_to_one(tmp_path, static_clip, models_dir):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "vv_cli.main", "scan", str(static_clip), str(static_clip),
                           "--output-dir", str(out), "--id", "only-one"], cwd=tmp_path,
                          env=cli_env(tmp_path, models_dir), capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 1
    assert done.stdout == "" and done.stderr == "error: 1 --id values for 2 videos\n"
    assert not out.exists()


def test_a_scan_writes_nothing_under_home(tmp_path, static_clip, models_dir):
    """Issue 23: onnxruntime wrote a telemetry device id under $HOME/.cache (and would send usage
    telemetry); every write must stay inside the storage root or the image."""
    home = tmp_path / "home"
    home.mkdir()
    out = tmp_path / "out"
    env = cli_env(tmp_path, models_dir, HOME=str(home), SCAN_FACE_ENGINE="disabled", SCAN_INTERVAL_S="4")
    for name in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "ORT_DISABLE_TELEMETRY"):
        env.pop(name, None)
    video = under_input(tmp_path, static_clip)
    done = subprocess.run([sys.executable, "-m", "vv_cli.main", "scan", str(video), "--output-dir", str(out),
                           "--id", "home-1"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == []


def test_scan_off_a_terminal_logs_its_progress_as_json(tmp_path, people_clip, models_dir):
    storage = tmp_path / "storage"
    video = storage / "input" / "cam1" / "clip.mp4"
    video.parent.mkdir(parents=True)
    shutil.copyfile(people_clip, video)
    done = subprocess.run([sys.executable, "-m", "vv_cli.main", "scan", str(video)], cwd=REPO_ROOT,
                          env=cli_env(storage, models_dir), capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    logs = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    final = [e for e in logs if e["message"] == "progress" and e.get("finished")]
    assert len(final) == 1 and final[0]["task"] == "scan clip.mp4" and final[0]["unit"] == "s"
    assert final[0]["percent"] >= 80 and final[0]["total"] > 0


def test_a_video_outside_the_storage_root_is_refused_by_the_first_stage(tmp_path, static_clip, models_dir):
    """The one rule of stage inputs: `vv scan` refuses what `vv logline` would refuse later, and says why."""
    storage = tmp_path / "storage"
    storage.mkdir()
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "vv_cli.main", "scan", str(static_clip), "--output-dir", str(out)],
                          cwd=tmp_path, env=cli_env(storage, models_dir), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 1 and done.stdout == "" and done.stderr.count("\n") == 1
    assert done.stderr == (f"error: video {static_clip} is outside the storage root {storage}: stage inputs must be "
                           "inside the storage root (VIDEO_STORAGE_ROOT), e.g. under input/\n")
    assert not out.exists()
    # `..` cannot walk out of the root either
    sneaky = storage / "input" / ".." / ".." / ".." / static_clip.relative_to(tmp_path.parent)
    done = subprocess.run([sys.executable, "-m", "scan_video.scan_video", str(sneaky), "--output-dir", str(out)],
                          cwd=tmp_path, env=cli_env(storage, models_dir), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 1 and "is outside the storage root" in done.stderr and not out.exists()


def test_a_batch_refuses_only_its_videos_outside_the_root(tmp_path, static_clip, models_dir):
    storage = tmp_path / "storage"
    inside = under_input(storage, static_clip)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "vv_cli.main", "scan", str(static_clip), str(inside),
                           "--output-dir", str(out), "--id", "outside", "--id", "inside"],
                          cwd=tmp_path, env=cli_env(storage, models_dir, SCAN_INTERVAL_S="6", LOG_LEVEL="WARNING",
                                                    SCAN_FACE_ENGINE="disabled"),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [str(out / "inside.analytic.json")]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {static_clip}: video {static_clip} is outside the storage root {storage}: "
                      "stage inputs must be inside the storage root (VIDEO_STORAGE_ROOT), e.g. under input/"]
