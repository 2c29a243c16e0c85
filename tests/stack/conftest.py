"""`make test-stack`: the real stack on a private Docker engine. Skipped unless VV_STACK_TEST=1
(the unit suite never starts an engine). Prints timings and image sizes at the end."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.tools import tool
from tests.helpers import REPO_ROOT, repo_env

REPORT: dict = {"timings_s": {}, "image_sizes_mb": {}}
PROJECT = "vvstack"
MODELS_CACHE = Path.home() / ".cache" / "vv-video-ai" / "stack-models"
# Offline: the models shipped on PyPI (production defaults are https downloads).
STACK_MODELS = "gemma3-270m,hfd-person-onnx-fp16,dlib-frontal-face-hog"
VV_UID = 10001
# The stack's storage root is a tmpfs of this size, so the disk-full drill fills a real filesystem
# (tests/stack/test_drills_infra.py). All stack tests write a few tens of MB there (clips, the DVR's
# segments, LogLines, logs); the stack-test compose lowers DVR_MIN_FREE_MB to fit it.
STORAGE_TMPFS_SIZE = "512m"


def pytest_collection_modifyitems(config, items):
    if os.environ.get("VV_STACK_TEST") == "1":
        return
    skip = pytest.mark.skip(reason="stack test: run `make test-stack` (VV_STACK_TEST=1)")
    for item in items:
        if "tests/stack/" in str(item.fspath):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    if not REPORT["timings_s"]:
        return
    terminalreporter.section("stack test: timings and image sizes")
    for name, seconds in REPORT["timings_s"].items():
        terminalreporter.write_line(f"  {name:<28} {seconds:8.1f} s")
    for name, size in sorted(REPORT["image_sizes_mb"].items()):
        terminalreporter.write_line(f"  {name:<28} {size:8.0f} MB")
    out = REPO_ROOT / "test-artifacts" / "stack-report.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(REPORT, indent=2) + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    engine: object
    root: Path
    storage: Path
    models: Path
    key_store: Path
    checkpoint_key_store: Path
    tv_api_port: int
    nginx_port: int
    compose_env: dict = field(default_factory=dict)
    camera: object = None   # the RtspCamera agent_dvr records (STACK_CAMERA_URL): the DVR drill stops it

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [tool("docker-compose"), "-p", PROJECT, "--project-directory", str(REPO_ROOT),
               "-f", str(REPO_ROOT / "docker-compose.yml"),
               "-f", str(REPO_ROOT / "tests/stack/docker-compose.stack-test.yml"), *args]
        result = subprocess.run(cmd, capture_output=True, text=True, env=self.compose_env, timeout=timeout,
                                check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"compose {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def host_env(self, **extra: str) -> dict[str, str]:
        """Environment of host-side `vv` commands (the orchestrator with the docker runner)."""
        return repo_env(VIDEO_STORAGE_ROOT=str(self.storage), KEY_STORE_PATH=str(self.key_store),
                        CHECKPOINT_KEY_STORE_PATH=str(self.checkpoint_key_store),
                        MODELS_DIR=str(self.models), DOCKER_HOST=self.engine.host, **extra)


def mount_storage(storage: Path) -> None:
    """A size-limited tmpfs at ``storage`` (named vv-stack-storage in `mount`): a disk that can fill."""
    storage.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={STORAGE_TMPFS_SIZE},mode=0755", "vv-stack-storage",
                    str(storage)], check=True, timeout=30)


def unmount_storage(storage: Path) -> None:
    if os.path.ismount(storage) and subprocess.run(["umount", str(storage)], check=False, timeout=60).returncode:
        subprocess.run(["umount", "-l", str(storage)], check=False, timeout=60)


def prepare_storage(root: Path) -> tuple[Path, Path, Path, Path]:
    """Bootstrap a storage root, key store, fallback assets and verified models, owned by the
    containers' uid. Models are cached across runs (install_model re-verifies their sha256)."""
    storage, key_store = root / "storage", root / "secrets" / "logline_keys.json"
    checkpoint_key_store = root / "secrets" / "checkpoint_keys.json"  # the writer's Ed25519 key (a secret)
    MODELS_CACHE.mkdir(parents=True, exist_ok=True)
    env = repo_env(VIDEO_STORAGE_ROOT=str(storage), KEY_STORE_PATH=str(key_store), MODELS_DIR=str(MODELS_CACHE),
                   CHECKPOINT_KEY_STORE_PATH=str(checkpoint_key_store))
    result = subprocess.run([sys.executable, "-m", "ops.provisioning.bootstrap", "--skip-existing", "--no-env-file",
                             "--models", STACK_MODELS],
                            capture_output=True, text=True, env=env, cwd=root, timeout=900, check=False)
    assert result.returncode == 0, result.stderr
    for path in (storage, key_store, checkpoint_key_store):
        subprocess.run(["chown", "-R", f"{VV_UID}:{VV_UID}", str(path)], check=True)
    # The stack's own models dir: hard links to the verified cache (instant), so a drill that replaces
    # or removes a model file (never writing through a link) leaves the cache intact for the next run.
    models = root / "models"
    from tests.stack.images import link_copy

    link_copy(MODELS_CACHE, models)
    return storage, models, key_store, checkpoint_key_store


