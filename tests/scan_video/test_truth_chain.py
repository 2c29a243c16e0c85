"""What the box says about a clip agrees with itself and with the analytic's confirmed events, from
the real scan (the box's default detector, the real face library) through the template summary and
the signed LogLine to the console's record: counts, names, falls and local times (issue 17)."""

import re
import shutil

import cv2
import pytest

from logline_generator.logline_generator import generate_loglines
from logline_generator.settings import LoglineSettings
from scan_video.config import ScanConfig
from scan_video.face_library import add_faces, library_path
from scan_video.scanner import ScanEngine, scan
from summarize_scene.config import load_config
from summarize_scene.factcheck import contradictions
from summarize_scene.facts import scene_facts
from summarize_scene.pipeline import read_analytic, summarize
from summarize_scene.settings import SummarizeSettings
from tests.logline_fixtures import make_key_store
from tests.scan_video import media
from tests.scan_video.conftest import make_settings
from tv_api.console.records import read_event
from vv_core.keystore import load_key_store
from vv_core.loglines import check_logline_bytes
from vv_core.words import people_phrase

pytestmark = pytest.mark.slow

ZONE = "Asia/Kolkata"  # UTC+5:30: a clock time left in UTC is 5 h 30 min off, never within a minute
SEGMENT = "20261121T101500Z.mp4"  # recorded 10:15:00 UTC = 15:45 in ZONE (the name is the start time)
KNOWN = "Carlo"


@pytest.fixture(scope="module")
def box(tmp_path_factory, models_dir, media_cache):
    """A storage root with the known face (the right man of zidane.jpg), the default detector, a
    LogLine key store and the box time zone."""
    root = tmp_path_factory.mktemp("truth") / "storage"
    settings = make_settings(root, models_dir, scan_detector_model=media.PYPI_PERSON_INT8)
    photo = cv2.imread(str(media.asset("zidane.jpg")))
    cv2.imwrite(str(media_cache / "truth_known.jpg"), photo[:, int(photo.shape[1] * 0.58):])
    add_faces(library_path(root), KNOWN, [media_cache / "truth_known.jpg"])
    logline_settings = LoglineSettings(_env_file=None, video_storage_root=root,
                                       key_store_path=root.parent / "secrets" / "logline_keys.json",
                                       checkpoint_key_store_path=root.parent / "secrets" / "checkpoint_keys.json")
    make_key_store(logline_settings.key_store_path)
    return {"root": root, "scan": settings, "engine": ScanEngine.load(ScanConfig.from_settings(settings)),
            "summarize": SummarizeSettings(_env_file=None, video_storage_root=root, models_dir=root / "no-llm",
                                           box_timezone=ZONE),
            "logline": logline_settings}


def run_chain(box, clip, camera: str):
    """scan → template summary → signed LogLine → console record, as the orchestrator chains them."""
    video = box["root"] / "input" / camera / SEGMENT
    video.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(clip, video)
    scanned = scan(video, box["root"] / "analytic", box["scan"], engine=box["engine"])
    summary = summarize(scanned.path, settings=box["summarize"]).document
    (logline_path,) = generate_loglines([box["root"] / "summaries" / f"{summary['id']}.summary.json"],
                                        settings=box["logline"])
    checked = check_logline_bytes(logline_path.read_bytes(), load_key_store(box["logline"].key_store_path))
    assert checked.reason is None  # signed and sealed as the pipeline writes it
    record = checked.record
    console = read_event(box["root"], logline_path)
    return read_analytic(scanned.path), summary, record, console, camera


def people_in(text: str) -> int:
    """The people a "this" counts ("2 people (1 fallen), 1 bus" → 2)."""
    match = re.search(r"\b(\d+) (?:person|people)\b", text)
    return int(match.group(1)) if match else 0


def assert_one_story(analytic, summary, record, console, camera):
    events = analytic["events"]
    labels = [e["label"] for e in events]
    people, falls = labels.count("person") + labels.count("fall"), labels.count("fall")
    names = sorted({e["identity"]["name"] for e in events if (e.get("identity") or {}).get("name")})
    facts = scene_facts(analytic, load_config(), ZONE)
    # the summary's text and the LogLine's fields say what the events say
    assert contradictions(facts, summary["title"], summary["summary"]) == []
    assert (record["title"], record["summary"]) == (summary["title"], summary["summary"])
    assert people_in(record["this"]) == people
    if people:
        assert record["this"].startswith(people_phrase(people, falls)) or f", {people_phrase(people, falls)}" in \
            record["this"]
        assert summary["summary"].startswith(people_phrase(people, falls))
    assert ("fall" in summary["title"].lower()) == bool(falls) == ("fallen" in record["this"])
    assert (record["status"] == "alerta") == bool(falls) or facts.time_of_day == "night"
    assert summary["labels"] == {label: labels.count(label) for label in set(labels)}
    for name in names:
        assert name in record["who"] and name in summary["summary"]
    assert [n for n in re.findall(r"[A-Z][a-z]+", record["who"]) if n not in names] == []
    # the console lists the events' labels and names, and the camera as a camera
    assert console.camera == camera and console.persons == names
    assert set(console.labels) == set(labels) | ({"person"} if falls else set())
    return facts


def test_the_lying_person_is_one_person_who_fell_everywhere(box, lying_clip):
    chain = run_chain(box, lying_clip, "cam1")
    analytic, summary, record = chain[:3]
    assert [e["label"] for e in analytic["events"]] == ["fall"]
    assert_one_story(*chain)
    assert record["this"] == "1 person (fallen)" and record["who"] == "cam1"
    assert summary["title"] == "Fall at cam1" and "fallen person 15:45:" in summary["summary"]


def test_two_people_one_known_by_name_at_local_times(box, media_cache):
    clip = media.still_clip(media.asset("zidane.jpg"), 6, media_cache / "truth_zidane_6s.mp4", pan=True)
    chain = run_chain(box, clip, "cam2")
    analytic, summary, record = chain[:3]
    assert [e["label"] for e in analytic["events"]] == ["person", "person"]
    facts = assert_one_story(*chain)
    assert record["this"] == "2 people" and record["who"].startswith(KNOWN) and record["who"].endswith(" at cam2")
    assert f"person ({KNOWN}) 15:45:0" in summary["summary"] and facts.local_time == "15:45"


@pytest.mark.parametrize("name", ["bikes", "testsrc"])
def test_no_fall_and_nothing_where_there_is_none(box, name, bikes_clip, empty_clips):
    clip = bikes_clip if name == "bikes" else empty_clips[name]
    chain = run_chain(box, clip, f"cam_{name}")
    analytic, summary, record, console, _ = chain
    assert_one_story(*chain)
    frames_of_fall_class = [d for d in analytic["detections"] if d["label"] == "person_fallen"]
    if name == "bikes":  # the bent cyclist's frames of the fall class are no fall, anywhere
        assert frames_of_fall_class and "person_fallen" not in console.labels
        assert record["this"] == people_phrase(len(analytic["events"]))
    else:
        assert analytic["events"] == [] and record["this"] == "no detections" and console.labels == []
        assert summary["title"] == "Nothing detected at cam_testsrc"
