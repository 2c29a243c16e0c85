"""Summaries from events (analytic 1.1): distinct counts, confirmed falls only, local times."""

import pytest

from summarize_scene.config import ConfigError, load_config
from summarize_scene.facts import decide_status, describe_detections, describe_timeline, people_count, scene_facts
from summarize_scene.pipeline import summarize
from summarize_scene.template import template_summary
from tests.summarize_scene.conftest import detection, make_analytic, write_analytic
from vv_core.schema import validate_schema

CONFIG = load_config()


def event(label: str, first: float, last: float, median: float = 0.7, start: str = "2026-11-21T10:15:00") -> dict:
    def utc(seconds: float) -> str:
        return f"{start[:-2]}{int(seconds):02d}.000Z"

    return {"id": "e1", "label": label, "track_id": 1, "first_seen_s": first, "last_seen_s": last,
            "first_seen_utc": utc(first), "last_seen_utc": utc(last), "duration_s": last - first,
            "samples": int(last - first) + 1, "detections": int(last - first) + 1,
            "score": {"median": median, "max": min(1.0, median + 0.1)},
            "best": {"timestamp": first, "timestamp_utc": utc(first), "label": label, "confidence": median,
                     "bbox": [0.1, 0.2, 0.3, 0.9]}}


def tracked(events: list[dict], detections: list[dict] | None = None, **kwargs) -> dict:
    analytic = make_analytic(detections=detections or [], **kwargs)
    for index, item in enumerate(events, start=1):
        item["id"], item["track_id"] = f"e{index}", index
    analytic.update(schema_version="1.1", events=events,
                    tracking={"tracker": "bytetrack", "tracks": len(events), "min_score": 0.5, "threshold": 0.5,
                              "min_samples": 2})
    validate_schema(analytic, "analytic")
    return analytic


MANY_FRAMES = [detection("person", 0.8, t) for t in range(40)]  # 40 per-frame boxes of 2 people


def test_counts_are_distinct_objects_not_frames():
    facts = scene_facts(tracked([event("person", 0, 20), event("person", 5, 39)], MANY_FRAMES), CONFIG)
    assert facts.label_counts() == {"person": 2}
    assert people_count(facts) == 2
    assert describe_detections(facts) == "person x2 (max confidence 0.70)"
    # the same analytic without events (schema 1.0) is read per frame, as before
    assert scene_facts(make_analytic(detections=MANY_FRAMES), CONFIG).label_counts() == {"person": 40}


def test_frame_level_boxes_without_an_event_are_nothing():
    """A test pattern: "person" boxes on every frame, no track confirmed → no label, no alert."""
    pattern = [detection("person", 0.44, t) for t in range(20)]
    facts = scene_facts(tracked([], pattern, recorded_at="2026-11-21T23:00:00Z"), CONFIG)
    assert facts.empty
    decision = decide_status(facts, CONFIG)
    assert decision.status != "alerta" and decision.rule is None
    title, summary = template_summary(facts)
    assert title == "Nothing detected at cam1" and "person" not in summary


def test_only_a_confirmed_fall_event_alerts():
    bent_rider = [detection("person_fallen", 0.58, 4.0)]
    facts = scene_facts(tracked([event("person", 4, 8)], bent_rider), CONFIG)
    assert decide_status(facts, CONFIG).rule == "people_in_daylight"
    fall = scene_facts(tracked([event("fall", 2, 9, 0.73)]), CONFIG)
    decision = decide_status(fall, CONFIG)
    assert (decision.status, decision.rule, decision.confidence) == ("alerta", "fall", 0.73)


def test_template_title_and_summary_tell_the_same_story_in_local_time():
    analytic = tracked([event("person", 2, 40), event("fall", 12, 30), event("person", 20, 25)])
    facts = scene_facts(analytic, CONFIG, box_timezone="Europe/Madrid")  # UTC+1 in November
    assert facts.local_time == "11:15"
    assert describe_timeline(facts) == "11:15:02-11:15:40 person; 11:15:12-11:15:30 fall; 11:15:20-11:15:25 person"
    title, summary = template_summary(facts)
    assert title == "Fall at cam1"
    assert summary.startswith("3 people (1 fallen) seen at cam1 during 60 s (daylight (11:15 local)). "
                              "A person fell and stayed down (from 11:15:12).")
    assert "Seen: person 11:15:02 to 11:15:40; fallen person 11:15:12 to 11:15:30; person 11:15:20 to 11:15:25." \
        in summary
    assert "_" not in title + summary


