"""`vv`: the one console entry point for operators, cron, Docker and the orchestrator.

Stage commands follow the command contract of DESIGN.md. Stage modules are imported lazily inside
each command so `vv --help` stays instant (no torch/llama import just to print help).
"""

import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from scripts.settings import Settings
from transparency import cli as transparency_cli  # light too
from tv_api import cli as tv_api_cli  # light: its commands import their dependencies lazily
from tv_api.console import cli as console_cli  # light too
from vv_core import __version__
from vv_core.cli_support import run_stage


class _VvGroup(TyperGroup):
    """Notes whether the subcommand's own arguments ask for its help: the storage-root check below runs
    before they are parsed, and `vv backup --help` must work without a storage tree."""

    def resolve_command(self, ctx, args):
        name, command, rest = super().resolve_command(ctx, args)
        ctx.meta["vv.asks_help"] = any(arg in ("--help", "-h") for arg in rest)
        return name, command, rest


app = typer.Typer(
    cls=_VvGroup,
    name="vv",
    help="vv-video-ai-system: scan, summarize, sign and schedule video on an edge box.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# Commands that run the box on its storage tree: they refuse a VIDEO_STORAGE_ROOT that does not exist
# (a typo) rather than create an empty tree; `vv bootstrap` creates it.
_BOX_COMMANDS = {"up", "serve", "orchestrate", "schedule", "status", "capture", "cleanup", "backup"}


@app.callback()
def _cli_edge(ctx: typer.Context) -> None:
    asks_help = ctx.meta.get("vv.asks_help", False)
    if ctx.invoked_subcommand in _BOX_COMMANDS and not ctx.resilient_parsing and not asks_help:
        from vv_core.cli_support import fail
        from vv_core.errors import VVError
        from vv_core.storage import require_storage_root

        try:
            require_storage_root(Settings().video_storage_root)
        except VVError as exc:
            fail(str(exc))


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
# --- operations (issue 5): orchestrator, status, cleanup, log export, self-monitor, alert -------------
# These wrap argparse mains (each script also runs standalone); arguments pass through untouched.
_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


@app.command(context_settings=_PASSTHROUGH, add_help_option=False)
def orchestrate(ctx: typer.Context) -> None:
    """Run the pipeline over input/: --once (cron, default) or --loop. See --help."""
    from scripts.orchestrator import main as orchestrator_main

    raise typer.Exit(orchestrator_main(ctx.args))


@app.command()
def status(
    json_output: Annotated[bool, typer.Option(
        "--json", help="The raw status file and state summary (scripts), instead of the table.")] = False,
) -> None:
    """The box at a glance: queue, stages, cameras, TVs, last errors, disk (--json: the raw status)."""
    if json_output:
        from scripts.orchestrator import status_summary

        print(status_summary(Settings()))
        return
    from rich.console import Console

    from scripts.status_table import collect_status, render_status

    render_status(collect_status(Settings()), Console())


@app.command(context_settings=_PASSTHROUGH, add_help_option=False)
def cleanup(ctx: typer.Context) -> None:
    """Delete old files (dry run unless --apply); --disk-pressure frees space. See --help."""
    from scripts.cleanup_old_files import main as cleanup_main

    raise typer.Exit(cleanup_main(ctx.args))


faces_app = typer.Typer(help="Known faces: the box's own face library (kept in state/, never sent anywhere).",
                        no_args_is_help=True)
app.add_typer(faces_app, name="faces")


def _face_library() -> Path:
    from scan_video.face_library import library_path

    return library_path(Settings().video_storage_root)


@faces_app.command("add")
def faces_add(name: Annotated[str, typer.Argument(help="The person's name, as summaries will say it.")],
              images: Annotated[list[Path], typer.Argument(help="Images each showing exactly this one face.")]) -> None:
    """Add a person's face (one encoding per image) to the library."""
    from scan_video.face_library import FaceLibraryError, add_faces
    from vv_core.cli_support import fail

    try:
        count = add_faces(_face_library(), name, images)
    except FaceLibraryError as exc:
        fail(str(exc))
    print(f"{name}: {count} face encoding{'s' if count != 1 else ''}")


@faces_app.command("list")
def faces_list() -> None:
    """Known people and how many usable encodings each has (encodes pictures the console added)."""
    from scan_video.face_library import FaceLibraryError, list_people, unusable_pictures
    from vv_core.cli_support import fail

    try:
        people = list_people(_face_library())
        notes = unusable_pictures(_face_library())
    except FaceLibraryError as exc:
        fail(str(exc))
    print("\n".join(f"{name}\t{count}" for name, count in people.items()) if people else "no known faces")
    for name, lines in notes.items():
        for line in lines:
            print(f"{name}: {line}", file=sys.stderr)


@faces_app.command("remove")
def faces_remove(name: Annotated[str, typer.Argument(help="The person to forget.")]) -> None:
    """Remove a person (all their encodings) from the library."""
    from scan_video.face_library import FaceLibraryError, remove_person
    from vv_core.cli_support import fail

    try:
        removed = remove_person(_face_library(), name)
    except FaceLibraryError as exc:
        fail(str(exc))
    if not removed:
        fail(f"{name!r} is not in the face library")
    print(f"{name}: removed")


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


model_app = typer.Typer(
    help="Model lifecycle: list, install (verified), use, rollback, quantize (int8).", no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(model_app, name="model")
KindOption = Annotated[str, typer.Option(help="llm, detector, face or embedder.")]
ManifestOption = Annotated[Path | None, typer.Option(help="Default: <models-dir>/model_manifest.json.")]
ModelsDirOption = Annotated[Path | None, typer.Option(help="Default: MODELS_DIR.")]


def _models_dir(option: Path | None) -> Path:
    return option if option is not None else Settings().models_dir


def _kind(value: str) -> str:
    from vv_core.cli_support import fail

    if value not in ("llm", "detector", "face", "embedder"):
        fail(f"--kind must be llm, detector, face or embedder, not {value!r}")
    return value


@model_app.command("list")
def model_list(
    json_output: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="Also list test-only entries (rollback drills).")] = False,
    models_dir: ModelsDirOption = None,
    manifest: ManifestOption = None,
) -> None:
    """Models in the manifest; * marks the current one of each kind."""
    import json

    from scripts.model_cli import format_rows, list_models
    from vv_core.cli_support import fail
    from vv_core.errors import VVError

    try:
        rows = list_models(_models_dir(models_dir), manifest)
    except VVError as exc:
        fail(str(exc))
    rows = [row for row in rows if show_all or not row.test_only or row.current]
    print("\n".join(json.dumps(r.as_dict()) for r in rows) if json_output else format_rows(rows))


