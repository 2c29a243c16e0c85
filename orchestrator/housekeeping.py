"""What the orchestrator does around the videos of a run: the disk check and the sweep of temp files
killed stages left (before), the over-time alert and the playlist rebuild (after)."""

import logging
from pathlib import Path

from orchestrator.runners import Runner
from orchestrator.settings import PipelineSettings
from orchestrator.stages import DUE_IN_STATE, SCHEDULE
from orchestrator.state import StateStore
from vv_core import alert_triggers
from vv_core.atomic import remove_orphan_temp
from vv_core.storage import StorageLayout, disk_space

SCHEDULE_PENDING = "schedule_pending"   # state flag: a LogLine was written since the last playlist build
logger = logging.getLogger("vv.orchestrator")


def trigger_schedule(runner: Runner, store: StateStore, settings: PipelineSettings) -> bool:
    """Rebuild the playlists once (`vv schedule --once`); the flag stays set for the next run on failure."""
    result = runner.run(SCHEDULE.command, ["--once"], SCHEDULE.timeout_s(settings))
    if result.ok:
        store.set_flag(SCHEDULE_PENDING, "0")
        logger.info("playlists rebuilt: %s", ", ".join(result.output_paths()))
        return True
    logger.warning("vv schedule --once failed (will retry next run): %s",
                   result.infrastructure_error or result.error_line() or f"exit {result.exit_code}")
    return False


def check_processing_time(store: StateStore, settings: PipelineSettings, now: float) -> None:
    """Alert once per video that has been in the pipeline longer than MAX_PROCESSING_S."""
    for row in store.unfinished_videos():
        elapsed = now - row["discovered_at"]
        if elapsed > settings.max_processing_s and not row["max_time_alerted"]:
            alert_triggers.video_over_max_processing_time(
                settings, row["current_path"], elapsed, settings.max_processing_s,
                stage=DUE_IN_STATE[row["state"]].command if row["state"] in DUE_IN_STATE else row["state"])
            store.update(row["sha256"], max_time_alerted=1)


def sweep_stale_temp_files(layout: StorageLayout) -> list[Path]:
    """Remove temp files a killed stage left behind (``.<name>.<random>.tmp`` from atomic writes).

    Only those whose writer is provably dead (nobody holds its lock: see
    :func:`vv_core.atomic.remove_orphan_temp`), at once, whatever their age; a live writer's
    temp file is never touched, however old.
    """
    removed = []
    for directory in (layout.analytic, layout.summaries, layout.loglines, layout.playlists):
        for temp in sorted(directory.glob(".*.tmp")):
            if remove_orphan_temp(temp):
                removed.append(temp)
    if removed:
        logger.warning("removed %d temp files left by killed stages", len(removed),
                       extra={"files": [p.relative_to(layout.root).as_posix() for p in removed]})
    return removed


def check_disk(settings: PipelineSettings) -> float:
    """Free space of the storage root in percent; alerts below DISK_MIN_FREE_PERCENT."""
    root = settings.storage.root
    free_percent = disk_space(root).free_percent
    if free_percent < settings.disk_min_free_percent:
        alert_triggers.disk_low(settings, str(root), free_percent, settings.disk_min_free_percent)
    return free_percent
