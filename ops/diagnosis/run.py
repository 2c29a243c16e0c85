"""`vv diagnose`: gather the evidence, name the causes, optionally fix; the settings are unpacked here.

:func:`run_diagnosis` takes plain values and returns data (tests call it); :func:`cli_diagnose` is the
edge: settings in, a table (or JSON) out, exit 0 when no fault matches and 1 when one does, so cron
and scripts can act on the code alone.
"""

import io
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ops.diagnosis.catalogue import BY_ID, Thresholds
from ops.diagnosis.evidence import Probe, gather
from ops.diagnosis.ranking import Diagnosis, diagnose
from ops.diagnosis.remediation import ActionResult, FixPolicy, remediate, resume_ingestion

ACTIONS = ("restart_stage", "rollback_model", "free_space", "pause_ingestion", "requeue_transient",
           "resume_ingestion", "wait_for_db")
logger = logging.getLogger("vv.diagnose")
PIPELINE_TIMEOUTS = ("stage_timeout_scan_s", "stage_timeout_summarize_s", "stage_timeout_logline_s",
                     "stage_timeout_schedule_s")


@dataclass(frozen=True)
class DiagnoseConfig:
    probe: Probe
    limits: Thresholds
    policy: FixPolicy
    use_llm: bool


def config_from_settings(settings: Any) -> DiagnoseConfig:
    """Everything `vv diagnose` needs, from the whole box's settings (read once, here)."""
    # A run that takes twice all stage timeouts back to back has a stage that ignores its timeout.
    hung_s = 2 * sum(float(getattr(settings, name, 600.0)) for name in PIPELINE_TIMEOUTS)
    probe = Probe(root=settings.storage.root, models_dir=Path(settings.models_dir),
                  key_store_path=Path(settings.key_store_path), status_url=settings.diagnose_status_url,
                  window_s=settings.diagnose_window_s)
    limits = Thresholds(settings.diagnose_disk_full_percent, settings.diagnose_bad_file_burst,
                        settings.diagnose_clock_jump_s, hung_s)
    enabled = frozenset(a for a in ACTIONS if getattr(settings, f"diagnose_fix_{a}"))
    policy = FixPolicy(enabled, settings.diagnose_action_budget, settings.diagnose_budget_window_s,
                       str(getattr(settings, "orchestrator_runner", "local")),
                       tuple(d.strip() for d in settings.cleanup_dirs.split(",") if d.strip()),
                       settings.alert_footage_retention_days * 86400.0, settings.disk_min_free_percent)
    return DiagnoseConfig(probe, limits, policy, settings.diagnose_use_llm)


def run_diagnosis(config: DiagnoseConfig, *, use_llm: bool | None = None,
                  clock: Callable[[], float] = time.time) -> Diagnosis:
    evidence = gather(config.probe, clock=clock)
    llm = config.use_llm if use_llm is None else use_llm
    return diagnose(evidence, config.limits, models_dir=config.probe.models_dir, use_llm=llm)


def render_table(diagnosis: Diagnosis, actions: list[ActionResult] | None = None) -> str:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=120, file=io.StringIO(), color_system=None)
    if not diagnosis.causes:
        console.print("No known fault matches the evidence: the box looks healthy.")
    else:
        table = Table("#", "cause", "score", "evidence", title=f"likely causes (ranked by: {diagnosis.path})",
                      title_justify="left")
        for rank, cause in enumerate(diagnosis.causes, 1):
            table.add_row(str(rank), cause.fault, str(cause.score), "\n".join(cause.evidence[:6]))
        console.print(table)
        console.print(f"[bold]{BY_ID[diagnosis.causes[0].fault].alert_title}[/]: {diagnosis.explanation}")
        console.print(f"LLM: {diagnosis.llm_view() or diagnosis.llm_note}")
        console.print(f"what a person does: {BY_ID[diagnosis.causes[0].fault].operator_hint}")
    for action in actions or []:
        console.print(f"fix {action.action}: {action.outcome}: {action.detail}")
    return console.file.getvalue()  # type: ignore[attr-defined]


def alert_sender(settings: Any) -> Callable[[str, str, str, dict[str, Any]], Any]:
    from vv_core.alert_triggers import build_alert
    from vv_core.alerts import send_alert

    def send(title: str, message: str, severity: str, context: dict[str, Any]) -> Any:
        return send_alert(build_alert(severity, title, message, "diagnose",  # type: ignore[arg-type]
                                      log="\n".join(context.get("evidence", [])), fault=context.get("fault")),
                          settings)
    return send