@model_app.command("install")
def model_install(
    name: Annotated[str | None, typer.Argument(help="Model name (default: the manifest's default).")] = None,
    version: Annotated[str | None, typer.Option(help="Version (default: the default/latest of NAME).")] = None,
    kind: KindOption = "llm",
    use: Annotated[bool, typer.Option("--use", help="Also make it the current model.")] = False,
    models_dir: ModelsDirOption = None,
    manifest: ManifestOption = None,
) -> None:
    """Fetch a model, verify size+sha256, place it under <models-dir>/<name>/<version>/."""
    from scripts.model_cli import install

    run_stage(lambda: install(_models_dir(models_dir), name, version, kind=_kind(kind), use=use,
                              manifest=manifest))


@model_app.command("use")
def model_use(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str | None, typer.Option(help="Version (default: the default/latest of NAME).")] = None,
    models_dir: ModelsDirOption = None,
    manifest: ManifestOption = None,
) -> None:
    """Verify an installed model and switch the current-model pointer to it atomically."""
    from scripts.model_cli import use as use_model

    run_stage(lambda: use_model(_models_dir(models_dir), name, version, manifest=manifest))


@model_app.command("rollback")
def model_rollback(kind: KindOption = "llm", models_dir: ModelsDirOption = None) -> None:
    """Switch the pointer back to the previous model (verified first)."""
    from scripts.model_cli import rollback

    run_stage(lambda: rollback(_models_dir(models_dir), _kind(kind)))


