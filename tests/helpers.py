"""Helpers shared by tests (plain functions; fixtures live in conftest.py)."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def make_storage_root(root: Path) -> Path:
    """A storage tree as box commands accept it (vv_core.storage.LAYOUT_DIRS; `vv bootstrap` makes all
    of STORAGE_DIRS): an existing but empty root is refused like a missing one. Returns ``root``."""
    from vv_core.storage import LAYOUT_DIRS

    for name in LAYOUT_DIRS:
        (root / name).mkdir(parents=True, exist_ok=True)
    return root


def repo_env(**extra: str) -> dict[str, str]:
    """os.environ with this checkout's code first on PYTHONPATH, for child processes."""
    env = dict(os.environ)
    paths = [str(REPO_ROOT), str(REPO_ROOT / "vv-core"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env.update(extra)
    return env
