"""How a video is named across the pipeline: its artifact id, camera and recording time.

agent_dvr writes ``input/<camera>/<YYYYMMDDTHHMMSSZ>.mp4``; the id ``<camera>_<stem>`` then names
every artifact (``analytic/<id>.analytic.json`` …) and stays the same when the video later moves to
``processed/`` or ``corrupted/``. Videos outside that shape use their sanitized stem.
"""

import os
import re
from datetime import UTC, datetime
from pathlib import Path

# Top-level storage directories a video can live in; the component after one of them is the camera.
VIDEO_DIRS = ("input", "processed", "raw", "corrupted", "tv_curado")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SEGMENT_TIME = re.compile(r"(\d{8}T\d{6})Z")
StrPath = str | os.PathLike[str]


def sanitize_id(text: str) -> str:
    """Map any text to the id alphabet of the schemas: ``[A-Za-z0-9][A-Za-z0-9._-]{0,199}``."""
    cleaned = _UNSAFE.sub("_", text).strip("._-") or "video"
    return cleaned[:200]


def camera_of(video: StrPath, storage_root: StrPath | None = None) -> str | None:
    """The camera directory of ``<root>/<input|processed|…>/<camera>/<file>``, else None."""
    parts = _relative_parts(video, storage_root)
    if len(parts) >= 3 and parts[0] in VIDEO_DIRS:
        return parts[1]
    return None


def artifact_id(video: StrPath, storage_root: StrPath | None = None) -> str:
    """The id every artifact of ``video`` is named by (stable across input/ → processed/)."""
    stem = Path(video).name.split(".", 1)[0]
    camera = camera_of(video, storage_root)
    return sanitize_id(f"{camera}_{stem}" if camera else stem)


def recorded_at_from_name(video: StrPath) -> str | None:
    """UTC start time encoded in a segment name (``20261121T101500Z.mp4``) as ISO-8601 Z, or None."""
    match = _SEGMENT_TIME.search(Path(video).name)
    if not match:
        return None
    try:
        moment = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _relative_parts(video: StrPath, storage_root: StrPath | None) -> tuple[str, ...]:
    path = Path(video).absolute()
    if storage_root is not None:
        root = Path(storage_root).absolute()
        if path.is_relative_to(root):
            return path.relative_to(root).parts
        return ()
    # Without a root: find the last storage directory name in the path.
    parts = path.parts
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] in VIDEO_DIRS:
            return parts[index:]
    return ()