@model_app.command("quantize")
def model_quantize(
    source: Annotated[Path, typer.Argument(help="A float YOLOv8-family ONNX export (e.g. yolov8n.onnx).")],
    output: Annotated[Path, typer.Argument(help="Where to write the int8 model.")],
    input_size: Annotated[int, typer.Option(help="Calibration input size of a dynamic-shape model.")] = 640,
) -> None:
    """Quantize a detector to int8 (onnxruntime, calibrated on a fixed image set; same bytes every run).

    Prints the path; the sha256 and size to pin in the manifest go to stderr. Check its recall on
    your own footage before you make it current."""
    from scripts.model_cli import quantize

    def action() -> Path:
        path, sha256, size = quantize(source, output, input_size=input_size)
        print(f"sha256 {sha256} size_bytes {size}: pin these in the model manifest", file=sys.stderr)
        return path

    run_stage(action)


@app.command()
def capture(
    camera: Annotated[
        list[str] | None, typer.Option("--camera", help="Record only this camera (repeatable).")
    ] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    no_http: Annotated[bool, typer.Option("--no-http", help="Do not serve snapshots/metrics.")] = False,
) -> None:
    """Record the cameras into input/<camera>/<UTC>.mp4 until stopped (agent_dvr)."""
    from agent_dvr.agent_dvr import main as capture_main

    argv = [arg for name in camera or [] for arg in ("--camera", name)]
    if duration is not None:
        argv += ["--duration", str(duration)]
    if no_http:
        argv.append("--no-http")
    capture_main(argv)


