"""`vv` pipeline stage commands: scan, summarize, logline (the command contract), ingest, search.

Each imports its stage lazily, so `vv --help` stays instant and an image without a stage still runs it.
"""

from pathlib import Path
from typing import Annotated

import typer

from vv_cli.app import PASSTHROUGH, app, pass_through, stage_cli


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


@ingest_app.command("process", context_settings=PASSTHROUGH, add_help_option=False)
def ingest_process(ctx: typer.Context) -> None:
    """Standardize videos into the library (H.264 High/AAC, +faststart) with a thumbnail each."""
    from vv_ingest.process_video import main as process_main

    pass_through(process_main, ctx)


@ingest_app.command("catalog", context_settings=PASSTHROUGH, add_help_option=False)
def ingest_catalog(ctx: typer.Context) -> None:
    """Build the library's JSON manifest (incremental: unchanged files are not re-hashed)."""
    from vv_ingest.catalog_videos import main as catalog_main

    pass_through(catalog_main, ctx)


@ingest_app.command("curate", context_settings=PASSTHROUGH, add_help_option=False)
def ingest_curate(ctx: typer.Context) -> None:
    """Rotate a selection from the catalog into tv_curado/ and write its LogLines (status curado)."""
    from vv_ingest.auto_curate import main as curate_main

    pass_through(curate_main, ctx)


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


