"""Events on real footage with the real default detector: distinct objects, confirmed falls, and
nothing at all where nobody is (the per-frame detections the events replace are kept and checked
too, to show what the tracking removes)."""

import pytest

from scan_video.config import ScanConfig
from scan_video.scanner import ScanEngine, scan
from tests.scan_video import media
from vv_core.schema import validate_schema

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def people_events(tmp_path_factory, people_clip, session_settings, onnx_engine):
    return scan(people_clip, tmp_path_factory.mktemp("events-people"), session_settings, engine=onnx_engine).analytic


def labels_of(analytic):
    return [event["label"] for event in analytic["events"]]


def test_people_are_counted_once_each_not_once_per_frame(people_events):
    """people_clip: 0-3 s nobody, 3-6 s zidane.jpg (2 men), 6-9 s bus.jpg (the model finds 3 of its 4
    people; the 4th, cut by the image's edge, scores 0.17)."""
    validate_schema(people_events, "analytic")
    assert people_events["schema_version"] == "1.1"
    per_frame = [d for d in people_events["detections"] if d["type"] == "object"]
    assert len(per_frame) >= 12  # what the old LogLine counted as "persons"
    events = people_events["events"]
    assert labels_of(people_events) == ["person"] * len(events)
    zidane = [e for e in events if 3.0 <= e["first_seen_s"] < 6.0]
    bus = [e for e in events if e["first_seen_s"] >= 6.0]
    assert len(zidane) == 2 and len(bus) == 3 and len(events) == 5
    for event in zidane:
        assert event["last_seen_s"] < 6.0 and event["samples"] >= 2
    for event in events:
        assert event["score"]["median"] >= 0.5 and event["score"]["max"] >= event["score"]["median"]
        assert event["first_seen_s"] <= event["best"]["timestamp"] <= event["last_seen_s"]
        assert event["duration_s"] == pytest.approx(event["last_seen_s"] - event["first_seen_s"], abs=1e-3)
    assert people_events["tracking"]["tracker"] == "bytetrack"


def test_a_person_lying_down_is_one_fall_event(tmp_path, lying_clip, session_settings, onnx_engine):
    analytic = scan(lying_clip, tmp_path, session_settings, engine=onnx_engine).analytic
    (event,) = analytic["events"]
    assert event["label"] == "fall"
    assert event["fall"]["span_s"] >= 2.0 and event["fall"]["fraction"] >= 0.5
    x1, y1, x2, y2 = event["best"]["bbox"]
    assert (x2 - x1) * 1280 > (y2 - y1) * 720  # lying: wider than tall


def test_fall_persistence_and_geometry_are_settings(tmp_path, lying_clip, session_settings, onnx_engine):
    for overrides in ({"fall_min_s": 30.0}, {"fall_min_aspect": 3.0}):
        config = ScanConfig.from_settings(session_settings, **overrides)
        engine = ScanEngine(config, onnx_engine.model, onnx_engine.detector, onnx_engine.faces)
        analytic = scan(lying_clip, tmp_path, session_settings, engine=engine).analytic
        assert labels_of(analytic) == ["person"], overrides  # still a person, no longer a fall


@pytest.mark.parametrize("name", ["testsrc", "smptebars", "noise", "empty_scene", "bigbuckbunny"])
def test_nothing_there_gives_no_event(tmp_path, name, empty_clips, session_settings, onnx_engine):
    analytic = scan(empty_clips[name], tmp_path, session_settings, engine=onnx_engine).analytic
    assert analytic["events"] == []
    if name == "testsrc":  # the detector does see a "person" in the pattern on every frame (0.42-0.44)
        assert sum(d["label"] == "person" for d in analytic["detections"]) >= 5


@pytest.fixture(scope="module")
def default_engine(session_settings) -> ScanEngine:
    """The detector a box runs by default (the manifest's int8 file, a fixed 640×640 input)."""
    return ScanEngine.load(ScanConfig.from_settings(session_settings, detector_model=media.PYPI_PERSON_INT8))


@pytest.mark.parametrize(("name", "labels"), [("bigbuckbunny", []), ("lying", ["fall"])])
def test_the_default_detector_alerts_on_the_fall_not_on_the_cartoon(tmp_path, name, labels, empty_clips, lying_clip,
                                                                   session_settings, default_engine):
    """On the cartoon the default detector's fall class holds one track for 2.5 s (3 samples, median
    0.56, single frames up to 0.64): below the fall label's threshold, so neither an alert nor a
    person. The lying person's track (median 0.72) stays a fall."""
    clip = lying_clip if name == "lying" else empty_clips[name]
    analytic = scan(clip, tmp_path, session_settings, engine=default_engine).analytic
    assert analytic["model"]["name"] == media.PYPI_PERSON_INT8
    assert labels_of(analytic) == labels
    if name == "bigbuckbunny":  # the detector does see the fall class on the cartoon, per frame
        assert sum(d["label"] == "person_fallen" for d in analytic["detections"]) >= 3


def test_cyclists_are_people_never_a_fall(tmp_path, bikes_clip, session_settings, onnx_engine):
    analytic = scan(bikes_clip, tmp_path, session_settings, engine=onnx_engine).analytic
    assert any(d["label"] == "person_fallen" for d in analytic["detections"])  # a bent rider, per frame
    assert "fall" not in labels_of(analytic)


