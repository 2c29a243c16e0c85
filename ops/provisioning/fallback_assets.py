"""The fallback assets a TV shows when nothing else is playable, generated with ffmpeg.

- ``loop_silencioso.mp4``: 10 s, 1280x720, H.264 (yuv420p) + a silent AAC track, faststart, so any
  TV browser plays and loops it, muted or not.
- ``placeholder.png``: a 1280x720 still for the mirror when the camera is down.

Each file is rendered into a temp name in the destination directory and renamed into place, so a
reader never sees a half-written asset. ``probe_video`` is the check install.sh relies on.
"""

import json
import shutil
import subprocess
from pathlib import Path

from vv_core.atomic import atomic_output
from vv_core.errors import VVError

LOOP_NAME = "loop_silencioso.mp4"
PLACEHOLDER_NAME = "placeholder.png"
LOOP_SECONDS = 10
BACKGROUND = "0x10141c"
# Real TVs show the loop for long stretches: a dark, calm frame with a thin accent bar.
_DRAW = "drawbox=x=0:y=ih*0.48:w=iw:h=ih*0.04:color=0x1f6feb@0.6:t=fill"


class FallbackAssetError(VVError):
    """ffmpeg is missing or failed, or an asset does not probe as expected."""


def _ffmpeg(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FallbackAssetError(f"{name} not found on PATH (install ffmpeg)")
    return path


def _render(target: Path, args: list[str]) -> Path:
    """Run ffmpeg writing to a temp file next to ``target``, then rename it into place."""
    with atomic_output(target, suffix=target.suffix) as temp:
        result = subprocess.run(
            [_ffmpeg("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args, str(temp)],
            capture_output=True, text=True, timeout=120, check=False,
        )
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise FallbackAssetError(f"ffmpeg failed making {target.name}: {last}")
    return target


def make_loop(target: Path) -> Path:
    return _render(target, [
        "-f", "lavfi", "-i", f"color=c={BACKGROUND}:s=1280x720:r=25:d={LOOP_SECONDS}",
        "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo",
        "-t", str(LOOP_SECONDS), "-vf", _DRAW,
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "50",
        "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", "-shortest", "-f", "mp4",
    ])


def make_placeholder(target: Path) -> Path:
    return _render(target, [
        "-f", "lavfi", "-i", f"color=c={BACKGROUND}:s=1280x720", "-vf", _DRAW,
        "-frames:v", "1", "-f", "image2", "-c:v", "png",
    ])


def probe_video(path: Path) -> dict[str, float | str]:
    """Return codec/size/duration of the first video stream; raise if it is not a playable video."""
    if not Path(path).is_file():
        raise FallbackAssetError(f"fallback video missing: {path}")
    result = subprocess.run(
        [_ffmpeg("ffprobe"), "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,width,height:format=duration", "-of", "json", str(path)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    try:
        info = json.loads(result.stdout or "{}")
        stream = info["streams"][0]
        duration = float(info["format"]["duration"])
    except (json.JSONDecodeError, KeyError, IndexError, ValueError):
        raise FallbackAssetError(f"fallback video is not a playable video: {path}") from None
    if duration <= 0:
        raise FallbackAssetError(f"fallback video has no duration: {path}")
    return {"codec": stream["codec_name"], "width": stream["width"], "height": stream["height"],
            "duration": duration}


def ensure_fallback_assets(directory: Path, *, skip_existing: bool = True) -> tuple[list[Path], list[Path]]:
    """Create the loop and the placeholder in ``directory``; return (created, kept)."""
    created: list[Path] = []
    kept: list[Path] = []
    for name, maker in ((LOOP_NAME, make_loop), (PLACEHOLDER_NAME, make_placeholder)):
        target = directory / name
        if skip_existing and target.is_file() and target.stat().st_size > 0:
            kept.append(target)
        else:
            created.append(maker(target))
    probe_video(directory / LOOP_NAME)
    return created, kept