ingest_app = typer.Typer(help="Extra content for the TVs: process, catalog, curate (vv_ingest).",
                         no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")


@ingest_app.command("process")
def ingest_process(
    videos: Annotated[list[Path], typer.Argument(help="Videos (or folders of videos) to standardize.")],
    output_dir: Annotated[Path | None, typer.Option(help="Library folder (default: from config).")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Catalog tag (repeatable).")] = None,
    title: Annotated[str | None, typer.Option(help="Title (default: from the file name).")] = None,
) -> None:
    """Standardize videos into the library (H.264 High/AAC, +faststart) with a thumbnail each."""
    from vv_ingest.process_video import main as process_main

    argv = [str(v) for v in videos] + (["--output-dir", str(output_dir)] if output_dir else [])
    argv += [arg for value in tag or [] for arg in ("--tag", value)]
    process_main(argv + (["--title", title] if title else []))


@ingest_app.command("catalog")
def ingest_catalog(
    library: Annotated[Path | None, typer.Option(help="Library folder (default: from config).")] = None,
) -> None:
    """Build the library's JSON manifest (incremental: unchanged files are not re-hashed)."""
    from vv_ingest.catalog_videos import main as catalog_main

    catalog_main(["--library", str(library)] if library else [])


@ingest_app.command("curate")
def ingest_curate(
    force: Annotated[bool, typer.Option("--force", help="Rotate now, even inside the period.")] = False,
) -> None:
    """Rotate a selection from the catalog into tv_curado/ and write its LogLines (status curado)."""
    from vv_ingest.auto_curate import main as curate_main

    curate_main(["--force"] if force else [])


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
    from scripts.box import box_services, cameras_configured, run_box

    settings = Settings()
    with_capture = cameras_configured(settings.dvr_cameras_file) if capture is None else capture
    raise typer.Exit(run_box(box_services(capture=with_capture, host=host, port=port)))


app.add_typer(tv_api_cli.users_app, name="users")
app.add_typer(tv_api_cli.tokens_app, name="tokens")
app.command("search")(console_cli.search)


@app.command()
def logline(
    summaries: Annotated[list[Path], typer.Argument(help="summaries/<id>.summary.json, one or more")],
    output_dir: Annotated[Path | None, typer.Option(help="Default: <storage>/loglines.")] = None,
) -> None:
    """Write the signed, hash-chained LogLines of summaries (idempotent); one checkpoint per run."""
    from logline_generator.logline_generator import run_command

    run_command(summaries, output_dir)


@app.command()
def verify(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or directories (default: loglines/).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable report.")] = False,
    jobs: Annotated[int | None, typer.Option(help="Processes for big chains (default: cores).")] = None,
    public_key: Annotated[list[str] | None, typer.Option(
        help="Audit without the HMAC key: the log's verifier key (`vv keys public`), repeatable.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(help="With --public-key: the signed checkpoint.")] = None,
    since: Annotated[Path | None, typer.Option(help="An older checkpoint you kept: prove the log extends it.")
                     ] = None,
    consistency_proof: Annotated[Path | None, typer.Option(
        help="`vv proof --consistency` output: check --since against --checkpoint without the files.")] = None,
    witness: Annotated[list[str] | None, typer.Option(help="A witness's verifier key, repeatable.")] = None,
    min_witnesses: Annotated[int, typer.Option(help="Cosignatures required from --witness keys.")] = 0,
) -> None:
    """Verify LogLines: signature, key, schema, chain continuity. Exit 1 on any problem.

    With --public-key and --checkpoint: an outsider's audit (no HMAC secret), see docs/transparency.md."""
    settings = Settings()
    if public_key or checkpoint:
        from transparency.audit import run_audit
        from vv_core.cli_support import fail

        if not (public_key and checkpoint):
            fail("an audit needs both --public-key and --checkpoint")
        raise typer.Exit(run_audit(
            paths or [], json_output, public_keys=public_key, checkpoint=checkpoint, since=since,  # type: ignore[arg-type]
            consistency_proof=consistency_proof, witness_keys=witness or [], min_witnesses=min_witnesses,
            default_dir=settings.storage.loglines, jobs=jobs))
    from scripts.logline_verifier import run_verify

    raise typer.Exit(
        run_verify(paths or [], json_output, settings.key_store_path, settings.storage.loglines, jobs)
    )


keys_app = typer.Typer(help="Key stores: HMAC keys for LogLines, Ed25519 keys for checkpoints.",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")
keys_app.command("public")(transparency_cli.keys_public)
keys_app.command("rotate-checkpoint")(transparency_cli.keys_rotate_checkpoint)
app.command()(transparency_cli.proof)
app.add_typer(transparency_cli.witness_app, name="witness")


@keys_app.command("rotate")
def keys_rotate(new_key_id: Annotated[str, typer.Argument(help="Id of the new active key.")]) -> None:
    """Add a fresh key and make it active; LogLines signed with older keys keep verifying."""
    from vv_core.keystore import rotate_key_store

    def action() -> Path:
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


# `vv --help` groups the commands by what an operator is doing (one table, not a panel per decorator).
HELP_PANELS = {
    "Run the box": ("up", "serve", "orchestrate", "schedule", "capture", "status"),
    "Set up": ("bootstrap", "model", "users", "tokens", "faces", "verify-install", "version"),
    "Pipeline stages": ("scan", "summarize", "logline", "ingest", "search"),
    "Trust and audit": ("verify", "keys", "proof", "witness"),
    "Operations": ("backup", "restore", "restore-drill", "cleanup", "export-logs", "self-monitor", "alert"),
}


def _assign_help_panels() -> None:
    panel_of = {name: panel for panel, names in HELP_PANELS.items() for name in names}
    for info in [*app.registered_commands, *app.registered_groups]:
        callback = getattr(info, "callback", None)
        name = info.name or (callback.__name__.replace("_", "-") if callback else None)
        if name in panel_of:
            info.rich_help_panel = panel_of[name]
    order = list(HELP_PANELS)     # panels show in the order of their first command: "Run the box" first
    app.registered_commands.sort(key=lambda info: order.index(info.rich_help_panel or "Operations"))


_assign_help_panels()


def main() -> None:
    """The CLI edge: a bad setting (in .env or the environment) is one line naming it, on every command."""
    from vv_core.config_errors import is_settings_error, settings_error_line

    try:
        app()
    except Exception as exc:
        if not is_settings_error(exc):
            raise
        print(f"error: {settings_error_line(exc)}", file=sys.stderr)  # type: ignore[arg-type]
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
