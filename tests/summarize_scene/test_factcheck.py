"""The fact guard: a summary that contradicts its facts is never written (issue 17).

The checks (summarize_scene.factcheck) are held to the real template, which must pass them, and to
texts that say what the facts do not; the pipeline's guard runs on real generations of the test
model: a prompt that teaches it to invent gets the labelled template, the shipped prompt's text
agrees with the facts either way."""

import pytest

from summarize_scene import metrics
from summarize_scene.config import load_config
from summarize_scene.factcheck import findings
from summarize_scene.facts import scene_facts
from summarize_scene.pipeline import TEMPLATE_VERSION, ordinary_words, summarize
from summarize_scene.prompt import load_prompt
from summarize_scene.template import CONTRADICTION_NOTE, template_summary
from tests.summarize_scene.conftest import write_analytic
from tests.summarize_scene.test_events_facts import event, tracked
from vv_core.words import NUMBER_WORDS, PERSON_NOUNS, counted, people_phrase

CONFIG = load_config()
WORDS = ordinary_words(CONFIG)


def known(label: str, first: float, last: float, name: str | None) -> dict:
    item = event(label, first, last)
    item["identity"] = {"name": name, "faces": 2, "matched": 2 if name else 0}
    return item


SCENES = {  # recorded 10:15:00 UTC
    "maria": [known("person", 2, 40, "Maria"), known("person", 5, 30, None)],
    "fall": [event("person", 0, 20), event("fall", 25, 58)],
    "nothing": [],
    "car": [event("car", 3, 20), event("person", 30, 45)],
    "three": [known("person", 2, 30, "Ana"), known("person", 4, 33, "Carlo"), event("person", 40, 59)],
}


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/New_York"])
@pytest.mark.parametrize("scene", sorted(SCENES))
def test_the_template_agrees_with_its_facts(scene, zone):
    facts = scene_facts(tracked([dict(e) for e in SCENES[scene]]), CONFIG, zone)
    title, summary = template_summary(facts)
    assert findings(facts, title, summary, object_words=WORDS) == []


@pytest.mark.parametrize(("title", "summary", "check"), [
    ("3 people at cam1", "Three people pass; one is Maria.", "counts"),
    ("Person at cam1", "A person walks past; it is Maria.", "counts"),  # two were there
    ("Nothing detected at cam1", "Nobody was seen, but Maria was recognised.", "counts"),
    ("Fall at cam1", "Maria and another person fall at 15:45.", "falls"),
    ("2 people at cam1", "From 15:45 to 15:46 two people walk past.", "names present"),
    ("2 people at cam1", "Two people walk past; one is Maria, the other is John.", "no other names"),
    ("2 people at cam1", "At 10:15 two people walk past; one is Maria.", "times"),  # UTC, not Kolkata
])
def test_a_text_that_contradicts_the_facts_is_caught_by_its_check(title, summary, check):
    facts = scene_facts(tracked([dict(e) for e in SCENES["maria"]]), CONFIG, "Asia/Kolkata")  # 15:45 local
    assert findings(facts, "2 people at cam1", "From 15:45 to 15:46 two people walk past; one is Maria.",
                    object_words=WORDS) == []
    assert check in {found for found, _ in findings(facts, title, summary, object_words=WORDS)}


LIAR = """version: liar/1
free_prefix: ' {"title": "'
stop: ["\\n"]
---
Reports that invent people.
Camera: a. Detections: 1 person.
Report: {"title": "Person John fell", "summary": "Three people, John and Peter, fell on the floor at 03:00."}
Camera: b. Detections: 1 person.
Report: {"title": "Person John fell", "summary": "Three people, John and Peter, fell on the floor at 03:00."}
Camera: $camera. Detections: $detections.
Report:"""


