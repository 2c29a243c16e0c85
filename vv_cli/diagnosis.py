"""`vv diagnose` and `vv drill`: name the likely cause of a fault from the evidence; rehearse faults."""

from pathlib import Path
from typing import Annotated

import typer

from vv_cli.app import app
from vv_cli.settings import Settings

DRILL_NAMES = ("detector_model_missing", "llm_model_corrupted", "disk_full", "key_store_unreadable",
               "bad_file_burst", "sqlite_locked", "tv_api_down", "clock_jump", "stage_hung")


@app.command()
def diagnose(
    as_json: Annotated[bool, typer.Option("--json", help="Print the diagnosis as one JSON object.")] = False,
    fix: Annotated[bool, typer.Option("--fix", help="Run the top cause's whitelisted actions (dry run unless "
                                      "--apply; each enabled by DIAGNOSE_FIX_<ACTION>).")] = False,
    apply: Annotated[bool, typer.Option("--apply", help="With --fix: really act, within the action budget.")
                     ] = False,
    llm: Annotated[bool | None, typer.Option("--llm/--no-llm", help="Let the installed LLM re-rank and explain "
                                             "(default: DIAGNOSE_USE_LLM).", show_default=False)] = None,
    alert: Annotated[bool, typer.Option("--alert", help="Send the diagnosis as an alert when a fault matches.")
                     ] = False,
) -> None:
    """Name the likely cause of trouble from the evidence (logs, /status, queue, disk, models, keys).
    Exit 0: no known fault matches; 1: a fault matches."""
    from ops.diagnosis.run import cli_diagnose

    if apply and not fix:
        raise typer.BadParameter("--apply needs --fix")
    cli_diagnose(Settings(), as_json=as_json, fix=fix, apply=apply, llm=llm, alert=alert)


@app.command()
def drill(
    fault: Annotated[str, typer.Argument(help=f"A fault to rehearse, or 'all': {', '.join(DRILL_NAMES)}.")],
    llm: Annotated[bool, typer.Option("--llm", help="Diagnose with the installed LLM too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    send_alerts: Annotated[bool, typer.Option("--send-alerts", help="Deliver the drill's alerts to the webhook "
                                              "(default: only report them).")] = False,
    scratch: Annotated[Path | None, typer.Option(help="Build the drill's sandbox under this directory "
                                                 "(default: the system temp dir).")] = None,
) -> None:
    """Inject a fault into a scratch box, diagnose and heal it, check nothing is lost (the live box is
    never touched). Exit 0 when every drill passed."""
    from ops.diagnosis.run import cli_drill

    faults = list(DRILL_NAMES) if fault == "all" else [fault]
    if fault != "all" and fault not in DRILL_NAMES:
        raise typer.BadParameter(f"unknown fault {fault!r}; one of: all, {', '.join(DRILL_NAMES)}")
    cli_drill(Settings(), faults, llm=llm, as_json=as_json, send_alerts=send_alerts, scratch=scratch)
