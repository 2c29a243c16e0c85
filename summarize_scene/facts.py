"""What an analytic says, reduced to the facts a summary is built from (pure functions).

The model never sees raw detections: it sees a short, deterministic digest ("person x2, max
confidence 0.91; night; camera cam1; 60 s"), and the stage decides status and confidence from the
same digest with the rules in config.yaml. Same analytic → same digest → same prompt.

An analytic with ``events`` (schema 1.1: tracked, confirmed objects) is digested from its events
only: counts are distinct objects, the rules see one piece of evidence per object (its track's
median score), and a frame-level box that never became an event counts for nothing. An older
analytic (per-frame detections only) is digested as before.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from summarize_scene.config import ConfigError, DaylightConfig, RuleCondition, Status, SummarizeConfig
from vv_core.words import describe_counts, people_counts, recognised_phrase


@dataclass(frozen=True)
class LabelFacts:
    label: str          # as the detector named it
    word: str           # the word a summary must use (config labels)
    display: str        # phrase shown to the model
    count: int             # distinct objects (events), or detections in an untracked analytic
    max_confidence: float
    mean_confidence: float


@dataclass(frozen=True)
class EventFacts:
    label: str
    word: str
    first_s: float
    last_s: float
    confidence: float      # the track's median score
    first_local: str | None  # "14:02:05" in the configured zone
    last_local: str | None
    identified: bool = False  # faces of this person were matched against the known faces
    name: str | None = None   # ...and this is who it is


@dataclass(frozen=True)
class SceneFacts:
    camera: str | None
    recorded_at: str | None
    duration_s: float
    time_of_day: str                       # day | night | unknown
    local_time: str | None                 # "22:15" in the configured zone
    labels: tuple[LabelFacts, ...]         # most frequent first
    detections: list[dict[str, Any]] = field(repr=False, default_factory=list)
    events: tuple[EventFacts, ...] | None = None  # None: an untracked (schema 1.0) analytic

    @property
    def empty(self) -> bool:
        return not self.labels

    def label_counts(self) -> dict[str, int]:
        return {facts.label: facts.count for facts in self.labels}

    def required_words(self) -> list[str]:
        """Words the title+summary must contain: what the scene is mostly about."""
        if self.empty:
            return ["nothing"]
        objects = [f for f in self.labels if f.word != "face"] or list(self.labels)
        words = [objects[0].word]
        # An alert-worthy label (a fall) must be named even when it is not the most frequent.
        words += [f.word for f in self.labels if f.word == "fall" and f.word not in words]
        return words


def forbidden_words(facts: SceneFacts, config: SummarizeConfig) -> list[str]:
    """Words that would contradict the facts: undetected objects, the wrong time of day.

    A small base model readily copies objects and times out of its few-shot examples; a free-pass
    text that does so is rejected (and the grammar pass runs)."""
    detected = {f.word.lower() for f in facts.labels}
    known = {word.word.lower() for word in config.labels.values()} | {w.lower() for w in config.object_words}
    words = sorted(known - detected)
    if facts.time_of_day == "day":
        words.append("night")
    elif facts.time_of_day == "night":
        words.append("daylight")
    return words


def zone_of(name: str) -> tzinfo:
    try:
        # UTC needs no tz database (slim container images may lack one).
        return UTC if name.upper() == "UTC" else ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown timezone: {name!r}") from None


def local_clock(utc_text: str | None, zone: tzinfo, fmt: str = "%H:%M:%S") -> str | None:
    if not utc_text:
        return None
    return datetime.fromisoformat(utc_text.replace("Z", "+00:00")).astimezone(zone).strftime(fmt)


def time_of_day(recorded_at: str | None, daylight: DaylightConfig,
                box_timezone: str = "UTC") -> tuple[str, str | None]:
    """("day" | "night" | "unknown", local HH:MM) for a UTC ISO timestamp, in the summarize config's
    zone or else the box's (BOX_TIMEZONE)."""
    if not recorded_at:
        return "unknown", None
    zone = zone_of(daylight.timezone or box_timezone)
    moment = datetime.fromisoformat(recorded_at.replace("Z", "+00:00")).astimezone(zone)
    hour = moment.hour
    start, end = daylight.day_starts_hour, daylight.night_starts_hour
    is_day = start <= hour < end if start < end else not (end <= hour < start)
    return ("day" if is_day else "night"), moment.strftime("%H:%M")


