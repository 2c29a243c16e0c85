"""`vv` pipeline stage commands: scan, summarize, logline (the command contract), ingest, search.

Each imports its stage lazily, so `vv --help` stays instant and an image without a stage still runs it.
"""

from pathlib import Path
from typing import Annotated

import typer

from vv_cli.app import app, stage_cli, tool_command


@app.command()
def scan(
    videos: Annotated[list[Path], typer.Argument(help="Video file(s) to scan (several: models load once).")],
    output_dir: Annotated[
        Path | None, typer.Option(help="Where to write <id>.analytic.json (default: <storage>/analytic).")
    ] = None,
    video_ids: Annotated[
        list[str] | None, typer.Option("--id", help="Artifact id (default: from the path); once per video.")
    ] = None,
) -> None:
    """Detect objects and faces in each VIDEO; write analytic/<id>.analytic.json for each."""
    from scan_video.scan_video import dispatch

    dispatch(videos, output_dir, video_ids)


@app.command()
def summarize(
    analytic: Annotated[Path, typer.Argument(help="analytic/<id>.analytic.json")],
    output_dir: Annotated[Path | None, typer.Option(help="Default: <storage>/summaries.")] = None,
    config: Annotated[Path | None, typer.Option(help="Default: summarize_scene/config.yaml.")] = None,
    prompt: Annotated[Path | None, typer.Option(help="Default: summarize_scene/prompts/*.prompt.")] = None,
    models_dir: Annotated[Path | None, typer.Option(help="Default: MODELS_DIR.")] = None,
) -> None:
    """Summarize an analytic with the current LLM → summaries/<id>.summary.json."""
    from summarize_scene.summarize_scene import run

    run(analytic, output_dir, config, prompt, models_dir)


ingest_app = typer.Typer(help="Extra content for the TVs: process, catalog, curate (vv_ingest).",
                         no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")


tool_command(ingest_app, "process", "vv_ingest.process_video:process_command",
             "Standardize videos into the library (H.264 High/AAC, +faststart) with a thumbnail each.")
tool_command(ingest_app, "catalog", "vv_ingest.catalog_videos:catalog_command",
             "Build the library's JSON manifest (incremental: unchanged files are not re-hashed).")
tool_command(ingest_app, "curate", "vv_ingest.auto_curate:curate_command",
             "Rotate a selection from the catalog into tv_curado/ and write its LogLines (status curado).")


# tv_api's own search command, as it is (in an image without tv_api, `vv` simply has no search).
if (console_cli := stage_cli("tv_api.console.cli")) is not None:
    app.command("search")(console_cli.search)


@app.command()
def logline(
    summaries: Annotated[list[Path], typer.Argument(help="summaries/<id>.summary.json, one or more")],
    output_dir: Annotated[Path | None, typer.Option(help="Default: <storage>/loglines.")] = None,
) -> None:
    """Write the signed, hash-chained LogLines of summaries (idempotent); one checkpoint per run."""
    from logline_generator.logline_generator import run_command

    run_command(summaries, output_dir)


