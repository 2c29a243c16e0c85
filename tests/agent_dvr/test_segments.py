import json
import shutil

from agent_dvr.segments import StagingTracker, copy_to_raw, publish_part, segment_name

T0 = 1_795_000_000.0  # 2026-11-18T...Z


def test_valid_part_is_published_under_its_utc_start_time(tmp_path, sample_clip):
    staging = tmp_path / "input" / "cam" / ".staging"
    staging.mkdir(parents=True)
    part = staging / "seg000000.mp4.part"
    shutil.copyfile(sample_clip, part)
    segment = publish_part(part, tmp_path / "input" / "cam", tmp_path / "corrupted" / "cam", T0,
                           raw_dir=tmp_path / "raw" / "cam")
    assert segment.path == tmp_path / "input" / "cam" / f"{segment_name(T0)}.mp4"
    assert segment_name(T0).endswith("Z") and len(segment_name(T0)) == 16
    assert 1.9 <= segment.duration_s <= 2.1 and not part.exists()
    assert (tmp_path / "raw" / "cam" / segment.path.name).read_bytes() == segment.path.read_bytes()
    # A second segment started in the same second never overwrites the first.
    shutil.copyfile(sample_clip, part)
    again = publish_part(part, tmp_path / "input" / "cam", tmp_path / "corrupted" / "cam", T0)
    assert again.path.name == f"{segment_name(T0)}-1.mp4"


def test_empty_part_is_dropped_and_truncated_part_quarantined_with_reason(tmp_path, sample_clip):
    staging = tmp_path / "staging"
    staging.mkdir()
    empty = staging / "seg000001.mp4.part"
    empty.touch()
    assert publish_part(empty, tmp_path / "in", tmp_path / "bad", T0) is None
    assert not empty.exists() and not (tmp_path / "bad").exists()

    truncated = staging / "seg000002.mp4.part"
    truncated.write_bytes(sample_clip.read_bytes()[:1500])
    assert publish_part(truncated, tmp_path / "in", tmp_path / "bad", T0) is None
    [quarantined] = sorted((tmp_path / "bad").glob("*.mp4"))
    error = json.loads((tmp_path / "bad" / f"{quarantined.name}.error.json").read_text())
    assert error["stage"] == "agent_dvr" and "not readable as media" in error["reason"]
    assert not list((tmp_path / "in").glob("*.mp4")) if (tmp_path / "in").exists() else True


def test_copy_to_raw_falls_back_to_a_copy_across_filesystems(tmp_path, sample_clip, monkeypatch):
    import os

    def no_links(*_args):
        raise OSError("cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    target = copy_to_raw(sample_clip, tmp_path / "raw")
    assert target.read_bytes() == sample_clip.read_bytes()


def test_tracker_reads_only_whole_lines_and_anchors_names_on_stream_time(tmp_path):
    tracker = StagingTracker(tmp_path, launched_at=T0)
    assert tracker.closed_parts(T0) == []
    (tmp_path / "seg000000.mp4.part").touch()
    tracker.observe(T0 + 0.5)
    listing = tmp_path / "segments.csv"
    # Segment 0 (stream 0–3 s) is listed at T0+4: the stream's zero was at most at T0+1.
    listing.write_text("seg000000.mp4.part,0.000000,3.000000\nseg0000")
    assert [p.name for p in tracker.closed_parts(T0 + 4)] == ["seg000000.mp4.part"]
    assert tracker.started_ts(tmp_path / "seg000000.mp4.part", T0 + 4) == T0 + 1
    # Segment 1 was listed with less delay: the anchor tightens to T0+0.8.
    with listing.open("a") as handle:
        handle.write("01.mp4.part,3.000000,5.000000\n")
    assert [p.name for p in tracker.closed_parts(T0 + 5.8)] == ["seg000001.mp4.part"]
    assert tracker.started_ts(tmp_path / "seg000001.mp4.part", T0 + 6) == T0 + 0.8 + 3
    # The anchor never goes before ffmpeg was launched.
    with listing.open("a") as handle:
        handle.write("seg000002.mp4.part,5.000000,7.000000\nbroken.part,x\n\n")
    closed = tracker.closed_parts(T0 + 6.5)
    assert [p.name for p in closed] == ["seg000002.mp4.part", "broken.part"]
    assert tracker.started_ts(tmp_path / "seg000002.mp4.part", T0 + 7) == T0 + 5
    # Not in the list: when it first appeared, else its mtime, else now.
    (tmp_path / "seg000009.mp4.part").touch()
    tracker.observe(T0 + 9)
    assert tracker.started_ts(tmp_path / "seg000009.mp4.part", T0 + 20) == T0 + 9
    assert tracker.started_ts(tmp_path / "seg000009.mp4.part", T0) > T0 + 1000
    assert tracker.started_ts(tmp_path / "gone.part", T0) == T0
    tracker.reset()
    assert not listing.exists()
