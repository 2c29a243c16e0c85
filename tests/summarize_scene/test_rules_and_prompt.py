"""Facts, status rules, config and prompt handling: pure functions, no model."""

import pytest

from summarize_scene.config import ConfigError, DaylightConfig, GenerationConfig, load_config
from summarize_scene.facts import decide_status, describe_detections, forbidden_words, scene_facts, time_of_day
from summarize_scene.prompt import (
    OutputRejected,
    clip,
    close_cut_json,
    load_prompt,
    mentions,
    output_schema,
    parse_output,
)
from tests.summarize_scene.conftest import PEOPLE, detection, make_analytic

CONFIG = load_config()
GEN = GenerationConfig()


def status_of(**kwargs):
    return decide_status(scene_facts(make_analytic(**kwargs), CONFIG), CONFIG)


@pytest.mark.parametrize(
    ("recorded_at", "expected"),
    [("2026-11-21T10:15:00Z", "day"), ("2026-11-21T05:59:59Z", "night"), ("2026-11-21T06:00:00Z", "day"),
     ("2026-11-21T19:00:00Z", "night"), ("2026-11-21T23:30:00Z", "night"), (None, "unknown")],
)
def test_time_of_day_in_utc(recorded_at, expected):
    assert time_of_day(recorded_at, DaylightConfig())[0] == expected


def test_time_of_day_uses_the_configured_zone():
    # 10:15 UTC is 07:15 in São Paulo (day) but 19:15 in Tokyo (night).
    assert time_of_day("2026-11-21T10:15:00Z", DaylightConfig(timezone="America/Sao_Paulo")) == ("day", "07:15")
    assert time_of_day("2026-11-21T10:15:00Z", DaylightConfig(timezone="Asia/Tokyo")) == ("night", "19:15")


def test_night_window_may_start_before_day_window():
    # A config where "day" spans midnight (night shift cameras): day 20..8.
    daylight = DaylightConfig(day_starts_hour=20, night_starts_hour=8)
    assert time_of_day("2026-11-21T23:00:00Z", daylight)[0] == "day"
    assert time_of_day("2026-11-21T12:00:00Z", daylight)[0] == "night"


def test_unknown_timezone_is_a_config_error():
    with pytest.raises(ConfigError, match="Mars/Base"):
        time_of_day("2026-11-21T10:15:00Z", DaylightConfig(timezone="Mars/Base"))


def test_people_in_daylight_are_confirmed():
    decision = status_of(detections=PEOPLE)
    assert (decision.status, decision.rule) == ("confirmado", "people_in_daylight")
    assert decision.confidence == pytest.approx(0.91)


def test_person_at_night_is_an_alert():
    decision = status_of(detections=PEOPLE, recorded_at="2026-11-21T02:00:00Z")
    assert (decision.status, decision.rule) == ("alerta", "person_at_night")


def test_a_fall_is_an_alert_even_in_daylight():
    decision = status_of(detections=[detection("Normal", 0.9), detection("Fall", 0.8)])
    assert (decision.status, decision.rule) == ("alerta", "fall")
    assert decision.confidence == pytest.approx(0.8)


def test_low_confidence_or_unknown_time_is_experimental():
    assert status_of(detections=[detection("person", 0.3)]).status == "experimental"
    assert status_of(detections=PEOPLE, recorded_at=None).status == "experimental"


def test_detection_utc_stamp_stands_in_for_a_missing_recording_time():
    stamped = [{**detection("person", 0.9), "timestamp_utc": "2026-11-21T23:00:00Z"}]
    assert status_of(detections=stamped, recorded_at=None).status == "alerta"


def test_empty_scene_is_experimental_with_zero_confidence():
    decision = status_of(detections=[])
    assert (decision.status, decision.confidence, decision.rule) == ("experimental", 0.0, None)


def test_facts_digest_counts_labels_and_names_required_words():
    facts = scene_facts(make_analytic(detections=[*PEOPLE, detection("Fall", 0.7)]), CONFIG)
    assert facts.label_counts() == {"person": 4, "Fall": 1, "face": 1}
    assert facts.required_words() == ["person", "fall"]
    assert describe_detections(facts).startswith("person x4 (max confidence 0.91)")
    assert "person who has fallen x1" in describe_detections(facts)
    assert scene_facts(make_analytic(detections=[]), CONFIG).required_words() == ["nothing"]


def test_only_faces_require_the_word_face():
    facts = scene_facts(make_analytic(detections=[detection("face", 0.9, kind="face")]), CONFIG)
    assert facts.required_words() == ["face"]


