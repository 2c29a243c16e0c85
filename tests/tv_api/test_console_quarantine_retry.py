"""The console's quarantine retry with the REAL pipeline: a video quarantined by a transient fault
(its detector model missing, MAX_ATTEMPTS=1) is retried the way the Quarantine page does it
(tv_api.console.quarantine.retry: moved back to input/ and the orchestrator's record reset), and
the next `vv orchestrate --once` processes it: LogLine written, video in processed/. A 1 s lavfi
clip and the labelled template summaries keep it quick, as the hostile-names property test does."""

import json
import shutil
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT
from tests.orchestrator.test_e2e_real_stages import STAGES_PRESENT, install_models
from tests.orchestrator.test_hostile_names_property import RealBox, lavfi_clip
from tv_api.console.quarantine import list_quarantined, retry

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not STAGES_PRESENT, reason="the real stages are not on this branch"),
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg missing"),
]


def orchestrate_once(box: RealBox, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vv_cli.main", "orchestrate", "--once"], capture_output=True,
                          text=True, env={**box.env, **env}, cwd=REPO_ROOT, timeout=300, check=False)


def test_a_transient_quarantine_retried_from_the_console_is_processed_by_the_next_run(tmp_path):
    (tmp_path / "box").mkdir()
    box = RealBox(tmp_path / "box", install_models(tmp_path / "models", with_llm=False))
    box.drop(b"cam1/gate.mp4", lavfi_clip(tmp_path / "gate.mp4", "testsrc=duration=1:size=320x240:rate=10")
             .read_bytes())

    broken = orchestrate_once(box, MODELS_DIR=str(tmp_path / "no-models"), MAX_ATTEMPTS="1")
    assert broken.returncode == 0, broken.stderr
    (quarantined,) = list_quarantined(box.root)
    assert quarantined.kind == "transient" and "missing model" in quarantined.reason
    assert not list((box.root / "loglines").glob("*.logline.json"))

    done = retry(box.root, quarantined.path)
    assert done["moved_to"] == "input/cam1/gate.mp4" and done["orchestrator_reset"] is True
    assert list_quarantined(box.root) == []

    fixed = orchestrate_once(box)
    assert fixed.returncode == 0, fixed.stderr
    (logline,) = (box.root / "loglines").glob("*.logline.json")
    assert json.loads(logline.read_text())["source"]["video"].endswith("gate.mp4")
    assert list((box.root / "processed").rglob("gate*.mp4")) and list_quarantined(box.root) == []
    assert box.vv("verify").returncode == 0
