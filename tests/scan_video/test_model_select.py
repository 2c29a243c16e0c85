"""Which detector a scan loads: configured name → `vv model use` pointer → manifest default."""

import json
import os
import shutil

import pytest

import scan_video
from scan_video.config import ScanConfig
from scan_video.errors import DetectorModelError
from scan_video.model_select import resolve_detector
from tests.scan_video import media
from vv_core.models import load_manifest, use_model

pytestmark = pytest.mark.slow


@pytest.fixture
def local_models(tmp_path, models_dir):
    local = tmp_path / "models"
    shutil.copytree(models_dir, local, copy_function=os.link)  # hard links: no copy of the weights
    # …but the manifest is edited in place by a test: a real copy, or the session's would change too.
    (local / "model_manifest.json").unlink()
    shutil.copyfile(models_dir / "model_manifest.json", local / "model_manifest.json")
    return local


def test_resolution_order(local_models):
    config = ScanConfig(models_dir=local_models)
    ultralytics = config.model_copy(update={"backend": "ultralytics"})
    # The manifest's default detector: the int8 file since issue 17 (the float one's events, faster).
    assert resolve_detector(config).name == media.PYPI_PERSON_INT8
    assert resolve_detector(ultralytics).name == media.PYPI_PERSON_INT8
    manifest = load_manifest(local_models / "model_manifest.json")
    use_model(local_models, manifest.find(media.EXPORTED_FP32))
    assert resolve_detector(config).name == media.EXPORTED_FP32  # the operator's choice wins
    use_model(local_models, manifest.find(media.PYPI_PERSON_PT))
    assert resolve_detector(config).name == media.PYPI_PERSON_INT8  # a .pt pointer does not fit onnxruntime
    assert resolve_detector(ultralytics).name == media.PYPI_PERSON_PT
    chosen = resolve_detector(config.model_copy(update={"detector_model": media.EXPORTED_FP32}))
    assert chosen.path.is_file() and len(chosen.sha256) == 64


def test_wrong_kind_and_no_usable_detector(local_models):
    config = ScanConfig(models_dir=local_models)
    with pytest.raises(DetectorModelError, match="is a llm, not a detector"):
        resolve_detector(config.model_copy(update={"detector_model": "gemma3-270m"}))
    manifest = json.loads((local_models / "model_manifest.json").read_text())
    manifest["models"] = [m for m in manifest["models"] if m["file"].endswith(".pt")]
    (local_models / "model_manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DetectorModelError, match="no detector the onnxruntime backend can run"):
        resolve_detector(config)


def test_package_exports_scan_lazily():
    from scan_video import scanner

    assert scan_video.scan is scanner.scan and scan_video.ScanResult is scanner.ScanResult
    with pytest.raises(AttributeError):
        _ = scan_video.not_a_thing
