"""`vv`: the one console entry point for operators, cron, Docker and the orchestrator.

Stage commands follow the command contract of DESIGN.md. Stage modules are imported lazily inside
each command so `vv --help` stays instant (no torch/llama import just to print help).
"""

from pathlib import Path
from typing import Annotated

import typer

from tv_api import cli as tv_api_cli  # light: its commands import their dependencies lazily
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


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: TV_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port, 0 for any free one (default: TV_API_PORT).")] = None,
) -> None:
    """Run tv_api: playlists, media, /status, /metrics, tv.html and tv_mirror.html."""
    from tv_api.server import serve as run_server

    run_server(Settings(), host=host, port=port)


app.add_typer(tv_api_cli.users_app, name="users")
app.add_typer(tv_api_cli.tokens_app, name="tokens")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
