"""scripts/run_tests.sh (daily smoke) and tools/drop_sample_video.sh: lint and the failure path.

The success path (real stages, LogLine verifies) runs in tests/orchestrator/test_e2e_real_stages.py.
"""

import shlex
import shutil
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT
from tests.orchestrator.conftest import contract_command
from tests.webhook_server import WebhookServer

SCRIPTS = [REPO_ROOT / "scripts" / "run_tests.sh", REPO_ROOT / "tools" / "drop_sample_video.sh"]


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_scripts_are_shellcheck_clean():
    result = subprocess.run(["shellcheck", *map(str, SCRIPTS)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_drop_sample_video_writes_a_real_clip_atomically(cli_env, storage_root):
    result = subprocess.run(["bash", str(SCRIPTS[1]), "cam9", "1"], capture_output=True, text=True,
                            env={**cli_env, "PYTHON": sys.executable}, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    video = storage_root / "input" / "cam9" / result.stdout.strip().rsplit("/", 1)[-1]
    assert video.is_file() and video.read_bytes()[4:8] == b"ftyp"
    assert not list((storage_root / "input" / "cam9").glob("*.part"))
    again = subprocess.run(["bash", str(SCRIPTS[1]), "cam8", "1"], capture_output=True, text=True,
                           env={**cli_env, "PYTHON": sys.executable}, check=True, timeout=120)
    other = storage_root / "input" / "cam8" / again.stdout.strip().rsplit("/", 1)[-1]
    assert other.read_bytes() != video.read_bytes()   # each drop is distinct content (not a re-drop)
    missing = subprocess.run(["bash", str(SCRIPTS[1])], capture_output=True, text=True, check=False,
                             env={**cli_env, "SAMPLE_VIDEO": "/nonexistent.mp4"})
    assert missing.returncode == 1 and "sample video not found" in missing.stderr


@pytest.mark.slow
def test_smoke_failure_raises_a_critical_alert_with_the_log(cli_env, storage_root):
    """With stages that reject the clip (the contract test double), the smoke must fail loudly."""
    with WebhookServer() as hook:
        env = {**cli_env, "PYTHON": sys.executable, "VV": f"{shlex.quote(sys.executable)} -m vv_cli.main",
               "ORCHESTRATOR_VV_COMMAND": shlex.join(contract_command()), "STABLE_WAIT_S": "0",
               "ALERT_WEBHOOK_URL": hook.url, "ALERT_RETRIES": "0", "TV_API_URL": "http://127.0.0.1:9",
               # the temp storage root lives on the host's disk: its free space must not add an alert
               "DISK_MIN_FREE_PERCENT": "0"}
        result = subprocess.run(["bash", str(SCRIPTS[0])], capture_output=True, text=True, env=env,
                                cwd=REPO_ROOT, check=False, timeout=300)
        bodies = hook.bodies()
    assert result.returncode == 1
    assert "smoke: FAILED: sample video was quarantined" in result.stderr
    assert [b["title"] for b in bodies] == ["video quarantined", "daily smoke test failed"]  # orchestrator's, ours
    smoke = bodies[1]
    assert smoke["severity"] == "CRITICAL" and "not a video" in smoke["message"]
    assert smoke["context"]["log_excerpt"].endswith("smoke: FAILED: " + smoke["message"])
