"""The known faults: what each looks like in the evidence, what may be done about it, who is told.

A cause `vv diagnose` names is always one of these ids: the rule-based ranking can name nothing else,
and an LLM answer naming anything else is ignored. ``remedies`` is the whitelist of actions tied to
a fault (see ops/diagnosis/remediation.py); an action not listed here never runs for that fault.
``weight`` orders faults that match together: the one that explains the others ranks first (a clock
that jumped back makes records look like they come from the future, a full disk makes writes fail).
"""

from collections.abc import Callable
from dataclasses import dataclass

from ops.diagnosis.evidence import Evidence
from vv_core.alerts import Severity


@dataclass(frozen=True)
class Thresholds:
    disk_full_percent: float
    bad_file_burst: int
    clock_jump_s: float
    stage_hung_s: float


Rule = Callable[[Evidence, Thresholds], list[str]]


@dataclass(frozen=True)
class Fault:
    id: str
    description: str
    rule: Rule              # the evidence lines pointing to it; empty: it does not match
    weight: int
    remedies: tuple[str, ...]
    severity: Severity
    alert_title: str
    operator_hint: str      # what a person does when no whitelisted action heals it


def _model_lines(evidence: Evidence, kind: str, problems: tuple[str, ...]) -> list[str]:
    return [f"model check: {check.detail}" for check in evidence.models
            if check.kind == kind and check.problem in problems]


def detector_missing(evidence: Evidence, _: Thresholds) -> list[str]:
    lines = _model_lines(evidence, "detector", ("missing", "no pointer", "bad pointer"))
    if lines:
        lines += [f"failure: {f}" for f in evidence.recent_failures if "model" in f.lower()][:5]
    return lines


def llm_corrupted(evidence: Evidence, _: Thresholds) -> list[str]:
    lines = _model_lines(evidence, "llm", ("sha mismatch", "missing"))
    if lines:
        lines += [f"log: {line}" for line in evidence.log_errors if "sha256" in line][:5]
    return lines


def disk_full(evidence: Evidence, limits: Thresholds) -> list[str]:
    used = evidence.disk_used_percent
    if used is None or used < limits.disk_full_percent:
        return []
    logged = [f"log: {line}" for line in evidence.log_errors if "space" in line.lower()][:5]
    return [f"disk: storage root {used:.1f}% used (fault at {limits.disk_full_percent:.1f}%)", *logged]


def dvr_unreachable(evidence: Evidence, _: Thresholds) -> list[str]:
    return [f"agent_dvr: {outage}" for outage in evidence.open_outages]


def key_store_unreadable(evidence: Evidence, _: Thresholds) -> list[str]:
    if evidence.key_store_error:
        return [f"key store: {evidence.key_store_error}"]
    # This process may read it where the stages cannot (root on the host; the containers read it as
    # their own uid): their failures count until the key store changes (chmod, chown, a restore).
    # Both times are the filesystem's (record mtime, key store ctime): the box's clock may be off,
    # which is another fault of the catalogue.
    changed_at = evidence.key_store_changed_at
    return [f"quarantine (transient): {q.path}: {q.stage}: {q.reason}" for q in evidence.quarantined
            if q.kind == "transient" and "key store" in q.reason.lower()
            and (changed_at is None or q.written_at > changed_at)][:5]


def bad_file_burst(evidence: Evidence, limits: Thresholds) -> list[str]:
    bad = [q for q in evidence.quarantined if q.kind == "permanent"]
    if len(bad) < limits.bad_file_burst:
        return []
    newest_bad_at = evidence.now - min(q.age_s for q in bad)
    if evidence.last_finished_at is not None and evidence.last_finished_at > newest_bad_at:
        return []   # a good file went through after the burst: quarantined, and the pipeline goes on
    reasons: dict[str, int] = {}
    for item in bad:
        reasons[item.reason] = reasons.get(item.reason, 0) + 1
    top = sorted(reasons.items(), key=lambda pair: -pair[1])[:3]
    return [f"quarantine: {len(bad)} files quarantined as bad input in the window"] + [
        f"quarantine reason ({count}x): {reason}" for reason, count in top]


def sqlite_locked(evidence: Evidence, _: Thresholds) -> list[str]:
    lines = [f"state DB: {evidence.db_error}"] if evidence.db_error and "locked" in evidence.db_error else []
    return lines + [f"log: {line}" for line in evidence.log_errors if "database is locked" in line][:5]


def tv_api_down(evidence: Evidence, _: Thresholds) -> list[str]:
    return [f"tv_api: /status unreachable: {evidence.status_error}"] if evidence.status_error else []


