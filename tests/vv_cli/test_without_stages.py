"""`vv --help` in an image that carries none of the stages: the CLI imports a stage only inside its
command (or mounts the stage's own CLI when the stage is there), so the help still lists the rest."""

import subprocess
import sys

from tests.helpers import repo_env

STAGES = ("agent_dvr", "scan_video", "summarize_scene", "logline_generator", "tv_scheduler", "tv_api", "vv_ingest")

# Run `vv --help` with every stage package unimportable, as in an image built without them.
WITHOUT_STAGES = f"""
import importlib.abc, runpy, sys

class NoStages(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {STAGES!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NoStages())
sys.argv = ["vv", "--help"]
runpy.run_module("vv_cli", run_name="__main__")
"""


def test_help_runs_without_any_stage_installed():
    result = subprocess.run([sys.executable, "-c", WITHOUT_STAGES], capture_output=True, text=True,
                            env=repo_env(COLUMNS="120"), check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    for command in ("orchestrate", "scan", "summarize", "logline", "verify", "backup", "model", "capture"):
        assert f" {command} " in result.stdout
    assert " users " not in result.stdout and " search " not in result.stdout  # tv_api's own CLI: not there


def test_a_tool_command_without_its_tool_is_one_line():
    script = WITHOUT_STAGES.replace('["vv", "--help"]', '["vv", "capture", "--help"]')
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=repo_env(), check=False, timeout=60)
    assert result.returncode == 1
    assert result.stderr == "error: `vv capture` needs agent_dvr/, which this installation does not carry\n"
