"""`vv` commands that set a box up: version, bootstrap, verify-install (`vv model`, `vv faces` apart)."""

from pathlib import Path
from typing import Annotated

import typer

from vv_cli.app import app
from vv_cli.settings import Settings
from vv_core import __version__
from vv_core.cli_support import run_stage


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
    from ops.provisioning.bootstrap import bootstrap as run_bootstrap

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
    from tools.signature import REPO_ROOT, describe
    from tools.signature import verify_install as run_verify

    def action() -> list[Path]:
        install_root = root or REPO_ROOT
        report = run_verify(install_root)
        if not report.ok:
            from vv_core.errors import VVError

            raise VVError(f"install at {install_root} does not match vv-signature.json: {describe(report)}")
        print(f"ok: {describe(report)}")
        return []

    run_stage(action)


