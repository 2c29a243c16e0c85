"""`vv`: the one console entry point for operators, cron, Docker and the orchestrator.

Stage commands follow the command contract of DESIGN.md. Stage modules are imported lazily inside
each command so `vv --help` stays instant (no torch/llama import just to print help).
"""

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
        from scripts.backup import cli_backup

        cli_backup(media=media, apply_retention=not no_retention)


@backup_app.command("init")
def backup_init() -> None:
    """Create the restic repository (RESTIC_REPOSITORY) if it does not exist (idempotent)."""
    from scripts.backup import cli_init

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
    from scripts.restore_drill import cli_restore_drill

    cli_restore_drill(snapshot=snapshot, media=media, check_data=not no_check, keep=keep)


@app.command("restore")
def restore(
    snapshot: Annotated[str | None, typer.Option(help="Snapshot id (default: the latest).")] = None,
    media: Annotated[bool, typer.Option("--media", help="Restore the media backup.")] = False,
    only: Annotated[list[str] | None, typer.Option(
        help="Restore only this snapshot path prefix (repeatable), e.g. storage/loglines.")] = None,
) -> None:
    """Put a verified snapshot back in place (stop the stack first; see docs/disaster-recovery.md)."""
    from scripts.restore import cli_restore

    cli_restore(snapshot=snapshot, media=media, only=only)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
