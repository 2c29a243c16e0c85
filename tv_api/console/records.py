"""What the console shows of one LogLine: its own fields plus what its summary and analytic add.

Read from the files the pipeline wrote (loglines/, summaries/, analytic/); a missing or unreadable
summary or analytic only means fewer details, never an error.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from vv_core.loglines import id_from_filename

SNAPSHOTS_PER_EVENT = 3
GENERIC_FACE_LABELS = frozenset({"face", "unknown"})


def parse_utc(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z" if "." in text
                                 else "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC).timestamp()
    except ValueError:
        return None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _inside(root: Path, relative: Any) -> Path | None:
    """``root/relative`` when it names a file under the root (never follows a path out of it)."""
    if not isinstance(relative, str) or not relative or relative.startswith("/") or ".." in relative.split("/"):
        return None
    return root / relative


@dataclass
class EventRecord:
    id: str
    file: str
    seq: int | None
    camera: str
    status: str
    when_utc: str
    when_ts: float
    title: str
    summary: str
    did: str
    this: str
    video: str
    source_hash: str
    summary_path: str = ""
    analytic_path: str = ""
    labels: list[str] = field(default_factory=list)
    persons: list[str] = field(default_factory=list)
    start_s: float = 0.0
    snapshot_times: list[float] = field(default_factory=list)

    @property
    def search_text(self) -> str:
        """What semantic search embeds: what happened, in words."""
        parts = [self.title, self.summary, " ".join(self.labels), self.this]
        return ". ".join(p for p in parts if p)


def read_event(root: Path, logline_file: Path) -> EventRecord | None:
    """The console's view of one LogLine file, or None when it is not a readable LogLine."""
    record = _read_json(logline_file)
    if record is None or not isinstance(record.get("id"), str):
        return None
    source = record.get("source") if isinstance(record.get("source"), dict) else {}
    when = str(record.get("when", ""))
    event = EventRecord(
        id=record["id"], file=logline_file.name, seq=record.get("seq") if type(record.get("seq")) is int else None,
        camera=str(record.get("who", "")), status=str(record.get("status", "")), when_utc=when,
        when_ts=parse_utc(when) or 0.0, title=str(record.get("title", "")), summary=str(record.get("summary", "")),
        did=str(record.get("did", "")), this=str(record.get("this", "")), video=str(source.get("video", "")),
        source_hash=str(record.get("source_hash", "")), summary_path=str(source.get("summary", "")),
    )
    summary_file = _inside(root, event.summary_path)
    summary = _read_json(summary_file) if summary_file else None
    if summary:
        labels = summary.get("labels") if isinstance(summary.get("labels"), dict) else {}
        event.labels = sorted(str(label) for label, count in labels.items() if count)
        summary_source = summary.get("source") if isinstance(summary.get("source"), dict) else {}
        event.analytic_path = str(summary_source.get("analytic", ""))
        if isinstance(summary_source.get("camera"), str) and summary_source["camera"]:
            event.camera = summary_source["camera"]  # ``who`` may also name people ("Maria at cam1")
    analytic_file = _inside(root, event.analytic_path)
    analytic = _read_json(analytic_file) if analytic_file else None
    if analytic and isinstance(analytic.get("events"), list):
        _add_events(event, analytic["events"])
    elif analytic and isinstance(analytic.get("detections"), list):
        _add_detections(event, analytic["detections"])
    return event


def _add_events(event: EventRecord, events: list[Any]) -> None:
    """A tracked analytic (1.1): labels, names and times of its confirmed events only, as the summary
    and the LogLine count them (a frame of the fall class on a cyclist is no "fall"; a fallen
    person is a person too)."""
    events = [e for e in events if isinstance(e, dict) and isinstance(e.get("first_seen_s"), (int, float))]
    labels = {str(e.get("label", "")) for e in events} - {""}
    if "fall" in labels:
        labels.add("person")
    event.labels = sorted(labels)
    event.persons = sorted({e["identity"]["name"] for e in events if isinstance(e.get("identity"), dict)
                            and isinstance(e["identity"].get("name"), str)})
    starts = sorted({float(e["first_seen_s"]) for e in events})
    if starts:
        event.start_s = starts[0]
        event.snapshot_times = starts[:SNAPSHOTS_PER_EVENT]


def _add_detections(event: EventRecord, detections: list[Any]) -> None:
    first_of_label: dict[str, float] = {}
    persons: set[str] = set()
    for detection in detections:
        if not isinstance(detection, dict) or not isinstance(detection.get("timestamp"), (int, float)):
            continue
        label, time_s = str(detection.get("label", "")), float(detection["timestamp"])
        first_of_label.setdefault(label, time_s)
        if detection.get("type") == "face" and label.lower() not in GENERIC_FACE_LABELS:
            persons.add(label)
    if first_of_label:
        event.start_s = min(first_of_label.values())
        event.snapshot_times = sorted(set(first_of_label.values()))[:SNAPSHOTS_PER_EVENT]
        event.labels = sorted(set(event.labels) | set(first_of_label) - persons)
    event.persons = sorted(persons)


def logline_id_of(name: str) -> str:
    return id_from_filename(name)


def pretty(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True)
