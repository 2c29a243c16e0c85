"""Scanning ahead in batches: one ``vv scan A B C …`` process for several due videos, so the models
(and the Python imports) load once per batch instead of once per video.

The batch is only a faster way to the same outputs: every analytic it writes is checked exactly as a
single scan's would be (schema, ``source_hash``) and recorded as that video's scan; a video it did
not scan (bad input, a crash or timeout of the batch process) is simply left in ``discovered`` and
the orchestrator scans it alone right after, with the usual failure classification, retries and
quarantine. So a bad video costs one extra (fast-failing) scan, and never the batch's other videos;
once a video has failed a scan it is only ever retried alone.
"""

import json
import logging
import sqlite3
from pathlib import Path

from orchestrator.protocol import Engine
from orchestrator.stages import SCAN

logger = logging.getLogger("vv.orchestrator")


def batches(rows: list[sqlite3.Row], size: int) -> list[list[sqlite3.Row]]:
    return [rows[i:i + size] for i in range(0, len(rows), max(1, size))]


def needs_scan(orchestrator: Engine, row: sqlite3.Row) -> bool:
    """A claimed video whose scan would run now (not adoptable, input present) and has not failed
    before: a video that crashed or hung a scan once is retried alone, never again inside a batch."""
    if row["outcome"] is not None or row["state"] != SCAN.state_before or row["current_path"] is None:
        return False
    if row["attempts"] > 0:
        return False
    if not (orchestrator.root / row["current_path"]).is_file():
        return False
    return orchestrator.valid_output(orchestrator.expected_output(SCAN, row), str(SCAN.schema), row) is not None


def scan_ahead(orchestrator: Engine, rows: list[sqlite3.Row]) -> list[str]:
    """Scan the videos among ``rows`` that need it in one process; return the ids scanned."""
    todo = [row for row in rows if needs_scan(orchestrator, row)]
    if len(todo) < 2:
        return []  # one video: the normal single scan is the same work
    settings, root = orchestrator.settings, orchestrator.root
    args = [str(root / row["current_path"]) for row in todo]
    args += ["--output-dir", str(root / str(SCAN.output_dir))]
    for row in todo:
        args += ["--id", row["video_id"]]
    args += SCAN.extra_args(settings)
    started = orchestrator.clock()
    result = orchestrator.runner.run(SCAN.command, args, SCAN.timeout_s(settings) * len(todo))
    finished = orchestrator.clock()
    scanned = []
    for row in todo:
        expected = orchestrator.expected_output(SCAN, row)
        if orchestrator.valid_output(expected, str(SCAN.schema), row) is not None:
            continue
        took_s = _scan_seconds(expected, default=finished - started)
        orchestrator.store.record_stage_run(sha256=row["sha256"], stage=SCAN.command, started_at=finished - took_s,
                                            finished_at=finished, exit_code=0, outcome="ok", error=None)
        orchestrator.store.update(row["sha256"], state=SCAN.state_after, attempts=0, last_error=None,
                                  **{str(SCAN.output_column): expected.relative_to(root).as_posix()})
        logger.info("scan done in %.2f s (batch of %d)", took_s, len(todo), extra={"video_id": row["video_id"]})
        scanned.append(row["video_id"])
    if len(scanned) < len(todo):
        reason = (f"timed out after {result.duration_s:.0f} s" if result.timed_out else
                  result.infrastructure_error or f"exit {result.exit_code}")
        logger.warning("batch scan: %d of %d scanned (%s); the rest are scanned one by one",
                       len(scanned), len(todo), reason, extra={"stderr_tail": result.stderr[-500:]})
    return scanned


def _scan_seconds(analytic: Path, default: float) -> float:
    """This video's own scan time, from its analytic (the batch's wall time covers all of them)."""
    try:
        return float(json.loads(analytic.read_text(encoding="utf-8"))["timings"]["total_ms"]) / 1000
    except (OSError, ValueError, KeyError, TypeError):
        return default
