"""Degraded mode: a deterministic summary written from the facts alone when no model is installed
(or the installed one missed its generation deadline, or wrote a text that contradicts the facts:
the note says which).

It is marked ``engine: "template"`` / ``generation_path: "template"`` / ``model: null`` so nobody
mistakes it for a model's words, and it still names what was detected so a TV shows something true.
Title and summary come from the same facts: a title never names what the summary does not.
"""

from summarize_scene.facts import SceneFacts, describe_time, fall_count, identities, people_count
from vv_core.words import FALL_LABELS, PERSON_LABELS, counted, people_phrase, recognised_phrase

NOTE = "Automatic summary: no language model is installed."
DEADLINE_NOTE = "Automatic summary: the language model did not answer in time."
CONTRADICTION_NOTE = "Automatic summary: the language model's text did not agree with the detections."
SUMMARY_MAX = 600
FALLEN = "fallen person"  # a fall event is a person who fell (vv_core.words.people_phrase)


def _where(facts: SceneFacts) -> str:
    return facts.camera or "the camera"


def _tracked(facts: SceneFacts, where: str) -> tuple[str, str]:
    """Title and summary of a tracked analytic: distinct objects and when they were there."""
    people = people_count(facts)
    falls = fall_count(facts)
    others = [f for f in facts.labels if f.word.lower() not in PERSON_LABELS | FALL_LABELS]
    if falls:
        title = f"Fall at {where}"
    elif people:
        title = f"{'Person' if people == 1 else f'{people} people'} at {where}"
    else:
        title = f"{counted(others[0].count, others[0].word).capitalize()} at {where}"
    seen = ([people_phrase(people, falls)] if people else []) + [counted(f.count, f.word) for f in others]
    sentences = [f"{', '.join(seen).capitalize()} seen at {where} during {facts.duration_s:.0f} s "
                 f"({describe_time(facts)})."]
    if falls:
        fallen = [e for e in facts.events or () if e.word == "fall"]
        times = ", ".join(e.first_local or f"{e.first_s:.0f} s" for e in fallen)
        sentences.append(f"{'A person' if falls == 1 else f'{falls} people'} fell and stayed down "
                         f"(from {times}).")
    who = identities(facts)
    if who and who["known"]:
        sentences.append(f"Recognised: {recognised_phrase(who)}.")
    elif who:
        sentences.append("Faces were seen; nobody was recognised.")
    spans = []
    for event in facts.events or ():
        start = event.first_local or f"{event.first_s:.0f} s"
        end = event.last_local or f"{event.last_s:.0f} s"
        what = FALLEN if event.word == "fall" else event.word
        what = f"{what} ({event.name})" if event.name else what
        spans.append(f"{what} {start}" if start == end else f"{what} {start} to {end}")
    sentences.append(f"Seen: {'; '.join(spans)}.")
    return title, " ".join(sentences)


def template_summary(facts: SceneFacts, note: str = NOTE) -> tuple[str, str]:
    """(title, summary) built only from the facts; ``note`` says why no model wrote it."""
    where = _where(facts)
    if facts.empty:
        return (
            f"Nothing detected at {where}",
            f"No people or objects were detected at {where} during {facts.duration_s:.0f} s "
            f"({describe_time(facts)}). {note}",
        )
    if facts.events is not None:
        title, summary = _tracked(facts, where)
        summary = f"{summary} {note}"
    else:
        main = facts.labels[0]
        title = f"{main.word.capitalize()} detected at {where}"
        seen = ", ".join(f"{f.word} x{f.count}" for f in facts.labels)
        summary = (f"Detected {seen} at {where} during {facts.duration_s:.0f} s ({describe_time(facts)}). "
                   f"{note}")
    if len(title) > 80:
        title = title[:77] + "..."
    if len(summary) > SUMMARY_MAX:  # many events: keep the first ones and the note
        summary = summary[: SUMMARY_MAX - len(note) - 2].rsplit(" ", 1)[0] + "… " + note
    return title, summary
