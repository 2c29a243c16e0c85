"""process_video: standardize any input video for the TVs (`vv ingest process`).

    python -m vv_ingest.process_video VIDEO|FOLDER ... [--output-dir DIR] [--tag T ...] [--title T]

For each input: probe → transcode (temp file) → verify the result → rename into the library as
``<id>.mp4`` with ``<id>.jpg`` (thumbnail) and ``<id>.meta.json`` (title, tags, origin). An input
ffmpeg cannot read is moved to the quarantine folder with ``<name>.error.json`` saying why; the
other inputs carry on. Prints each library video written; exit 1 if any input was quarantined.
Each transcode reports its progress (vv_core.progress): a bar on a terminal, JSON lines otherwise.
"""

import contextlib
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from vv_core.atomic import atomic_write_json
from vv_core.cli_support import EXIT_FAILURE, fail, run_command, run_stage
from vv_core.errors import VVError
from vv_core.hashing import compute_sha256
from vv_core.jsonlog import start_process, utc_timestamp
from vv_core.mediaprobe import MediaProbeError, probe_media
from vv_core.naming import sanitize_id
from vv_core.progress import progress
from vv_ingest.config import IngestConfig, TargetFormat, load_ingest_config
from vv_ingest.settings import IngestSettings
from vv_ingest.transcode import TranscodeError, build_transcode_command, make_thumbnail, run_ffmpeg_with_progress

logger = logging.getLogger("vv.vv_ingest")
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv"}


@dataclass
class ProcessReport:
    written: list[Path] = field(default_factory=list)
    quarantined: list[Path] = field(default_factory=list)


def expand_inputs(paths: list[Path]) -> list[Path]:
    """Files as given; folders expanded to the video files directly inside them (sorted)."""
    inputs: list[Path] = []
    for path in paths:
        if path.is_dir():
            inputs += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        else:
            inputs.append(path)
    return inputs


def quarantine(source: Path, quarantine_dir: Path, reason: str) -> Path:
    """Move an input that cannot be used out of the way, with ``<name>.error.json`` giving the reason."""
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    target = quarantine_dir / source.name
    index = 1
    while target.exists():
        target = quarantine_dir / f"{source.stem}-{index}{source.suffix}"
        index += 1
    shutil.move(source, target)
    atomic_write_json(target.with_name(target.name + ".error.json"), {
        "file": target.name, "original": str(source), "stage": "vv_ingest.process_video", "reason": reason,
        "quarantined_at": utc_timestamp(),
    })
    logger.warning("input quarantined", extra={"file": str(target), "reason": reason})
    return target


def verify_output(video: Path, target: TargetFormat) -> float:
    """The transcoded file must be what the TVs expect; return its duration."""
    info = probe_media(video)
    problems = []
    if info.video_codec != "h264" or (info.video_profile or "").lower() != "high":
        problems.append(f"video {info.video_codec}/{info.video_profile}")
    if (info.width, info.height) != (target.width, target.height):
        problems.append(f"size {info.width}x{info.height}")
    if info.audio_codec != "aac":
        problems.append(f"audio {info.audio_codec}")
    if problems:
        raise TranscodeError(f"output is not the target format: {', '.join(problems)}")
    return info.duration_s


def standardize(source: Path, library: Path, config: IngestConfig, *, title: str | None = None,
                tags: list[str] | None = None, on_progress: Callable[[float], None] | None = None) -> Path:
    """Standardize one readable video into ``library``; return the library video path.

    Raises MediaProbeError (unreadable input) or TranscodeError; leaves nothing partial behind.
    """
    info = probe_media(source)
    if not info.has_video:
        raise MediaProbeError(f"{source.name}: no video stream")
    if info.duration_s <= 0:
        raise MediaProbeError(f"{source.name}: no duration (truncated?)")
    library.mkdir(parents=True, exist_ok=True)
    video_id = sanitize_id(source.stem)
    final = library / f"{video_id}.mp4"
    temp = library / f".{video_id}.tmp.mp4"
    thumb_temp = library / f".{video_id}.tmp.jpg"
    try:
        command = build_transcode_command(source, temp, config.target, source_has_audio=info.audio_codec is not None)
        run_ffmpeg_with_progress(command, info.duration_s, on_progress)
        duration = verify_output(temp, config.target)
        make_thumbnail(temp, thumb_temp, config.target.thumbnail_width, duration)
        os.replace(thumb_temp, library / f"{video_id}.jpg")
        os.replace(temp, final)
    finally:
        for leftover in (temp, thumb_temp):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    atomic_write_json(library / f"{video_id}.meta.json", {
        "id": video_id, "title": title or source.stem.replace("_", " ").replace("-", " ").strip() or video_id,
        "tags": sorted(set(tags or [])), "origin": source.name, "origin_sha256": compute_sha256(source),
        "processed_at": utc_timestamp(),
    })
    logger.info("video standardized", extra={"video_id": video_id, "file": str(final)})
    return final


def process_videos(inputs: list[Path], settings: IngestSettings, config: IngestConfig | None = None,
                   output_dir: Path | None = None, *, title: str | None = None,
                   tags: list[str] | None = None) -> ProcessReport:
    config = config or load_ingest_config(settings)
    library = output_dir or config.resolve(settings, config.library_dir)
    quarantine_dir = config.resolve(settings, config.quarantine_dir)
    report = ProcessReport()
    for source in expand_inputs(inputs):
        if not source.is_file():
            raise VVError(f"{source}: no such file")
        try:
            duration = probe_media(source).duration_s
        except MediaProbeError as exc:
            report.quarantined.append(quarantine(source, quarantine_dir, str(exc)))
            continue
        # Seconds of video transcoded so far (a bar on a terminal, JSON progress lines otherwise).
        with progress(f"ingest {source.name}", total=duration or None, unit="s") as task:
            try:
                report.written.append(standardize(source, library, config, title=title, tags=tags,
                                                  on_progress=lambda fraction, task=task, seconds=duration:
                                                  task.update(fraction * seconds)))
            except (MediaProbeError, TranscodeError) as exc:
                report.quarantined.append(quarantine(source, quarantine_dir, str(exc)))
    return report


def process_command(
    inputs: Annotated[list[Path], typer.Argument(help="Videos or folders of videos.")],
    output_dir: Annotated[Path | None, typer.Option(help="Library folder (default: config).")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Tag for the catalog (repeatable).")] = None,
    title: Annotated[str | None, typer.Option(help="Title (default: from the file name).")] = None,
) -> None:
    """Standardize videos into the library (H.264 High/AAC, +faststart) with a thumbnail each.

    Prints each library video written; an input ffmpeg cannot read is quarantined with its
    <name>.error.json and the others carry on; exit 1 if any input was quarantined.
    """
    report = ProcessReport()

    def action() -> list[Path]:
        settings = IngestSettings()
        start_process("vv_ingest", settings, console="stderr")
        result = process_videos(inputs, settings, output_dir=output_dir, title=title, tags=tag or [])
        report.written, report.quarantined = result.written, result.quarantined
        return result.written

    run_stage(action)
    if report.quarantined:
        names = ", ".join(path.name for path in report.quarantined)
        fail(f"{len(report.quarantined)} input(s) quarantined (see their .error.json): {names}", EXIT_FAILURE)


def main(argv: list[str] | None = None) -> int:
    return run_command(process_command, argv, "process_video")


if __name__ == "__main__":
    raise SystemExit(main())
