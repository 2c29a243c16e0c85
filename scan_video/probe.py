"""Is this a finished, readable video, and what is in it? (before any frame is decoded)

Checks are ordered cheapest first: path and file type, name (``.part`` = still being written),
size, extension, then ``ffprobe`` under a timeout (so a pathological file cannot hang the scan),
then the facts the scanner needs: duration, fps, resolution, codec, keyframe times.
"""

import json
import os
import stat
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scan_video.errors import BadVideoError, DecodeTimeoutError

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".mts", ".mpg",
                              ".mpeg", ".flv", ".3gp"})
GROWING_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload")


@dataclass(frozen=True)
class FileFingerprint:
    """Size and mtime: if these change during a scan, the file was still being written."""

    size: int
    mtime_ns: int


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    duration_s: float
    fps: float
    width: int
    height: int
    codec: str
    size_bytes: int
    start_time_s: float = 0.0
    creation_time: str | None = None
    keyframe_times: tuple[float, ...] = field(default=(), repr=False)

    @property
    def frame_count(self) -> int:
        return max(1, round(self.duration_s * self.fps))


def check_input_file(video: Path) -> FileFingerprint:
    """Refuse what is not a finished regular video file, without opening it (a FIFO would block)."""
    name = video.name
    if name.lower().endswith(GROWING_SUFFIXES):
        raise BadVideoError(f"{name}: still being written ({Path(name).suffix} file); scan it once closed")
    try:
        info = video.stat()
    except FileNotFoundError:
        raise BadVideoError(f"{video}: no such file") from None
    except OSError as exc:
        raise BadVideoError(f"{video}: cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise BadVideoError(f"{name}: not a regular file")
    if info.st_size == 0:
        raise BadVideoError(f"{name}: empty file (0 bytes)")
    if video.suffix.lower() not in VIDEO_EXTENSIONS:
        raise BadVideoError(
            f"{name}: unsupported extension {video.suffix or '(none)'!r}; expected one of "
            + " ".join(sorted(VIDEO_EXTENSIONS))
        )
    if not os.access(video, os.R_OK):
        raise BadVideoError(f"{name}: permission denied")
    return FileFingerprint(info.st_size, info.st_mtime_ns)


def fingerprint(video: Path) -> FileFingerprint:
    info = video.stat()
    return FileFingerprint(info.st_size, info.st_mtime_ns)


def _ffprobe(args: list[str], timeout_s: float, name: str) -> str:
    command = ["ffprobe", "-v", "error", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise DecodeTimeoutError(f"{name}: probing took longer than {timeout_s:g} s; file looks broken") from None
    except FileNotFoundError:  # pragma: no cover - ffmpeg is a declared system dependency
        raise BadVideoError("ffprobe not found: install ffmpeg") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["unreadable"])[-1]
        # ffprobe prefixes the path; keep only what it says about the file.
        reason = reason.split(": ", 1)[-1] if reason.startswith(("/", ".")) else reason
        raise BadVideoError(f"{name}: not a readable video ({reason})")
    return done.stdout


def probe_video(video: Path, *, timeout_s: float, max_pixels: int) -> VideoInfo:
    """Metadata of the first video stream; raises :class:`BadVideoError` naming what is wrong."""
    name = video.name
    raw = _ffprobe(["-print_format", "json", "-show_format", "-show_streams", str(video)], timeout_s, name)
    try:
        data = json.loads(raw or "{}")
    except json.JSONDecodeError:  # pragma: no cover - ffprobe writes JSON or fails
        raise BadVideoError(f"{name}: ffprobe gave no usable answer") from None
    streams = data.get("streams") or []
    video_streams = [s for s in streams if s.get("codec_type") == "video"
                     and not (s.get("disposition") or {}).get("attached_pic")]
    if not video_streams:
        kinds = sorted({s.get("codec_type", "?") for s in streams})
        what = f"only {'/'.join(kinds)} streams" if kinds else "no streams"
        raise BadVideoError(f"{name}: no video stream ({what})")
    stream = video_streams[0]
    width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
    if width <= 0 or height <= 0:
        raise BadVideoError(f"{name}: video stream has no frame size")
    if width * height > max_pixels:
        raise BadVideoError(f"{name}: resolution {width}x{height} exceeds the limit of {max_pixels} pixels "
                            "(SCAN_MAX_PIXELS)")
    fps = _rate(stream.get("avg_frame_rate")) or _rate(stream.get("r_frame_rate"))
    if not fps or fps <= 0 or fps > 1000:
        raise BadVideoError(f"{name}: no usable frame rate")
    fmt = data.get("format") or {}
    duration = _float(stream.get("duration")) or _float(fmt.get("duration"))
    if not duration or duration <= 0:
        frames = int(stream.get("nb_frames") or 0)
        duration = frames / fps if frames else 0.0
    if duration <= 0:
        raise BadVideoError(f"{name}: zero duration (no frames)")
    start = _float(stream.get("start_time")) or _float(fmt.get("start_time")) or 0.0
    tags = {**(fmt.get("tags") or {}), **(stream.get("tags") or {})}
    return VideoInfo(
        path=video, duration_s=round(duration, 6), fps=round(fps, 6), width=width, height=height,
        codec=str(stream.get("codec_name") or "unknown"), size_bytes=int(video.stat().st_size),
        start_time_s=start, creation_time=_creation_time(tags.get("creation_time")),
    )


def keyframe_times(video: Path, *, timeout_s: float, start_time_s: float = 0.0) -> tuple[float, ...]:
    """Presentation times (s from the start) of the keyframes, read from packets: demux, no decode."""
    raw = _ffprobe(["-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0",
                    str(video)], timeout_s, video.name)
    times = []
    for line in raw.splitlines():
        pts, _, flags = line.partition(",")
        value = _float(pts)
        if value is not None and "K" in flags:
            times.append(round(value - start_time_s, 6))
    return tuple(sorted(set(times)))


def _rate(text: str | None) -> float | None:
    if not text or text in ("0/0", "0"):
        return None
    num, _, den = text.partition("/")
    try:
        return float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return None


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _creation_time(text: str | None) -> str | None:
    """Container creation_time as ISO-8601 Z when it is a plausible wall-clock time."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.year < 2000:  # muxers write 1970/1904 when they do not know
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
