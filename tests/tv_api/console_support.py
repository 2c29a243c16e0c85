"""Builders for the console tests: a signed LogLine chain with its summaries and analytics, and the
embedding model installed (verified) from the manifest into a models directory."""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import REPO_ROOT
from tests.logline_fixtures import make_key_store
from vv_core.atomic import atomic_write_json
from vv_core.canonical import pretty_json
from vv_core.keystore import KeyStore, load_key_store
from vv_core.loglines import ChainHead, encode_logline, head_document, logline_filename, seal_logline
from vv_core.models import install_model, load_manifest

MANIFEST = REPO_ROOT / "models" / "model_manifest.json"
EMBEDDER = "all-minilm-l6-v2"


@dataclass
class EventSpec:
    id: str
    title: str
    summary: str
    when: str                      # UTC, ...Z
    camera: str = "cam1"
    status: str = "confirmado"
    video: str = "processed/cam1/20261121T101500Z.mp4"
    labels: dict[str, int] = field(default_factory=lambda: {"person": 1})
    detections: list[dict] = field(default_factory=list)


def detection(label: str, at: float, kind: str = "object") -> dict:
    return {"timestamp": at, "type": kind, "label": label, "confidence": 0.9, "bbox": [0.1, 0.1, 0.5, 0.5]}


def write_events(root: Path, key_store: KeyStore, specs: list[EventSpec], start_seq: int = 0,
                 prev_hash: str = "0" * 64) -> list[dict]:
    """Summaries, analytics and sealed LogLines (chained from ``prev_hash``), plus the signed head."""
    loglines = root / "loglines"
    loglines.mkdir(parents=True, exist_ok=True)
    records = []
    for offset, spec in enumerate(specs):
        source_hash = hashlib.sha256(spec.id.encode()).hexdigest()
        atomic_write_json(root / "analytic" / f"{spec.id}.analytic.json",
                          {"schema_version": "1.0", "id": spec.id, "detections": spec.detections})
        atomic_write_json(root / "summaries" / f"{spec.id}.summary.json", {
            "schema_version": "1.0", "id": spec.id, "title": spec.title, "summary": spec.summary,
            "status": spec.status, "labels": spec.labels,
            "source": {"video": spec.video, "analytic": f"analytic/{spec.id}.analytic.json", "camera": spec.camera}})
        fields = {"schema_version": "1.0", "id": spec.id, "who": spec.camera, "did": "detected",
                  "this": ", ".join(spec.labels) or "nothing", "when": spec.when, "status": spec.status,
                  "title": spec.title, "summary": spec.summary,
                  "source": {"video": spec.video, "duration_s": 2.5, "summary": f"summaries/{spec.id}.summary.json"},
                  "source_hash": source_hash}
        record = seal_logline(fields, seq=start_seq + offset, prev_hash=prev_hash, key_store=key_store)
        raw = encode_logline(record)
        (loglines / logline_filename(spec.id)).write_bytes(raw)
        prev_hash = hashlib.sha256(raw[:-1]).hexdigest()
        records.append(record)
    head = ChainHead(records[-1]["seq"], prev_hash, records[-1]["id"])
    (loglines / ".chain_head.json").write_bytes(pretty_json(head_document(head, key_store)))
    return records


def key_store_for(settings) -> KeyStore:
    path = Path(settings.key_store_path)
    return load_key_store(path) if path.exists() else make_key_store(path)


def install_embedder(models_dir: Path) -> Path:
    """The embedder and its vocabulary, installed and sha256-verified by the model store."""
    manifest = load_manifest(MANIFEST)
    for name in (EMBEDDER, EMBEDDER + "-vocab"):
        install_model(manifest.find(name), models_dir)
    return models_dir