def test_config_rejects_unknown_keys_naming_them(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("status_rules: []\ngeneration: {temprature: 0.1}\n")
    with pytest.raises(ConfigError, match=r"generation\.temprature"):
        load_config(bad)


@pytest.mark.parametrize(("text", "match"), [("a: [", "not valid YAML"), ("- 1\n- 2\n", "must be a mapping")])
def test_config_rejects_malformed_files(tmp_path, text, match):
    bad = tmp_path / "config.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(bad)


def test_missing_config_and_prompt_are_named(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not found"):
        load_prompt(tmp_path / "nope.prompt")


def test_prompt_carries_its_version_and_renders_the_facts():
    prompt = load_prompt()
    assert prompt.version == "scene_summarizer/1.1.0"
    text = prompt.render(scene_facts(make_analytic(detections=PEOPLE, camera="gate"), CONFIG))
    assert text.endswith("Camera: gate. Time: daylight (10:15 local). Length: 60 s. "
                         "Detections: person in 4 frames, visible face in 1 frame. "
                         "Recognised: not checked. Timeline: none.\nReport:")


@pytest.mark.parametrize(
    ("content", "match"),
    [("version: x\nno separator\n", "no '---'"), ("stop: []\n---\nbody\n", "needs a 'version'"),
     ("version: [\n---\nbody\n", "not valid YAML"), ("version: v1\n---\nHi $nobody\n", "bad placeholder")],
)
def test_prompt_file_errors_are_clear(tmp_path, content, match):
    path = tmp_path / "p.prompt"
    path.write_text(content)
    with pytest.raises(ConfigError, match=match):
        load_prompt(path).render(scene_facts(make_analytic(), CONFIG))


def test_parse_output_accepts_a_valid_line_and_ignores_what_follows():
    title, summary = parse_output('{"title": "Person at cam1", "summary": "A  person walks."} Camera: x',
                                  ["person"], GEN)
    assert (title, summary) == ("Person at cam1", "A person walks.")


@pytest.mark.parametrize(
    ("text", "match"),
    [("Person at cam1", "not a JSON object"), ('{"title": "Person', "invalid JSON"), ("[1]", "not a JSON"),
     ('{"title": 3, "summary": "x"}', "must be strings"), ('{"title": "", "summary": "person"}', "title length"),
     ('{"title": "Car", "summary": "A car passes."}', "does not mention person"),
     ('{"title": "Person", "summary": "' + "x" * 400 + '"}', "summary length")],
)
def test_parse_output_rejects_what_the_contract_forbids(text, match):
    with pytest.raises(OutputRejected, match=match):
        parse_output(text, ["person"], GEN)


def test_output_schema_makes_the_title_open_with_the_required_words():
    schema = output_schema(["person", "fall"])
    assert schema["properties"]["title"]["pattern"].startswith("^Person fall[")
    assert output_schema(["nothing"])["properties"]["title"]["pattern"].startswith("^Nothing[")
    assert '"' not in schema["properties"]["summary"]["pattern"]   # nothing that would need escaping
    assert schema["required"] == ["title", "summary"]


def test_forbidden_words_are_undetected_objects_and_the_wrong_time_of_day():
    day = forbidden_words(scene_facts(make_analytic(detections=PEOPLE), CONFIG), CONFIG)
    assert "night" in day and "bicycle" in day and "fall" in day
    assert "person" not in day and "face" not in day and "daylight" not in day
    night = forbidden_words(scene_facts(make_analytic(detections=[], recorded_at="2026-11-21T23:00:00Z"), CONFIG),
                            CONFIG)
    assert "daylight" in night and "person" in night and "night" not in night
    unknown = forbidden_words(scene_facts(make_analytic(detections=PEOPLE, recorded_at=None), CONFIG), CONFIG)
    assert "night" not in unknown and "daylight" not in unknown


@pytest.mark.parametrize(("text", "word", "expected"),
                         [("A person falls", "fall", True), ("has fallen", "fall", True), ("a car", "car", True),
                          ("cars pass", "car", True), ("carry a bag", "car", False), ("nightly", "night", False)])
def test_mentions_matches_words_and_their_endings_only(text, word, expected):
    assert mentions(text, word) is expected


def test_parse_output_rejects_contradicting_words():
    line = '{"title": "Person at cam1", "summary": "A person walks a bicycle at night."}'
    with pytest.raises(OutputRejected, match="mentions bicycle, night"):
        parse_output(line, ["person"], GEN, ["bicycle", "night"])
    assert parse_output(line, ["person"], GEN, ["car"])[0] == "Person at cam1"


def test_clip_prefers_a_sentence_end_then_a_word_boundary():
    assert clip("Short.", 80) == "Short."
    assert clip("A person walks. Then a person runs far away.", 30) == "A person walks."
    assert clip("A person walks slowly past the gate camera", 20) == "A person walks…"


def test_grammar_output_cut_by_the_token_budget_is_closed_and_clipped():
    cut = '{"title": "Person at cam1", "summary": "A person walks ' + "and walks " * 40
    with pytest.raises(OutputRejected, match="invalid JSON"):
        parse_output(cut, ["person"], GEN)
    title, summary = parse_output(close_cut_json(cut), ["person"], GEN, clip_lengths=True)
    assert title == "Person at cam1" and summary.endswith("…") and len(summary) <= GEN.summary_max_chars
