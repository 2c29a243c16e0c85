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


@app.command()
def scan(
    video: Annotated[Path, typer.Argument(help="Video file to scan.")],
    output_dir: Annotated[
        Path | None, typer.Option(help="Where to write <id>.analytic.json (default: <storage>/analytic).")
    ] = None,
    video_id: Annotated[str | None, typer.Option("--id", help="Artifact id (default: from the path).")] = None,
) -> None:
    """Detect objects and faces in VIDEO; write analytic/<id>.analytic.json."""
    from scan_video.scan_video import run as run_scan

    run_stage(lambda: run_scan(video, output_dir, video_id))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
