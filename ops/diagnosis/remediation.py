"""`vv diagnose --fix`: the whitelisted actions for the top cause, and nothing else.

An action runs only when (1) the top cause's catalogue entry lists it, (2) the operator enabled it
(DIAGNOSE_FIX_<ACTION>, all off by default), (3) ``apply`` is set (otherwise it is a dry run that
says what it would do) and (4) the budget (DIAGNOSE_ACTION_BUDGET per DIAGNOSE_BUDGET_WINDOW_S) has
room. Each applied action is logged as JSON with the evidence behind it and alerted.

Space is freed only by the cleanup policy's own plan (ops.upkeep.cleanup: playlist references and
alert footage within its retention are never candidates); this module deletes nothing itself.
"""

import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ops.diagnosis.catalogue import BY_ID
from ops.diagnosis.ranking import Diagnosis
from ops.upkeep.cleanup import CleanupRefused, apply_plan, limit_to_disk_pressure, plan_cleanup, resolve_dirs
from orchestrator.quarantine import QuarantineError, list_quarantined, retry
from vv_core.atomic import atomic_write_json
from vv_core.errors import VVError
from vv_core.jsonlog import utc_timestamp
from vv_core.models import ModelIntegrityError, rollback_model
from vv_core.storage import DiskSpace, StorageLayout, disk_space

logger = logging.getLogger("vv.diagnose")
BUDGET_STATE = "diagnose_actions.json"
DAY_S = 86400.0
PAUSED_BY = "vv diagnose --fix"
DB_WAIT_S = 30.0
DB_FIRST_RETRY_S = 0.1
DB_MAX_RETRY_S = 2.0


@dataclass(frozen=True)
class FixPolicy:
    """The operator's choices, unpacked from DiagnosisSettings/CleanupSettings at the edge."""

    enabled: frozenset[str]          # action names: restart_stage, rollback_model, free_space, …
    budget: int
    window_s: float
    runner: str                      # orchestrator_runner: local | docker
    cleanup_dirs: tuple[str, ...]
    alert_retention_s: float
    min_free_percent: float
    disk: Callable[[Path], DiskSpace] = disk_space   # the drills' sandbox passes a quota of its own
    db_wait_s: float = DB_WAIT_S


@dataclass
class ActionResult:
    action: str
    outcome: str      # applied | would apply | nothing to do | not needed | disabled | over budget | unavailable
                      # | failed
    detail: str
    changed: list[str] = field(default_factory=list)


def action_name(remedy: str) -> str:
    return remedy.split(":", 1)[0]


