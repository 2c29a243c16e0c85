"""Snapshots: for every event, its best frame (box drawn) and a tight crop, as JPEG files.

Written under ``<storage root>/snapshots/<video id>/`` (``e1.jpg``, ``e1.crop.jpg``), each
atomically, and referenced from the event by paths relative to the storage root. ``cover.jpg`` is
the video's picture (its playlist thumbnail): the snapshot of its most telling event — a fall
first, then the highest track score. A video scanned
again replaces its snapshots; files of events that no longer exist are removed after the new
analytic is written (a reader of the old analytic never finds its snapshot half-written).
"""

from pathlib import Path, PurePosixPath
from typing import Any

from vv_core.atomic import atomic_write_bytes

BOX_COLOUR = (0, 0, 255)  # BGR red
JPEG_QUALITY = 85
CROP_MARGIN = 0.1         # of the box's size, on every side


class BestFrames:
    """The frame in which each track had its best detection so far (frames are shared, not copied)."""

    def __init__(self) -> None:
        self._best: dict[int, tuple[float, float, tuple[float, float, float, float], Any]] = {}

    def offer(self, track: object, time_s: float, confidence: float, box: tuple[float, float, float, float],
              image: Any) -> None:
        key = id(track)
        kept = self._best.get(key)
        if kept is None or confidence > kept[1]:
            self._best[key] = (time_s, confidence, box, image)

    def get(self, track: object) -> tuple[float, float, tuple[float, float, float, float], Any] | None:
        return self._best.get(id(track))


def _encode(image: Any) -> bytes:
    import cv2

    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV encodes any 8-bit BGR array
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def crop_bounds(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    """The box grown by CROP_MARGIN on each side, clipped to the frame, as integer pixels."""
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * CROP_MARGIN, (y2 - y1) * CROP_MARGIN
    left, top = max(0, int(x1 - mx)), max(0, int(y1 - my))
    right, bottom = min(width, round(x2 + mx)), min(height, round(y2 + my))
    return left, top, max(right, left + 1), max(bottom, top + 1)


def write_snapshot(image: Any, box: tuple[float, float, float, float], directory: Path,
                   event_id: str) -> tuple[Path, Path]:
    """``<event_id>.jpg`` (whole frame, box drawn) and ``<event_id>.crop.jpg`` in ``directory``."""
    import cv2

    height, width = image.shape[:2]
    left, top, right, bottom = crop_bounds(box, width, height)
    crop = image[top:bottom, left:right]
    framed = image.copy()
    thickness = max(2, round(min(width, height) / 240))
    x1, y1, x2, y2 = (round(v) for v in box)
    cv2.rectangle(framed, (x1, y1), (x2, y2), BOX_COLOUR, thickness)
    frame_path = atomic_write_bytes(directory / f"{event_id}.jpg", _encode(framed))
    crop_path = atomic_write_bytes(directory / f"{event_id}.crop.jpg", _encode(crop))
    return frame_path, crop_path


def relative(path: Path, root: Path) -> str:
    return str(PurePosixPath(*path.absolute().relative_to(root.absolute()).parts))


def attach_snapshots(events: list[dict[str, Any]], tracks: list[object], best: BestFrames, *,
                     storage_root: Path, video_id: str) -> None:
    """Write each event's snapshot and record it in the event (``events[i]`` is ``tracks[i]``'s)."""
    directory = storage_root / "snapshots" / video_id
    for event, track in zip(events, tracks, strict=True):
        kept = best.get(track)
        if kept is None:  # the track's only detections were recovered from a frame no longer held
            continue
        time_s, _, box, image = kept
        frame_path, crop_path = write_snapshot(image, box, directory, event["id"])
        event["snapshot"] = {"frame": relative(frame_path, storage_root), "crop": relative(crop_path, storage_root),
                             "timestamp": round(time_s, 3)}


COVER_NAME = "cover.jpg"


def write_cover(events: list[dict[str, Any]], *, storage_root: Path, video_id: str) -> str | None:
    """Copy the most telling event's framed snapshot to ``cover.jpg``; its path, or None."""
    pictured = [event for event in events if "snapshot" in event]
    if not pictured:
        return None
    chosen = max(pictured, key=lambda e: (e["label"] == "fall", e["score"]["median"], -e["first_seen_s"]))
    source = storage_root / chosen["snapshot"]["frame"]
    cover = atomic_write_bytes(source.parent / COVER_NAME, source.read_bytes())
    return relative(cover, storage_root)


def prune_snapshots(events: list[dict[str, Any]], *, storage_root: Path, video_id: str) -> list[Path]:
    """Remove this video's snapshot files no event refers to any more (after a rescan)."""
    directory = storage_root / "snapshots" / video_id
    if not directory.is_dir():
        return []
    wanted = {Path(event["snapshot"][kind]).name for event in events if "snapshot" in event
              for kind in ("frame", "crop")}
    if wanted:
        wanted.add(COVER_NAME)
    removed = []
    for path in directory.iterdir():
        if path.is_file() and not path.is_symlink() and path.name not in wanted and path.suffix == ".jpg":
            path.unlink()
            removed.append(path)
    if not any(directory.iterdir()):
        directory.rmdir()
    return removed
