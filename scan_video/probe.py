"""Is this a finished, readable video, and what is in it? (before any frame is decoded)

Checks are ordered cheapest first: path and file type, name (``.part`` = still being written),
size, extension, then FFmpeg's demuxer (PyAV) under a timeout (so a pathological file cannot hang
the scan), then the facts the scanner needs: duration, fps, resolution, codec. (Keyframe times come
from the packets, read by the decoder thread: scan_video.sampling.index_keyframes.)
"""

import os
import stat
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


def probe_video(video: Path, *, timeout_s: float, max_pixels: int) -> VideoInfo:
    """Metadata of the first video stream; raises :class:`BadVideoError` naming what is wrong.

    Read in-process by FFmpeg's demuxer (PyAV): ~15 ms, where an ffprobe child process cost
    100-280 ms per video. It runs in a daemon thread the caller waits on for at most ``timeout_s``,
    so a pathological file cannot hang the scan (the stage process exits with the error; the
    thread dies with it)."""
    outcome: list[VideoInfo | BaseException] = []

    def work() -> None:
        try:
            outcome.append(_probe(video, max_pixels))
        except BaseException as exc:  # handed to the caller
            outcome.append(exc)

    worker = threading.Thread(target=work, name="scan-probe", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if not outcome:
        raise DecodeTimeoutError(f"{video.name}: probing took longer than {timeout_s:g} s; file looks broken")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def moving_picture_streams(container: Any) -> list[Any]:
    """The video streams of an open PyAV container, without cover art (attached pictures); the
    scanner always uses the first, in probing and in decoding alike."""
    import av

    return [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]


def _probe(video: Path, max_pixels: int) -> VideoInfo:
    import av

    name = video.name
    try:
        container = av.open(str(video), metadata_errors="ignore")
    except av.FFmpegError as exc:  # the reason without the path FFmpeg appends
        raise BadVideoError(f"{name}: not a readable video ({exc.strerror or type(exc).__name__})") from None
    except OSError as exc:
        raise BadVideoError(f"{name}: cannot read ({exc.strerror or exc})") from None
    with container:
        video_streams = moving_picture_streams(container)
        if not video_streams:
            kinds = sorted({s.type for s in container.streams})
            what = f"only {'/'.join(kinds)} streams" if kinds else "no streams"
            raise BadVideoError(f"{name}: no video stream ({what})")
        stream = video_streams[0]
        width, height = int(stream.codec_context.width or 0), int(stream.codec_context.height or 0)
        if width <= 0 or height <= 0:
            raise BadVideoError(f"{name}: video stream has no frame size")
        if width * height > max_pixels:
            raise BadVideoError(f"{name}: resolution {width}x{height} exceeds the limit of {max_pixels} pixels "
                                "(SCAN_MAX_PIXELS)")
        fps = _positive(stream.average_rate) or _positive(stream.base_rate)
        if not fps or fps > 1000:
            raise BadVideoError(f"{name}: no usable frame rate")
        base = stream.time_base
        duration = float(stream.duration * base) if stream.duration and base else 0.0
        if duration <= 0 and container.duration:
            duration = container.duration / av.time_base
        if duration <= 0 and stream.frames:
            duration = stream.frames / fps
        if duration <= 0:
            raise BadVideoError(f"{name}: zero duration (no frames)")
        if stream.start_time is not None and base:
            start = float(stream.start_time * base)
        else:
            start = (container.start_time or 0) / av.time_base
        tags = {**container.metadata, **stream.metadata}
        return VideoInfo(
            path=video, duration_s=round(duration, 6), fps=round(fps, 6), width=width, height=height,
            codec=str(stream.codec_context.name or "unknown"), size_bytes=int(video.stat().st_size),
            start_time_s=start, creation_time=_creation_time(tags.get("creation_time")),
        )


def _positive(rate: object) -> float | None:
    try:
        value = float(rate)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


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
