"""Degraded mode: a deterministic summary written from the facts alone when no model is installed.

It is marked ``engine: "template"`` / ``generation_path: "template"`` / ``model: null`` so nobody
mistakes it for a model's words, and it still names what was detected so a TV shows something true.
"""

from summarize_scene.facts import SceneFacts, describe_time


def _where(facts: SceneFacts) -> str:
    return facts.camera or "the camera"


def template_summary(facts: SceneFacts) -> tuple[str, str]:
    """(title, summary) built only from the facts."""
    where = _where(facts)
    if facts.empty:
        return (
            f"Nothing detected at {where}",
            f"No people or objects were detected at {where} during {facts.duration_s:.0f} s "
            f"({describe_time(facts)}). Automatic summary: no language model is installed.",
        )
    main = facts.labels[0]
    title = f"{main.word.capitalize()} detected at {where}"
    if len(title) > 80:
        title = title[:77] + "..."
    seen = ", ".join(f"{f.word} x{f.count}" for f in facts.labels)
    summary = (
        f"Detected {seen} at {where} during {facts.duration_s:.0f} s ({describe_time(facts)}). "
        "Automatic summary: no language model is installed."
    )
    return title, summary
