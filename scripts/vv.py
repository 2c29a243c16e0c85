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
    skip_existing: Annotated[
        bool, typer.Option("--skip-existing/--refresh", help="Keep existing files, or re-render/re-verify.")
    ] = True,
    env_file: Annotated[
        Path | None, typer.Option(help="Create this .env from .env.example (fresh secrets) if missing.")
    ] = None,
    models: Annotated[bool, typer.Option(help="Install and verify the manifest's models.")] = False,
    fallback: Annotated[bool, typer.Option(help="Render the fallback loop and placeholder.")] = True,
) -> None:
    """Create the storage tree, key store, fallback assets (and .env, models) if missing (idempotent)."""
    from scripts.bootstrap import bootstrap as run_bootstrap

    def action() -> list[Path]:
        overrides = {"video_storage_root": storage_root} if storage_root else {}
        report = run_bootstrap(
            Settings(**overrides), skip_existing=skip_existing, env_file=env_file,
            fallback=fallback, models=models,
        )
        return report.created

    run_stage(action)


@app.command("verify-install")
def verify_install(
    root: Annotated[
        Path | None, typer.Option(help="Install directory (default: this checkout).")
    ] = None,
) -> None:
    """Check every shipped file against vv-signature.json (sha256); exit 1 naming what differs."""
    from scripts.signature import REPO_ROOT, describe
    from scripts.signature import verify_install as run_verify

    def action() -> list[Path]:
        install_root = root or REPO_ROOT
        report = run_verify(install_root)
        if not report.ok:
            from vv_core.errors import VVError

            raise VVError(f"install at {install_root} does not match vv-signature.json: {describe(report)}")
        print(f"ok: {describe(report)}")
        return []

    run_stage(action)


@app.command()
def logline(
    summary: Annotated[Path, typer.Argument(help="summaries/<id>.summary.json")],
    output_dir: Annotated[Path | None, typer.Option(help="Default: <storage>/loglines.")] = None,
) -> None:
    """Write the signed, hash-chained LogLine of a summary (idempotent)."""
    from logline_generator.logline_generator import generate_logline

    run_stage(lambda: generate_logline(summary, output_dir))


@app.command()
def verify(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or directories (default: loglines/).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable report.")] = False,
    jobs: Annotated[int | None, typer.Option(help="Processes for big chains (default: cores).")] = None,
) -> None:
    """Verify LogLines: signature, key, schema, chain continuity. Exit 1 on any problem."""
    from scripts.logline_verifier import run_verify

    settings = Settings()
    raise typer.Exit(
        run_verify(paths or [], json_output, settings.key_store_path, settings.storage.loglines, jobs)
    )


keys_app = typer.Typer(help="HMAC key store for LogLines.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate")
def keys_rotate(new_key_id: Annotated[str, typer.Argument(help="Id of the new active key.")]) -> None:
    """Add a fresh key and make it active; LogLines signed with older keys keep verifying."""
    import re

    from vv_core.errors import VVError
    from vv_core.keystore import rotate_key_store

    def action() -> Path:
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", new_key_id):
            raise VVError(f"key id {new_key_id!r} must match [A-Za-z0-9._-]{{1,64}}")
        path = Settings().key_store_path
        rotate_key_store(path, new_key_id)
        return path

    run_stage(action)


@app.command()
def schedule(
    once: Annotated[bool, typer.Option("--once", help="Build the playlists once and exit.")] = False,
) -> None:
    """Build playlists/<tv>.json from verified LogLines (watch loglines/ unless --once)."""
    from tv_scheduler.tv_scheduler import run_schedule

    run_schedule(Settings(), once=once)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
