"""What `vv diagnose` looks at: one read-only pass over the box, gathered into :class:`Evidence`.

Every probe is cheap and bounded (a tail of the JSON log, one HTTP GET with a short timeout, SQLite
opened read-only or probed with a 1 s write lock that is rolled back) and never raises: a probe that
cannot look records *why* as evidence, because "cannot read X" is often the fault itself.
"""

import contextlib
import json
import os
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from vv_core.errors import VVError
from vv_core.hashing import compute_sha256
from vv_core.keystore import load_key_store
from vv_core.models import POINTER_FILES, ModelIntegrityError, current_model
from vv_core.storage import DiskSpace, StorageLayout, disk_space

LOG_TAIL_BYTES = 256 * 1024
STATUS_TIMEOUT_S = 2.0
DB_PROBE_TIMEOUT_S = 1.0
ERROR_SUFFIX = ".error.json"
DVR_DB = "agent_dvr.sqlite3"
# `vv diagnose`'s own log lines are not evidence: its alert repeats the evidence it found ("database is
# locked"), so reading it back kept a fault matching for the whole window after it was gone.
OWN_SERVICE = "diagnose"


@dataclass(frozen=True)
class Probe:
    """Where to look and with which thresholds: plain values unpacked from the settings once."""

    root: Path
    models_dir: Path
    key_store_path: Path
    status_url: str
    window_s: float
    disk: Callable[[Path], DiskSpace] = disk_space   # the drills' sandbox passes a quota of its own


@dataclass
class ModelCheck:
    kind: str
    problem: str | None    # None: verified; "missing", "sha mismatch", "no pointer", "bad pointer"
    detail: str


@dataclass
class Quarantined:
    path: str
    reason: str
    kind: str              # "permanent" | "transient" | "" (no record)
    stage: str
    age_s: float
    written_at: float = 0.0  # the record file's mtime: the filesystem's clock, as the key store's ctime


@dataclass
class Evidence:
    now: float
    log_errors: list[str] = field(default_factory=list)
    status: dict[str, Any] | None = None
    status_error: str | None = None
    queue: dict[str, int] = field(default_factory=dict)
    recent_failures: list[str] = field(default_factory=list)
    db_error: str | None = None
    unfinished_run_age_s: float | None = None
    orchestrator_lock_held: bool = False
    quarantined: list[Quarantined] = field(default_factory=list)
    disk_used_percent: float | None = None
    disk_free_bytes: int | None = None
    models: list[ModelCheck] = field(default_factory=list)
    key_store_error: str | None = None
    key_store_changed_at: float | None = None   # its ctime: a chmod/chown/restore since a failure
    newest_record_at: float | None = None
    newest_record: str = ""
    open_outages: list[str] = field(default_factory=list)
    ingestion_paused: bool = False
    pause_record: dict[str, Any] = field(default_factory=dict)
    last_finished_at: float | None = None   # when the newest video finished its pipeline

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _parse_time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return None


def recent_log_errors(app_log: Path, now: float, window_s: float, limit: int = 20) -> list[str]:
    """ERROR/CRITICAL lines of the JSON log within the window, newest last (the tail only)."""
    try:
        with app_log.open("rb") as handle:
            handle.seek(max(0, app_log.stat().st_size - LOG_TAIL_BYTES))
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if not isinstance(entry, dict) or entry.get("level") not in ("ERROR", "CRITICAL"):
                continue
            if entry.get("service_name") == OWN_SERVICE:
                continue
            at = _parse_time(entry.get("timestamp"))
            if at is not None and 0 <= now - at <= window_s:
                found.append(f"{entry.get('service_name', '?')}: {entry.get('message', '')}"[:300])
    return found[-limit:]


def read_status(url: str) -> tuple[dict[str, Any] | None, str | None]:
    if not url:
        return None, None
    try:
        with urllib.request.urlopen(url, timeout=STATUS_TIMEOUT_S) as response:  # noqa: S310 (operator's URL)
            return json.loads(response.read()), None
    except urllib.error.HTTPError as exc:
        # /status wants an admin token: 401/403 is tv_api answering (up, its report not readable);
        # a 5xx (nginx's 502 for a tv_api behind it that is gone) is down.
        return None, (f"{url}: HTTP {exc.code}" if exc.code >= 500 else None)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, f"{url}: {getattr(exc, 'reason', exc)}"


def orchestrator_state(layout: StorageLayout, evidence: Evidence, window_s: float) -> None:
    db = layout.orchestrator_db
    if not db.is_file():
        return
    try:
        with contextlib.closing(sqlite3.connect(db, timeout=DB_PROBE_TIMEOUT_S, isolation_level=None)) as conn:
            evidence.queue = dict(conn.execute("SELECT state, COUNT(*) FROM videos GROUP BY state"))
            rows = conn.execute(
                "SELECT last_error_stage, last_failure_kind, last_error FROM videos WHERE last_error IS NOT NULL"
                " AND updated_at >= ? ORDER BY updated_at DESC LIMIT 10", (evidence.now - window_s,))
            evidence.recent_failures = [f"{stage}: {kind}: {error}"[:300] for stage, kind, error in rows]
            evidence.last_finished_at = conn.execute("SELECT MAX(finished_at) FROM videos").fetchone()[0]
            started = conn.execute("SELECT MAX(started_at) FROM runs WHERE finished_at IS NULL").fetchone()[0]
            if started is not None:
                evidence.unfinished_run_age_s = evidence.now - started
            newest = conn.execute("SELECT MAX(updated_at) FROM videos").fetchone()[0]
            _note_record(evidence, newest, "the orchestrator's newest video update")
            # Readers never wait in WAL mode; a stuck writer shows only when we ask for the write lock.
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        evidence.db_error = f"{db.name}: {exc}"
    lock = layout.state / "orchestrator.lock"
    if lock.exists():
        from filelock import FileLock, Timeout

        probe = FileLock(str(lock), timeout=0, is_singleton=False, thread_local=False)
        try:
            probe.acquire()
            probe.release()
        except Timeout:
            evidence.orchestrator_lock_held = True