def _event_facts(events: list[dict[str, Any]], config: SummarizeConfig, zone: tzinfo) -> tuple[EventFacts, ...]:
    return tuple(
        EventFacts(label=e["label"], word=config.word_for(e["label"]).word, first_s=e["first_seen_s"],
                   last_s=e["last_seen_s"], confidence=e["score"]["median"],
                   first_local=local_clock(e.get("first_seen_utc"), zone),
                   last_local=local_clock(e.get("last_seen_utc"), zone), identified="identity" in e,
                   name=(e.get("identity") or {}).get("name"))
        for e in events
    )


def scene_facts(analytic: dict[str, Any], config: SummarizeConfig, box_timezone: str = "UTC") -> SceneFacts:
    """Digest a schema-valid analytic into the facts prompt, rules and template use."""
    detections = list(analytic.get("detections", []))
    recorded_at = analytic.get("recorded_at")
    if not recorded_at:
        # A segment without a start time may still carry per-detection UTC stamps.
        recorded_at = next((d["timestamp_utc"] for d in detections if d.get("timestamp_utc")), None)
    period, local = time_of_day(recorded_at, config.daylight, box_timezone)
    if "events" in analytic:
        return _tracked_facts(analytic, config, zone_of(config.daylight.timezone or box_timezone),
                              recorded_at, period, local)
    counts = Counter(d["label"] for d in detections)
    labels = []
    for label, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        confidences = [d["confidence"] for d in detections if d["label"] == label]
        word = config.word_for(label)
        labels.append(LabelFacts(
            label=label, word=word.word, display=word.display or word.word, count=count,
            max_confidence=round(max(confidences), 3),
            mean_confidence=round(sum(confidences) / len(confidences), 3),
        ))
    return SceneFacts(
        camera=analytic.get("camera"), recorded_at=recorded_at,
        duration_s=float(analytic["video"]["duration_s"]), time_of_day=period, local_time=local,
        labels=tuple(labels), detections=detections,
    )


def _tracked_facts(analytic: dict[str, Any], config: SummarizeConfig, zone: tzinfo, recorded_at: str | None,
                   period: str, local: str | None) -> SceneFacts:
    events = _event_facts(list(analytic["events"]), config, zone)
    by_label: dict[str, list[EventFacts]] = {}
    for event in events:
        by_label.setdefault(event.label, []).append(event)
    labels = []
    for label, group in sorted(by_label.items(), key=lambda item: (-len(item[1]), item[0])):
        word = config.word_for(label)
        scores = [e.confidence for e in group]
        labels.append(LabelFacts(
            label=label, word=word.word, display=word.display or word.word, count=len(group),
            max_confidence=round(max(scores), 3), mean_confidence=round(sum(scores) / len(scores), 3)))
    # The rules weigh one piece of evidence per object: its label and its track's median score.
    evidence = [{"label": e.label, "confidence": e.confidence} for e in events]
    return SceneFacts(
        camera=analytic.get("camera"), recorded_at=recorded_at,
        duration_s=float(analytic["video"]["duration_s"]), time_of_day=period, local_time=local,
        labels=tuple(labels), detections=evidence, events=events,
    )


def identities(facts: SceneFacts) -> dict[str, Any] | None:
    """``{"known": [names], "unrecognised": n}`` when faces of the people were matched, else None."""
    matched = [e for e in facts.events or () if e.identified]
    if not matched:
        return None
    return {"known": sorted({e.name for e in matched if e.name}),
            "unrecognised": sum(1 for e in matched if e.name is None)}


def word_counts(facts: SceneFacts) -> dict[str, int]:
    """Count per word the summaries use (two labels may share one: ``normal`` and ``person`` are people)."""
    counts: dict[str, int] = {}
    for label in facts.labels:
        counts[label.word] = counts.get(label.word, 0) + label.count
    return counts


def people_count(facts: SceneFacts) -> int:
    """Distinct people (a fallen person is a person too): ``vv_core.words.people_counts``, the count
    the prompt's objects and the LogLine state."""
    return people_counts(word_counts(facts))[0]


