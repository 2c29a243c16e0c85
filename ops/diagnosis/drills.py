"""`vv drill FAULT`: inject a known fault into a scratch box, diagnose it, heal it, check nothing is lost.

Every drill runs in a sandbox built under a scratch directory, never on the live storage root: a
storage tree with videos (one of them alert footage), a LogLine, the orchestrator's state DB, a key
store, a models dir with a current and a previous detector and LLM (small files with their sha256
pinned in the pointers, the live models are never touched) and a loopback HTTP server standing in
for tv_api's /status. Steps: check the sandbox is healthy, inject, diagnose (rules, and the LLM when
asked), run the top cause's whitelisted actions for real (all enabled in the drill), undo what only
an operator can undo (restore the key store's mode, release a lock, the clock coming back), diagnose
again, and compare the media by content hash: a file counts as lost unless it is still there
(anywhere) or the cleanup policy deleted it.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ops.diagnosis.catalogue import BY_ID, Thresholds
from ops.diagnosis.evidence import Probe, gather
from ops.diagnosis.ranking import diagnose
from ops.diagnosis.remediation import FixPolicy, remediate
from orchestrator.lock import LOCK_NAME
from orchestrator.state import StateStore
from vv_core.atomic import atomic_write_json
from vv_core.jsonlog import utc_timestamp
from vv_core.keystore import create_key_store
from vv_core.models import ModelEntry, use_model
from vv_core.naming import artifact_id
from vv_core.storage import StorageLayout

MEDIA_DIRS = ("input", "processed", "tv_curado", "raw", "corrupted")
BURST_SIZE = 50
DRILL_POLICY_ACTIONS = frozenset({"restart_stage", "rollback_model", "free_space", "pause_ingestion",
                                  "requeue_transient"})


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


@dataclass
class Sandbox:
    root: Path
    models_dir: Path
    key_store: Path
    probe: Probe
    limits: Thresholds
    policy: FixPolicy
    status: StatusServer
    clock_offset_s: float = 0.0
    held: list[Any] = field(default_factory=list)   # locks/connections a drill holds until undone

    def clock(self) -> float:
        return time.time() + self.clock_offset_s


def _install_model(models_dir: Path, name: str, kind: str, version: str, content: bytes) -> None:
    sha = hashlib.sha256(content).hexdigest()
    entry = ModelEntry(name=name, kind=kind, version=version, file="model.bin", sha256=sha,  # type: ignore[arg-type]
                       size_bytes=len(content), source="https://drill.invalid/model.bin")
    path = entry.install_path(models_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    use_model(models_dir, entry)


def _video(root: Path, relative: str, content: bytes, mtime: float | None = None) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


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
    _video(root, "processed/cam1/old_ordinary.mp4", b"old ordinary footage" * 100, old)
    _video(root, "processed/cam1/old_alert.mp4", b"old alert footage" * 100, old)
    _video(root, "processed/cam1/recent.mp4", b"recent footage" * 100)
    _video(root, "tv_curado/welcome.mp4", b"curated" * 100)
    alert_id = artifact_id(root / "processed/cam1/old_alert.mp4", root)
    atomic_write_json(layout.loglines / f"{alert_id}.logline.json",
                      {"status": "alerta", "created_at": utc_timestamp(now)})
    StateStore(layout.orchestrator_db).close()
    status = StatusServer()
    status.start()
    probe = Probe(root=root, models_dir=models_dir, key_store_path=key_store, status_url=status.url, window_s=3600.0)
    policy = FixPolicy(DRILL_POLICY_ACTIONS, budget=10, window_s=3600.0, runner="local",
                       cleanup_dirs=("processed", "corrupted", "raw"), alert_retention_s=90 * 86400.0,
                       min_free_percent=100.0)
    return Sandbox(root, models_dir, key_store, probe, limits, policy, status)


def media_hashes(root: Path) -> dict[str, str]:
    """sha256 → one path, for every media file (error records excluded) under the media dirs."""
    found = {}
    for name in MEDIA_DIRS:
        for path in sorted((root / name).rglob("*")):
            if path.is_file() and not path.name.endswith(".error.json"):
                found[hashlib.sha256(path.read_bytes()).hexdigest()] = path.relative_to(root).as_posix()
    return found


# --- the faults: inject(sandbox), undo(sandbox) (what only an operator or time undoes) ----------

def _current_file(sandbox: Sandbox, kind: str) -> Path:
    pointer = json.loads((sandbox.models_dir / (".current_detector_info.json" if kind == "detector"
                                                  else ".current_model_info.json")).read_text())
    return sandbox.models_dir / pointer["path"]


def _quarantine(root: Path, name: str, content: bytes, kind: str, reason: str) -> None:
    video = root / "corrupted" / "cam1" / name
    _video(root, video.relative_to(root).as_posix(), content)
    atomic_write_json(video.with_name(name + ".error.json"), {
        "video": video.relative_to(root).as_posix(), "original_path": f"input/cam1/{name}", "name": name,
        "sha256": hashlib.sha256(content).hexdigest(), "stage": "scan", "error": reason, "kind": kind,
        "attempts": 5, "timestamps": {"quarantined_at": utc_timestamp()}})


def inject_detector_missing(sandbox: Sandbox) -> None:
    _current_file(sandbox, "detector").unlink()
    _quarantine(sandbox.root, "waited_for_model.mp4", b"waited for the detector" * 50, "transient",
                "missing model: detector model file missing")


def inject_llm_corrupted(sandbox: Sandbox) -> None:
    path = _current_file(sandbox, "llm")
    size = path.stat().st_size
    path.unlink()                    # replace, never write through a (possible) hard link
    path.write_bytes(b"GGUF-but-not-the-pinned-bytes".ljust(size, b"\0"))


def inject_disk_full(sandbox: Sandbox) -> None:
    usage = shutil.disk_usage(sandbox.root)
    used = 100.0 * (usage.total - usage.free) / usage.total
    sandbox.limits = replace(sandbox.limits, disk_full_percent=max(0.01, used - 1.0))


def undo_disk_full(sandbox: Sandbox) -> None:
    sandbox.limits = replace(sandbox.limits, disk_full_percent=100.0)
    StorageLayout(sandbox.root).ingestion_paused.unlink(missing_ok=True)


def inject_key_store(sandbox: Sandbox) -> None:
    sandbox.key_store.chmod(0o644)   # readable by others: the loader refuses it (root reads any mode)


def inject_bad_burst(sandbox: Sandbox) -> None:
    for n in range(BURST_SIZE):
        _quarantine(sandbox.root, f"bad{n:03d}.mp4", b"not a video %d" % n, "permanent",
                    "not a video: moov atom not found")


def undo_bad_burst(sandbox: Sandbox) -> None:
    sandbox.clock_offset_s += sandbox.probe.window_s + 1   # the burst ages out of the window


def inject_sqlite_locked(sandbox: Sandbox) -> None:
    holder = sqlite3.connect(StorageLayout(sandbox.root).orchestrator_db, isolation_level=None,
                             check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    sandbox.held.append(holder)


def inject_clock_jump(sandbox: Sandbox) -> None:
    sandbox.clock_offset_s -= 2 * 3600


def inject_stage_hung(sandbox: Sandbox) -> None:
    from filelock import FileLock

    layout = StorageLayout(sandbox.root)
    lock = FileLock(str(layout.state / LOCK_NAME), is_singleton=False, thread_local=False)
    lock.acquire()
    sandbox.held.append(lock)
    store = StateStore(layout.orchestrator_db)
    try:
        store.start_run(sandbox.clock() - sandbox.limits.stage_hung_s - 60)
    finally:
        store.close()


def undo_stage_hung(sandbox: Sandbox) -> None:
    with sqlite3.connect(StorageLayout(sandbox.root).orchestrator_db) as db:
        db.execute("UPDATE runs SET finished_at = ? WHERE finished_at IS NULL", (sandbox.clock(),))
    release_held(sandbox)


def release_held(sandbox: Sandbox) -> None:
    for held in sandbox.held:
        if isinstance(held, sqlite3.Connection):
            held.rollback()
            held.close()
        else:
            held.release()
    sandbox.held.clear()


def nothing(_: Sandbox) -> None:
    pass


DRILLS: dict[str, tuple[Callable[[Sandbox], None], Callable[[Sandbox], None]]] = {
    "detector_model_missing": (inject_detector_missing, nothing),
    "llm_model_corrupted": (inject_llm_corrupted, nothing),
    "disk_full": (inject_disk_full, undo_disk_full),
    "key_store_unreadable": (inject_key_store, lambda s: s.key_store.chmod(0o600)),
    "bad_file_burst": (inject_bad_burst, undo_bad_burst),
    "sqlite_locked": (inject_sqlite_locked, release_held),
    "tv_api_down": (lambda s: s.status.stop(), lambda s: s.status.start()),
    "clock_jump": (inject_clock_jump, lambda s: setattr(s, "clock_offset_s", 0.0)),
    "stage_hung": (inject_stage_hung, undo_stage_hung),
}


@dataclass
class DrillResult:
    fault: str
    diagnosed: str | None
    rank: int | None                 # where the injected fault was ranked (1 = first)
    path: str                        # rules | llm
    actions: list[str]               # "<action>: <outcome>"
    healed_by: str                   # "fix" | "operator/time" (the undo step) | "-"
    healthy_after: bool
    seconds_to_healthy: float
    alert: str
    media_lost: int
    harmful_actions: int
    explanation: str = ""

    @property
    def passed(self) -> bool:
        return self.rank == 1 and self.healthy_after and self.media_lost == 0 and self.harmful_actions == 0


@contextmanager
def sandbox_for(limits: Thresholds, base: Path | None = None) -> Iterator[Sandbox]:
    scratch = Path(tempfile.mkdtemp(prefix="vv-drill-", dir=base))
    sandbox = build_sandbox(scratch, limits)
    try:
        yield sandbox
    finally:
        release_held(sandbox)
        sandbox.status.stop()
        sandbox.key_store.chmod(0o600)
        shutil.rmtree(scratch, ignore_errors=True)


def run_drill(fault: str, limits: Thresholds, *, llm_models_dir: Path | None = None, base: Path | None = None,
              alert: Callable[[str, str, str, dict[str, Any]], Any] | None = None) -> DrillResult:
    inject, undo = DRILLS[fault]
    alerts: list[str] = []

    def record_alert(title: str, message: str, severity: str, context: dict[str, Any]) -> None:
        alerts.append(title)
        if alert is not None:
            alert(title, message, severity, context)

    with sandbox_for(limits, base) as sandbox:
        def look(use_llm: bool = False) -> Any:
            probe = replace(sandbox.probe, status_url=sandbox.status.url)
            evidence = gather(probe, clock=sandbox.clock)
            return diagnose(evidence, sandbox.limits, models_dir=llm_models_dir, use_llm=use_llm)

        baseline = look()
        if baseline.top is not None:
            raise RuntimeError(f"the drill sandbox is not healthy before the drill: {baseline.top}")
        before = media_hashes(sandbox.root)
        started = time.monotonic()
        inject(sandbox)
        found = look(use_llm=llm_models_dir is not None)
        ranked = [c.fault for c in found.causes]
        actions = remediate(found, root=sandbox.root, models_dir=sandbox.models_dir, policy=sandbox.policy,
                            apply=True, alert=record_alert, clock=sandbox.clock)
        healed_by = "fix" if look().top is None else "operator/time"
        if healed_by != "fix":
            undo(sandbox)
        healthy = look().top is None
        elapsed = time.monotonic() - started
        after = media_hashes(sandbox.root)
        freed = {h for a in actions if a.action == "free_space" for h, p in before.items() if p in a.changed}
        lost = len(set(before) - set(after) - freed)
        allowed = set(BY_ID[fault].remedies)
        harmful = sum(1 for a in actions if a.outcome == "applied" and a.action not in allowed)
    top_alert = BY_ID[found.top].alert_title if found.top else "-"
    return DrillResult(fault, found.top, ranked.index(fault) + 1 if fault in ranked else None, found.path,
                       [f"{a.action}: {a.outcome}" for a in actions], healed_by, healthy, round(elapsed, 3),
                       "; ".join([f"diagnosis: {top_alert}", *alerts]), lost, harmful, found.explanation)


def confusion_table(results: list[DrillResult]) -> str:
    """Markdown: one row per injected fault, one column per diagnosed top cause."""
    columns = sorted({r.diagnosed or "none" for r in results})
    lines = ["| injected \\ diagnosed | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for fault in dict.fromkeys(r.fault for r in results):
        counts = [sum(1 for r in results if r.fault == fault and (r.diagnosed or "none") == c) for c in columns]
        lines.append(f"| {fault} | " + " | ".join(str(n) if n else "" for n in counts) + " |")
    return "\n".join(lines)
