"""Data for the dashboard, live and TV pages: status in words, cameras, TVs (read-only, cheap)."""

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tv_api.files import VIDEO_SUFFIXES
from tv_api.mirror import CAMERA_NAME
from tv_api.playlists import TV_NAME

STATUS_WORDS = {
    "HEALTHY": "Everything is working.",
    "DEGRADED": "Working, but something needs attention.",
    "UNHEALTHY": "Not working: storage is failing.",
}


@dataclass(frozen=True)
class Camera:
    name: str
    snapshot_mtime: float | None
    stale: bool
    last_segment: str | None
    last_segment_mtime: float | None


def _newest_video(directory: Path) -> tuple[str | None, float | None]:
    """Newest segment by name (segments are named by their UTC start), and its mtime."""
    try:
        names = [e.name for e in os.scandir(directory) if e.is_file() and Path(e.name).suffix.lower() in VIDEO_SUFFIXES]
    except OSError:
        return None, None
    if not names:
        return None, None
    newest = max(names)
    try:
        return newest, (directory / newest).stat().st_mtime
    except OSError:
        return newest, None


def cameras(root: Path, stale_seconds: float, now: float | None = None) -> list[Camera]:
    now = time.time() if now is None else now
    snapshots = root / "state" / "snapshots"
    names: set[str] = set()
    if snapshots.is_dir():
        names.update(p.stem for p in snapshots.glob("*.jpg"))
    for top in ("input", "processed"):
        if (root / top).is_dir():
            names.update(p.name for p in (root / top).iterdir() if p.is_dir())
    found = []
    for name in sorted(n for n in names if CAMERA_NAME.match(n)):
        try:
            snapshot_mtime: float | None = (snapshots / f"{name}.jpg").stat().st_mtime
        except OSError:
            snapshot_mtime = None
        segments = [_newest_video(root / top / name) for top in ("input", "processed")]
        segment, segment_mtime = max(segments, key=lambda s: s[1] or 0)
        found.append(Camera(name, snapshot_mtime, snapshot_mtime is None or now - snapshot_mtime > stale_seconds,
                            segment, segment_mtime))
    return found


def playlists(directory: Path) -> list[dict[str, Any]]:
    """Each TV's playlist as the TV sees it (the scheduler's file), or its error."""
    result = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        if not TV_NAME.match(path.stem):
            continue
        try:
            document = orjson.loads(path.read_bytes())
            items = document.get("items", []) if isinstance(document, dict) else []
            result.append({"tv": path.stem, "generated_at": document.get("generated_at", ""), "items": items,
                           "fallback": document.get("fallback", {}), "error": None,
                           "mtime": path.stat().st_mtime})
        except (OSError, ValueError, AttributeError):
            result.append({"tv": path.stem, "items": [], "error": "playlist unreadable", "mtime": None})
    return result


def status_in_words(document: dict[str, Any]) -> dict[str, Any]:
    overall = document.get("overall_status", "DEGRADED")
    problems = []
    for group in ("checks", "components"):
        for name, check in sorted((document.get(group) or {}).items()):
            if check.get("status") != "ok":
                problems.append({"name": name.replace("_", " "), "status": check.get("status"),
                                 "detail": check.get("detail", "")})
    storage = (document.get("checks") or {}).get("video_storage_status", {})
    queue = (document.get("components") or {}).get("orchestrator", {}).get("detail", "")
    return {"overall": overall, "words": STATUS_WORDS.get(overall, overall), "problems": problems,
            "disk": storage.get("detail", "unknown"), "queue": queue}
