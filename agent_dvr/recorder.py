"""The ffmpeg command that records one camera: stream copy into segments plus a JPEG snapshot.

Why each option:
- ``-timeout <µs>`` (RTSP/HTTP input) = the stall timeout: without it ffmpeg 5.1 waits forever on a
  hung camera, and it is also what lets ffmpeg finish after our SIGINT: a single SIGINT cannot
  interrupt a blocked read (a second one would abort the trailer write and lose the open segment).
- ``-f segment -segment_format mp4 -reset_timestamps 1``: closed, self-contained mp4 segments whose
  names end in ``.part`` (ffmpeg cannot guess a format from that suffix, hence segment_format).
- ``-segment_list`` (CSV): ffmpeg appends a segment's name and stream start/end when it has *closed*
  it: our "safe to publish", and what the segment's UTC name is computed from.
- ``-skip_frame nokey`` decodes key frames only, for the snapshot output; the recording itself is a
  stream copy and never decoded. ``-atomic_writing`` renames each JPEG into place.
- ``-analyzeduration 2 s``: the 5 s default delays every (re)connect; 2 s still finds the streams.
- ``-progress pipe:1``: machine-readable progress; the supervisor's stall detection watches it.
- A ``loop: true`` camera (the demo's sample file) is the one camera that is re-encoded: a copied
  loop would give byte-identical segments, which the orchestrator rightly sets aside as duplicates
  (it claims videos by sha256), so the "live" demo would show one item and then nothing. Its picture
  gets the camera name and the wall-clock time drawn on it (cheap: at most 640 px wide, 10 fps,
  x264 ultrafast), so every segment is genuinely new content and says when it was recorded.
"""

from pathlib import Path

from agent_dvr.config import CameraConfig
from agent_dvr.segments import PART_PATTERN, SEGMENT_LIST
from agent_dvr.settings import DvrSettings

FFMPEG = "ffmpeg"
ANALYZE_S = 2.0   # stream probing at connect; the supervisor allows it on top of the stall timeout
LOOP_FPS = 10     # a looping sample camera's re-encoded rate (a key frame every second)
LOOP_MAX_WIDTH = 640


def loop_encode_options(camera: CameraConfig) -> list[str]:
    """Re-encode a looping file camera with its name and the UTC wall-clock time on the picture."""
    stamp = (f"drawtext=text='{camera.name} %{{gmtime}} UTC':x=8:y=8:fontsize=18:fontcolor=white"
             ":box=1:boxcolor=black@0.6:boxborderw=4")
    return ["-vf", f"fps={LOOP_FPS},scale='min(iw,{LOOP_MAX_WIDTH})':-2,{stamp}",
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "28", "-g", str(LOOP_FPS), "-pix_fmt", "yuv420p"]


def build_record_command(camera: CameraConfig, settings: DvrSettings, staging: Path, snapshot: Path,
                         *, start_number: int = 0) -> list[str]:
    url = camera.resolved_url(settings)
    command = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    timeout_us = str(int(settings.dvr_stall_timeout_s * 1_000_000))
    if url.startswith(("rtsp://", "rtsps://")):
        command += ["-rtsp_transport", camera.transport(settings), "-timeout", timeout_us]
    elif url.startswith(("http://", "https://")):
        command += ["-timeout", timeout_us, "-reconnect", "0"]
    if camera.loop:  # every frame is decoded for the re-encode (see loop_encode_options)
        command += ["-re", "-stream_loop", "-1", "-analyzeduration", str(int(ANALYZE_S * 1_000_000))]
    else:
        command += ["-analyzeduration", str(int(ANALYZE_S * 1_000_000)), "-skip_frame", "nokey"]
    command += ["-i", url]
    # Recording: video (and audio when asked) copied as-is into segments; a loop camera's video re-encoded.
    command += ["-map", "0:v:0"]
    if camera.audio:
        command += ["-map", "0:a:0?"]
    command += ["-c", "copy", *(loop_encode_options(camera) if camera.loop else [])]
    command += [
        "-f", "segment",
        "-segment_time", f"{settings.dvr_segment_seconds:g}",
        "-segment_format", "mp4", "-reset_timestamps", "1",
        "-segment_start_number", str(start_number),
        "-segment_list", str(staging / SEGMENT_LIST), "-segment_list_type", "csv",
        str(staging / PART_PATTERN),
    ]
    # Snapshot: one JPEG every few seconds, at most 1280 px wide, renamed into place.
    command += [
        "-map", "0:v:0", "-an",
        "-vf", f"fps=1/{settings.dvr_snapshot_interval_s:g},scale='min(iw,1280)':-2",
        "-q:v", "5", "-f", "image2", "-update", "1", "-atomic_writing", "1", str(snapshot),
    ]
    command += ["-progress", "pipe:1", "-stats_period", "0.5"]
    return command
