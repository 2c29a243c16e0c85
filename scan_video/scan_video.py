"""scan_video CLI: ``python -m scan_video.scan_video VIDEO... [--output-dir DIR] [--id ID]...`` (= ``vv scan``).

Success: exit 0 and print the analytic path. Failure: one line on stderr, exit 1 (bad input or
configuration) or 2 (internal), nothing written. Heavy libraries load inside ``scan()`` only.

Several videos are scanned in one process with the models loaded once (the orchestrator batches its
scans this way): each analytic path is printed as it is written; each video that fails gets its own
``error: VIDEO: reason`` line and the next one is scanned; the exit code is the worst of them.
"""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a file (python scan_video/scan_video.py): make the repo importable
    _root = Path(__file__).resolve().parents[1]
    sys.path[:0] = [str(_root), str(_root / "vv-core")]


def _setup() -> object:
    from scan_video.settings import ScanSettings
    from vv_core.jsonlog import start_process

    settings = ScanSettings()
    # Logs go to stderr (and app.log): stdout carries only the paths written (the command contract).
    start_process(settings.service_name, settings, console="stderr")
    return settings


def run(video: Path, output_dir: Path | None = None, video_id: str | None = None) -> Path:
    """Scan with the process settings and return the path written (the CLI's action)."""
    from scan_video.scanner import scan

    return scan(video, output_dir, _setup(), video_id=video_id).path  # type: ignore[arg-type]


def run_many(videos: Sequence[Path], output_dir: Path | None = None,
             video_ids: Sequence[str] | None = None) -> int:
    """Scan several videos with one model load; print paths and error lines; return the exit code."""
    from scan_video.scanner import scan_many
    from vv_core.cli_support import EXIT_FAILURE, one_line, reason_and_code

    if video_ids and len(video_ids) != len(videos):
        print(f"error: {len(video_ids)} --id values for {len(videos)} videos", file=sys.stderr)
        return EXIT_FAILURE
    code = 0
    for video, outcome in scan_many(videos, output_dir, _setup(), video_ids=video_ids or None):  # type: ignore[arg-type]
        if not isinstance(outcome, Exception):
            print(outcome.path, flush=True)  # written: the caller may act on it before the batch ends
            continue
        reason, worst = reason_and_code(outcome)
        print(f"error: {video}: {one_line(reason)}", file=sys.stderr, flush=True)
        code = max(code, worst)
    return code


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scan_video", description="Scan videos for objects and faces.")
    parser.add_argument("videos", type=Path, nargs="+", metavar="VIDEO", help="video file(s) to scan")
    parser.add_argument("--output-dir", type=Path, default=None, help="default: <VIDEO_STORAGE_ROOT>/analytic")
    parser.add_argument("--id", dest="video_ids", action="append", default=None,
                        help="artifact id (default: from the path); once per video, in order")
    args = parser.parse_args(argv)
    dispatch(args.videos, args.output_dir, args.video_ids)


def dispatch(videos: Sequence[Path], output_dir: Path | None, video_ids: Sequence[str] | None) -> None:
    """One video: the single-stage contract exactly; several: :func:`run_many`."""
    from vv_core.cli_support import guarded, run_stage

    if len(videos) == 1 and (not video_ids or len(video_ids) == 1):
        run_stage(lambda: run(videos[0], output_dir, video_ids[0] if video_ids else None))
        return
    code = guarded(lambda: run_many(videos, output_dir, video_ids))
    if code:
        raise SystemExit(code)


if __name__ == "__main__":
    main()
