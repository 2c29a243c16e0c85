"""scan_video CLI: ``python -m scan_video.scan_video VIDEO [--output-dir DIR] [--id ID]`` (= ``vv scan``).

Success: exit 0 and print the analytic path. Failure: one line on stderr, exit 1 (bad input or
configuration) or 2 (internal), nothing written. Heavy libraries load inside ``scan()`` only.
"""

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file (python scan_video/scan_video.py): make the repo importable
    _root = Path(__file__).resolve().parents[1]
    sys.path[:0] = [str(_root), str(_root / "vv-core")]


def run(video: Path, output_dir: Path | None = None, video_id: str | None = None) -> Path:
    """Scan with the process settings and return the path written (the CLI's action)."""
    from scan_video.scanner import scan
    from vv_core.jsonlog import setup_logging
    from vv_core.settings import get_settings

    settings = get_settings()
    # Logs go to stderr: stdout carries only the path written (the command contract).
    setup_logging(settings.service_name, settings.log_level, stream=sys.stderr)
    return scan(video, output_dir, settings, video_id=video_id).path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scan_video", description="Scan a video for objects and faces.")
    parser.add_argument("video", type=Path, help="video file to scan")
    parser.add_argument("--output-dir", type=Path, default=None, help="default: <VIDEO_STORAGE_ROOT>/analytic")
    parser.add_argument("--id", dest="video_id", default=None, help="artifact id (default: from the path)")
    args = parser.parse_args(argv)

    from vv_core.cli_support import run_stage

    run_stage(lambda: run(args.video, args.output_dir, args.video_id))


if __name__ == "__main__":
    main()
