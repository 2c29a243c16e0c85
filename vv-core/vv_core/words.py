"""Human words for counted things, shared by every stage that writes for people to read.

The summaries and the LogLines both say "2 people", "1 bus", "3 traffic lights": one rule, here,
so a title and the LogLine built from the same summary never disagree on a plural.
"""

# Plurals the simple English rules below would get wrong (COCO labels among them).
IRREGULAR_PLURALS = {"person": "people", "bus": "buses", "child": "children", "knife": "knives",
                     "mouse": "mice", "sheep": "sheep", "skis": "skis", "scissors": "scissors"}


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
