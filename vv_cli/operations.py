"""`vv` operations: backup and restore, cleanup, log export, the self-monitor and alerts (ops/)."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from vv_cli.app import app, tool_command
from vv_cli.settings import Settings

backup_app = typer.Typer(help="Back up the box with restic (`vv backup`, `vv backup init`).",
                         no_args_is_help=False, invoke_without_command=True)
app.add_typer(backup_app, name="backup")


@backup_app.callback()
def backup(
    ctx: typer.Context,
    media: Annotated[bool, typer.Option("--media", help="Back up processed/ and tv_curado/.")] = False,
    no_retention: Annotated[bool, typer.Option("--no-retention", help="Skip forget --prune.")] = False,
) -> None:
    """Back up metadata (artifacts, LogLines, playlists, state DB, config, keys, logs) or media."""
    if ctx.invoked_subcommand is None:
        from ops.backup.backup import cli_backup

        cli_backup(media=media, apply_retention=not no_retention)


@backup_app.command("init")
def backup_init() -> None:
    """Create the restic repository (RESTIC_REPOSITORY) if it does not exist (idempotent)."""
    from ops.backup.backup import cli_init

    cli_init()


@app.command("restore-drill")
def restore_drill(
    snapshot: Annotated[str | None, typer.Option(help="Snapshot id (default: the latest).")] = None,
    media: Annotated[bool, typer.Option("--media", help="Drill the media backup.")] = False,
    no_check: Annotated[bool, typer.Option("--no-check", help="Skip restic check --read-data-subset.")
                        ] = False,
    keep: Annotated[Path | None, typer.Option(help="Restore into this dir and keep it.")] = None,
) -> None:
    """Restore the latest backup into a scratch dir, verify it all, report RTO and pass/fail (JSON)."""
    from ops.backup.restore_drill import cli_restore_drill

    cli_restore_drill(snapshot=snapshot, media=media, check_data=not no_check, keep=keep)


@app.command("restore")
def restore(
    snapshot: Annotated[str | None, typer.Option(help="Snapshot id (default: the latest).")] = None,
    media: Annotated[bool, typer.Option("--media", help="Restore the media backup.")] = False,
    only: Annotated[list[str] | None, typer.Option(
        help="Restore only this snapshot path prefix (repeatable), e.g. storage/loglines.")] = None,
) -> None:
    """Put a verified snapshot back in place (stop the stack first; see docs/disaster-recovery.md)."""
    from ops.backup.restore import cli_restore

    cli_restore(snapshot=snapshot, media=media, only=only)

tool_command(app, "cleanup", "ops.upkeep.cleanup:cleanup_command",
             "Delete old files (dry run unless --apply); --disk-pressure frees space. See --help.")
tool_command(app, "export-logs", "ops.upkeep.log_exporter:export_logs_command",
             "Archive logs/* into a dated tar.gz + manifest; --verify ARCHIVE checks one. See --help.")
tool_command(app, "self-monitor", "ops.upkeep.self_monitor:self_monitor_command",
             "Watch the stack's containers, restart failing ones within a budget. See --help.")


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


@app.command()
def update(
    services: Annotated[list[str] | None, typer.Argument(
        help="Only these services (default: every service built from this checkout).", show_default=False)] = None,
    plan: Annotated[bool, typer.Option("--plan", help="Dry run: print what changed and what would be done.")
                    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan and the result as one JSON object.")
                       ] = False,
    project_dir: Annotated[Path, typer.Option(help="The compose project's directory (the install dir).")
                           ] = Path("."),
    file: Annotated[list[Path] | None, typer.Option(
        "--file", "-f", help="Compose file (repeatable; default: docker-compose.yml of the project dir).",
        show_default=False)] = None,
    project_name: Annotated[str | None, typer.Option(
        "--project-name", "-p", help="Compose project name (default: the compose file's `name`).")] = None,
    grace: Annotated[float, typer.Option(help="Seconds past a service's healthcheck start_period that a "
                                         "recreated container has to turn healthy before it is rolled back.",
                                         min=0)] = 60.0,
    force: Annotated[bool, typer.Option("--force", help="Rebuild the selected images even if their inputs did "
                                        "not change (e.g. a new base image under the same tag).")] = False,
    alert: Annotated[bool, typer.Option("--alert/--no-alert", help="Send a CRITICAL alert on a rollback.")
                     ] = True,
    registry: Annotated[str | None, typer.Option(
        help="Pull stale images from this site registry (host:port) instead of building them; each must "
             "carry this checkout's inputs hash. Default: UPDATE_REGISTRY; \"\": build here.",
        show_default=False)] = None,
) -> None:
    """Rebuild only the images whose inputs changed, recreate their containers one at a time and roll
    back to the previous image when one does not turn healthy. Exit 0: up to date or updated; 1: rolled back."""
    from ops.update.cli import cli_update

    cli_update(Settings(), services=services or [], plan_only=plan, as_json=as_json, project_dir=project_dir,
               files=file or [], project_name=project_name, grace_s=grace, force=force, alert=alert,
               registry=registry)