@pytest.fixture(scope="session")
def stack():
    from tests.agent_dvr.support import RtspCamera  # the agent_dvr tests' loopback camera
    from tests.stack.engine import PrivateDockerEngine
    from tests.stack.images import build_all, compose_build_env

    timings = REPORT["timings_s"]
    total = time.monotonic()
    root = None
    engine = PrivateDockerEngine()
    REPORT["warm_cache"] = engine.warm
    camera = None
    stack = None
    try:
        started = time.monotonic()
        engine.start()
        timings["dockerd start"] = time.monotonic() - started
        sizes = build_all(engine, timings)
        REPORT["image_sizes_mb"] = {name: size / 1e6 for name, size in sizes.items()}

        started = time.monotonic()
        # Our own temp dir, not pytest's: concurrent pytest sessions on one box prune each other's
        # numbered basetemps, and the stack's storage must outlive the whole session.
        root = Path(tempfile.mkdtemp(prefix="vv-stack."))
        mount_storage(root / "storage")
        storage, models, key_store, checkpoint_key_store = prepare_storage(root)
        timings["bootstrap + models"] = time.monotonic() - started

        camera = RtspCamera(free_port()).start()
        stack = Stack(engine, root, storage, models, key_store, checkpoint_key_store, free_port(), free_port(),
                      camera=camera)
        stack.compose_env = engine.env(
            VIDEO_STORAGE_ROOT=str(storage), MODELS_DIR=str(models), KEY_STORE_PATH=str(key_store),
            CHECKPOINT_KEY_STORE_PATH=str(checkpoint_key_store),
            TV_API_BIND="127.0.0.1", TV_API_PORT=str(stack.tv_api_port),
            NGINX_BIND="127.0.0.1", NGINX_PORT=str(stack.nginx_port),
            STACK_CAMERA_URL=camera.url, STACK_DVR_HTTP_PORT=str(free_port()), **compose_build_env())
        started = time.monotonic()
        stack.compose("up", "-d", "--no-build", "--wait", "--wait-timeout", "300", timeout=420)
        timings["compose up --wait"] = time.monotonic() - started
        yield stack
    finally:
        if stack is not None:
            logs = stack.compose("logs", "--no-color", "--tail", "60", check=False, timeout=120)
            (REPO_ROOT / "test-artifacts").mkdir(exist_ok=True)
            (REPO_ROOT / "test-artifacts" / "stack-compose.log").write_text(logs.stdout + logs.stderr)
            stack.compose("down", "-v", "--remove-orphans", "--timeout", "20", check=False, timeout=300)
            # Files the containers wrote belong to their uid: hand the temp tree back for cleanup.
            subprocess.run(["chown", "-R", f"{os.getuid()}:{os.getgid()}", str(stack.root)], check=False)
        if root is not None:
            unmount_storage(root / "storage")
            shutil.rmtree(root, ignore_errors=True)
        if camera is not None:
            camera.kill()
        engine.stop()
        timings["total"] = time.monotonic() - total
        shutil.rmtree(REPO_ROOT / "wheelhouse" / ".tmp", ignore_errors=True)
