"""A stage that cannot use the box's model or key store fails with exit 1 (vv_core's errors are
VVErrors), but the video is not at fault: the orchestrator must retry it (transient), never move it
to corrupted/ as bad input. Found by the model and key-store drills on the real stack (issue 22).
The messages are the real stages' own, made by the code that raises them."""

import json
import shutil
from pathlib import Path

import pytest

from orchestrator.failures import classify_result
from orchestrator.runners import StageResult
from scan_video.config import ScanConfig
from scan_video.model_select import resolve_detector
from summarize_scene.llm_model import CurrentLLM
from vv_core.cli_support import reason_and_code
from vv_core.keystore import create_key_store, load_key_store
from vv_core.models import POINTER_FILES, load_manifest

REPO = Path(__file__).resolve().parents[2]


def failed(stage: str, exc: Exception) -> StageResult:
    """What the orchestrator receives from the stage's CLI (vv_core.cli_support's contract)."""
    reason, code = reason_and_code(exc)
    return StageResult(stage, code, "", f"error: {reason}\n", 1.0)


def test_a_missing_detector_is_retried_not_quarantined_as_bad_input(tmp_path):
    shutil.copyfile(REPO / "models" / "model_manifest.json", tmp_path / "model_manifest.json")
    entry = load_manifest(tmp_path / "model_manifest.json").find("hfd-person-onnx-fp16")
    # Selected by `vv model use` (its pointer), then its file went missing.
    (tmp_path / POINTER_FILES["detector"]).write_text(json.dumps(
        {"name": entry.name, "version": entry.version, "kind": "detector", "sha256": entry.sha256,
         "path": entry.install_path(tmp_path).relative_to(tmp_path).as_posix(), "previous": None}))
    with pytest.raises(Exception) as raised:
        resolve_detector(ScanConfig(models_dir=tmp_path))
    failure = classify_result(failed("scan", raised.value))
    assert failure.kind == "transient", failure
    assert failure.reason.startswith("missing model: ") and "not installed" in failure.reason


def test_a_corrupted_llm_is_retried_not_quarantined_as_bad_input(tmp_path):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF-but-not-the-pinned-bytes".ljust(4096, b"\0"))
    with pytest.raises(Exception) as raised:
        CurrentLLM("gemma3-270m", "q4_k_m-1.0.0", "a" * 64, gguf).verify()
    failure = classify_result(failed("summarize", raised.value))
    assert failure.kind == "transient", failure
    assert failure.reason.startswith("corrupted model: ") and "sha256" in failure.reason


def test_a_key_store_open_to_others_is_retried_not_quarantined_as_bad_input(tmp_path):
    store = tmp_path / "logline_keys.json"
    create_key_store(store, "k1")
    store.chmod(0o644)
    with pytest.raises(Exception) as raised:
        load_key_store(store)
    failure = classify_result(failed("logline", raised.value))
    assert failure.kind == "transient", failure
    assert failure.reason.startswith("key store unreadable: ") and "chmod 600" in failure.reason
    assert json.loads(store.read_text())["keys"]["k1"] not in failure.reason   # never the secret


@pytest.mark.parametrize("line", ["not a video: moov atom not found", "truncated: 0 frames decoded",
                                  "analytic x.json fails its schema: 'video_id' is required"])
def test_bad_input_stays_permanent(line):
    assert classify_result(StageResult("scan", 1, "", f"error: {line}\n", 1.0)).kind == "permanent"
