"""The blueprint's entry scripts: thin, and runnable both as files and as modules.

Auditors and cron run `python scripts/logline_verifier.py` from a bare checkout (no PYTHONPATH, no
install), and install.sh runs `python3 bootstrap.py`; `python -m scripts.X` must keep working too.
"""

import os
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT

ENTRY_SCRIPTS = {  # file → the package function its arguments go to
    "scripts/orchestrator.py": "orchestrator.cli",
    "scripts/self_monitor.py": "ops.upkeep.self_monitor",
    "scripts/logline_verifier.py": "transparency.verifier",
    "scripts/log_exporter.py": "ops.upkeep.log_exporter",
    "scripts/cleanup_old_files.py": "ops.upkeep.cleanup",
    "bootstrap.py": "ops.provisioning.bootstrap",
}


def bare_env() -> dict[str, str]:
    """No PYTHONPATH: only what the script itself arranges is importable from the checkout."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def test_scripts_folder_holds_exactly_the_blueprint_scripts():
    names = sorted(p.name for p in (REPO_ROOT / "scripts").iterdir() if p.name != "__pycache__")
    assert names == ["__init__.py", "cleanup_old_files.py", "log_exporter.py", "logline_verifier.py",
                     "orchestrator.py", "run_tests.sh", "self_monitor.py"]


@pytest.mark.parametrize(("script", "module"), ENTRY_SCRIPTS.items())
def test_entry_script_runs_as_a_file_from_anywhere(script, module, tmp_path):
    result = subprocess.run([sys.executable, str(REPO_ROOT / script), "--help"], capture_output=True, text=True,
                            env=bare_env(), cwd=tmp_path, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout.lower()  # argparse prints "usage:", typer "Usage:"
    text = (REPO_ROOT / script).read_text()
    assert f"from {module} import main" in text and len(text.splitlines()) < 25  # thin: one call


@pytest.mark.parametrize("script", [s for s in ENTRY_SCRIPTS if s.startswith("scripts/")])
def test_entry_script_runs_as_a_module(script):
    module = script.removesuffix(".py").replace("/", ".")
    result = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True,
                            env=bare_env(), cwd=REPO_ROOT, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout.lower()  # argparse prints "usage:", typer "Usage:"