def cli_resume(settings: Any) -> None:
    """`vv diagnose --resume`: lift an ingestion pause (any, also one written by hand); exit 0."""
    from vv_core.jsonlog import start_process
    from vv_core.storage import StorageLayout

    start_process("diagnose", settings, console="stderr")
    config = config_from_settings(settings)
    result = resume_ingestion(StorageLayout(config.probe.root), apply=True, only_ours=False)
    if result.outcome == "applied":
        logger.warning("ingestion resumed by vv diagnose --resume")
    still = run_diagnosis(config, use_llm=False)
    print(f"{result.action}: {result.outcome}: {result.detail}")
    if still.top is not None:
        print(f"warning: {still.top} still matches: {BY_ID[still.top].operator_hint}")
    raise SystemExit(0)


def cli_diagnose(settings: Any, *, as_json: bool, fix: bool, apply: bool, llm: bool | None, alert: bool) -> None:
    """``settings``: the whole box's (every domain's class in one: vv_cli.settings.Settings)."""
    from vv_core.jsonlog import start_process

    start_process("diagnose", settings, console="stderr")
    config = config_from_settings(settings)
    diagnosis = run_diagnosis(config, use_llm=llm)
    send = alert_sender(settings)
    actions = (remediate(diagnosis, root=config.probe.root, models_dir=config.probe.models_dir,
                         policy=config.policy, apply=apply, alert=send) if fix else [])
    if alert and diagnosis.top is not None:
        top = BY_ID[diagnosis.top]
        message = "\n".join(filter(None, [diagnosis.explanation, diagnosis.llm_view()]))
        send(f"diagnosis: {top.alert_title}", message, top.severity,
             {"fault": top.id, "evidence": diagnosis.causes[0].evidence})
    if as_json:
        document = diagnosis.to_json() | {"actions": [asdict(a) for a in actions], "evidence": diagnosis.evidence}
        print(json.dumps(document, sort_keys=True, default=str))
    else:
        sys.stdout.write(render_table(diagnosis, actions))
    raise SystemExit(0 if diagnosis.top is None else 1)


def render_drills(results: list[Any]) -> str:
    """Markdown: one row per drill (the table docs/disaster-recovery.md carries)."""
    lines = ["| drill | named first by rules | rank | named first by the LLM | what the box did | healed by | healthy "
             "| s to healthy | alert | media lost | harmful actions |", "|---" * 11 + "|"]
    for r in results:
        healthy_in = f"{r.seconds_to_healthy:.2f}" if r.healed_by in ("fix", "pipeline") else \
            f"operator: {r.operator_hint}"
        did = "; ".join(dict.fromkeys(r.actions)) or "alert only"
        lines.append(f"| {r.fault} | {r.diagnosed or '-'} | {r.rank or '-'} | {r.llm_diagnosed or '-'} | {did} | "
                     f"{r.healed_by} | {'yes' if r.healthy_after else 'NO'} | {healthy_in} | {r.alert} | "
                     f"{r.media_lost} | {r.harmful_actions} |")
    return "\n".join(lines)


def cli_drill(settings: Any, drills: list[str], *, llm: bool, as_json: bool, send_alerts: bool,
              scratch: Path | None, repeat: int = 1) -> None:
    from ops.diagnosis.drills import confusion_table, drill_summary, run_drill, time_to_healthy

    config = config_from_settings(settings)
    send = alert_sender(settings) if send_alerts else None
    results = [run_drill(name, config.limits, llm_models_dir=config.probe.models_dir if llm else None,
                         base=scratch, alert=send) for name in drills for _ in range(repeat)]
    if as_json:
        print(json.dumps([asdict(r) | {"passed": r.passed} for r in results], sort_keys=True))
    else:
        print(render_drills(results[::repeat]))
        print(f"\ntime to healthy ({repeat} run{'s' if repeat > 1 else ''} each):\n\n{time_to_healthy(results)}")
        if len(drills) > 1:
            print(f"\n{drill_summary(results)}\n\n{confusion_table(results)}")
    raise SystemExit(0 if all(r.passed for r in results) else 1)
