"""TrackLinker and the event rules on hand-made boxes (ByteTrack itself is real, nothing is faked)."""

import pytest

from scan_video.config import ScanConfig, parse_scores
from scan_video.errors import ScanError
from scan_video.events import EventPolicy, build_events, distinct_counts, event_label, fall_evidence, is_confirmed
from scan_video.tracking import FrameDetection, Observation, Track, TrackLinker

W, H = 1280, 720


def linker(**kwargs) -> TrackLinker:
    values = {"min_score": {}, "default_min_score": 0.5, "person_labels": {"person", "person_fallen"},
              "max_gap_samples": 3} | kwargs
    return TrackLinker(**values)


def walker(x: float, label: str = "person", score: float = 0.7) -> FrameDetection:
    return FrameDetection(label, score, (x, 200.0, x + 100.0, 500.0))


def test_one_walking_person_is_one_track_across_samples():
    tracks = linker()
    for step in range(6):
        tracks.add(float(step), [walker(100.0 + 30 * step)])
    (track,) = tracks.tracks
    assert [o.time_s for o in track.observations] == [0, 1, 2, 3, 4, 5]
    assert track.first_s == 0 and track.last_s == 5


def test_two_people_apart_are_two_tracks_and_a_new_one_keeps_its_first_sample():
    tracks = linker()
    tracks.add(0.0, [walker(100)])
    tracks.add(1.0, [walker(110), walker(800)])   # a second person walks in at 1 s
    tracks.add(2.0, [walker(120), walker(810)])
    first, second = tracks.tracks
    assert [o.time_s for o in first.observations] == [0, 1, 2]
    # ByteTrack reports a new track from its second frame on: its first detection is recovered.
    assert [o.time_s for o in second.observations] == [1, 2]


def test_low_scores_are_dropped_per_label_before_tracking():
    tracks = linker(min_score={"car": 0.8})
    for step in range(3):
        tracks.add(float(step), [walker(100, score=0.45), FrameDetection("car", 0.7, (700, 300, 900, 400))])
    assert tracks.tracks == []  # the person is below 0.5, the car below its own 0.8


def test_person_classes_share_a_track_and_other_labels_do_not():
    tracks = linker()
    tracks.add(0.0, [walker(100), FrameDetection("car", 0.9, (100, 200, 200, 500))])
    tracks.add(1.0, [walker(100, "person_fallen"), FrameDetection("car", 0.9, (100, 200, 200, 500))])
    groups = sorted((t.group, [o.label for o in t.observations]) for t in tracks.tracks)
    assert groups == [("car", ["car", "car"]), ("person", ["person", "person_fallen"])]


def test_held_samples_extend_a_still_object_without_adding_evidence():
    tracks = linker()
    tracks.add(0.0, [walker(100, score=0.6)])
    for t in (1.0, 2.0, 3.0):
        tracks.hold(t)  # the motion gate saw no change
    (track,) = tracks.tracks
    assert len(track.observations) == 4 and len(track.detected) == 1 and track.last_s == 3.0
    events = build_events(tracks.tracks, EventPolicy(), recorded_at="2026-01-01T10:00:00Z", width=W, height=H)
    assert events[0]["samples"] == 4 and events[0]["detections"] == 1
    assert events[0]["last_seen_utc"] == "2026-01-01T10:00:03.000Z"


def test_a_track_ends_after_its_gap_and_a_returning_object_is_new():
    tracks = linker(max_gap_samples=1)
    tracks.add(0.0, [walker(100)])
    tracks.add(1.0, [walker(100)])
    for t in (2.0, 3.0, 4.0):
        tracks.add(t, [])
    tracks.add(5.0, [walker(100)])
    tracks.add(6.0, [walker(100)])
    assert [len(t.observations) for t in tracks.tracks] == [2, 2]


def track_of(*observations: tuple[float, str, float, float]) -> Track:
    """(time, label, score, width/height of a 300-px-tall box)."""
    return Track(1, "person", [Observation(t, label, score, (0.0, 0.0, 300.0 * aspect, 300.0))
                               for t, label, score, aspect in observations])


def test_median_score_and_min_samples_decide_confirmation():
    policy = EventPolicy(threshold=0.6, min_samples=2)
    assert is_confirmed(track_of((0, "person", 0.9, 0.4), (1, "person", 0.7, 0.4)), policy)
    assert not is_confirmed(track_of((0, "person", 0.9, 0.4), (1, "person", 0.5, 0.4),
                                     (2, "person", 0.5, 0.4)), policy)  # median 0.5
    assert not is_confirmed(track_of((0, "person", 0.95, 0.4)), policy)  # one sample
    assert is_confirmed(track_of((0, "person", 0.55, 0.4), (1, "person", 0.55, 0.4)),
                        EventPolicy(threshold=0.9, thresholds={"person": 0.5}))


def test_fall_needs_persistence_share_and_geometry():
    policy = EventPolicy(fall_min_s=2.0, fall_min_fraction=0.5, fall_min_aspect=1.0)
    lying = track_of(*[(t, "person_fallen", 0.7, 1.6) for t in (0, 1, 2, 3)])
    assert event_label(lying, policy) == "fall"
    assert fall_evidence(lying, policy).span_s == 3
    brief = track_of((0, "person", 0.7, 0.4), (1, "person_fallen", 0.7, 1.6), (2, "person", 0.7, 0.4))
    assert event_label(brief, policy) == "person"  # one fallen frame: no persistence
    upright = track_of(*[(t, "person_fallen", 0.7, 0.6) for t in (0, 1, 2, 3)])
    assert event_label(upright, policy) == "person"  # fall class, but the box stands: geometry disagrees
    mostly_up = track_of(*[(t, "person", 0.7, 0.4) for t in range(8)],
                         *[(t, "person_fallen", 0.7, 1.5) for t in (8, 9, 10)])
    assert event_label(mostly_up, policy) == "person"  # 3 of 11 samples
    assert event_label(Track(2, "car", lying.observations), policy) == "car"


