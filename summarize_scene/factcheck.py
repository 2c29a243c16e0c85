"""Does a title + summary agree with the facts it was written from? (pure functions)

A small model writes fluent text that can still be wrong: a name nobody recognised, "three people"
for two, a fall nobody had, a clock time in the wrong zone. :func:`contradictions` lists what a
text says against the facts; the pipeline writes the template instead of a model's text that has
any (``fallback_reason`` says which), and ``benchmarks/bench_llm_facts.py`` scores the model with
the same checks. The template's own text must pass them (tests hold it to that).

An untracked (schema 1.0) analytic's counts are frames, not people, so its counts are not checked.
The checks are deliberately conservative: they look for what a sentence *states* (a counted noun,
a clock time, a fall word, a capitalised name), not for what it leaves out, except for two
omissions the issue asks for: the recognised names and, when there was one, the fall.
"""

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from summarize_scene.facts import SceneFacts, fall_count, identities, people_count
from vv_core.words import NUMBER_WORDS, PERSON_WORDS, number_value


def _alternatives(phrases: Iterable[str]) -> str:
    """A regex group of ``phrases``, longest first ("a dozen" before "a"), any spaces between words."""
    return "(?:" + "|".join(r"\s+".join(map(re.escape, phrase.split()))
                            for phrase in sorted(phrases, key=len, reverse=True)) + ")"


# The count vocabulary is the writers' (vv_core.words): a count the template or a LogLine could say, this reads.
_PEOPLE = _alternatives(PERSON_WORDS)
_NUMBER = rf"(?:\d+|{_alternatives(NUMBER_WORDS)})"
# "two people", "3 young men", "a dozen people"; not the minutes of "14:03 two people" (the count there is "two").
_COUNTED = re.compile(rf"(?<![:.\d])\b({_NUMBER})\s+(?:(?!{_NUMBER}\b)[a-z]+\s+)?{_PEOPLE}\b", re.IGNORECASE)
_NOBODY = re.compile(r"\b(?:(?:nobody|no one)(?!\s+(?:was|is|could be)\s+recogni[sz]ed)|no people|no person"
                     r"|nothing (?:was )?(?:detected|seen))\b", re.IGNORECASE)  # "nobody was recognised" is no count
_FALL = re.compile(r"\b(?:fall|falls|fell|fallen|falling|collapse[sd]?|on the (?:floor|ground))\b", re.IGNORECASE)
_CLOCK = re.compile(r"\b([01]?\d|2[0-3])[:.h]([0-5]\d)(?::([0-5]\d))?\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
# Capitalised words that are not names (a title capitalises its words; sentences start with one).
_NOT_NAMES = frozenset({
    "a", "an", "the", "at", "in", "on", "of", "by", "to", "and", "or", "near", "from", "until", "till", "during",
    "seen", "detected", "person", "people", "fall", "fallen", "nothing", "nobody", "one", "two", "three", "four",
    "five", "six", "seven", "eight", "nine", "ten", "camera", "cam", "recognised", "unrecognised", "unknown",
    "automatic", "summary", "report", "night", "daylight", "day", "morning", "afternoon", "evening", "local",
    "time", "he", "she", "they", "it", "his", "her", "their", "someone", "somebody", "man", "woman", "men",
    "women", "visible", "face", "faces", "gate", "hall", "entrance", "street", "yard", "door",
}) | PERSON_WORDS | {word for phrase in NUMBER_WORDS for word in phrase.split()}

TIME_SLACK = timedelta(minutes=1)


def _clock_times(facts: SceneFacts) -> list[str]:
    times = [t for e in facts.events or () for t in (e.first_local, e.last_local) if t]
    return times + ([facts.local_time] if facts.local_time else [])


def _time_fits(hour: int, minute: int, facts: SceneFacts) -> bool:
    """A stated HH:MM lies within the recording (in the configured zone), a minute either side."""
    known = _clock_times(facts)
    if not known:
        return False  # the facts have no clock: any clock time is invented
    base = datetime(2000, 1, 1)
    moments = [base.replace(hour=int(t[:2]), minute=int(t[3:5])) for t in known]
    start = min(moments) - TIME_SLACK
    end = max(max(moments), min(moments) + timedelta(seconds=facts.duration_s)) + TIME_SLACK
    stated = base.replace(hour=hour, minute=minute)
    return any(start <= day_shift <= end for day_shift in (stated, stated + timedelta(days=1)))


def _names_in(text: str, allowed: set[str]) -> list[str]:
    """Capitalised words mid-sentence that are neither a fact's name nor an ordinary word."""
    found = []
    for sentence in re.split(r"(?<=[.!?;:])\s+", text):
        words = _WORD.findall(sentence)
        for word in words[1:]:
            if word[0].isupper() and word.lower() not in allowed and word.lower() not in _NOT_NAMES:
                found.append(word)
    return found


CHECKS = ("counts", "falls", "names present", "no other names", "times")


def findings(facts: SceneFacts, title: str, summary: str, *,
             object_words: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(check, what the text says against the facts) for ``title`` + ``summary``; checks are
    :data:`CHECKS`. ``object_words`` are more words a text may capitalise that are not names (the
    config's labels and objects)."""
    problems: list[tuple[str, str]] = []
    text = f"{title}. {summary}"
    people = people_count(facts)
    falls = fall_count(facts)
    who = identities(facts) or {"known": [], "unrecognised": 0}
    names = set(who["known"])
    # An untracked (schema 1.0) analytic counts frames, not people: no count of it can be checked.
    counts = [(n, number_value(n))
              for n in (_COUNTED.findall(text) if facts.events is not None else [])]
    for number, stated in counts:
        if people == 0:
            problems.append(("counts", f"mentions people ({number}) but nobody was detected"))
        elif stated is not None and stated != people and (stated > people or stated > 1):
            problems.append(("counts", f"says {number} people, the events count {people}"))
    stated_counts = [stated for _n, stated in counts if stated is not None]
    if people > 1 and stated_counts and max(stated_counts) < people:  # "a person" for three ("one is Maria" is fine)
        problems.append(("counts", f"speaks of {counts[0][0]} person only, the events count {people}"))
    nobody = _NOBODY.search(text)
    if not facts.empty and nobody:
        problems.append(("counts", f"says {nobody.group(0)!r} but {facts.labels[0].word} was detected"))
    fall_word = _FALL.search(text)
    if fall_word and not falls:
        problems.append(("falls", f"says {fall_word.group(0)!r} but no fall was confirmed"))
    if falls and not fall_word:
        problems.append(("falls", "does not say that a person fell"))
    for name in sorted(names):
        if not re.search(rf"\b{re.escape(name)}\b", text):
            problems.append(("names present", f"does not name {name}, who was recognised"))
    allowed = {n.lower() for n in names} | {w.lower() for w in object_words}
    allowed |= {part.lower() for part in re.split(r"[^A-Za-z]+", facts.camera or "") if part}
    invented = _names_in(text, allowed)
    if invented:
        problems.append(("no other names", f"names {', '.join(dict.fromkeys(invented))}, not among the recognised "
                                           "people"))
    for hour, minute, _second in _CLOCK.findall(text):
        if not _time_fits(int(hour), int(minute), facts):
            problems.append(("times", f"states {hour}:{minute}, outside the recording's local times"))
    return problems


def contradictions(facts: SceneFacts, title: str, summary: str, *, object_words: tuple[str, ...] = ()) -> list[str]:
    """What ``title`` + ``summary`` state against ``facts`` (empty: it agrees)."""
    return [message for _check, message in findings(facts, title, summary, object_words=object_words)]
