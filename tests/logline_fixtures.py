"""Builders for LogLine tests (summaries, key stores, whole chains written fast)."""

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vv_core.atomic import atomic_write_json
from vv_core.canonical import pretty_json
from vv_core.keystore import KeyStore, create_key_store
from vv_core.loglines import (
    ChainHead,
    encode_logline,
    head_document,
    logline_filename,
    seal_logline,
)
from vv_core.placement import write_placement

STATUSES = ("confirmado", "alerta", "experimental", "curado")


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_key_store(path: Path, key_id: str = "k1") -> KeyStore:
    path.parent.mkdir(parents=True, exist_ok=True)
    return create_key_store(path, key_id)


def summary_doc(summary_id: str, *, status: str = "confirmado", camera: str | None = "cam1",
                recorded_at: str | None = "2026-11-21T10:15:00Z", labels: dict | None = None,
                video: str | None = None, source_hash: str | None = None) -> dict[str, Any]:
    return {
        "schema_version": "1.0", "id": summary_id,
        "source": {"video": video or f"input/cam1/{summary_id}.mp4",
                   "analytic": f"analytic/{summary_id}.analytic.json", "camera": camera,
                   "recorded_at": recorded_at, "duration_s": 10.0},
        "source_hash": source_hash or hashlib.sha256(summary_id.encode()).hexdigest(),
        "created_at": "2026-11-21T10:16:03.020Z", "engine": "template", "model": None,
        "prompt_version": "test/1", "title": f"Title {summary_id}", "summary": f"Summary of {summary_id}.",
        "status": status, "confidence": 0.5,
        "labels": {"person": 3, "bicycle": 1} if labels is None else labels,
    }


def write_summary(storage_root: Path, doc: dict[str, Any]) -> Path:
    return atomic_write_json(storage_root / "summaries" / f"{doc['id']}.summary.json", doc)


def record_fields(index: int, *, when: str, status: str, video: str | None = None,
                  source_hash: str | None = None) -> dict[str, Any]:
    logline_id = f"cam{index % 3}_{index:07d}"
    return {"schema_version": "1.0", "id": logline_id, "who": f"cam{index % 3}", "did": "detected",
            "this": f"{index % 5 + 1} persons", "when": when, "status": status, "title": f"Event {index}",
            "summary": f"Something happened ({index}).",
            "source": {"video": video or f"input/cam{index % 3}/{logline_id}.mp4", "duration_s": 10.0},
            "source_hash": source_hash or hashlib.sha256(str(index).encode()).hexdigest()}


def fast_chain(directory: Path, count: int, key_store: KeyStore, *, now: datetime | None = None,
               spacing_s: float = 1.0, video_for=None, write_head: bool = True,
               source_hash_for=None) -> list[dict]:
    """Seal and write ``count`` LogLines directly (no lock, no fsync): fixtures only."""
    directory.mkdir(parents=True, exist_ok=True)
    start = (now or datetime.now(UTC)) - timedelta(seconds=spacing_s * count)
    records, prev = [], "0" * 64
    for index in range(count):
        when = utc(start + timedelta(seconds=spacing_s * index))
        fields = record_fields(index, when=when, status=STATUSES[index % 4],
                               video=video_for(index) if video_for else None,
                               source_hash=source_hash_for(index) if source_hash_for else None)
        record = seal_logline(fields, seq=index, prev_hash=prev, key_store=key_store)
        raw = encode_logline(record)
        (directory / logline_filename(record["id"])).write_bytes(raw)
        prev = hashlib.sha256(raw[:-1]).hexdigest()  # == link_hash(record), without re-serializing
        records.append(record)
    if write_head and records:
        head = ChainHead(records[-1]["seq"], prev, records[-1]["id"])
        (directory / ".chain_head.json").write_bytes(pretty_json(head_document(head, key_store)))
    return records


def place_media(root: Path, record: dict[str, Any], relative: str | None = None, content: bytes = b"") -> Path:
    """The media of ``record`` at ``relative`` (default: the path its LogLine names) plus the
    placement record the orchestrator writes for it (fixture bytes cannot hash to source_hash)."""
    relative = relative or record["source"]["video"]
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    write_placement(root / "state", root, relative, record["source_hash"])
    return path
