"""The ffmpeg side of process_video: the standardizing command, its progress, the thumbnail.

Output: H.264 High / yuv420p at the configured size (letterboxed, aspect kept) and fps, AAC stereo
48 kHz (loudness-normalized to -16 LUFS, or a silent track so every TV item has the same layout),
``+faststart`` so browsers start playing before the whole file arrived.
"""

import collections
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from vv_core.errors import VVError
from vv_ingest.config import TargetFormat

FFMPEG = "ffmpeg"
LOUDNORM = "loudnorm=I=-16:TP=-1.5:LRA=11"


class TranscodeError(VVError):
    """ffmpeg could not turn the input into the target format."""


def build_transcode_command(source: Path, output: Path, target: TargetFormat, *, source_has_audio: bool) -> list[str]:
    w, h = target.width, target.height
    video_filter = (f"scale={w}:{h}:force_original_aspect_ratio=decrease,"
                    f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={target.fps:g},format=yuv420p")
    command = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(source)]
    use_source_audio = source_has_audio and target.audio == "loudnorm"
    if not use_source_audio:
        command += ["-f", "lavfi", "-i", "anullsrc=channel_layout=stereo:sample_rate=48000"]
    command += ["-map", "0:v:0", "-map", "0:a:0" if use_source_audio else "1:a:0"]
    command += ["-vf", video_filter,
                "-c:v", "libx264", "-profile:v", "high", "-preset", target.preset, "-crf", str(target.crf)]
    if use_source_audio:
        command += ["-af", LOUDNORM]
    command += ["-c:a", "aac", "-b:a", f"{target.audio_bitrate_k}k", "-ar", "48000", "-ac", "2"]
    if not use_source_audio:
        command.append("-shortest")   # the silent source is endless
    command += ["-movflags", "+faststart", "-f", "mp4", "-progress", "pipe:1", "-nostats", str(output)]
    return command


def run_ffmpeg_with_progress(command: list[str], duration_s: float,
                             on_progress: Callable[[float], None] | None = None) -> None:
    """Run ffmpeg; call ``on_progress(fraction)`` from its ``-progress`` reports; raise on failure."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stderr_tail: collections.deque[str] = collections.deque(maxlen=5)

    def read_stderr() -> None:
        for line in process.stderr:  # type: ignore[union-attr]
            if line.strip():
                stderr_tail.append(line.strip())

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    for line in process.stdout:  # type: ignore[union-attr]
        key, _, value = line.strip().partition("=")
        if on_progress is None:
            continue
        if key == "out_time_us" and value.isdigit() and duration_s > 0:
            on_progress(min(1.0, int(value) / (duration_s * 1_000_000)))
        elif key == "progress" and value == "end":
            on_progress(1.0)
    process.wait()
    reader.join(timeout=5)
    if process.returncode != 0:
        reason = stderr_tail[-1] if stderr_tail else f"exit {process.returncode}"
        raise TranscodeError(f"ffmpeg failed: {reason}")


def make_thumbnail(video: Path, output: Path, width: int, duration_s: float) -> None:
    """One JPEG frame from a third into the video (skips black lead-ins), ``width`` px wide."""
    at = max(0.0, min(duration_s / 3, duration_s - 0.1))
    command = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-ss", f"{at:.3f}",
               "-i", str(video), "-frames:v", "1", "-vf", f"scale={width}:-2", "-q:v", "4",
               "-f", "image2", str(output)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 or not output.exists() or output.stat().st_size == 0:
        lines = done.stderr.strip().splitlines()
        raise TranscodeError(f"thumbnail failed: {lines[-1] if lines else 'no frame'}")
