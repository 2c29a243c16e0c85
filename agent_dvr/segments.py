"""From ffmpeg's staging files to published segments.

ffmpeg writes ``input/<camera>/.staging/seg000000.mp4.part``; a segment is *closed* once ffmpeg lists
it in its CSV segment list (or once ffmpeg has exited). A closed segment that ffprobe reads as video is
renamed (same filesystem: atomic) to ``input/<camera>/<YYYYMMDDTHHMMSSZ>.mp4``; one that it cannot read
is moved to ``corrupted/<camera>/`` with ``<name>.error.json`` giving the reason. The orchestrator
therefore only ever sees whole, playable ``*.mp4`` files.
"""

import contextlib
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from vv_core.atomic import atomic_write_json, fsync_directory
from vv_core.jsonlog import utc_timestamp
from vv_core.mediaprobe import MediaProbeError, probe_media

logger = logging.getLogger("vv.agent_dvr.segments")

STAGING_DIR = ".staging"
PART_PATTERN = "seg%06d.mp4.part"
SEGMENT_LIST = "segments.csv"


@dataclass(frozen=True)
class PublishedSegment:
    path: Path
    duration_s: float
    size_bytes: int


def segment_name(started_ts: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started_ts))


def _free_target(directory: Path, stem: str) -> Path:
    """``<stem>.mp4``, or ``<stem>-1.mp4`` … if a segment already started in that second."""
    candidate = directory / f"{stem}.mp4"
    index = 1
    while candidate.exists():
        candidate = directory / f"{stem}-{index}.mp4"
        index += 1
    return candidate


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def quarantine_part(part: Path, corrupted_dir: Path, stem: str, reason: str) -> Path:
    """Move an unreadable segment to corrupted/<camera>/ with ``<name>.error.json``."""
    corrupted_dir.mkdir(parents=True, exist_ok=True)
    target = _free_target(corrupted_dir, stem)
    os.replace(part, target)
    atomic_write_json(target.with_name(target.name + ".error.json"), {
        "file": target.name, "original": part.name, "stage": "agent_dvr", "reason": reason,
        "quarantined_at": utc_timestamp(),
    })
    return target


def publish_part(part: Path, camera_dir: Path, corrupted_dir: Path, started_ts: float,
                 raw_dir: Path | None = None) -> PublishedSegment | None:
    """Publish one closed ``.part``: probe, fsync, rename to its final name (and copy to raw/).

    Returns None when the part was empty (dropped) or unreadable (quarantined).
    """
    if part.stat().st_size == 0:
        part.unlink()  # ffmpeg opened a segment but the camera sent nothing: there is nothing to keep
        return None
    stem = segment_name(started_ts)
    try:
        info = probe_media(part, input_format="mp4")
        if not info.has_video or info.duration_s <= 0:
            raise MediaProbeError(f"{part.name}: no video frames")
    except MediaProbeError as exc:
        target = quarantine_part(part, corrupted_dir, stem, str(exc))
        logger.warning("segment unreadable, quarantined", extra={"file": str(target), "reason": str(exc)})
        return None
    _fsync_file(part)
    camera_dir.mkdir(parents=True, exist_ok=True)
    target = _free_target(camera_dir, stem)
    os.replace(part, target)
    fsync_directory(camera_dir)
    if raw_dir is not None:
        copy_to_raw(target, raw_dir)
    return PublishedSegment(target, info.duration_s, info.size_bytes)


def copy_to_raw(segment: Path, raw_dir: Path) -> Path:
    """Keep an untouched copy in raw/<camera>/ (a hard link when possible: same bytes, no space)."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    target = raw_dir / segment.name
    temp = raw_dir / f".{segment.name}.tmp"
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    try:
        os.link(segment, temp)
    except OSError:
        shutil.copyfile(segment, temp)
    os.replace(temp, target)
    return target


class StagingTracker:
    """Which staging parts ffmpeg has closed, and the wall-clock time each one starts at.

    ffmpeg's CSV segment list gives each closed segment's start and end in stream time. A segment is
    listed the moment its last packet is written and a live camera delivers packets in real time, so
    ``listed_at - end`` is an upper bound of the wall time of the stream's time zero (late only by our
    polling and any backlog); ffmpeg's launch is a lower bound. The tightest upper bound seen so far,
    clamped to the lower one, anchors every segment's name. Parts never listed (ffmpeg crashed) fall
    back to when they first appeared, or their mtime.
    """

    def __init__(self, staging: Path, launched_at: float | None = None) -> None:
        self.staging = staging
        self.launched_at = launched_at
        self.anchor: float | None = None
        self.first_seen: dict[str, float] = {}
        self._stream_starts: dict[str, float] = {}
        self._listed_offset = 0

    def observe(self, now: float) -> None:
        for part in self.staging.glob("*.part"):
            self.first_seen.setdefault(part.name, now)

    def closed_parts(self, now: float) -> list[Path]:
        """Parts ffmpeg has finished (listed in its segment list since the last call)."""
        listing = self.staging / SEGMENT_LIST
        try:
            with listing.open("rb") as handle:
                handle.seek(self._listed_offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]  # only whole lines: ffmpeg may be mid-write
        self._listed_offset += len(complete)
        closed = []
        for line in complete.decode("utf-8", "replace").splitlines():
            name, _, times = line.strip().partition(",")
            if not name:
                continue
            try:
                start, end = (float(value) for value in times.split(","))
            except ValueError:
                start = end = None
            if start is not None and end is not None:
                implied_zero = now - end
                self.anchor = implied_zero if self.anchor is None else min(self.anchor, implied_zero)
                self._stream_starts[Path(name).name] = start
            closed.append(self.staging / Path(name).name)
        return closed

    def started_ts(self, part: Path, now: float) -> float:
        stream_start = self._stream_starts.pop(part.name, None)
        seen = self.first_seen.pop(part.name, None)
        if stream_start is not None and self.anchor is not None:
            zero = self.anchor if self.launched_at is None else max(self.anchor, self.launched_at)
            return zero + stream_start
        if seen is not None:
            return seen
        try:
            return part.stat().st_mtime  # never observed: the best estimate left
        except FileNotFoundError:
            return now

    def leftover_parts(self) -> list[Path]:
        return sorted(self.staging.glob("*.part"))

    def reset(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.staging / SEGMENT_LIST).unlink()
        self._listed_offset = 0
