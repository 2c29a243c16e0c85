"""Prepare a box (blueprint: ``bootstrap.py --skip-existing``). Idempotent; secrets never replaced.

Steps, each reported as created or kept:
1. the storage tree under VIDEO_STORAGE_ROOT;
2. the HMAC key store and the Ed25519 checkpoint key store (0600) if none exists;
3. ``.env`` from ``.env.example`` with fresh secrets (0600), when an env file is asked for;
4. the fallback assets (``fallback/loop_silencioso.mp4``, ``placeholder.png``) rendered with ffmpeg;
5. models from the manifest (each kind's default, or ``--models a,b``), fetched, sha256-verified and
   installed under MODELS_DIR, each kind made current when nothing is current yet (``vv_core.models``).
   An offline box names models it can get (``--models gemma3-270m,hfd-person-onnx-int8,dlib-frontal-face-hog``).

``--skip-existing`` (what install.sh runs) keeps every file that is already there; without it the
fallback assets are re-rendered and the models re-verified (a corrupt one is replaced). The key store
and ``.env`` are kept either way.

Run as ``vv bootstrap …``, ``python -m ops.provisioning.bootstrap …`` or ``python ops/provisioning/bootstrap.py …``.
"""

import argparse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ops.provisioning.env_file import create_env_file, example_names
from ops.provisioning.fallback_assets import ensure_fallback_assets
from ops.settings import BackupSettings
from vv_core.atomic import atomic_write_bytes
from vv_core.cli_support import run_stage
from vv_core.keystore import create_key_store, load_key_store

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_NAME = "model_manifest.json"


@dataclass
class BootstrapReport:
    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def absolute_paths(settings: BackupSettings, example: Path) -> dict[str, str]:
    """The paths this bootstrap used, absolute, for the .env it writes: the same path then works on
    the host, in cron, and inside every container (docker-compose.yml mounts them at that path)."""
    paths = {
        "VIDEO_STORAGE_ROOT": settings.storage.root,
        "KEY_STORE_PATH": settings.key_store_path.expanduser().absolute(),
        "CHECKPOINT_KEY_STORE_PATH": settings.checkpoint_key_store_path.expanduser().absolute(),
        "MODELS_DIR": settings.models_dir.expanduser().absolute(),
    }
    # The backup repository and its password file, when this environment names them (issue 19: a
    # generated .env must not blank what the operator's shell already set).
    if settings.restic_repository:
        paths["RESTIC_REPOSITORY"] = settings.restic_repository
    if settings.restic_password_file:
        paths["RESTIC_PASSWORD_FILE"] = Path(settings.restic_password_file).expanduser().absolute()
    known = example_names(example.read_text(encoding="utf-8")) if example.is_file() else set()
    return {name: str(path) for name, path in paths.items() if name in known}


def install_models(
    models_dir: Path, manifest_path: Path, report: BootstrapReport, names: list[str] | None = None
) -> None:
    """Install the chosen models (sha256-verified): ``names``, or each kind's default. For each kind
    with nothing current yet, point at the first one installed (a rollback target stays untouched)."""
    from vv_core.models import POINTER_FILES, current_model, install_model, load_manifest, use_model

    manifest = load_manifest(manifest_path)
    # Stages look the models up in <MODELS_DIR>/model_manifest.json: keep it beside the weights.
    placed = models_dir / MANIFEST_NAME
    if not placed.is_file() or placed.read_bytes() != manifest_path.read_bytes():
        atomic_write_bytes(placed, manifest_path.read_bytes())
        report.created.append(placed)
    if names:
        chosen = [manifest.find(name) for name in names]
    else:
        chosen = [manifest.default(kind) for kind in sorted({entry.kind for entry in manifest.models})]
    for entry in chosen:
        existed = entry.install_path(models_dir).is_file()
        path = install_model(entry, models_dir)
        (report.kept if existed else report.created).append(path)
    for kind in dict.fromkeys(entry.kind for entry in chosen):
        if current_model(models_dir, kind=kind) is None:
            use_model(models_dir, next(entry for entry in chosen if entry.kind == kind))
            report.created.append(models_dir / POINTER_FILES[kind])


def bootstrap(
    settings: BackupSettings,
    *,
    skip_existing: bool = True,
    env_file: Path | None = None,
    env_example: Path = REPO_ROOT / ".env.example",
    env_overrides: dict[str, str] | None = None,
    fallback: bool = True,
    models: bool | list[str] = False,
    manifest: Path | None = None,
) -> BootstrapReport:
    """Create what is missing; see the module docstring for the steps and their order."""
    report = BootstrapReport()
    layout = settings.storage
    created = layout.ensure()
    report.created.extend(created)
    report.kept.extend(d for d in layout.directories() if d not in created)

    # The HMAC keys that seal LogLines, and the Ed25519 keys that sign checkpoints (same format).
    for key_store in (settings.key_store_path, settings.checkpoint_key_store_path):
        if key_store.exists():
            load_key_store(key_store)  # refuse to go on with a key store we could not use
            report.kept.append(key_store)
        else:
            key_store.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            create_key_store(key_store, datetime.now(UTC).strftime("k%Y%m%d"))
            report.created.append(key_store)

    if env_file is not None:
        overrides = absolute_paths(settings, env_example) if env_overrides is None else env_overrides
        made = create_env_file(env_file, env_example, overrides)
        (report.created if made else report.kept).append(env_file)

    if fallback:
        made_assets, kept_assets = ensure_fallback_assets(layout.fallback, skip_existing=skip_existing)
        report.created.extend(made_assets)
        report.kept.extend(kept_assets)

    if models:
        models_dir = settings.models_dir
        names = models if isinstance(models, list) else None
        install_models(models_dir, manifest or (REPO_ROOT / "models" / MANIFEST_NAME), report, names)
    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bootstrap.py", description=__doc__.split("\n")[0])
    parser.add_argument("--skip-existing", action="store_true", help="keep every file already there")
    parser.add_argument("--storage-root", type=Path, help="storage root (default: VIDEO_STORAGE_ROOT)")
    parser.add_argument("--env-file", type=Path, default=REPO_ROOT / ".env",
                        help="the .env to create if missing (default: the checkout's .env)")
    parser.add_argument("--no-env-file", action="store_true", help="do not create a .env")
    parser.add_argument("--models", default="default",
                        help="comma-separated manifest names to install (default: each kind's default)")
    parser.add_argument("--no-models", action="store_true", help="do not install models")
    parser.add_argument("--no-fallback", action="store_true", help="do not render the fallback assets")
    parser.add_argument("--manifest", type=Path, help="model manifest (default: models/model_manifest.json)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)

    def action() -> list[Path]:
        overrides = {"video_storage_root": args.storage_root} if args.storage_root else {}
        report = bootstrap(
            BackupSettings(**overrides),
            skip_existing=args.skip_existing,
            env_file=None if args.no_env_file else args.env_file,
            fallback=not args.no_fallback,
            models=False if args.no_models else (
                True if args.models == "default" else [n for n in args.models.split(",") if n]
            ),
            manifest=args.manifest,
        )
        return report.created

    run_stage(action)


if __name__ == "__main__":
    main()
