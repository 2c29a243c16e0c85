"""Fixtures for agent_dvr: a real RTSP camera on loopback, a real alert webhook, fast settings."""

import shutil
from pathlib import Path

import pytest

from tests.agent_dvr.support import AlertWebhook, RtspCamera, free_port, gst_rtsp_available
from vv_cli.settings import Settings


@pytest.fixture
def rtsp_camera():
    if not gst_rtsp_available():
        pytest.fail("GStreamer RTSP server missing: apt-get install gir1.2-gst-rtsp-server-1.0 python3-gi "
                    "gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly")
    camera = RtspCamera(free_port()).start()
    try:
        yield camera
    finally:
        camera.kill()


@pytest.fixture
def webhook():
    hook = AlertWebhook()
    try:
        yield hook
    finally:
        hook.close()


@pytest.fixture
def dvr_settings(settings: Settings, rtsp_camera: RtspCamera, webhook: AlertWebhook, tmp_path: Path) -> Settings:
    """Short segments and timeouts so a whole outage story fits in seconds."""
    settings.storage.ensure()
    return settings.model_copy(update={
        "dvr_cameras_file": tmp_path / "no-cameras.yaml",   # → the default camera "dvr"
        "dvr_default_url": rtsp_camera.url,
        "dvr_segment_seconds": 2.0,
        "dvr_stall_timeout_s": 3.0,
        "dvr_backoff_initial_s": 0.5,
        "dvr_backoff_max_s": 2.0,
        "dvr_outage_alert_after_s": 1.0,
        "dvr_min_free_mb": 0,
        "dvr_snapshot_interval_s": 1.0,
        "dvr_http_port": 0,
        "alert_webhook_url": webhook.url,
    })


@pytest.fixture(scope="session")
def sample_clip(tmp_path_factory) -> Path:
    """A 2 s H.264 mp4 made by ffmpeg (what a closed segment looks like)."""
    import subprocess

    path = tmp_path_factory.mktemp("clips") / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=2",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)], check=True)
    assert shutil.which("ffprobe")
    return path
