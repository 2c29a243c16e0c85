"""Which detector file to load, and proof that it is the pinned one (``vv_core.models``).

Order: the configured name (SCAN_DETECTOR_MODEL) → the current-detector pointer that ``vv model use``
maintains → the manifest's default detector → any detector entry the backend can run. The scanner
never downloads: a model that is not installed is a clear error telling the operator what to run.
"""

from dataclasses import dataclass
from pathlib import Path

from scan_video.config import ScanConfig
from scan_video.errors import DetectorModelError
from vv_core.models import ModelEntry, ModelIntegrityError, current_model, load_manifest, verify_model_file

MANIFEST_NAME = "model_manifest.json"


@dataclass(frozen=True)
class ResolvedDetector:
    name: str
    version: str
    sha256: str
    path: Path


def backend_accepts(backend: str, file_name: str) -> bool:
    suffix = Path(file_name).suffix.lower()
    return suffix == ".onnx" if backend == "onnxruntime" else suffix in {".pt", ".onnx", ".torchscript"}


def choose_entry(config: ScanConfig) -> ModelEntry:
    manifest = load_manifest(config.models_dir / MANIFEST_NAME)
    if config.detector_model:
        return manifest.find(config.detector_model, config.detector_version or None)
    pointer = current_model(config.models_dir, "detector")
    if pointer and backend_accepts(config.backend, pointer["path"]):
        return manifest.find(pointer["name"], pointer["version"])
    detectors = [m for m in manifest.models if m.kind == "detector" and backend_accepts(config.backend, m.file)]
    if not detectors:
        raise DetectorModelError(
            f"the model manifest has no detector the {config.backend} backend can run; set SCAN_DETECTOR_MODEL"
        )
    return sorted(detectors, key=lambda m: not m.default)[0]


def resolve_detector(config: ScanConfig) -> ResolvedDetector:
    """The verified detector file for this config (sha256 and size checked before any load)."""
    try:
        return _verified(choose_entry(config), config.models_dir, config.backend, "detector")
    except ModelIntegrityError as exc:
        raise DetectorModelError(f"detector model: {exc}") from None


def resolve_vehicle_detector(config: ScanConfig) -> ResolvedDetector:
    """The verified second detector (SCAN_VEHICLE_MODEL, an ONNX file run on onnxruntime whatever
    SCAN_BACKEND is: boxes only, no torch)."""
    try:
        entry = load_manifest(config.models_dir / MANIFEST_NAME).find(config.vehicle_model)
        return _verified(entry, config.models_dir, "onnxruntime", "vehicle detector")
    except ModelIntegrityError as exc:
        raise DetectorModelError(f"vehicle detector model: {exc}") from None


def _verified(entry: ModelEntry, models_dir: Path, backend: str, role: str) -> ResolvedDetector:
    if entry.kind != "detector":
        raise DetectorModelError(f"model {entry.name}=={entry.version} is a {entry.kind}, not a detector")
    if not backend_accepts(backend, entry.file):
        raise DetectorModelError(
            f"model {entry.name}=={entry.version} ({entry.file}) cannot run on the {backend} backend"
        )
    path = entry.install_path(models_dir)
    if not path.is_file():
        raise DetectorModelError(
            f"{role} {entry.name}=={entry.version} is not installed at {path} (run: vv model install {entry.name})"
        )
    verify_model_file(path, entry)
    return ResolvedDetector(entry.name, entry.version, entry.sha256, path)
