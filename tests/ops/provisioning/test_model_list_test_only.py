"""Test-only manifest entries (the LLM re-label for rollback drills) stay out of an operator's way."""

import shutil
import subprocess
import sys

from tests.helpers import REPO_ROOT, repo_env
from vv_core.models import load_manifest

RELABEL = "q4_k_m-1.0.0-relabel"


def test_the_shipped_relabel_is_test_only_and_never_picked_without_a_version():
    manifest = load_manifest(REPO_ROOT / "models" / "model_manifest.json")
    assert manifest.find("gemma3-270m", RELABEL).test_only
    assert manifest.find("gemma3-270m").version == "q4_k_m-1.0.0"


def test_vv_model_list_hides_test_only_entries_unless_all(tmp_path):
    shutil.copyfile(REPO_ROOT / "models" / "model_manifest.json", tmp_path / "model_manifest.json")

    def listing(*extra: str) -> str:
        result = subprocess.run([sys.executable, "-m", "vv_cli.main", "model", "list", "--models-dir", str(tmp_path),
                                 *extra], capture_output=True, text=True, env=repo_env(), cwd=REPO_ROOT, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert RELABEL not in listing() and "q4_k_m-1.0.0" in listing()
    assert RELABEL in listing("--all")
    assert RELABEL not in listing("--json")
