"""state/media/<sha256>.json: where the orchestrator placed a video, read by the scheduler."""

import hashlib
import json
import os

import pytest

from vv_core.placement import placement_file, read_placement, still_placed, write_placement

SHA = hashlib.sha256(b"video").hexdigest()


def test_written_record_round_trips_and_proves_the_file_by_one_stat(tmp_path):
    video = tmp_path / "processed/cam1/a.mp4"
    video.parent.mkdir(parents=True)
    video.write_bytes(b"video")
    placed = write_placement(tmp_path / "state", tmp_path, "processed/cam1/a.mp4", SHA)
    assert read_placement(tmp_path / "state", SHA) == placed
    assert still_placed(placed, tmp_path)
    video.write_bytes(b"VIDEO")                                   # same size, new mtime
    os.utime(video, ns=(placed.mtime_ns + 1_000_000, placed.mtime_ns + 1_000_000))
    assert not still_placed(placed, tmp_path)
    video.unlink()
    assert not still_placed(placed, tmp_path)


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "processed/../../x", "", "a//b", "a\\b"])
def test_records_pointing_outside_the_root_are_refused(tmp_path, path):
    target = placement_file(tmp_path, SHA)
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps({"format": "vv.media-placement/1", "sha256": SHA, "path": path,
                                  "size": 1, "mtime_ns": 1}))
    assert read_placement(tmp_path, SHA) is None
    with pytest.raises(ValueError):
        write_placement(tmp_path, tmp_path, path, SHA)


def test_a_record_of_another_video_or_format_is_refused(tmp_path):
    target = placement_file(tmp_path, SHA)
    target.parent.mkdir(parents=True)
    good = {"format": "vv.media-placement/1", "sha256": SHA, "path": "processed/a.mp4", "size": 1, "mtime_ns": 1}
    for bad in ({**good, "sha256": "0" * 64}, {**good, "format": "other"}, {**good, "size": "1"}, [good]):
        target.write_text(json.dumps(bad))
        assert read_placement(tmp_path, SHA) is None
    target.write_text("{not json")
    assert read_placement(tmp_path, SHA) is None
    with pytest.raises(ValueError):
        placement_file(tmp_path, "../x")
