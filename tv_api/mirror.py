"""Live MJPEG mirror: ``multipart/x-mixed-replace`` frames from state/snapshots/<camera>.jpg.

agent_dvr replaces the snapshot atomically, so a read is always a whole JPEG. A missing, stale or
non-JPEG snapshot is replaced by the placeholder frame ("camera offline"), so the page never shows
a frozen picture as if it were live. Frames go straight from file to socket: nothing is recorded.
Following Viseron's rule, a slow client gets the newest frame, never a queue of old ones.
"""

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

from vv_core.jsonlog import utc_timestamp

CAMERA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
BOUNDARY = "vvframe"
PLACEHOLDER = Path(__file__).parent / "static" / "mirror_offline.jpg"
JPEG_MAGIC = b"\xff\xd8"


def snapshot_path(snapshots_dir: Path, camera: str) -> Path | None:
    if not CAMERA_NAME.match(camera):
        return None
    return snapshots_dir / f"{camera}.jpg"


def current_frame(path: Path, stale_seconds: float, placeholder: bytes, now: float | None = None) -> tuple[bytes, bool]:
    """(jpeg bytes, live?) for the snapshot at ``path``."""
    now = time.time() if now is None else now
    try:
        if now - os.stat(path).st_mtime > stale_seconds:
            return placeholder, False
        data = path.read_bytes()
    except OSError:
        return placeholder, False
    if not data.startswith(JPEG_MAGIC):
        return placeholder, False
    return data, True


def snapshot_info(path: Path, stale_seconds: float, now: float | None = None) -> dict:
    """When the camera's current snapshot was taken (its mtime) and whether it is too old to be live."""
    now = time.time() if now is None else now
    try:
        taken = os.stat(path).st_mtime
    except OSError:
        return {"taken_at": None, "age_seconds": None, "stale": True, "stale_after_seconds": stale_seconds}
    age = max(0.0, now - taken)
    return {"taken_at": utc_timestamp(taken), "age_seconds": round(age, 3), "stale": age > stale_seconds,
            "stale_after_seconds": stale_seconds}


def multipart_chunk(frame: bytes) -> bytes:
    header = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(frame)}\r\n\r\n"
    return header.encode("ascii") + frame + b"\r\n"


async def mjpeg_stream(path: Path, *, fps: float, stale_seconds: float, max_seconds: float,
                       placeholder: bytes) -> AsyncIterator[bytes]:
    deadline = time.monotonic() + max_seconds
    interval = 1.0 / fps
    while time.monotonic() < deadline:
        frame, _live = await asyncio.to_thread(current_frame, path, stale_seconds, placeholder)
        yield multipart_chunk(frame)
        await asyncio.sleep(interval)
