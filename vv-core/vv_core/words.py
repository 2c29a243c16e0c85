"""Human words for counted things, shared by every stage that writes for people to read.

The summaries and the LogLines both say "2 people", "1 bus", "3 traffic lights": one rule, here,
so a title and the LogLine built from the same summary never disagree on a plural. The summary's
fact check reads counts back with the same vocabulary (:data:`NUMBER_WORDS`, :data:`PERSON_WORDS`),
so what the writers say and what the checker understands cannot drift apart.
"""

# Plurals the simple English rules below would get wrong (COCO labels among them).
IRREGULAR_PLURALS = {"person": "people", "bus": "buses", "child": "children", "knife": "knives",
                     "mouse": "mice", "sheep": "sheep", "skis": "skis", "scissors": "scissors",
                     "man": "men", "woman": "women"}


def plural(label: str, count: int) -> str:
    """The word for ``count`` of ``label``: ``person`` → ``people``, ``traffic_light`` → ``traffic lights``."""
    word = label.replace("_", " ")
    if count == 1:
        return word
    if word in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[word]
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def counted(count: int, label: str) -> str:
    """``2 people``, ``1 car``, ``2 buses``."""
    return f"{count} {plural(label, count)}"


# One model of people for every place that counts them (issue 17): a fallen person is a person who
# fell. The scanner's ``fall`` events are people, so "1 person, 1 fall" (two things) is never
# written: the lying-person clip is "1 person (fallen)", a scene with a walker and a faller
# "2 people (1 fallen)". Old per-frame analytics name people ``normal`` / ``person_fallen``.
PERSON_LABELS = frozenset({"person", "normal", "person_fallen"})
FALL_LABELS = frozenset({"fall"})


def people_phrase(people: int, fallen: int = 0) -> str:
    """``2 people``, ``1 person (fallen)``, ``3 people (1 fallen)``."""
    text = counted(people, "person")
    if fallen:
        text += " (fallen)" if fallen == people == 1 else f" ({fallen} fallen)"
    return text


def people_counts(labels: dict[str, int]) -> tuple[int, int]:
    """(people, of whom fallen) in a label → count mapping (a summary's ``labels``)."""
    fallen = sum(n for label, n in labels.items() if label.lower() in FALL_LABELS)
    return sum(n for label, n in labels.items() if label.lower() in PERSON_LABELS) + fallen, fallen


def describe_counts(labels: dict[str, int] | None) -> str | None:
    """``{"person": 1, "fall": 1, "bicycle": 1}`` → ``"2 people (1 fallen), 1 bicycle"``: the
    people as one group beside the other objects, most frequent first (ties by name); None when
    nothing was counted."""
    labels = {label: n for label, n in (labels or {}).items() if n > 0}
    people, fallen = people_counts(labels)
    parts = [(n, label, counted(n, label)) for label, n in labels.items()
             if label.lower() not in PERSON_LABELS | FALL_LABELS]
    if people:
        parts.append((people, "person", people_phrase(people, fallen)))
    return ", ".join(text for _n, _label, text in sorted(parts, key=lambda part: (-part[0], part[1]))) or None


def recognised_phrase(people: dict) -> str:
    """``Maria``, ``Maria and 1 unrecognised person``, ``2 unrecognised people``: everyone whose face
    was matched against the known faces (a summary's ``people``), named or not. The LogLine's
    ``who`` and the template's "Recognised: …" both say it so."""
    count = people.get("unrecognised", 0)
    unknown = [f"{count} unrecognised {'person' if count == 1 else 'people'}"] if count else []
    names = list(people.get("known", [])) + unknown
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# Reading counts back (a model's text held to the facts): the nouns a text may count people with,
# in both numbers (``plural`` above), and the number words it may count them with. None: a word
# that counts but states no number ("several people": not checked against the events).
PERSON_NOUNS = ("person", "man", "woman", "individual", "pedestrian", "visitor")
PERSON_WORDS = frozenset({*PERSON_NOUNS, *(plural(noun, 2) for noun in PERSON_NOUNS), "persons"})
NUMBER_WORDS: dict[str, int | None] = {
    "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "both": 2, "couple": 2, "a couple": 2, "three": 3,
    "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "dozen": 12, "a dozen": 12, "half a dozen": 6, "a few": None, "few": None, "several": None, "many": None,
}


def number_value(text: str) -> int | None:
    """The count ``text`` states: ``12`` and ``a dozen`` → 12, ``Two`` → 2, ``several`` → None (no
    number); KeyError for a word not in :data:`NUMBER_WORDS`."""
    words = " ".join(text.lower().split())
    return int(words) if words.isdigit() else NUMBER_WORDS[words]
