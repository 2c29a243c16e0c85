"""What a LogLine says: wording rules derived from the summary."""

from pathlib import Path

import pytest

from logline_generator.content import (
    action_of,
    describe_labels,
    logline_fields,
    relative_to_root,
    render_markdown,
)
from tests.logline_fixtures import summary_doc
from vv_core.errors import VVError
from vv_core.words import plural


@pytest.mark.parametrize(("label", "count", "expected"), [
    ("person", 3, "people"), ("person", 1, "person"), ("bus", 2, "buses"), ("box", 2, "boxes"),
    ("puppy", 2, "puppies"), ("toy", 2, "toys"), ("car", 2, "cars"), ("traffic_light", 2, "traffic lights"),
    ("sheep", 4, "sheep"), ("waltz", 2, "waltzes"),
])
def test_plural(label, count, expected):
    assert plural(label, count) == expected


def test_describe_labels_orders_by_count_and_skips_zero():
    assert describe_labels({"bicycle": 1, "person": 3, "dog": 0}) == "3 people, 1 bicycle"
    assert describe_labels({}) is None and describe_labels(None) is None
    long = describe_labels({f"label{i:03d}": 1 for i in range(200)})
    assert len(long) == 500 and long.endswith("…")


def test_the_loglines_words_are_the_summaries_words():
    """One plural rule (vv_core.words) for the summary template and the LogLine's "this" (issue 17:
    the LogLine said "2 persons" beside a summary saying "2 people")."""
    from summarize_scene.template import counted

    assert describe_labels({"person": 2, "lorry": 2}) == "2 lorries, 2 people"
    assert describe_labels({"person": 2}) == counted(2, "person") == "2 people"
    assert counted(2, "lorry") == "2 lorries" and counted(1, "traffic_light") == "1 traffic light"


def test_action_of_each_status():
    assert action_of(summary_doc("a")) == ("detected", "3 people, 1 bicycle")
    assert action_of(summary_doc("a", labels={})) == ("recorded", "no detections")
    assert action_of(summary_doc("a", status="curado")) == ("curated", "Title a")


def test_logline_fields_maps_the_summary(tmp_path):
    root = tmp_path / "storage"
    doc = summary_doc("cam1_x", video=str(root / "input/cam1/x.mp4"))
    fields = logline_fields(doc, root / "summaries/cam1_x.summary.json", root)
    assert fields["who"] == "cam1" and fields["when"] == "2026-11-21T10:15:00Z"
    assert fields["source"] == {"video": "input/cam1/x.mp4", "duration_s": 10.0,
                                "summary": "summaries/cam1_x.summary.json"}
    curated = summary_doc("c", status="curado", camera=None, recorded_at=None)
    fields = logline_fields(curated, tmp_path / "elsewhere.json", root)
    assert fields["who"] == "unknown" and fields["when"] == curated["created_at"]
    assert fields["did"] == "curated" and fields["source"]["summary"] == str(tmp_path / "elsewhere.json")


def test_relative_to_root_refuses_escapes(tmp_path):
    assert relative_to_root("tv_curado/a.mp4", tmp_path, "video") == "tv_curado/a.mp4"
    with pytest.raises(VVError, match="outside the storage root"):
        relative_to_root("/etc/passwd", tmp_path, "video")
    with pytest.raises(VVError, match="inside the storage root"):
        relative_to_root("../x.mp4", tmp_path, "video")


def test_render_markdown_mentions_the_essentials():
    record = {"id": "i", "title": "T", "who": "cam1", "did": "detected", "this": "2 persons",
              "when": "2026-11-21T10:15:00Z", "status": "alerta", "summary": "S.", "seq": 4,
              "prev_hash": "ab" * 32, "key_id": "k1", "source_hash": "cd" * 32,
              "source": {"video": "input/cam1/x.mp4", "duration_s": 60.0}}
    text = render_markdown(record)
    assert text.startswith("# T\n") and "**cam1** detected **2 persons**" in text
    assert "(60 s)" in text and "seq 4" in text and "S." in text
    assert Path("i.logline.json").name in text


def test_who_names_the_recognised_people_or_says_they_were_not():
    from logline_generator.content import who_of

    assert who_of(summary_doc("a")) == "cam1"  # no face matching: the camera, as before
    two = {**summary_doc("a"), "people": {"known": ["Ana", "Maria"], "unrecognised": 1}}
    assert who_of(two) == "Ana, Maria and 1 unrecognised person at cam1"  # the summary counts them too
    assert who_of({**summary_doc("a"), "people": {"known": [], "unrecognised": 1}}) == "1 unrecognised person at cam1"
    assert who_of({**summary_doc("a", camera=None), "people": {"known": [], "unrecognised": 2}}) == \
        "2 unrecognised people at unknown"
    record = logline_fields({**summary_doc("a"), "people": {"known": ["Ana"], "unrecognised": 0}},
                            Path("/x/summaries/a.summary.json"), Path("/x"))
    assert record["who"] == "Ana at cam1"