@pytest.mark.parametrize(("clip", "status", "title", "this"), [
    ("lying", "alerta", "Fall at cam1", "1 person (fallen)"),  # a fallen person is a person (summary: "1 person")
    ("testsrc", "experimental", "Nothing detected at cam1", "no detections"),
    # People at night: the rule, not a fall. bikes.mp4 shows a man in a suit, a cyclist and a
    # passer-by in separate shots; 2 samples/s while the scene moves find two of them (1/s found one).
    ("bikes", "alerta", "2 people at cam1", "2 people"),  # the summaries' words (vv_core.words)
])
def test_summary_and_logline_say_what_the_events_say(tmp_path, clip, status, title, this, lying_clip, empty_clips,
                                                     bikes_clip, session_settings, onnx_engine):
    """Scan → summary (template: no LLM installed) → LogLine content, at 23:00 UTC (night)."""
    import shutil

    from logline_generator.content import logline_fields
    from summarize_scene.pipeline import summarize

    source = {"lying": lying_clip, "testsrc": empty_clips["testsrc"], "bikes": bikes_clip}[clip]
    root = tmp_path / "storage"
    video = root / "input" / "cam1" / "20261121T230000Z.mp4"
    video.parent.mkdir(parents=True)
    shutil.copyfile(source, video)
    settings = session_settings.model_copy(update={"video_storage_root": root})
    scanned = scan(video, root / "analytic", settings, engine=onnx_engine)
    summary = summarize(scanned.path, settings=settings, models_dir=tmp_path / "no-llm").document
    assert (summary["status"], summary["title"]) == (status, title)
    assert "_" not in summary["title"] + summary["summary"]
    if clip != "lying":
        assert "fall" not in (summary["title"] + summary["summary"]).lower()
    record = logline_fields(summary, root / "summaries" / "x.summary.json", root)
    assert record["this"] == this


def test_every_event_has_a_snapshot_and_a_crop(tmp_path, people_clip, session_settings, onnx_engine):
    import cv2

    settings = session_settings.model_copy(update={"video_storage_root": tmp_path / "storage"})
    analytic = scan(people_clip, tmp_path / "analytic", settings, engine=onnx_engine, video_id="cam1_people").analytic
    root = settings.video_storage_root
    assert len(analytic["events"]) == 5
    checked = 0
    for event in analytic["events"]:
        snapshot = event["snapshot"]
        assert snapshot["frame"] == f"snapshots/cam1_people/{event['id']}.jpg"
        assert event["first_seen_s"] <= snapshot["timestamp"] <= event["last_seen_s"]
        frame = cv2.imread(str(root / snapshot["frame"]))
        crop = cv2.imread(str(root / snapshot["crop"]))
        assert frame.shape == (720, 1280, 3)
        x1, y1, x2, y2 = event["best"]["bbox"]
        if snapshot["timestamp"] == event["best"]["timestamp"]:  # the crop is the best box + 10 % a side
            assert crop.shape[1] == pytest.approx(min(1280, (x2 - x1) * 1280 * 1.2), abs=0.1 * 1280 * (x2 - x1) + 2)
            assert crop.shape[0] == pytest.approx(min(720, (y2 - y1) * 720 * 1.2), abs=0.1 * 720 * (y2 - y1) + 2)
            # the box is drawn in red on the frame: its left edge, halfway down
            b, g, r = frame[round((y1 + y2) / 2 * 720), min(1279, round(x1 * 1280) + 1)]
            assert r > 180 and g < 90 and b < 90
            checked += 1
    assert checked == 5
    assert sorted(p.name for p in (root / "snapshots" / "cam1_people").iterdir()) == sorted(
        ["cover.jpg"] + [name for e in analytic["events"] for name in (f"{e['id']}.jpg", f"{e['id']}.crop.jpg")])
    # the cover (playlist thumbnail) is the best-scored event's framed snapshot
    assert analytic["cover"] == "snapshots/cam1_people/cover.jpg"
    top = max(analytic["events"], key=lambda e: e["score"]["median"])
    assert (root / analytic["cover"]).read_bytes() == (root / top["snapshot"]["frame"]).read_bytes()


def test_a_rescan_leaves_no_stale_snapshot(tmp_path, people_clip, lying_clip, session_settings, onnx_engine):
    settings = session_settings.model_copy(update={"video_storage_root": tmp_path / "storage"})
    folder = settings.video_storage_root / "snapshots" / "cam1_x"
    scan(people_clip, tmp_path / "analytic", settings, engine=onnx_engine, video_id="cam1_x")
    assert len(list(folder.iterdir())) == 11  # 5 events × (frame, crop) + cover
    again = scan(lying_clip, tmp_path / "analytic", settings, engine=onnx_engine, video_id="cam1_x").analytic
    assert sorted(p.name for p in folder.iterdir()) == ["cover.jpg", "e1.crop.jpg", "e1.jpg"]
    assert again["events"][0]["snapshot"]["frame"] == "snapshots/cam1_x/e1.jpg"
    assert (folder / "cover.jpg").read_bytes() == (folder / "e1.jpg").read_bytes()  # the fall
    config = ScanConfig.from_settings(settings, snapshots=False)
    engine = ScanEngine(config, onnx_engine.model, onnx_engine.detector, onnx_engine.faces)
    empty = scan(empty_clip_of(tmp_path), tmp_path / "analytic", settings, engine=engine, video_id="cam1_x").analytic
    assert empty["events"] == [] and empty["cover"] is None and not folder.exists()


def empty_clip_of(tmp_path):
    from tests.scan_video import media

    return media.pattern_clip("smptebars", 3, tmp_path / "bars.mp4")
