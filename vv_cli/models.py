"""`vv model …`: the model lifecycle for operators (logic in ops.provisioning.models)."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from vv_cli.app import app
from vv_cli.settings import Settings
from vv_core.cli_support import run_stage

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

    from ops.provisioning.models import format_rows, list_models
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
    from ops.provisioning.models import install

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
    from ops.provisioning.models import use as use_model

    run_stage(lambda: use_model(_models_dir(models_dir), name, version, manifest=manifest))


@model_app.command("rollback")
def model_rollback(kind: KindOption = "llm", models_dir: ModelsDirOption = None) -> None:
    """Switch the pointer back to the previous model (verified first)."""
    from ops.provisioning.models import rollback

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
    from scan_video.quantize import quantize_detector  # the stage's own function (operator tools may not)
    from vv_core.hashing import compute_sha256

    def action() -> Path:
        quantize_detector(source, output, input_size=input_size)
        sha256, size = compute_sha256(output), output.stat().st_size
        print(f"sha256 {sha256} size_bytes {size}: pin these in the model manifest", file=sys.stderr)
        return output

    run_stage(action)


