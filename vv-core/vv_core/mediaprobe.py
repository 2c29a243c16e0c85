"""What ffprobe says about a media file: one small wrapper every stage can trust.

A file ffprobe cannot open, or that holds no decodable stream, raises :class:`MediaProbeError` with
one line naming the reason (ffprobe's last stderr line), so callers can quarantine it with that reason.
"""

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from vv_core.errors import VVError

FFPROBE = os.environ.get("FFPROBE_BIN", "ffprobe")


class MediaProbeError(VVError):
    """ffprobe could not read the file as media."""


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    format_name: str
    duration_s: float
    size_bytes: int
    video_codec: str | None
    video_profile: str | None
    width: int | None
    height: int | None
    fps: float | None
    audio_codec: str | None

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None


def _rate(text: str | None) -> float | None:
    if not text or text in ("0/0", "0"):
        return None
    numerator, _, denominator = text.partition("/")
    try:
        return float(numerator) / float(denominator or 1)
    except (ValueError, ZeroDivisionError):
        return None


def probe_media(path: str | os.PathLike[str], *, input_format: str | None = None,
                timeout_s: float = 60.0) -> MediaInfo:
    """Probe ``path`` (``input_format`` forces a demuxer, e.g. "mp4" for ``*.mp4.part`` files)."""
    target = Path(path)
    command = [FFPROBE, "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
    if input_format:
        command += ["-f", input_format]
    command.append(str(target))
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise MediaProbeError(f"{target.name}: ffprobe timed out after {timeout_s:.0f} s") from exc
    if done.returncode != 0:
        # ffprobe names the file by its full path and often says why on the line before the verdict
        # ("moov atom not found" then "Invalid data found"): keep both, with the bare file name.
        lines = [line.strip().replace(str(target), target.name) for line in done.stderr.splitlines()
                 if line.strip()]
        reason = "; ".join(dict.fromkeys(lines[-2:])) if lines else f"ffprobe exit {done.returncode}"
        raise MediaProbeError(f"{target.name}: not readable as media: {reason}")
    report = json.loads(done.stdout or "{}")
    streams = report.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not s.get("disposition", {}).get("attached_pic")), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    fmt = report.get("format", {})
    duration = fmt.get("duration") or (video or {}).get("duration") or 0.0
    try:
        duration_s = float(duration)
    except (TypeError, ValueError):
        duration_s = 0.0
    if video is None and audio is None:
        raise MediaProbeError(f"{target.name}: not readable as media: no audio or video stream")
    return MediaInfo(
        path=target,
        format_name=str(fmt.get("format_name", "")),
        duration_s=duration_s,
        size_bytes=int(fmt.get("size") or target.stat().st_size),
        video_codec=video.get("codec_name") if video else None,
        video_profile=video.get("profile") if video else None,
        width=int(video["width"]) if video and video.get("width") else None,
        height=int(video["height"]) if video and video.get("height") else None,
        fps=_rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate")) if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
    )