def fall_count(facts: SceneFacts) -> int:
    """Of the people, how many fell."""
    return people_counts(word_counts(facts))[1]


def describe_timeline(facts: SceneFacts) -> str:
    """What happened over time, from the events: ``14:02:05-14:02:40 person; 14:02:10-14:02:30 fall``.

    Seconds from the start replace clock times when the recording's start is unknown."""
    if not facts.events:
        return ""
    parts = []
    for event in sorted(facts.events, key=lambda e: (e.first_s, e.label)):
        if event.first_local and event.last_local:
            span = event.first_local if event.first_local == event.last_local else \
                f"{event.first_local}-{event.last_local}"
        else:
            span = f"{event.first_s:.0f}-{event.last_s:.0f} s"
        parts.append(f"{span} {event.word}")
    return "; ".join(parts)


def describe_objects(facts: SceneFacts) -> str:
    """The prompt's objects: distinct counts in the summaries' words (``2 people (1 fallen), 1 car``);
    an untracked analytic says in how many frames each label was seen ("person in 4 frames")."""
    if facts.events is None:  # frames, not people: say so (a count of frames is no count of people)
        return ", ".join(f"{f.display} in {f.count} frame{'s' if f.count != 1 else ''}" for f in facts.labels) \
            or "none"
    return describe_counts(word_counts(facts)) or "none"


def describe_people(facts: SceneFacts) -> str:
    """Who the faces were: ``Maria and 1 unrecognised person``, ``nobody recognised``, ``not checked``."""
    who = identities(facts)
    if who is None:
        return "not checked"
    return recognised_phrase(who) if who["known"] else "nobody recognised"


def describe_minutes(facts: SceneFacts) -> str:
    """The prompt's timeline, local HH:MM: ``14:02-14:03 Maria; 14:02-14:03 person; 14:03 fallen person``."""
    if not facts.events:
        return "none"
    parts = []
    for event in sorted(facts.events, key=lambda e: (e.first_s, e.label)):
        who = event.name or ("fallen person" if event.word == "fall" else event.word)
        if event.first_local and event.last_local:
            first, last = event.first_local[:5], event.last_local[:5]
            span = first if first == last else f"{first}-{last}"
        else:
            span = f"{event.first_s:.0f}-{event.last_s:.0f} s"
        parts.append(f"{span} {who}")
    return "; ".join(parts)


def describe_detections(facts: SceneFacts) -> str:
    """One line for the prompt: ``person x12 (max confidence 0.91), face x2 (max confidence 1.00)``."""
    if facts.empty:
        return "none"
    return ", ".join(
        f"{f.display} x{f.count} (max confidence {f.max_confidence:.2f})" for f in facts.labels
    )


def describe_time(facts: SceneFacts) -> str:
    if facts.time_of_day == "unknown":
        return "unknown time"
    period = "daylight" if facts.time_of_day == "day" else "night"
    return f"{period} ({facts.local_time} local)"


@dataclass(frozen=True)
class StatusDecision:
    status: Status
    reason: str
    rule: str | None
    confidence: float


def _matching(condition: RuleCondition, facts: SceneFacts) -> list[dict[str, Any]] | None:
    """The detections that satisfy ``condition`` or None when it does not hold."""
    if condition.no_detections:
        return [] if facts.empty else None
    if condition.time_of_day != "any" and condition.time_of_day != facts.time_of_day:
        return None
    wanted = {label.lower() for label in condition.labels_any}
    hits = [
        d for d in facts.detections
        if (not wanted or d["label"].lower() in wanted) and d["confidence"] >= condition.min_confidence
    ]
    return hits if len(hits) >= condition.min_count else None


def decide_status(facts: SceneFacts, config: SummarizeConfig) -> StatusDecision:
    """First matching rule wins; confidence is the mean confidence of the evidence it matched."""
    for rule in config.status_rules:
        hits = _matching(rule.when, facts)
        if hits is None:
            continue
        confidence = sum(d["confidence"] for d in hits) / len(hits) if hits else 1.0
        return StatusDecision(rule.status, rule.reason, rule.name, round(confidence, 3))
    detections = facts.detections
    confidence = sum(d["confidence"] for d in detections) / len(detections) if detections else 0.0
    return StatusDecision(config.default_status, config.default_reason, None, round(confidence, 3))
