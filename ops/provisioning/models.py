"""`vv model list|install|use|rollback`: the model lifecycle for operators (blueprint 12.6).

The mechanics (fetch, sha256 verification, atomic pointer switch) live in vv_core.models; this
module only turns operator intent into those calls and reports what changed.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vv_core.models import (
    POINTER_FILES,
    ModelEntry,
    ModelIntegrityError,
    ModelKind,
    ModelManifest,
    current_model,
    install_model,
    load_manifest,
    rollback_model,
    use_model,
)

REPO_MANIFEST = Path(__file__).resolve().parents[2] / "models" / "model_manifest.json"


def manifest_path(models_dir: Path, override: Path | None = None) -> Path:
    """The manifest to use: explicit, else <models_dir>/model_manifest.json, else the repository's."""
    if override is not None:
        return override
    local = Path(models_dir) / "model_manifest.json"
    return local if local.is_file() else REPO_MANIFEST


def _manifest(models_dir: Path, override: Path | None) -> ModelManifest:
    return load_manifest(manifest_path(models_dir, override))


def _select(manifest: ModelManifest, name: str | None, version: str | None, kind: ModelKind) -> ModelEntry:
    """A named model, or the manifest's default one of ``kind``."""
    return manifest.default(kind) if name is None else manifest.find(name, version)


@dataclass(frozen=True)
class ModelRow:
    name: str
    kind: str
    version: str
    default: bool
    installed: bool
    current: bool
    size_bytes: int | None
    source: str
    test_only: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def list_models(models_dir: Path, manifest: Path | None = None) -> list[ModelRow]:
    """Every manifest entry with whether it is installed (file present with the pinned size) and current."""
    rows = []
    pointers = {kind: current_model(models_dir, kind) for kind in POINTER_FILES}
    for entry in _manifest(models_dir, manifest).models:
        path = entry.install_path(models_dir)
        installed = path.is_file() and (entry.size_bytes is None or path.stat().st_size == entry.size_bytes)
        pointer = pointers.get(entry.kind)
        current = bool(pointer and pointer["name"] == entry.name and pointer["version"] == entry.version)
        rows.append(ModelRow(entry.name, entry.kind, entry.version, entry.default, installed, current,
                             entry.size_bytes, entry.source, entry.test_only))
    return rows


def _shorten(text: str, width: int = 64) -> str:
    return text if len(text) <= width else f"{text[: width // 2 - 1]}…{text[-(width // 2):]}"


def format_rows(rows: list[ModelRow]) -> str:
    header = ("", "NAME", "KIND", "VERSION", "INSTALLED", "DEFAULT", "SOURCE")
    table = [header] + [
        ("*" if r.current else "", r.name, r.kind, r.version, "yes" if r.installed else "no",
         "yes" if r.default else "", _shorten(r.source.split("#", 1)[0]))
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in table)


def install(
    models_dir: Path, name: str | None = None, version: str | None = None, *, kind: ModelKind = "llm",
    use: bool = False, manifest: Path | None = None,
) -> Path:
    """Install (fetch + verify) a model; with ``use`` also make it current. Returns the file path."""
    entry = _select(_manifest(models_dir, manifest), name, version, kind)
    path = install_model(entry, models_dir)
    if use:
        use_model(models_dir, entry)
    return path


def use(models_dir: Path, name: str, version: str | None = None, *, manifest: Path | None = None) -> Path:
    """Make an installed model current (verified first). Returns the pointer file written."""
    entry = _manifest(models_dir, manifest).find(name, version)
    if not entry.install_path(models_dir).is_file():
        raise ModelIntegrityError(
            f"model {entry.name}=={entry.version} is not installed (run: vv model install {entry.name} "
            f"--version {entry.version})"
        )
    use_model(models_dir, entry)
    return Path(models_dir) / POINTER_FILES[entry.kind]


def rollback(models_dir: Path, kind: ModelKind = "llm") -> Path:
    """Switch back to the previous model of ``kind``. Returns the pointer file written."""
    rollback_model(models_dir, kind)
    return Path(models_dir) / POINTER_FILES[kind]
