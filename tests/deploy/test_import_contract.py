"""The import contract (pyproject.toml [tool.importlinter]) holds, and it would catch a breach."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, repo_env

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = repo_env(PYTHONPATH=f"{root}:{root / 'vv-core'}")
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          check=False, timeout=300)


def copy_tracked_source(root: Path, target: Path) -> None:
    """Copy the house as git knows it. Walking the working tree raced with other test workers: their
    coverage files (.coverage.*) appeared and vanished under the copy (CI, xdist)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--", "*.py", "*.toml", "*.cfg", "*.ini"], cwd=root,
                            capture_output=True, check=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = root / name
        if name.startswith("tests/") or not source.is_file():
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / name)


@pytest.fixture(scope="module")
def contract_tool():
    if not LINT_IMPORTS.exists():
        pytest.skip("import-linter not installed (requirements/dev.txt)")
    return LINT_IMPORTS


def test_the_house_keeps_its_import_contract(contract_tool):
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


def test_a_stage_importing_another_stage_breaks_it(contract_tool, tmp_path):
    copy = tmp_path / "house"
    copy_tracked_source(REPO_ROOT, copy)
    module = copy / "tv_scheduler" / "tv_scheduler.py"
    module.write_text(module.read_text() + "\nfrom scan_video import scan_video  # noqa: E402,F401\n")
    result = lint_imports(copy)
    assert result.returncode == 1
    assert "tv_scheduler.tv_scheduler -> scan_video.scan_video" in result.stdout
