"""Helpers shared by tests (plain functions; fixtures live in conftest.py)."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def repo_env(**extra: str) -> dict[str, str]:
    """os.environ with this checkout's code first on PYTHONPATH, for child processes."""
    env = dict(os.environ)
    paths = [str(REPO_ROOT), str(REPO_ROOT / "vv-core"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env.update(extra)
    return env
