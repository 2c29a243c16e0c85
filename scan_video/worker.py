"""The scan handler of `vv worker --stage scan`: models loaded once, then one job after another.

The job's video is scanned exactly as ``vv scan VIDEO --output-dir DIR --id ID`` would (same
stage-input rule, same atomic write); a bad video raises the same one-line :class:`ScanError`,
which the worker turns into the same exit-1 result the orchestrator quarantines on.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from scan_video.config import ScanConfig
from scan_video.scanner import ScanEngine, scan
from scan_video.settings import ScanSettings
from vv_core.storage import require_inside_root


def scan_handler(settings: ScanSettings | None = None) -> Callable[[Any], str]:
    """Load the models now and return the function that does one scan job (a vv_core.workqueue.Job)."""
    settings = settings or ScanSettings()
    config = ScanConfig.from_settings(settings)
    engine = ScanEngine.load(config)

    def handle(job: Any) -> str:
        video = Path(job.input)
        require_inside_root(video, settings.video_storage_root, "video")
        return str(scan(video, job.output_dir, settings, video_id=job.video_id, config=config, engine=engine).path)

    return handle
