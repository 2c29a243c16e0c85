"""Build the stack's images offline: local base images (mmdebstrap + docker import), then each
stage image from the host-built wheelhouse with `--network none` (proof that nothing is fetched)."""

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ops.update.inputs import HASH_ARG, image_inputs
from tests.deploy.tools import compose_env, tool
from tests.helpers import REPO_ROOT
from tests.stack.engine import EngineError, PrivateDockerEngine

VERSION = "0.1.0"
BASES = {"plain": "vv-base:bookworm", "media": "vv-base:bookworm-media", "web": "vv-base:bookworm-web",
         "redis": "vv-base:bookworm-redis"}
SWARM_OVERRIDE = REPO_ROOT / "deploy/swarm/docker-stack.override.yml"


def compose_build_env() -> dict[str, str]:
    """What compose needs to build on the local bases (the same names the images get here)."""
    return {"VV_BASE_IMAGE": BASES["plain"], "VV_MEDIA_BASE_IMAGE": BASES["media"],
            "VV_WEB_BASE_IMAGE": BASES["web"], "VV_REDIS_BASE_IMAGE": BASES["redis"], "VV_VERSION": VERSION}


# Never part of a build context (and big): .dockerignore drops most, staging skips them outright.
_NOT_CONTEXT = {".git", ".venv", "wheelhouse", "storage", "test-artifacts", "models", ".pytest_cache",
                ".ruff_cache", "htmlcov", "secrets"}


def link_copy(source: Path, target: Path) -> None:
    """Hard links where the filesystem allows (instant), a real copy otherwise."""
    if subprocess.run(["cp", "-al", str(source), str(target)], capture_output=True, check=False).returncode:
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(["cp", "-a", str(source), str(target)], check=True)


def compose_builds(scratch: Path, *extra_files: Path) -> dict[str, dict]:
    """Each image compose builds (service name → its rendered ``build``: dockerfile and args), with
    the local bases: the stack builds exactly what docker-compose.yml (+ ``extra_files``) says."""
    files = [part for path in (REPO_ROOT / "docker-compose.yml", *extra_files) for part in ("-f", str(path))]
    command = [tool("docker-compose"), "--project-directory", str(REPO_ROOT), *files, "config", "--format", "json"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, check=True,
                            env=compose_env(scratch, **compose_build_env()))
    services = json.loads(result.stdout)["services"]
    return {name: service["build"] for name, service in services.items() if "build" in service}


def staged_context(name: str, requirements: str | None, staging: Path) -> Path:
    """A hard-linked copy of the repository with only this image's wheels: the classic builder
    uploads the whole context on every build, and all images' wheels together are ~300 MB."""
    context = staging / name
    context.mkdir()
    for entry in REPO_ROOT.iterdir():
        if entry.name not in _NOT_CONTEXT:
            link_copy(entry, context / entry.name)
    (context / "wheelhouse").mkdir()
    shutil.copy(REPO_ROOT / "wheelhouse" / "README.md", context / "wheelhouse" / "README.md")
    if requirements and (REPO_ROOT / "wheelhouse" / requirements).is_dir():
        link_copy(REPO_ROOT / "wheelhouse" / requirements, context / "wheelhouse" / requirements)
    return context


def build_all(engine: PrivateDockerEngine, timings: dict[str, float]) -> dict[str, int]:
    """Build bases and images; return each image's size in bytes. Fills ``timings`` (seconds)."""
    started = time.monotonic()
    result = subprocess.run(["bash", str(REPO_ROOT / "deploy/base-image/build_base_image.sh")],
                            capture_output=True, text=True, env=engine.env(), timeout=1500, check=False)
    if result.returncode != 0:
        raise EngineError(f"base images: {result.stderr.strip()[-2000:]}")
    timings["base images"] = time.monotonic() - started
    sizes = build_images(engine, timings)
    for base in BASES.values():
        sizes[base] = int(engine.docker("image", "inspect", "-f", "{{.Size}}", base).stdout.strip())
    return sizes


def build_images(engine: PrivateDockerEngine, timings: dict[str, float], *extra_files: Path,
                 only: set[str] | None = None) -> dict[str, int]:
    """Build the images of docker-compose.yml (+ ``extra_files``; ``only`` these services)."""
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="vv-context.") as staging:
        (Path(staging) / "compose").mkdir()
        for name, build in compose_builds(Path(staging) / "compose", *extra_files).items():
            if only is not None and name not in only:
                continue
            tag = f"vv-video-ai/{name}:{VERSION}"
            started = time.monotonic()
            args = build.get("args", {})
            context = staged_context(name, args.get("REQUIREMENTS"), Path(staging))
            build_args = [part for key, value in args.items() for part in ("--build-arg", f"{key}={value}")]
            # The inputs hash `vv update` compares with (label org.vv.inputs-sha256), as it would record it.
            inputs = image_inputs(context, build["dockerfile"], args).sha256
            build_args += ["--build-arg", f"{HASH_ARG}={inputs}"]
            engine.docker("build", "-q", "--network", "none", "-f", str(context / build["dockerfile"]),
                          *build_args, "-t", tag, str(context), timeout=1200)
            timings[f"image {name}"] = time.monotonic() - started
            sizes[name] = int(engine.docker("image", "inspect", "-f", "{{.Size}}", tag).stdout.strip())
    return sizes
