"""The scratch box a drill runs in (never the live storage root) and the media inventory it checks.

A storage tree with videos (one of them alert footage, one big old ordinary recording the cleanup
policy may delete), a LogLine, the orchestrator's state DB, a key store, a models dir with a
current and a previous detector and LLM (small files with their sha256 pinned in the pointers; the
live models are never touched) and a loopback HTTP server standing in for tv_api's /status.

The disk the sandbox sees is a quota (:class:`Quota`): its size is fixed when the sandbox is built
and its use is the bytes really under the storage root, so "the disk is at 97 %" is real files
written to input/ and "space freed" is real files the cleanup policy deleted, without filling the
machine's disk.
"""

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ops.diagnosis.catalogue import Thresholds
from ops.diagnosis.evidence import Probe
from ops.diagnosis.remediation import FixPolicy
from orchestrator.state import StateStore
from vv_core.atomic import atomic_write_json
from vv_core.jsonlog import utc_timestamp
from vv_core.keystore import create_key_store
from vv_core.models import ModelEntry, use_model
from vv_core.naming import artifact_id
from vv_core.storage import DiskSpace, StorageLayout

MEDIA_DIRS = ("input", "processed", "tv_curado", "raw", "corrupted")
DRILL_POLICY_ACTIONS = frozenset({"restart_stage", "rollback_model", "free_space", "pause_ingestion",
                                  "requeue_transient", "resume_ingestion", "wait_for_db"})
QUOTA_FACTOR = 4              # the sandbox's disk is 4x what it holds when built (25 % used)
OLD_FOOTAGE_BYTES = 256 * 1024
DRILL_DB_WAIT_S = 10.0


class StatusServer:
    """A loopback HTTP server answering /status, standing in for tv_api (stop() = tv_api killed)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b'{"status": "ok"}'
                self.send_response(200 if self.path == "/status" else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.handler = Handler
        self.server: ThreadingHTTPServer | None = None
        self.port = 0

    def start(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/status"


def used_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


@dataclass
class Quota:
    """A disk of ``total`` bytes holding exactly what is under ``root``."""

    root: Path
    total: int

    def __call__(self, _path: Path) -> DiskSpace:
        return DiskSpace(self.total, max(0, self.total - used_bytes(self.root)))


@dataclass
class Sandbox:
    root: Path
    models_dir: Path
    key_store: Path
    probe: Probe
    limits: Thresholds
    policy: FixPolicy
    status: StatusServer
    quota: Quota
    clock_offset_s: float = 0.0
    held: list[Any] = field(default_factory=list)   # locks/connections a drill holds until undone
    held_lock: threading.Lock = field(default_factory=threading.Lock)

    def clock(self) -> float:
        return time.time() + self.clock_offset_s

    def release(self, held: Any) -> None:
        """Let go of one held lock/connection (from any thread; a second call does nothing)."""
        with self.held_lock:
            if held not in self.held:
                return
            self.held.remove(held)
        if hasattr(held, "rollback"):
            held.rollback()
            held.close()
        else:
            held.release()

    def release_all(self) -> None:
        for held in list(self.held):
            self.release(held)


def _install_model(models_dir: Path, name: str, kind: str, version: str, content: bytes) -> None:
    sha = hashlib.sha256(content).hexdigest()
    entry = ModelEntry(name=name, kind=kind, version=version, file="model.bin", sha256=sha,  # type: ignore[arg-type]
                       size_bytes=len(content), source="https://drill.invalid/model.bin")
    path = entry.install_path(models_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    use_model(models_dir, entry)


def write_file(root: Path, relative: str, content: bytes, mtime: float | None = None) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def build_sandbox(base: Path, limits: Thresholds) -> Sandbox:
    root = base / "storage"
    layout = StorageLayout(root)
    layout.ensure()
    models_dir = base / "models"
    for kind in ("detector", "llm"):
        for version in ("1.0", "2.0"):   # 1.0 becomes the "previous" of 2.0
            _install_model(models_dir, f"drill-{kind}", kind, version, f"{kind} weights {version}".encode() * 64)
    key_store = base / "secrets" / "keys.json"
    create_key_store(key_store, "drill-key")
    now = time.time()
    old = now - 40 * 86400
    write_file(root, "processed/cam1/old_ordinary.mp4", b"old ordinary footage".ljust(OLD_FOOTAGE_BYTES, b"."), old)
    write_file(root, "processed/cam1/old_alert.mp4", b"old alert footage" * 100, old)
    write_file(root, "processed/cam1/recent.mp4", b"recent footage" * 100)
    write_file(root, "tv_curado/welcome.mp4", b"curated" * 100)
    alert_id = artifact_id(root / "processed/cam1/old_alert.mp4", root)
    atomic_write_json(layout.loglines / f"{alert_id}.logline.json",
                      {"status": "alerta", "created_at": utc_timestamp(now)})
    StateStore(layout.orchestrator_db).close()
    quota = Quota(root, QUOTA_FACTOR * used_bytes(root))
    status = StatusServer()
    status.start()
    probe = Probe(root=root, models_dir=models_dir, key_store_path=key_store, status_url=status.url, window_s=3600.0,
                  disk=quota)
    # Free space down to 10 points under the fault threshold: the policy deletes the oldest files needed.
    policy = FixPolicy(DRILL_POLICY_ACTIONS, budget=20, window_s=3600.0, runner="local",
                       cleanup_dirs=("processed", "corrupted", "raw"), alert_retention_s=90 * 86400.0,
                       min_free_percent=min(100.0, 100.0 - limits.disk_full_percent + 10.0), disk=quota,
                       db_wait_s=DRILL_DB_WAIT_S)
    return Sandbox(root, models_dir, key_store, probe, limits, policy, status, quota)


def media_hashes(root: Path) -> dict[str, str]:
    """sha256 → one path, for every media file (error records excluded) under the media dirs."""
    found = {}
    for name in MEDIA_DIRS:
        for path in sorted((root / name).rglob("*")):
            if path.is_file() and not path.name.endswith(".error.json"):
                found[hashlib.sha256(path.read_bytes()).hexdigest()] = path.relative_to(root).as_posix()
    return found
