import pytest

from vv_core.naming import artifact_id, camera_of, recorded_at_from_name, sanitize_id


def test_camera_segment_gets_camera_prefixed_id_stable_across_dirs(tmp_path):
    root = tmp_path / "storage"
    incoming = root / "input" / "cam1" / "20261121T101500Z.mp4"
    done = root / "processed" / "cam1" / "20261121T101500Z.mp4"
    assert artifact_id(incoming, root) == artifact_id(done, root) == "cam1_20261121T101500Z"
    assert camera_of(incoming, root) == "cam1"
    assert artifact_id(incoming) == "cam1_20261121T101500Z"  # found without the root too


def test_flat_or_foreign_videos_use_their_stem(tmp_path):
    root = tmp_path / "storage"
    assert artifact_id(root / "input" / "clip.final.mp4", root) == "clip"
    assert camera_of(root / "input" / "clip.mp4", root) is None
    assert artifact_id(tmp_path / "elsewhere" / "bikes.mp4", root) == "bikes"
    assert camera_of(tmp_path / "elsewhere" / "x" / "bikes.mp4", root) is None
    assert camera_of("/nowhere/bikes.mp4") is None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("cam 1/../x", "cam_1_.._x"), ("...", "video"), ("ok-id_1.2", "ok-id_1.2"), ("é" * 3, "video")],
)
def test_sanitize_id(raw, clean):
    assert sanitize_id(raw) == clean


def test_recorded_at_from_segment_name():
    assert recorded_at_from_name("input/cam1/20261121T101500Z.mp4") == "2026-11-21T10:15:00Z"
    assert recorded_at_from_name("input/cam1/20261399T101500Z.mp4") is None
    assert recorded_at_from_name("bikes.mp4") is None
