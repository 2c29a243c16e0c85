import pytest

from agent_dvr.agent_dvr import select_cameras
from agent_dvr.config import CameraConfigError, load_cameras, parse_cameras_file
from tests.helpers import REPO_ROOT


def write(tmp_path, text):
    path = tmp_path / "cameras.yaml"
    path.write_text(text)
    return path


def test_repository_cameras_yaml_parses(settings):
    cameras = parse_cameras_file(REPO_ROOT / "agent_dvr" / "cameras.yaml").cameras
    assert [camera.name for camera in cameras] == ["dvr"]
    assert cameras[0].resolved_url(settings) == "rtsp://127.0.0.1:554/stream1"


def test_cameras_file_with_placeholder_and_transport(settings, tmp_path):
    path = write(tmp_path, """
cameras:
  - {name: gate, url: "rtsp://{dvr_ip}:8554/gate", rtsp_transport: udp}
  - {name: yard, url: "http://{dvr_ip}/yard.mjpg"}
  - {name: spare, url: "rtsp://x/spare", enabled: false}
""")
    local = settings.model_copy(update={"dvr_cameras_file": path, "dvr_ip": "10.0.0.9"})
    cameras = load_cameras(local)
    assert [c.name for c in cameras] == ["gate", "yard"]
    assert cameras[0].resolved_url(local) == "rtsp://10.0.0.9:8554/gate"
    assert cameras[0].transport(local) == "udp" and cameras[1].transport(local) == "tcp"
    assert [c.name for c in select_cameras(local, ["yard"])] == ["yard"]
    with pytest.raises(CameraConfigError, match="unknown camera"):
        select_cameras(local, ["nope"])


def test_missing_file_records_the_default_dvr_camera(settings, tmp_path):
    local = settings.model_copy(update={"dvr_cameras_file": tmp_path / "absent.yaml", "dvr_ip": "192.168.1.5"})
    [camera] = load_cameras(local)
    assert camera.name == "dvr"
    assert camera.resolved_url(local) == "rtsp://192.168.1.5:554/stream1"


@pytest.mark.parametrize(("text", "message"), [
    ("cameras:\n  - {name: a, url: rtsp://x, fps: 5}\n", "cameras.0.fps"),
    ("camera: []\n", "camera: unknown key"),
    ("cameras:\n  - {name: a, url: rtsp://x}\n  - {name: a, url: rtsp://y}\n", "duplicate camera name"),
    ("cameras:\n  - {name: ../up, url: rtsp://x}\n", "cameras.0.name"),
    ("cameras: [\n", "not valid YAML"),
    ("cameras:\n  - {name: a, url: rtsp://x, enabled: false}\n", "no enabled camera"),
])
def test_bad_cameras_file_is_a_clear_error_naming_the_key(settings, tmp_path, text, message):
    local = settings.model_copy(update={"dvr_cameras_file": write(tmp_path, text)})
    with pytest.raises(CameraConfigError, match=message):
        load_cameras(local)