def test_a_fall_is_judged_by_the_fall_threshold_and_below_it_is_no_event():
    """The default detector on the cartoon (bench_accuracy): 3 fall samples over 2.5 s, median 0.56."""
    cartoon = track_of((1.0, "person_fallen", 0.56, 1.07), (2.5, "person_fallen", 0.61, 1.27),
                       (3.5, "person_fallen", 0.55, 1.15))
    lying = track_of(*[(t, "person_fallen", 0.72, 1.6) for t in range(10)])
    policy = EventPolicy()
    assert event_label(cartoon, policy) == "fall" and event_label(lying, policy) == "fall"
    assert not is_confirmed(cartoon, policy)  # not an alert, and not a person either
    assert is_confirmed(lying, policy)
    assert build_events([cartoon], policy, recorded_at=None, width=W, height=H) == []
    assert is_confirmed(cartoon, EventPolicy(fall_threshold=0.5))
    assert is_confirmed(cartoon, EventPolicy(thresholds={"fall": 0.55}))  # SCAN_TRACK_THRESHOLD_LABELS wins
    walking = track_of((1.0, "person", 0.56, 0.4), (2.5, "person_fallen", 0.61, 1.27), (3.5, "person", 0.55, 0.4))
    assert is_confirmed(walking, policy)  # a person track keeps the person threshold (0.5)


def test_events_carry_times_scores_and_the_best_frame():
    track = track_of((2.0, "person", 0.6, 0.4), (3.0, "person", 0.8, 0.4), (4.0, "person", 0.7, 0.4))
    (event,) = build_events([track], EventPolicy(), recorded_at=None, width=600, height=600)
    assert event | {"best": None} == {
        "id": "e1", "label": "person", "track_id": 1, "first_seen_s": 2.0, "last_seen_s": 4.0,
        "first_seen_utc": None, "last_seen_utc": None, "duration_s": 2.0, "samples": 3, "detections": 3,
        "score": {"median": 0.7, "max": 0.8}, "best": None}
    assert event["best"] == {"timestamp": 3.0, "timestamp_utc": None, "label": "person", "confidence": 0.8,
                             "bbox": [0.0, 0.0, 0.2, 0.5]}
    assert distinct_counts([event, {**event, "label": "fall"}, event]) == {"person": 2, "fall": 1}


def test_scan_config_reads_the_event_settings():
    from vv_cli.settings import Settings

    settings = Settings(_env_file=None, scan_min_score_labels="car=0.6", scan_track_threshold_labels="person=0.55",
                        scan_fall_labels="Fall,person_fallen", scan_track_max_gap_s=2.0, scan_interval_s=0.5,
                        scan_fall_threshold=0.8)
    config = ScanConfig.from_settings(settings)
    policy = config.event_policy()
    assert policy.threshold_for("person") == 0.55 and policy.threshold_for("car") == 0.5
    assert policy.fall_labels == {"Fall", "person_fallen"}
    assert policy.threshold_for("fall") == 0.8
    built = config.track_linker()
    assert built.threshold_for("car") == 0.6 and built.threshold_for("person") == 0.5
    assert built.max_gap_samples == 4


@pytest.mark.parametrize("text", ["person", "person=high", "person=1.5"])
def test_bad_score_lists_are_one_clear_error(text):
    with pytest.raises(ScanError, match="SCAN_MIN_SCORE_LABELS entry"):
        parse_scores(text, "SCAN_MIN_SCORE_LABELS")


def test_box_timezone_must_be_a_known_zone():
    from pydantic import ValidationError

    from vv_cli.settings import Settings

    assert Settings(_env_file=None, box_timezone="Europe/Madrid").box_timezone == "Europe/Madrid"
    assert Settings(_env_file=None, box_timezone="utc").box_timezone == "UTC"
    with pytest.raises(ValidationError, match="unknown IANA time zone"):
        Settings(_env_file=None, box_timezone="Mars/Olympus")


def test_only_confirmed_tracks_become_events_and_a_fall_says_why():
    lying = track_of(*[(t, "person_fallen", 0.7, 1.6) for t in (0, 1, 2, 3)])
    stray = Track(2, "person", [Observation(5.0, "person", 0.9, (0.0, 0.0, 10.0, 30.0))])
    events = build_events([lying, stray], EventPolicy(), recorded_at=None, width=W, height=H)
    assert [(e["id"], e["label"]) for e in events] == [("e1", "fall")]
    assert events[0]["fall"] == {"samples": 4, "span_s": 3.0, "fraction": 1.0}


def test_snapshot_crop_is_the_box_with_a_margin_clipped_to_the_frame(tmp_path):
    from scan_video.snapshots import crop_bounds, prune_snapshots

    assert crop_bounds((100.0, 100.0, 200.0, 300.0), 1280, 720) == (90, 80, 210, 320)
    assert crop_bounds((0.0, 650.0, 50.0, 720.0), 1280, 720) == (0, 643, 55, 720)
    assert prune_snapshots([], storage_root=tmp_path, video_id="never-scanned") == []
