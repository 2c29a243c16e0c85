"""Thumbnails of media files: one JPEG frame made with ffmpeg, cached in state/thumbnails/.

The cache key includes the file's mtime and size, so a replaced file gets a new thumbnail; the
JPEG is written atomically so concurrent requests never see a half-written one.
"""

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

from tv_api.files import VIDEO_SUFFIXES
from vv_core.atomic import atomic_write_bytes

THUMBNAIL_WIDTH = 320
FFMPEG_TIMEOUT_S = 20


class ThumbnailError(Exception):
    pass


def grab_frame(video: Path, seek_seconds: float) -> bytes:
    with tempfile.TemporaryDirectory(prefix="vv-thumb-") as scratch:
        out = Path(scratch) / "frame.jpg"
        command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-ss", f"{seek_seconds:.2f}",
                   "-i", str(video), "-frames:v", "1", "-vf", f"scale={THUMBNAIL_WIDTH}:-2", "-q:v", "5",
                   "-y", str(out)]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=FFMPEG_TIMEOUT_S)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
            return b""
        return out.read_bytes() if out.exists() else b""


def thumbnail_for(media: Path, cache_dir: Path) -> Path:
    """Path of a JPEG thumbnail of ``media`` (an image is its own thumbnail)."""
    if media.suffix.lower() not in VIDEO_SUFFIXES:
        return media
    info = os.stat(media)
    key = hashlib.sha256(f"{media}|{info.st_mtime_ns}|{info.st_size}".encode()).hexdigest()[:40]
    cached = cache_dir / f"{key}.jpg"
    if cached.is_file():
        return cached
    # 1 s in skips a black first frame; very short clips fall back to their first frame.
    data = grab_frame(media, 1.0) or grab_frame(media, 0.0)
    if not data:
        raise ThumbnailError("ffmpeg could not decode a frame")
    return atomic_write_bytes(cached, data)
