"""`vv diagnose` and `vv drill`: name the likely cause of a fault from the evidence; rehearse faults."""

from pathlib import Path
from typing import Annotated

import typer

from vv_cli.app import app
from vv_cli.settings import Settings

DRILL_NAMES = ("detector_model_missing", "llm_model_corrupted", "disk_full", "key_store_unreadable",
               "bad_file_burst", "sqlite_locked", "tv_api_down", "clock_jump", "stage_hung", "transient_quarantine",
               "dvr_unreachable")
# Two faults at once, the first explaining the second (the diagnosis must name the first).
COMBO_NAMES = ("disk_full+bad_file_burst", "sqlite_locked+stage_hung", "key_store_unreadable+transient_quarantine")


@app.command()
def diagnose(
    as_json: Annotated[bool, typer.Option("--json", help="Print the diagnosis as one JSON object.")] = False,
    fix: Annotated[bool, typer.Option("--fix", help="Run the whitelisted actions of the rules' top cause "
                                      "(dry run unless --apply; each enabled by DIAGNOSE_FIX_<ACTION>).")] = False,
    apply: Annotated[bool, typer.Option("--apply", help="With --fix: really act, within the action budget.")
                     ] = False,
    llm: Annotated[bool | None, typer.Option("--llm/--no-llm", help="Show the installed LLM's view beside the rule "
                                             "ranking (advisory; default: DIAGNOSE_USE_LLM).", show_default=False)
               ] = None,
    alert: Annotated[bool, typer.Option("--alert", help="Send the diagnosis as an alert when a fault matches.")
                     ] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Lift an ingestion pause now (any, also one written "
                                         "by hand), then say which fault still matches.")] = False,
) -> None:
    """Name the likely cause of trouble from the evidence (logs, /status, queue, disk, models, keys).
    Exit 0: no known fault matches; 1: a fault matches."""
    from ops.diagnosis.run import cli_diagnose, cli_resume

    if apply and not fix:
        raise typer.BadParameter("--apply needs --fix")
    if resume:
        cli_resume(Settings())
    cli_diagnose(Settings(), as_json=as_json, fix=fix, apply=apply, llm=llm, alert=alert)


@app.command()
def drill(
    fault: Annotated[str, typer.Argument(help=f"A fault to rehearse, two at once (A+B), or 'all' (every one of "
                                         f"both): {', '.join(DRILL_NAMES + COMBO_NAMES)}.")],
    llm: Annotated[bool, typer.Option("--llm", help="Diagnose with the installed LLM too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    send_alerts: Annotated[bool, typer.Option("--send-alerts", help="Deliver the drill's alerts to the webhook "
                                              "(default: only report them).")] = False,
    scratch: Annotated[Path | None, typer.Option(help="Build the drill's sandbox under this directory "
                                                 "(default: the system temp dir).")] = None,
    repeat: Annotated[int, typer.Option(min=1, help="Run each drill this many times (the median time to "
                                        "healthy is over these runs).")] = 1,
) -> None:
    """Inject a fault into a scratch box, diagnose and heal it, check nothing is lost (the live box is
    never touched). Exit 0 when every drill passed."""
    from ops.diagnosis.run import cli_drill

    names = DRILL_NAMES + COMBO_NAMES
    if fault != "all" and fault not in names:
        raise typer.BadParameter(f"unknown fault {fault!r}; one of: all, {', '.join(names)}")
    cli_drill(Settings(), list(names) if fault == "all" else [fault], llm=llm, as_json=as_json,
              send_alerts=send_alerts, scratch=scratch, repeat=repeat)
