"""`vv` commands that run the box: the orchestrator, the scheduler, tv_api, capture, `vv up`, status."""

from typing import Annotated

import typer

from vv_cli.app import app, tool_command
from vv_cli.settings import Settings

tool_command(app, "orchestrate", "orchestrator.cli:orchestrate_command",
             "Run the pipeline over input/: --once (cron, default) or --loop. See --help.")


@app.command()
def status(
    json_output: Annotated[bool, typer.Option(
        "--json", help="The raw status file and state summary (scripts), instead of the table.")] = False,
) -> None:
    """The box at a glance: queue, stages, cameras, TVs, last errors, disk (--json: the raw status)."""
    if json_output:
        from orchestrator.cli import status_summary

        print(status_summary(Settings()))
        return
    from rich.console import Console

    from orchestrator.status_table import collect_status, render_status

    render_status(collect_status(Settings()), Console())



tool_command(app, "capture", "agent_dvr.agent_dvr:capture_command",
             "Record the cameras into input/<camera>/<UTC>.mp4 until stopped (agent_dvr).")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: TV_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port, 0 for any free one (default: TV_API_PORT).")] = None,
) -> None:
    """Run tv_api: playlists, media, /status, /metrics, tv.html and tv_mirror.html."""
    from tv_api.server import serve as run_server
    from vv_core.cli_support import fail
    from vv_core.errors import VVError

    try:
        run_server(Settings(), host=host, port=port)
    except VVError as exc:
        fail(str(exc))


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="tv_api bind address (default: TV_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="tv_api port (default: TV_API_PORT).")] = None,
    capture: Annotated[bool | None, typer.Option(
        "--capture/--no-capture", help="Record the cameras (default: when DVR_CAMERAS_FILE exists).")] = None,
) -> None:
    """Run the whole box in the foreground: tv_api, scheduler, orchestrator loop (and capture); Ctrl-C stops all."""
    from orchestrator.box import box_services, cameras_configured, run_box

    settings = Settings()
    with_capture = cameras_configured(settings.dvr_cameras_file) if capture is None else capture
    raise typer.Exit(run_box(box_services(capture=with_capture, host=host, port=port)))



@app.command()
def schedule(
    once: Annotated[bool, typer.Option("--once", help="Build the playlists once and exit.")] = False,
) -> None:
    """Build playlists/<tv>.json from verified LogLines (watch loglines/ unless --once)."""
    from tv_scheduler.tv_scheduler import run_schedule

    run_schedule(Settings(), once=once)