def clock_jump(evidence: Evidence, limits: Thresholds) -> list[str]:
    if evidence.newest_record_at is None or evidence.newest_record_at - evidence.now <= limits.clock_jump_s:
        return []
    ahead = evidence.newest_record_at - evidence.now
    return [f"clock: {evidence.newest_record} is {ahead:.0f} s ahead of the box's clock"]


def stage_hung(evidence: Evidence, limits: Thresholds) -> list[str]:
    age = evidence.unfinished_run_age_s
    if age is None or age <= limits.stage_hung_s or not evidence.orchestrator_lock_held:
        return []
    return [f"orchestrator: a run has held the lock for {age:.0f} s (a run should end within "
            f"{limits.stage_hung_s:.0f} s)", f"queue: {evidence.queue}"]


def ingestion_paused(evidence: Evidence, _: Thresholds) -> list[str]:
    if not evidence.ingestion_paused:
        return []
    record = evidence.pause_record
    return [f"ingestion paused since {record.get('paused_at', '?')} by {record.get('by', '?')} "
            f"(for {record.get('fault', '?')})"]


def transient_quarantine(evidence: Evidence, _: Thresholds) -> list[str]:
    return [f"quarantine (transient): {q.path}: {q.stage}: {q.reason}" for q in evidence.quarantined
            if q.kind == "transient"][:10]


FAULTS: tuple[Fault, ...] = (
    # Pausing is all that is safe to do: the box cannot set its clock, but it can stop writing
    # LogLines with a wrong time until NTP brings the clock back (then ingestion_paused resumes).
    Fault("clock_jump", "The system clock jumped back: records are newer than 'now'.", clock_jump, 95,
          ("pause_ingestion",), "CRITICAL", "clock jumped back",
          "Check NTP (timedatectl); LogLines written meanwhile carry the wrong time."),
    # Pause first so nothing new lands while the cleanup policy frees space; resumed once it is back.
    Fault("disk_full", "The storage root is (nearly) full.", disk_full, 90, ("pause_ingestion", "free_space"),
          "CRITICAL", "disk full", "Free space (vv cleanup --disk-pressure) or add storage."),
    Fault("key_store_unreadable", "The HMAC key store cannot be read: no LogLine can be signed.",
          key_store_unreadable, 85, (), "CRITICAL", "key store unreadable",
          "Restore the key store from the backup (vv restore) and chmod 600 it."),
    Fault("sqlite_locked", "The orchestrator's SQLite state is locked by a stuck writer.", sqlite_locked, 85,
          ("wait_for_db", "restart_stage:orchestrate"), "CRITICAL", "state database locked",
          "Find the process holding state/orchestrator.sqlite3 (fuser) and stop it."),
    Fault("detector_model_missing", "The detector model selected for scan_video is missing.", detector_missing,
          80, ("rollback_model:detector", "requeue_transient"), "CRITICAL", "detector model missing",
          "Reinstall it: vv model install; vv model use."),
    Fault("llm_model_corrupted", "The LLM model file fails its pinned sha256 (corrupted or swapped).",
          llm_corrupted, 80, ("rollback_model:llm", "requeue_transient"), "CRITICAL", "LLM model corrupted",
          "Reinstall it: vv model install --force; summaries fall back to templates meanwhile."),
    Fault("stage_hung", "A pipeline stage hangs: the orchestrator run never finishes.", stage_hung, 75,
          ("restart_stage:orchestrate",), "WARNING", "pipeline stage hung",
          "Look at the stage's process (vv status); stage timeouts bound one run."),
    Fault("tv_api_down", "tv_api does not answer /status: the TVs get no playlists.", tv_api_down, 70,
          ("restart_stage:api",), "CRITICAL", "tv_api down", "Start it: vv serve (or its service unit)."),
    Fault("bad_file_burst", "A burst of bad input files was quarantined (a camera or DVR writes broken files).",
          bad_file_burst, 60, (), "WARNING", "burst of bad files",
          "Look at the quarantine reasons (console, corrupted/*.error.json) and the camera."),
    Fault("dvr_unreachable", "A camera/DVR cannot be reached: nothing is recorded from it.", dvr_unreachable, 50,
          (), "WARNING", "camera unreachable", "Check the camera's power, network and credentials."),
    Fault("transient_quarantine", "Files were quarantined by a transient fault that may be gone now.",
          transient_quarantine, 30, ("requeue_transient",), "INFO", "files quarantined by a transient fault",
          "Re-queue them once the fault is fixed (console: retry)."),
    # Lowest: it is resumed only when nothing else matches, i.e. the fault that paused it is gone.
    Fault("ingestion_paused", "Ingestion is paused (no new input is claimed) and no fault matches any more.",
          ingestion_paused, 20, ("resume_ingestion",), "INFO", "ingestion paused",
          "Resume it: vv diagnose --resume."),
)
BY_ID: dict[str, Fault] = {fault.id: fault for fault in FAULTS}
