"""Where the deployment lint tools live: Debian packages on PATH, PyPI binaries next to python."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO_ROOT


def tool(name: str) -> str:
    """Absolute path of a required tool; a missing one fails the test (CI must run every lint)."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which(name)
    if found is None:
        raise AssertionError(f"{name} is not installed: run `make setup` (requirements/dev.txt, APT_PACKAGES)")
    return found


def tracked(*patterns: str) -> list[Path]:
    """Files git tracks in this checkout matching the pathspecs."""
    out = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "-z", "--", *patterns],
                         capture_output=True, check=True).stdout.decode()
    return [REPO_ROOT / name for name in out.split("\0") if name]


def compose_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for `docker compose config`: absolute paths that exist, no user .env."""
    import os

    storage, models, keys = tmp_path / "storage", tmp_path / "models", tmp_path / "keys.json"
    checkpoint_keys = tmp_path / "checkpoint_keys.json"
    storage.mkdir(exist_ok=True)
    models.mkdir(exist_ok=True)
    keys.write_text("{}")
    checkpoint_keys.write_text("{}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VV_", "COMPOSE_", "DOCKER_"))}
    env.update(VIDEO_STORAGE_ROOT=str(storage), MODELS_DIR=str(models), KEY_STORE_PATH=str(keys),
               CHECKPOINT_KEY_STORE_PATH=str(checkpoint_keys), **extra)
    return env
