"""`vv diagnose --fix`: the whitelisted actions for the top cause, and nothing else.

An action runs only when (1) the top cause's catalogue entry lists it, (2) the operator enabled it
(DIAGNOSE_FIX_<ACTION>, all off by default), (3) ``apply`` is set (otherwise it is a dry run that
says what it would do) and (4) the budget (DIAGNOSE_ACTION_BUDGET per DIAGNOSE_BUDGET_WINDOW_S) has
room. Each applied action is logged as JSON with the evidence behind it and alerted.

Space is freed only by the cleanup policy's own plan (ops.upkeep.cleanup: playlist references and
alert footage within its retention are never candidates); this module deletes nothing itself.
"""

import json
import logging
import shutil
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
from vv_core.storage import StorageLayout

logger = logging.getLogger("vv.diagnose")
BUDGET_STATE = "diagnose_actions.json"
DAY_S = 86400.0


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


@dataclass
class ActionResult:
    action: str
    outcome: str      # applied | would apply | nothing to do | disabled | over budget | unavailable | failed
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
    usage = shutil.disk_usage(root)
    plan = limit_to_disk_pressure(plan, usage.free, usage.total, policy.min_free_percent)
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
    atomic_write_json(layout.ingestion_paused, {"paused_at": utc_timestamp(), "by": "vv diagnose --fix",
                                                "fault": fault})
    return ActionResult("pause_ingestion", "applied", f"ingestion paused: remove {layout.ingestion_paused} to "
                        "resume", [layout.ingestion_paused.name])


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