def test_template_people_and_other_objects():
    facts = scene_facts(tracked([event("person", 0, 10), event("car", 3, 9)]), CONFIG)
    assert template_summary(facts)[0] == "Person at cam1"
    facts = scene_facts(tracked([event("car", 3, 9), event("car", 20, 29)], recorded_at=None), CONFIG)
    title, summary = template_summary(facts)
    assert title == "2 cars at cam1" and "unknown time" in summary


def test_day_and_night_follow_the_box_time_zone():
    # 05:30 UTC: night in UTC, day (06:30) in Madrid in November: the box zone decides.
    analytic = tracked([event("person", 0, 10)], recorded_at="2026-11-21T05:30:00Z")
    assert decide_status(scene_facts(analytic, CONFIG), CONFIG).rule == "person_at_night"
    assert decide_status(scene_facts(analytic, CONFIG, "Europe/Madrid"), CONFIG).rule == "people_in_daylight"
    pinned = CONFIG.model_copy(update={"daylight": CONFIG.daylight.model_copy(update={"timezone": "UTC"})})
    assert decide_status(scene_facts(analytic, pinned, "Europe/Madrid"), pinned).rule == "person_at_night"
    with pytest.raises(ConfigError, match="unknown timezone"):
        scene_facts(analytic, CONFIG, "Nowhere/Atlantis")


def test_old_analytics_label_the_fall_class_as_a_person_word():
    facts = scene_facts(make_analytic(detections=[detection("person_fallen", 0.8, 1.0)]), CONFIG)
    assert facts.labels[0].word == "person"
    assert decide_status(facts, CONFIG).rule != "fall"


def test_summary_document_counts_events(storage_root, settings, empty_models_dir):
    analytic = tracked([event("person", 0, 20), event("person", 5, 39)], MANY_FRAMES)
    path = write_analytic(storage_root, analytic)
    settings = settings.model_copy(update={"box_timezone": "Asia/Tokyo"})
    document = summarize(path, settings=settings, models_dir=empty_models_dir).document
    assert document["labels"] == {"person": 2}
    assert document["title"] == "2 people at cam1"
    assert "19:15 local" in document["summary"] and "night" in document["summary"]
    assert document["status"] == "alerta"  # a person at night, in Tokyo time


def test_template_keeps_a_long_day_within_the_summary_limit():
    from summarize_scene.template import NOTE, SUMMARY_MAX

    many = [event("person", second, second + 1) for second in range(0, 58, 2)]
    title, summary = template_summary(scene_facts(tracked(many), CONFIG))
    assert title == "29 people at cam1"
    assert len(summary) <= SUMMARY_MAX and summary.endswith("… " + NOTE)
    assert summary.startswith("29 people seen at cam1")


def test_names_of_recognised_people_reach_the_summary(storage_root, settings, empty_models_dir):
    known = event("person", 2, 20)
    known["identity"] = {"name": "Maria", "faces": 3, "matched": 3}
    stranger = event("person", 5, 9)
    stranger["identity"] = {"name": None, "faces": 2, "matched": 0}
    analytic = tracked([known, stranger, event("person", 30, 40)])
    _, summary = template_summary(scene_facts(analytic, CONFIG))
    assert "Recognised: Maria and 1 unrecognised person." in summary
    assert "person (Maria) 10:15:02 to 10:15:20" in summary
    document = summarize(write_analytic(storage_root, analytic), settings=settings,
                         models_dir=empty_models_dir).document
    assert document["people"] == {"known": ["Maria"], "unrecognised": 1}
    strangers_only = tracked([stranger])
    assert "nobody was recognised" in template_summary(scene_facts(strangers_only, CONFIG))[1]
    assert "people" not in summarize(write_analytic(storage_root, tracked([event("person", 1, 5)])),
                                     settings=settings, models_dir=empty_models_dir).document
