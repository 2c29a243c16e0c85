"""`vv capture` and `python -m agent_dvr.agent_dvr` end to end (real RTSP camera, real ffmpeg)."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import repo_env
from vv_core.mediaprobe import probe_media


def capture_env(storage_root, tmp_path, camera_url, **extra):
    values = {"VIDEO_STORAGE_ROOT": str(storage_root), "DVR_CAMERAS_FILE": str(tmp_path / "none.yaml"),
              "DVR_DEFAULT_URL": camera_url, "DVR_SEGMENT_SECONDS": "2", "DVR_HTTP_PORT": "0",
              "DVR_MIN_FREE_MB": "0", **extra}
    return repo_env(**values)


@pytest.mark.slow
def test_vv_capture_records_then_prints_segments(rtsp_camera, storage_root, tmp_path):
    storage_root.joinpath("input").mkdir(exist_ok=True)
    result = subprocess.run([sys.executable, "-m", "vv_cli.main", "capture", "--camera", "dvr", "--no-http",
                             "--duration", "4"], capture_output=True, text=True,
                            env=capture_env(storage_root, tmp_path, rtsp_camera.url), timeout=60,
                            cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr
    written = [Path(line) for line in result.stdout.splitlines()]
    assert written and all(path.parent == storage_root / "input" / "dvr" for path in written)
    for path in written:
        assert probe_media(path).video_codec == "h264"
    assert (storage_root / "state" / "agent_dvr.sqlite3").exists()


def test_capture_cli_bad_cameras_file_is_one_line_exit_1(storage_root, tmp_path):
    bad = tmp_path / "cameras.yaml"
    bad.write_text("cameras:\n  - {name: a, url: rtsp://x, colour: red}\n")
    env = capture_env(storage_root, tmp_path, "rtsp://127.0.0.1:1/cam", DVR_CAMERAS_FILE=str(bad))
    result = subprocess.run([sys.executable, "-m", "agent_dvr.agent_dvr", "--camera", "a", "--no-http"],
                            capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "cameras.0.colour" in result.stderr and result.stdout == ""


def test_capture_refuses_a_missing_storage_root(tmp_path):
    env = capture_env(tmp_path / "absent", tmp_path, "rtsp://127.0.0.1:1/cam")
    result = subprocess.run([sys.executable, "-m", "agent_dvr.agent_dvr", "--no-http"], capture_output=True,
                            text=True, env=env, timeout=60, cwd=tmp_path, check=False)
    assert result.returncode == 1 and "vv bootstrap" in result.stderr


@pytest.mark.slow
def test_a_looping_file_camera_keeps_recording_past_the_end_of_its_file(storage_root, tmp_path):
    """`loop: true` (the demo's sample camera): a 2 s file recorded for 7 s gives segments for the
    whole 7 s as one stream; without it ffmpeg ends with the file every 2 s and each end is an outage.
    Each loop is new content (the time is drawn on it): a copied loop gives byte-identical segments,
    which the orchestrator (claims by sha256) sets aside as duplicates, so the demo went quiet."""
    storage_root.joinpath("input").mkdir(exist_ok=True)
    sample = tmp_path / "sample.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10",
                    "-t", "2", "-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p", str(sample)],
                   check=True, timeout=60)
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(f"cameras:\n  - name: demo\n    url: {sample}\n    loop: true\n")
    result = subprocess.run([sys.executable, "-m", "vv_cli.main", "capture", "--no-http", "--duration", "7"],
                            capture_output=True, text=True, timeout=90, cwd=tmp_path, check=False,
                            env=capture_env(storage_root, tmp_path, "unused", DVR_CAMERAS_FILE=str(cameras)))
    assert result.returncode == 0, result.stderr
    written = [Path(line) for line in result.stdout.splitlines()]
    recorded = sum(probe_media(path).duration_s or 0 for path in written)
    assert recorded >= 4.5, (written, recorded)
    assert "camera outage" not in result.stderr and "ffmpeg ended" not in result.stderr
    hashes = [hashlib.sha256(path.read_bytes()).hexdigest() for path in written]
    assert len(written) >= 3 and len(set(hashes)) == len(hashes), hashes
    assert all(probe_media(path).video_codec == "h264" for path in written)