def test_a_generation_that_contradicts_the_facts_becomes_the_labelled_template(settings, storage_root,
                                                                               shared_models_dir, tmp_path):
    analytic = write_analytic(storage_root, tracked([event("person", 2, 40)]))
    liar = tmp_path / "liar.prompt"
    liar.write_text(LIAR)
    before = metrics.fallback_counts()["contradiction"]
    document = summarize(analytic, None, settings, models_dir=shared_models_dir, prompt=load_prompt(liar)).document
    assert (document["engine"], document["generation_path"], document["model"]) == ("template", "template", None)
    assert document["prompt_version"] == TEMPLATE_VERSION
    assert document["fallback_reason"].startswith("llm text contradicted the facts (")
    facts = scene_facts(tracked([event("person", 2, 40)]), CONFIG)
    assert (document["title"], document["summary"]) == template_summary(facts, note=CONTRADICTION_NOTE)
    assert metrics.fallback_counts()["contradiction"] == before + 1
    # the shipped prompt: the model's own text when it agrees, else the template; never a contradiction
    shipped = summarize(analytic, None, settings, models_dir=shared_models_dir).document
    assert findings(facts, shipped["title"], shipped["summary"], object_words=WORDS) == []
    assert shipped["engine"] == "llama.cpp" or "contradicted" in shipped["fallback_reason"]


def test_the_prompt_gives_the_model_counts_names_and_a_local_timeline():
    prompt = load_prompt()
    facts = scene_facts(tracked([dict(e) for e in SCENES["maria"]]), CONFIG, "Asia/Kolkata")
    assert prompt.render(facts).endswith(
        "Camera: cam1. Time: daylight (15:45 local). Length: 60 s. Detections: 2 people. "
        "Recognised: Maria and 1 unrecognised person. Timeline: 15:45 Maria; 15:45 person.\nReport:")
    fall = prompt.render(scene_facts(tracked([dict(e) for e in SCENES["fall"]]), CONFIG))
    assert "Detections: 2 people (1 fallen). Recognised: not checked. Timeline: 10:15 person; 10:15 fallen person." \
        in fall


def test_an_untracked_analytic_counts_frames_so_its_counts_are_not_held_against_the_text():
    from tests.summarize_scene.conftest import detection, make_analytic

    facts = scene_facts(make_analytic(detections=[detection("person", 0.9, t) for t in range(4)]), CONFIG)
    assert findings(facts, "Person at cam1", "A person walks past the window.", object_words=WORDS) == []
    assert {c for c, _ in findings(facts, "Fall at cam1", "A person falls.", object_words=WORDS)} == {"falls"}


def people_scene(people: int, fallen: int = 0):
    walking = [event("person", 1 + i, 30) for i in range(people - fallen)]
    return scene_facts(tracked(walking + [event("fall", 2 + i, 40) for i in range(fallen)]), CONFIG, "UTC")


@pytest.mark.parametrize(("phrase", "people", "fallen"), [
    ("a dozen people", 12, 0), ("half a dozen visitors", 6, 0), ("two persons", 2, 0), ("one fallen person", 1, 1),
    ("Two Pedestrians", 2, 0), (people_phrase(12), 12, 0), (people_phrase(1, fallen=1), 1, 1),
    (people_phrase(3, fallen=1), 3, 1), (counted(2, "woman"), 2, 0),
])
def test_the_check_reads_counts_in_the_writers_vocabulary(phrase, people, fallen):
    """One count vocabulary (vv_core.words) for the writers and this check: a phrase stating N people
    agrees with N people and is caught against N + 1. (The check had its own words: "a dozen people"
    read as "a" person, "Pedestrians" in a title as a name, "2 women" as "2 womans" from the plural rule.)"""
    title, summary = f"{phrase} at cam1", f"{phrase[0].upper()}{phrase[1:]} seen at cam1."
    assert findings(people_scene(people, fallen), title, summary, object_words=WORDS) == []
    assert "counts" in {check for check, _ in findings(people_scene(people + 1, fallen), title, summary,
                                                       object_words=WORDS)}


def test_every_count_word_and_person_noun_of_the_vocabulary_is_read():
    for noun in PERSON_NOUNS:   # the writers' plural of each
        for n in (1, 3):
            assert findings(people_scene(n), "Seen", f"Seen: {counted(n, noun)}.") == [], (noun, n)
    for words, value in NUMBER_WORDS.items():
        if value is not None and value > 1:
            assert findings(people_scene(value), "Seen", f"Seen: {words} people.") == [], words
            assert findings(people_scene(value + 1), "Seen", f"Seen: {words} people.") != [], words
