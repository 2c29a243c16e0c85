"""Logging a batch in one run: one ``vv logline A B C …`` process for the batch's summaries.

The LogLine writer signs one checkpoint (and pushes it to the witnesses once) per run, and a run
pays its Python start-up once: one run per video made every LogLine carry a whole checkpoint's
fsyncs and signature. So the engine takes each video of a batch as far as its summary, then writes
all their LogLines here in one run, in the batch's order (the chain's order is the videos').

As with :mod:`.batch_scan`, the batch is only a faster way to the same outputs: every LogLine it
writes is checked exactly as a single run's would be (schema, ``source_hash``) and recorded as that
video's logline run; a video it did not log (a bad summary, a crash or timeout of the batch
process) stays in ``summarized`` and the engine logs it alone right after, with the usual failure
classification, retries and quarantine. A LogLine is never written twice: the writer returns the
existing ``<id>.logline.json`` for the same video, and the engine adopts an existing valid one
(after a crash between the writes and their recording) instead of running the stage again.

The queue runner's window (:mod:`.queue_pipeline`) uses the same pieces (:func:`needs_logline`,
:func:`logline_run`, :func:`record_logged`) for its groups of ready summaries.
"""

import logging
import sqlite3

from orchestrator.protocol import Engine
from orchestrator.runners import StageResult
from orchestrator.stages import LOGLINE

logger = logging.getLogger("vv.orchestrator")


def needs_logline(orchestrator: Engine, row: sqlite3.Row) -> bool:
    """A video whose logline run would run now (summary present, no LogLine to adopt) and has not
    failed before: a video whose logline failed once is retried alone, never again in a batch."""
    if row["outcome"] is not None or row["state"] != LOGLINE.state_before or row["attempts"] > 0:
        return False
    summary = row[str(LOGLINE.input_column)]
    if summary is None or not (orchestrator.root / summary).is_file():
        return False
    expected = orchestrator.expected_output(LOGLINE, row)
    return orchestrator.valid_output(expected, str(LOGLINE.schema), row) is not None


def log_ahead(orchestrator: Engine, rows: list[sqlite3.Row]) -> list[str]:
    """Write the LogLines of the videos among ``rows`` that need one in one run, in ``rows``'
    order; return the ids logged."""
    fresh = [orchestrator.store.get(row["sha256"]) for row in rows]  # each has moved on since `rows`
    todo = [row for row in fresh if row is not None and needs_logline(orchestrator, row)]
    if len(todo) < 2:
        return []  # one video: the normal single run is the same work
    started = orchestrator.clock()
    result = orchestrator.runner.run(LOGLINE.command, *logline_run(orchestrator, todo))
    return record_logged(orchestrator, todo, result, started, orchestrator.clock())


def logline_run(orchestrator: Engine, todo: list[sqlite3.Row]) -> tuple[list[str], float]:
    """The arguments and timeout of one `vv logline` run writing ``todo``'s LogLines in that order."""
    root = orchestrator.root
    args = [str(root / row[str(LOGLINE.input_column)]) for row in todo]
    args += ["--output-dir", str(root / str(LOGLINE.output_dir)), *LOGLINE.extra_args(orchestrator.settings)]
    return args, LOGLINE.timeout_s(orchestrator.settings) * len(todo)


def record_logged(orchestrator: Engine, todo: list[sqlite3.Row], result: StageResult, started: float,
                  finished: float) -> list[str]:
    """Record each LogLine the run wrote, checked as a single run's would be; return the ids logged
    (the others stay ``summarized``: the engine logs them alone)."""
    share = (finished - started) / len(todo)  # each video's part of the run (the stage_runs durations)
    logged = []
    for row in todo:
        expected = orchestrator.expected_output(LOGLINE, row)
        if orchestrator.valid_output(expected, str(LOGLINE.schema), row) is not None:
            continue
        orchestrator.store.record_stage_run(sha256=row["sha256"], stage=LOGLINE.command,
                                            started_at=finished - share, finished_at=finished,
                                            exit_code=0, outcome="ok", error=None)
        orchestrator.store.update(row["sha256"], state=LOGLINE.state_after, attempts=0, last_error=None,
                                  **{str(LOGLINE.output_column): expected.relative_to(orchestrator.root).as_posix()})
        orchestrator.note_logline(LOGLINE.command, expected)
        logged.append(row["video_id"])
    logger.info("logline: %d of %d logged in one run (%.2f s)", len(logged), len(todo), finished - started)
    if len(logged) < len(todo):
        reason = (f"timed out after {result.duration_s:.0f} s" if result.timed_out else
                  result.infrastructure_error or result.error_line() or f"exit {result.exit_code}")
        logger.warning("batch logline: %d of %d logged (%s); the rest are logged one by one",
                       len(logged), len(todo), reason, extra={"stderr_tail": result.stderr[-500:]})
    return logged
