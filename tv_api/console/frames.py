"""Event snapshots: a JPEG frame of the event's video at a detection time, cached in state/."""

from pathlib import Path
from typing import Any

import orjson

from tv_api.files import NotServable, resolve_media
from tv_api.thumbnails import grab_frame
from vv_core.atomic import atomic_write_bytes
from vv_core.storage import StorageLayout


class FrameError(Exception):
    pass


def event_video(root: Path, video: str) -> str | None:
    """The event's video relative to the root: where the LogLine says, else where it was moved to."""
    candidates = [video]
    parts = video.split("/")
    if len(parts) > 1 and parts[0] == "input":
        candidates.append("/".join(["processed", *parts[1:]]))
    for candidate in candidates:
        try:
            resolve_media(root, candidate)
            return candidate
        except NotServable:
            continue
    return None


def frame_times(event: dict[str, Any]) -> list[float]:
    times = [float(t) for t in (event.get("snapshot_times") or "").split()]
    return times or [float(event.get("start_s") or 0.0) + 1.0]


def event_frame(storage: StorageLayout, event: dict[str, Any], number: int) -> Path:
    times = frame_times(event)
    if number >= len(times):
        raise FrameError("no such snapshot")
    relative = event_video(storage.root, event["video"])
    if relative is None:
        raise FrameError("video missing")
    cached = storage.console_frames / f"{event['id']}.{number}.jpg"
    if cached.is_file():
        return cached
    data = grab_frame(resolve_media(storage.root, relative), times[number]) or grab_frame(
        resolve_media(storage.root, relative), 0.0)
    if not data:
        raise FrameError("no frame decoded")
    return atomic_write_bytes(cached, data)


def event_crop(storage: StorageLayout, event: dict[str, Any], number: int) -> Path | None:
    """The scanner's crop (``snapshots/<video>/eN.crop.jpg``) of the person track nearest the event's
    snapshot ``number``, or None when the analytic has no person crop (older scans)."""
    analytic = event.get("analytic_path") or ""
    try:
        document = orjson.loads(resolve_analytic(storage.root, analytic).read_bytes())
    except (OSError, ValueError, NotServable):
        return None
    times = frame_times(event)
    at = times[min(number, len(times) - 1)]
    crops = []
    for tracked in document.get("events", []) if isinstance(document, dict) else []:
        snapshot = tracked.get("snapshot") if isinstance(tracked, dict) else None
        if tracked.get("label") in ("person", "fall") and isinstance(snapshot, dict):
            crops.append((abs(float(snapshot.get("timestamp", 0.0)) - at), str(snapshot.get("crop", ""))))
    for _, crop in sorted(crops):
        try:
            return resolve_media(storage.root, crop)
        except NotServable:
            continue
    return None


def resolve_analytic(root: Path, relative: str) -> Path:
    parts = relative.split("/")
    if len(parts) < 2 or parts[0] != "analytic" or any(p in ("", ".", "..") for p in parts):
        raise NotServable("not an analytic file")
    return root.joinpath(*parts)