def _note_record(evidence: Evidence, at: float | None, what: str) -> None:
    if at is not None and (evidence.newest_record_at is None or at > evidence.newest_record_at):
        evidence.newest_record_at, evidence.newest_record = float(at), what


def quarantine(corrupted: Path, now: float, window_s: float) -> list[Quarantined]:
    """Quarantined files of the window with their recorded reason (corrupted/**/<name>.error.json)."""
    found = []
    for record_path in sorted(corrupted.rglob(f"*{ERROR_SUFFIX}")) if corrupted.is_dir() else []:
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {}
        record = record if isinstance(record, dict) else {}
        at = _parse_time((record.get("timestamps") or {}).get("quarantined_at")) if isinstance(
            record.get("timestamps"), dict) else None
        written_at = record_path.stat().st_mtime
        at = at if at is not None else written_at
        if now - at > window_s:
            continue
        found.append(Quarantined(
            path=record_path.relative_to(corrupted.parent).as_posix()[: -len(ERROR_SUFFIX)],
            reason=str(record.get("error") or "no error record")[:200], kind=str(record.get("kind", "")),
            stage=str(record.get("stage", "")), age_s=now - at, written_at=written_at))
    return found


def check_models(models_dir: Path) -> list[ModelCheck]:
    """Each model kind the box has selected: is the file there with its pinned sha256?"""
    checks = []
    for kind, pointer_name in POINTER_FILES.items():
        try:
            info = current_model(models_dir, kind)  # type: ignore[arg-type]
        except ModelIntegrityError as exc:
            checks.append(ModelCheck(kind, "bad pointer", str(exc)))
            continue
        if info is None:
            if kind in ("detector", "llm"):
                checks.append(ModelCheck(kind, "no pointer", f"no {pointer_name} in {models_dir}"))
            continue
        path = models_dir / str(info.get("path", ""))
        if not path.is_file():
            checks.append(ModelCheck(kind, "missing", f"{kind} model {info.get('name')}=={info.get('version')}: "
                                                      f"file missing: {path}"))
        elif compute_sha256(path) != info.get("sha256"):
            checks.append(ModelCheck(kind, "sha mismatch", f"{kind} model {info.get('name')}=={info.get('version')}"
                                                           f" fails its sha256 check: {path}"))
        else:
            checks.append(ModelCheck(kind, None, f"{kind} model {info.get('name')}=={info.get('version')} verified"))
    return checks


def open_outages(state_dir: Path) -> list[str]:
    db = state_dir / DVR_DB
    if not db.is_file():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=DB_PROBE_TIMEOUT_S)) as conn:
            rows = conn.execute("SELECT camera, started_at, reason FROM outages WHERE ended_at IS NULL")
            return [f"camera {camera} unreachable since {started}: {reason}"[:300] for camera, started, reason in rows]
    except sqlite3.Error:
        return []


def newest_logline(loglines: Path, evidence: Evidence) -> None:
    """The newest LogLine's created_at (a LogLine from "the future" means the clock went back)."""
    try:
        newest = max(loglines.glob("*.logline.json"), key=lambda p: p.stat().st_mtime)
        created = json.loads(newest.read_text(encoding="utf-8")).get("created_at")
    except (ValueError, OSError, AttributeError):
        return
    _note_record(evidence, _parse_time(created), f"LogLine {newest.name} created_at {created}")


def gather(probe: Probe, *, clock: Callable[[], float] = time.time) -> Evidence:
    layout = StorageLayout(probe.root)
    evidence = Evidence(now=clock())
    evidence.log_errors = recent_log_errors(layout.app_log, evidence.now, probe.window_s)
    evidence.status, evidence.status_error = read_status(probe.status_url)
    orchestrator_state(layout, evidence, probe.window_s)
    evidence.quarantined = quarantine(layout.corrupted, evidence.now, probe.window_s)
    with contextlib.suppress(OSError):
        space = probe.disk(layout.root)
        evidence.disk_used_percent = round(space.used_percent, 2)
        evidence.disk_free_bytes = space.free
    evidence.models = check_models(probe.models_dir)
    try:
        load_key_store(probe.key_store_path)
    except (VVError, OSError) as exc:
        evidence.key_store_error = str(exc) if isinstance(exc, VVError) else f"{probe.key_store_path}: {exc.strerror}"
    with contextlib.suppress(OSError):
        evidence.key_store_changed_at = probe.key_store_path.stat().st_ctime
    newest_logline(layout.loglines, evidence)
    evidence.open_outages = open_outages(layout.state)
    evidence.ingestion_paused = layout.ingestion_paused.exists()
    if evidence.ingestion_paused:
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(layout.ingestion_paused.read_text(encoding="utf-8"))
            evidence.pause_record = record if isinstance(record, dict) else {}
    if not os.access(layout.root, os.W_OK):
        evidence.log_errors.append(f"storage root {layout.root} is not writable")
    return evidence
