"""`vv`: the one console entry point for operators, cron, Docker and the orchestrator.

Stage commands follow the command contract of DESIGN.md. Stage modules are imported lazily inside
each command so `vv --help` stays instant (no torch/llama import just to print help).
"""

import sys
from pathlib import Path
from typing import Annotated

import typer

from vv_core import __version__
from vv_core.cli_support import run_stage
from vv_core.settings import Settings

app = typer.Typer(
    name="vv",
    help="vv-video-ai-system: scan, summarize, sign and schedule video on an edge box.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print the system version."""
    print(__version__)


@app.command()
def bootstrap(
    storage_root: Annotated[
        Path | None, typer.Option(help="Storage root (default: VIDEO_STORAGE_ROOT).")
    ] = None,
) -> None:
    """Create the storage tree and the HMAC key store if missing (idempotent)."""
    from scripts.bootstrap import bootstrap as run_bootstrap

    def action() -> list[Path]:
        overrides = {"video_storage_root": storage_root} if storage_root else {}
        report = run_bootstrap(Settings(**overrides))
        return report.created

    run_stage(action)


# --- operations (issue 5): orchestrator, status, cleanup, log export, self-monitor, alert -------------
# These wrap argparse mains (each script also runs standalone); arguments pass through untouched.
_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


@app.command(context_settings=_PASSTHROUGH, add_help_option=False)
def orchestrate(ctx: typer.Context) -> None:
    """Run the pipeline over input/: --once (cron, default) or --loop. See --help."""
    from scripts.orchestrator import main as orchestrator_main

    raise typer.Exit(orchestrator_main(ctx.args))


@app.command()
def status() -> None:
    """Print state/pipeline_status.json and a summary of the orchestrator's SQLite state."""
    from scripts.orchestrator import status_summary

    print(status_summary(Settings()))


@app.command(context_settings=_PASSTHROUGH, add_help_option=False)
def cleanup(ctx: typer.Context) -> None:
    """Delete old files (dry run unless --apply); --disk-pressure frees space. See --help."""
    from scripts.cleanup_old_files import main as cleanup_main

    raise typer.Exit(cleanup_main(ctx.args))


@app.command("export-logs", context_settings=_PASSTHROUGH, add_help_option=False)
def export_logs(ctx: typer.Context) -> None:
    """Archive logs/* into a dated tar.gz + manifest; --verify ARCHIVE checks one. See --help."""
    from scripts.log_exporter import main as exporter_main

    raise typer.Exit(exporter_main(ctx.args))


@app.command("self-monitor", context_settings=_PASSTHROUGH, add_help_option=False)
def self_monitor(ctx: typer.Context) -> None:
    """Watch the stack's containers, restart failing ones within a budget. See --help."""
    from scripts.self_monitor import main as monitor_main

    raise typer.Exit(monitor_main(ctx.args))


@app.command()
def alert(
    title: Annotated[str, typer.Argument(help="Short title.")],
    message: Annotated[str, typer.Argument(help="What happened.")],
    severity: Annotated[str, typer.Option(help="INFO, WARNING or CRITICAL.")] = "WARNING",
    source: Annotated[str, typer.Option(help="Who raises it.")] = "operator",
    file: Annotated[str | None, typer.Option(help="File concerned.")] = None,
    container: Annotated[str | None, typer.Option(help="Container concerned.")] = None,
    log_file: Annotated[Path | None, typer.Option(help="Attach the tail of this log.")] = None,
) -> None:
    """Raise an alert through the configured webhook (used by cron scripts such as run_tests.sh)."""
    from vv_core.alert_triggers import build_alert
    from vv_core.alerts import send_alert

    if severity not in ("INFO", "WARNING", "CRITICAL"):
        raise typer.BadParameter("severity must be INFO, WARNING or CRITICAL")
    log = log_file.read_text(encoding="utf-8", errors="replace") if log_file and log_file.is_file() else None
    result = send_alert(build_alert(severity, title, message, source, file=file, container=container,  # type: ignore[arg-type]
                                    log=log), Settings())
    if not (result.delivered or result.suppressed):
        print("error: alert could not be delivered", file=sys.stderr)
        raise typer.Exit(2)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
