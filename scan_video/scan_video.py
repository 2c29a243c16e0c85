"""scan_video CLI: ``python -m scan_video.scan_video VIDEO... [--output-dir DIR] [--id ID]...`` (= ``vv scan``).

Success: exit 0 and print the analytic path. Failure: one line on stderr, exit 1 (bad input or
configuration) or 2 (internal), nothing written. Heavy libraries load inside ``scan()`` only.

Several videos are scanned in one process with the models loaded once (the orchestrator batches its
scans this way): each analytic path is printed as it is written; each video that fails gets its own
``error: VIDEO: reason`` line and the next one is scanned; the exit code is the worst of them.

A video must lie inside the storage root (``vv_core.storage.INSIDE_ROOT_RULE``): the LogLine names
it by its path there, so a video elsewhere is refused here, by the first stage, with that rule.
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
    from vv_core.storage import require_inside_root

    settings = _setup()
    require_inside_root(video, settings.video_storage_root, "video")  # type: ignore[attr-defined]
    return scan(video, output_dir, settings, video_id=video_id).path  # type: ignore[arg-type]


def run_many(videos: Sequence[Path], output_dir: Path | None = None,
             video_ids: Sequence[str] | None = None) -> int:
    """Scan several videos with one model load; print paths and error lines; return the exit code."""
    from scan_video.scanner import scan_many
    from vv_core.cli_support import EXIT_FAILURE, one_line, reason_and_code
    from vv_core.errors import VVError
    from vv_core.storage import require_inside_root

    if video_ids and len(video_ids) != len(videos):
        print(f"error: {len(video_ids)} --id values for {len(videos)} videos", file=sys.stderr)
        return EXIT_FAILURE
    settings = _setup()
    code = 0
    inside = []
    for index, video in enumerate(videos):  # refused by the rule: one line each, the rest is scanned
        try:
            require_inside_root(video, settings.video_storage_root, "video")  # type: ignore[attr-defined]
        except VVError as exc:
            print(f"error: {video}: {one_line(exc)}", file=sys.stderr, flush=True)
            code = EXIT_FAILURE
        else:
            inside.append(index)
    videos = [videos[i] for i in inside]
    video_ids = [video_ids[i] for i in inside] if video_ids else None
    if not videos:
        return code
    for video, outcome in scan_many(videos, output_dir, settings, video_ids=video_ids or None):  # type: ignore[arg-type]
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
