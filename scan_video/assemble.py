"""The analytic document: built from what the scan found, validated against its contract, written
atomically (a reader sees the old file or the new one, never half of one)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vv_core.atomic import atomic_write_json
from vv_core.jsonlog import utc_timestamp
from vv_core.schema import validate_schema

SCHEMA_VERSION = "1.1"  # 1.1: events (tracked, confirmed objects) and how they were made


def normalized_box(box: tuple[float, float, float, float], width: int, height: int) -> list[float]:
    x1, y1, x2, y2 = box
    values = [x1 / width, y1 / height, x2 / width, y2 / height]
    return [round(min(1.0, max(0.0, v)), 5) for v in values]


def offset_utc(recorded_at: str | None, seconds: float) -> str | None:
    """``recorded_at`` + ``seconds`` as ISO-8601 Z (millisecond precision), or None when unknown."""
    if recorded_at is None:
        return None
    start = datetime.fromisoformat(recorded_at.replace("Z", "+00:00")).astimezone(UTC)
    moment = start + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def detection_record(*, time_s: float, recorded_at: str | None, kind: str, label: str, confidence: float,
                     box: tuple[float, float, float, float], width: int, height: int) -> dict[str, Any]:
    return {
        "timestamp": round(time_s, 3),
        "timestamp_utc": offset_utc(recorded_at, time_s),
        "type": kind,
        "label": label,
        "confidence": round(min(1.0, max(0.0, confidence)), 4),
        "bbox": normalized_box(box, width, height),
    }


def build_analytic(*, video_id: str, source: str, source_hash: str, recorded_at: str | None,
                   camera: str | None, video: dict[str, Any], model: dict[str, Any], faces: dict[str, Any],
                   sampling: dict[str, Any], timings: dict[str, float],
                   detections: list[dict[str, Any]], events: list[dict[str, Any]],
                   tracking: dict[str, Any], cover: str | None = None) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "id": video_id,
        "source": source,
        "source_hash": source_hash,
        "created_at": utc_timestamp(),
        "recorded_at": recorded_at,
        "camera": camera,
        "video": video,
        "model": model,
        "faces": faces,
        "sampling": sampling,
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "detections": detections,
        "tracking": tracking,
        "events": events,
        "cover": cover,
    }


def write_analytic(document: dict[str, Any], output_dir: Path) -> Path:
    """Validate, then write ``<output_dir>/<id>.analytic.json`` atomically; return its path."""
    validate_schema(document, "analytic")
    return atomic_write_json(Path(output_dir) / f"{document['id']}.analytic.json", document)