def _budget_used(state: Path, now: float, window_s: float) -> list[float]:
    try:
        stamps = json.loads((state / BUDGET_STATE).read_text(encoding="utf-8")).get("applied", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [t for t in stamps if isinstance(t, int | float) and 0 <= now - t < window_s]


def rollback(models_dir: Path, kind: str, apply: bool) -> ActionResult:
    if not apply:
        return ActionResult(f"rollback_model:{kind}", "would apply",
                            f"switch the {kind} model back to its previous version (vv model rollback)")
    try:
        pointer = rollback_model(models_dir, kind)  # type: ignore[arg-type]
    except ModelIntegrityError as exc:
        return ActionResult(f"rollback_model:{kind}", "failed", str(exc))
    now_using = f"{pointer['name']}=={pointer['version']}"
    return ActionResult(f"rollback_model:{kind}", "applied", f"{kind} model is now {now_using}", [pointer["path"]])


def free_space(root: Path, policy: FixPolicy, now: float, apply: bool) -> ActionResult:
    try:
        dirs = resolve_dirs(root, list(policy.cleanup_dirs))
    except CleanupRefused as exc:
        return ActionResult("free_space", "failed", str(exc))
    plan = plan_cleanup(root, [d for d in dirs if d.is_dir()], older_than_s=None, now=now,
                        alert_retention_s=policy.alert_retention_s)
    space = policy.disk(root)
    plan = limit_to_disk_pressure(plan, space.free, space.total, policy.min_free_percent)
    names = [c.path.relative_to(root).as_posix() for c in plan.delete]
    kept = f"; kept {len(plan.protected)} (playlist or alert footage)" if plan.protected else ""
    if not names:
        return ActionResult("free_space", "nothing to do", f"the cleanup policy allows deleting nothing{kept}")
    if not apply:
        return ActionResult("free_space", "would apply", f"cleanup policy would delete {len(names)} files "
                            f"({plan.total_bytes} bytes){kept}", names)
    freed = apply_plan(plan, root)
    return ActionResult("free_space", "applied", f"cleanup policy deleted {len(names)} files ({freed} bytes){kept}",
                        names)


def pause_ingestion(layout: StorageLayout, fault: str, apply: bool) -> ActionResult:
    if not apply:
        return ActionResult("pause_ingestion", "would apply", f"write {layout.ingestion_paused} (the orchestrator "
                            "then claims no new input)")
    if layout.ingestion_paused.exists():
        return ActionResult("pause_ingestion", "nothing to do", "ingestion is already paused")
    atomic_write_json(layout.ingestion_paused, {"paused_at": utc_timestamp(), "by": PAUSED_BY, "fault": fault})
    return ActionResult("pause_ingestion", "applied", "ingestion paused: resumed by itself once no fault matches "
                        "(DIAGNOSE_FIX_RESUME_INGESTION) or by vv diagnose --resume", [layout.ingestion_paused.name])


def resume_ingestion(layout: StorageLayout, apply: bool, *, only_ours: bool = True) -> ActionResult:
    """Remove the pause. Automatically (``only_ours``) only a pause `vv diagnose --fix` wrote: one an
    operator wrote by hand is theirs to lift (`vv diagnose --resume` lifts any)."""
    try:
        record = json.loads(layout.ingestion_paused.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ActionResult("resume_ingestion", "nothing to do", "ingestion is not paused")
    except (OSError, ValueError):
        record = {}
    by = record.get("by") if isinstance(record, dict) else None
    if only_ours and by != PAUSED_BY:
        return ActionResult("resume_ingestion", "nothing to do", f"paused by {by or 'someone else'}, not by "
                            "vv diagnose: lift it with vv diagnose --resume")
    if not apply:
        return ActionResult("resume_ingestion", "would apply", f"remove {layout.ingestion_paused}")
    with contextlib.suppress(FileNotFoundError):
        layout.ingestion_paused.unlink()
    return ActionResult("resume_ingestion", "applied", "ingestion resumed: the orchestrator claims new input again",
                        [layout.ingestion_paused.name])


def wait_for_db(db: Path, wait_s: float, apply: bool, sleep: Callable[[float], None] = time.sleep) -> ActionResult:
    """Retry the state DB's write lock with exponential backoff for up to ``wait_s``: a writer holding
    a long transaction ends by itself; one that never lets go is a process for a person to stop."""
    if not apply:
        return ActionResult("wait_for_db", "would apply", f"retry the write lock of {db.name} with backoff for up "
                            f"to {wait_s:.0f} s")
    if not db.is_file():
        return ActionResult("wait_for_db", "failed", f"{db} is missing")
    started, delay, tries = time.monotonic(), DB_FIRST_RETRY_S, 0
    while True:
        tries += 1
        try:
            with contextlib.closing(sqlite3.connect(db, timeout=0, isolation_level=None)) as conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
            waited = time.monotonic() - started
            return ActionResult("wait_for_db", "applied", f"the write lock of {db.name} came free after "
                                f"{waited:.1f} s ({tries} tries)")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                return ActionResult("wait_for_db", "failed", f"{db.name}: {exc}")
        waited = time.monotonic() - started
        if waited + delay > wait_s:
            return ActionResult("wait_for_db", "failed", f"{db.name} still locked after {waited:.1f} s ({tries} "
                                "tries): find the process holding it (fuser) and stop it")
        sleep(delay)
        delay = min(delay * 2, DB_MAX_RETRY_S)


def requeue_transient(root: Path, apply: bool) -> ActionResult:
    transient = [q.path for q in list_quarantined(root) if q.kind == "transient"]
    if not transient:
        return ActionResult("requeue_transient", "nothing to do", "no file was quarantined by a transient fault")
    if not apply:
        return ActionResult("requeue_transient", "would apply", f"move {len(transient)} files quarantined by a "
                            "transient fault back to input/", transient)
    moved = []
    for relative in transient:
        try:
            moved.append(retry(root, relative)["moved_to"])
        except (QuarantineError, OSError) as exc:
            logger.error("re-queue of %s failed: %s", relative, exc)
    return ActionResult("requeue_transient", "applied", f"moved {len(moved)} of {len(transient)} files back to "
                        "input/", moved)


def run_action(remedy: str, fault: str, *, root: Path, models_dir: Path, policy: FixPolicy, now: float,
               apply: bool) -> ActionResult:
    name, _, target = remedy.partition(":")
    if name == "rollback_model":
        return rollback(models_dir, target, apply)
    if name == "free_space":
        return free_space(root, policy, now, apply)
    if name == "pause_ingestion":
        return pause_ingestion(StorageLayout(root), fault, apply)
    if name == "requeue_transient":
        return requeue_transient(root, apply)
    if name == "resume_ingestion":
        return resume_ingestion(StorageLayout(root), apply)
    if name == "wait_for_db":
        return wait_for_db(StorageLayout(root).orchestrator_db, policy.db_wait_s, apply)
    if name == "restart_stage":
        # The local runner starts a fresh process per video: there is no long-lived stage to restart.
        # Under the docker runner, `vv self-monitor` restarts failing containers within its own budget.
        where = ("the local runner has no long-lived process for it" if policy.runner == "local"
                 else "vv self-monitor restarts failing containers within its budget")
        return ActionResult(remedy, "unavailable", f"restart of {target}: {where}")
    raise ValueError(f"unknown remediation {remedy!r}")  # the catalogue names only the actions above


def remediate(diagnosis: Diagnosis, *, root: Path, models_dir: Path, policy: FixPolicy, apply: bool,
              alert: Callable[[str, str, str, dict[str, Any]], Any],
              clock: Callable[[], float] = time.time) -> list[ActionResult]:
    """Run (or, without ``apply``, describe) the top cause's whitelisted actions."""
    if diagnosis.top is None:
        return []
    fault = BY_ID[diagnosis.top]
    evidence = diagnosis.causes[0].evidence
    state = StorageLayout(root).state
    now = clock()
    used = _budget_used(state, now, policy.window_s)
    results = []
    for remedy in fault.remedies:
        if action_name(remedy) not in policy.enabled:
            results.append(ActionResult(remedy, "disabled",
                                        f"set DIAGNOSE_FIX_{action_name(remedy).upper()}=true to allow it"))
            continue
        healing_failed = next((r for r in results if r.outcome == "failed"), None)
        if action_name(remedy) == "requeue_transient" and healing_failed is not None:
            # Its files would only fail again: they are re-queued by a later round, once the fault is healed.
            results.append(ActionResult(remedy, "unavailable", f"{healing_failed.action} failed: the fault is not "
                                        "healed yet; its files are re-queued once it is"))
            continue
        if action_name(remedy) == "restart_stage" and any(r.outcome == "applied" for r in results):
            # A restart is the escalation: not when an earlier, gentler action of this fault just worked.
            results.append(ActionResult(remedy, "not needed", f"{results[-1].action} was applied"))
            continue
        if apply and len(used) >= policy.budget:
            results.append(ActionResult(remedy, "over budget", f"{len(used)} actions in the last "
                                        f"{policy.window_s:.0f} s (budget {policy.budget})"))
            continue
        try:
            result = run_action(remedy, fault.id, root=root, models_dir=models_dir, policy=policy, now=now, apply=apply)
        except (VVError, OSError) as exc:
            result = ActionResult(remedy, "failed", str(exc))
        results.append(result)
        if result.outcome in ("applied", "failed"):
            used.append(now)
            atomic_write_json(state / BUDGET_STATE, {"applied": used})
            logger.warning("remediation %s for %s: %s: %s", remedy, fault.id, result.outcome, result.detail,
                           extra={"fault": fault.id, "action": asdict(result), "evidence": evidence})
            alert(f"remediation {result.outcome}: {remedy}", f"{fault.alert_title}: {result.detail}",
                  "WARNING" if result.outcome == "applied" else "CRITICAL", {"fault": fault.id, "evidence": evidence})
    return results
