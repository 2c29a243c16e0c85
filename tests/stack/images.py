"""Build the stack's images offline: local base images (mmdebstrap + docker import), then each
stage image from the host-built wheelhouse with `--network none` (proof that nothing is fetched)."""

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.helpers import REPO_ROOT
from tests.stack.engine import EngineError, PrivateDockerEngine

VERSION = "0.1.0"
BASES = {"plain": "vv-base:bookworm", "media": "vv-base:bookworm-media", "web": "vv-base:bookworm-web"}
# image name (compose) → (Dockerfile, base image)
IMAGES = {
    "video_capture": ("agent_dvr/Dockerfile", "media"),
    "scene_scanner": ("scan_video/Dockerfile", "media"),
    "scene_summarizer": ("summarize_scene/Dockerfile", "plain"),
    "logline_writer": ("logline_generator/Dockerfile", "plain"),
    "playlist_manager": ("tv_scheduler/Dockerfile", "plain"),
    "tv_api": ("tv_api/Dockerfile", "media"),
    "nginx": ("deploy/nginx/Dockerfile", "web"),
}


def compose_build_env() -> dict[str, str]:
    """What compose needs to build on the local bases (the same names the images get here)."""
    return {"VV_BASE_IMAGE": BASES["plain"], "VV_MEDIA_BASE_IMAGE": BASES["media"],
            "VV_WEB_BASE_IMAGE": BASES["web"], "VV_VERSION": VERSION}


# Never part of a build context (and big): .dockerignore drops most, staging skips them outright.
_NOT_CONTEXT = {".git", ".venv", "wheelhouse", "storage", "test-artifacts", "models", ".pytest_cache",
                ".ruff_cache", "htmlcov", "secrets"}


def link_copy(source: Path, target: Path) -> None:
    """Hard links where the filesystem allows (instant), a real copy otherwise."""
    if subprocess.run(["cp", "-al", str(source), str(target)], capture_output=True, check=False).returncode:
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(["cp", "-a", str(source), str(target)], check=True)


def staged_context(dockerfile: str, staging: Path) -> Path:
    """A hard-linked copy of the repository with only this image's wheels: the classic builder
    uploads the whole context on every build, and all images' wheels together are ~300 MB."""
    context = staging / dockerfile.replace("/", "_")
    context.mkdir()
    for entry in REPO_ROOT.iterdir():
        if entry.name not in _NOT_CONTEXT:
            link_copy(entry, context / entry.name)
    (context / "wheelhouse").mkdir()
    shutil.copy(REPO_ROOT / "wheelhouse" / "README.md", context / "wheelhouse" / "README.md")
    match = re.search(r"COPY wheelhouse/README.md wheelhouse/(\w+)\*", (REPO_ROOT / dockerfile).read_text())
    if match and (REPO_ROOT / "wheelhouse" / match.group(1)).is_dir():
        link_copy(REPO_ROOT / "wheelhouse" / match.group(1), context / "wheelhouse" / match.group(1))
    return context


def build_all(engine: PrivateDockerEngine, timings: dict[str, float]) -> dict[str, int]:
    """Build bases and images; return each image's size in bytes. Fills ``timings`` (seconds)."""
    started = time.monotonic()
    result = subprocess.run(["bash", str(REPO_ROOT / "deploy/base-image/build_base_image.sh")],
                            capture_output=True, text=True, env=engine.env(), timeout=1500, check=False)
    if result.returncode != 0:
        raise EngineError(f"base images: {result.stderr.strip()[-2000:]}")
    timings["base images"] = time.monotonic() - started
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="vv-context.") as staging:
        for name, (dockerfile, base) in IMAGES.items():
            tag = f"vv-video-ai/{name}:{VERSION}"
            started = time.monotonic()
            context = staged_context(dockerfile, Path(staging))
            engine.docker("build", "-q", "--network", "none", "-f", str(context / dockerfile),
                          "--build-arg", f"BASE_IMAGE={BASES[base]}", "--build-arg", f"VV_VERSION={VERSION}",
                          "-t", tag, str(context), timeout=1200)
            timings[f"image {name}"] = time.monotonic() - started
            sizes[name] = int(engine.docker("image", "inspect", "-f", "{{.Size}}", tag).stdout.strip())
    for base in BASES.values():
        sizes[base] = int(engine.docker("image", "inspect", "-f", "{{.Size}}", base).stdout.strip())
    return sizes
