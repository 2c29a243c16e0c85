"""One orchestrator run: take in (:mod:`.intake`) → scan → summarize → logline → processed/ (or corrupted/).

Crash safety rests on three rules:
1. every state transition is committed to SQLite *after* the file it describes exists (stage
   outputs are written atomically by the stages themselves);
2. before running a stage, an existing output for the same video (same id and ``source_hash``) is
   adopted instead of re-running it: a run killed between a stage finishing and the DB recording
   it does not produce a second LogLine on restart;
3. moves record their destination first and are completed on restart (:mod:`.moves`); so is the
   rename of a file whose name is unsafe (:mod:`.names`) to its safe name at claim time.

One file never stops the others: an unexpected error while claiming or processing one video is
logged, counted as a failed attempt of that video (retried with backoff, quarantined after
MAX_ATTEMPTS) and the run goes on. Only a broken state DB ends the run.
"""

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.batch_logline import log_ahead
from orchestrator.batch_scan import batches, scan_ahead
from orchestrator.failures import Failure, backoff_delay, classify_result, invalid_output
from orchestrator.housekeeping import (
    SCHEDULE_PENDING,
    check_disk,
    check_processing_time,
    sweep_stale_temp_files,
    trigger_schedule,
)
from orchestrator.intake import due_again, take_in
from orchestrator.moves import (
    VideoVanished,
    backfill_placements,
    complete_move,
    destination_for,
    record_placement,
    write_error_record,
)
from orchestrator.names import printable
from orchestrator.queue_pipeline import run_pipelined
from orchestrator.queue_runner import QUEUED, QueueRunner
from orchestrator.runners import Runner, StageResult
from orchestrator.settings import PipelineSettings
from orchestrator.stages import DUE_IN_STATE, LOGLINE, PIPELINE, SCAN, StageSpec
from orchestrator.state import StateStore
from orchestrator.status import NEWEST_LOGLINE_SEQ, write_status
from vv_core import alert_triggers
from vv_core.errors import SchemaValidationError
from vv_core.progress import progress
from vv_core.schema import validate_schema
from vv_core.storage import ORCHESTRATOR_DB
from vv_core.workqueue import Job

DB_NAME = ORCHESTRATOR_DB
PLACEMENTS_BACKFILLED = "placements_backfilled"
logger = logging.getLogger("vv.orchestrator")


@dataclass
class RunReport:
    seen: int = 0
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    settling: int = 0
    scheduled: bool | None = None     # None: not attempted
    cut_short: bool = False           # the queue runner stopped taking videos in at QUEUE_RUN_MAX_S
    quarantine_alerted: int = 0       # quarantined videos alerted one by one (QUARANTINE_ALERTS_PER_RUN)
    quarantine_held: list[tuple[str, str, str]] = field(default_factory=list)  # the rest: one alert at run end


class Orchestrator:
    def __init__(self, settings: PipelineSettings, runner: Runner, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.runner = runner
        self.layout = settings.storage
        self.root = self.layout.root
        self.clock = clock
        self.sleep = sleep
        self.layout.ensure()
        self.store = StateStore(self.layout.orchestrator_db)

    def close(self) -> None:
        self.store.close()

    # --- the run ---------------------------------------------------------------------------------
    def run_once(self, *, wait_for_settling: bool = True) -> RunReport:
        report = RunReport()
        run_id = self.store.start_run(self.clock())
        check_disk(self.settings)
        sweep_stale_temp_files(self.layout)
        if self.store.get_flag(PLACEMENTS_BACKFILLED) != "1":
            backfill_placements(self.root, self.layout.state, self.store.all_videos())
            self.store.set_flag(PLACEMENTS_BACKFILLED, "1")
        take_in(self, report, wait_for_settling=wait_for_settling)
        due = list(self.store.due_videos(self.clock()))
        try:
            with progress("orchestrate", total=len(due) or None, unit="videos") as task:
                if isinstance(self.runner, QueueRunner):  # a window in flight on the workers, no batch barrier
                    run_pipelined(self, due, report, task.advance, more=lambda: due_again(self, report))
                else:
                    for batch in batches(due, self.settings.orchestrator_scan_batch):
                        self.run_batch(batch, report, task.advance)
        finally:
            if report.quarantine_held:
                alert_triggers.videos_quarantined(self.settings, report.quarantine_held, report.quarantine_alerted)
        check_processing_time(self.store, self.settings, self.clock())
        if self.store.get_flag(SCHEDULE_PENDING) == "1" and self.settings.orchestrator_trigger_schedule:
            report.scheduled = trigger_schedule(self.runner, self.store, self.settings)
        self.store.finish_run(run_id, now=self.clock(), seen=report.seen, done=len(report.done),
                              failed=len(report.failed))
        write_status(self.store, self.layout.state, waiting_in_input=report.settling)
        return report

    def run_batch(self, batch: list[sqlite3.Row], report: RunReport, advance: Callable[[], object]) -> None:
        """Scan the batch in one process (models load once), take each video alone as far as its
        LogLine (a summary does not wait for the backlog), write the LogLines in one run (one
        checkpoint, in the batch's order), then finish each video. Every video's state moves on
        its own: one bad video stops none of the others. (The queue runner: :mod:`.queue_pipeline`.)"""
        self.ahead(scan_ahead, batch)
        to_log = []
        for row in batch:
            if self.process_guarded(row, report, until=LOGLINE):
                to_log.append(row)
            else:
                advance()
        self.ahead(log_ahead, to_log)
        for row in to_log:  # adopt the batch's LogLines; a video it did not log is logged alone
            self.process_guarded(row, report)
            advance()

    def ahead(self, batch_stage: Callable[[Any, list[sqlite3.Row]], Any], rows: list[sqlite3.Row]) -> None:
        """A batch run (scan_ahead, log_ahead); its failure only means each video runs alone."""
        try:
            batch_stage(self, rows)
        except sqlite3.Error:
            raise
        except Exception:
            logger.exception("batch %s failed", getattr(batch_stage, "__name__", "run"))

    def process_guarded(self, row: sqlite3.Row, report: RunReport, *, until: StageSpec | None = None) -> bool:
        """:meth:`process`, with an unexpected error counted against this video only."""
        try:
            return self.process(row, report, until=until)
        except sqlite3.Error:
            raise
        except Exception as exc:
            self.internal_failure(row["sha256"], exc, report)
            return False

    # --- one video through the stages ----------------------------------------------------------------
    def process(self, row: sqlite3.Row, report: RunReport, *, until: StageSpec | None = None) -> bool:
        """Take the video as far as it goes in this run; True when it stopped because ``until``
        was due (the batch runs that stage for all its videos at once)."""
        sha = row["sha256"]
        for _ in range(10):  # bounded: each pass advances (or regresses once) the state machine
            row = self.store.get(sha)
            assert row is not None
            if row["outcome"] is not None:
                self.finish_move(row, report)
                return False
            state = row["state"]
            if state == "logged":
                self.mark_done(row)
                continue
            spec = DUE_IN_STATE[state]
            if spec is until:
                return True
            if not self.advance(row, spec, report):
                return False
        logger.error("video did not settle within one run", extra={"video_id": row["video_id"]})
        return False

    def advance(self, row: sqlite3.Row, spec: StageSpec, report: RunReport) -> bool:
        """Run (or adopt) the stage ``spec`` for the video; True when the state moved on."""
        stage, schema = spec.command, str(spec.schema)
        expected = self.expected_output(spec, row)
        if self.valid_output(expected, schema, row) is None:
            logger.info("adopting existing %s output %s", stage, expected.name,
                        extra={"video_id": row["video_id"]})
            self.store.update(row["sha256"], state=spec.state_after, attempts=0,
                              **{str(spec.output_column): expected.relative_to(self.root).as_posix()})
            self.note_logline(stage, expected)
            return True
        stage_input = row[spec.input_column]
        if stage_input is None or not (self.root / stage_input).is_file():
            if spec is SCAN:
                vanished = Failure("permanent", f"video vanished from {row['current_path']}")
                self.quarantine(row, stage, vanished, report)
                return False
            # An intermediate artifact was removed (cleanup, operator): derive it again.
            back = PIPELINE[PIPELINE.index(spec) - 1].state_before
            logger.warning("%s input missing; re-running the previous stage", stage,
                           extra={"video_id": row["video_id"]})
            self.store.update(row["sha256"], state=back)
            return True
        args = [str(self.root / stage_input), "--output-dir", str(self.root / str(spec.output_dir))]
        if spec is SCAN:
            args += ["--id", row["video_id"]]
        args += spec.extra_args(self.settings)
        started = self.clock()
        if isinstance(self.runner, QueueRunner) and spec in QUEUED:
            result = self.runner.run_job(self.job_for(spec, row), spec.timeout_s(self.settings))
        else:
            result = self.runner.run(stage, args, spec.timeout_s(self.settings))
        return self.settle(row, spec, result, started, self.clock(), report)

    def job_for(self, spec: StageSpec, row: sqlite3.Row) -> Job:
        """The queue runner's job for this stage of this video (the local runner's arguments, as data)."""
        return Job(stage=spec.command, sha256=row["sha256"], video_id=row["video_id"],
                   input=str(self.root / row[spec.input_column]), output_dir=str(self.root / str(spec.output_dir)),
                   schema=str(spec.schema))

    def settle(self, row: sqlite3.Row, spec: StageSpec, result: StageResult, started: float, finished: float,
               report: RunReport) -> bool:
        """Record one run of ``spec`` and move the video on (True), or count the failure (False)."""
        stage, schema = spec.command, str(spec.schema)
        expected = self.expected_output(spec, row)
        failure = None if result.ok else classify_result(result)
        output = self.pick_output(result, expected) if failure is None else None
        if failure is None:
            problem = self.valid_output(output, schema, row) if output else f"no {spec.output_suffix} path printed"
            if problem is not None:
                failure = invalid_output(problem)
                alert_triggers.schema_validation_error(
                    self.settings, str(output or expected), problem, stage=stage)
        self.store.record_stage_run(sha256=row["sha256"], stage=stage, started_at=started,
                                    finished_at=finished, exit_code=result.exit_code,
                                    outcome="ok" if failure is None else failure.kind,
                                    error=None if failure is None else failure.reason)
        if failure is not None:
            self.fail(row, stage, failure, result, report)
            return False
        assert output is not None
        self.store.update(row["sha256"], state=spec.state_after, attempts=0, last_error=None,
                          **{str(spec.output_column): output.relative_to(self.root).as_posix()})
        self.note_logline(stage, output)
        logger.info("%s done in %.2f s", stage, finished - started, extra={"video_id": row["video_id"]})
        return True

    def note_logline(self, stage: str, path: Path) -> None:
        """Remember the newest LogLine seq this box has recorded: `vv verify` compares it with the
        chain, so a chain whose tail was deleted (and head rolled back) does not pass unnoticed."""
        if stage != "logline":
            return
        seq = json.loads(path.read_text(encoding="utf-8")).get("seq")
        if not isinstance(seq, int):
            return
        logger.info("LogLine recorded", extra={"logline": path.name, "logline_seq": seq})  # a witness too
        newest = self.store.get_flag(NEWEST_LOGLINE_SEQ)
        if newest is None or seq > int(newest):
            self.store.set_flag(NEWEST_LOGLINE_SEQ, str(seq))

    def expected_output(self, spec: StageSpec, row: sqlite3.Row) -> Path:
        return self.layout.root / str(spec.output_dir) / f"{row['video_id']}{spec.output_suffix}"

    def pick_output(self, result: StageResult, expected: Path) -> Path | None:
        printed = [Path(p) for p in result.output_paths()]
        for path in printed:
            if path.name == expected.name:
                return path if path.is_absolute() else self.root / path
        return expected if expected.is_file() else None

    def valid_output(self, path: Path | None, schema: str, row: sqlite3.Row) -> str | None:
        """None when ``path`` is a valid artifact of this video; else the reason it is not."""
        if path is None or not path.is_file():
            return "output file missing"
        if not self.layout.contains(path):
            return f"output outside the storage root: {path}"
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            validate_schema(document, schema)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return f"{path.name} is not JSON: {exc}"
        except SchemaValidationError as exc:
            return str(exc)
        if document.get("source_hash") != row["sha256"]:
            return f"{path.name} belongs to another video (source_hash mismatch)"
        return None

    # --- failures --------------------------------------------------------------------------------------
    def fail(self, row: sqlite3.Row, stage: str, failure: Failure, result: StageResult,
             report: RunReport) -> None:
        attempts = row["attempts"] + 1
        log = result.stderr
        if failure.permanent or attempts >= self.settings.max_attempts:
            self.quarantine(row, stage, failure, report, attempts=attempts, result=result)
            return
        delay = backoff_delay(attempts, self.settings.retry_backoff_s, self.settings.retry_backoff_max_s)
        self.store.update(row["sha256"], attempts=attempts, total_attempts=row["total_attempts"] + 1,
                          last_error=failure.reason, last_error_stage=stage, last_failure_kind=failure.kind,
                          next_attempt_at=self.clock() + delay)
        report.retrying.append(row["video_id"])
        logger.warning("%s failed (%s, attempt %d/%d, retry in %.0f s): %s", stage, failure.kind, attempts,
                       self.settings.max_attempts, delay, failure.reason,
                       extra={"video_id": row["video_id"], "stderr_tail": log[-500:]})

    def quarantine(self, row: sqlite3.Row, stage: str, failure: Failure, report: RunReport, *,
                   attempts: int | None = None, result: StageResult | None = None) -> None:
        attempts = row["attempts"] + 1 if attempts is None else attempts
        final = destination_for(self.root, row["current_path"], "corrupted", row["sha256"])
        excerpt = alert_triggers.log_excerpt(result.stderr if result else "")
        row = self.store.update(row["sha256"], attempts=attempts, total_attempts=row["total_attempts"] + 1,
                                last_error=failure.reason, last_error_stage=stage,
                                last_failure_kind=failure.kind)
        write_error_record(self.root, final, row, stage=stage, error=failure.reason, kind=failure.kind,
                           attempts=attempts, exit_code=failure.exit_code, log_excerpt=excerpt)
        self.store.update(row["sha256"], outcome="failed", final_path=final)
        container = result.container if result else None
        if report.quarantine_alerted < self.settings.quarantine_alerts_per_run:
            report.quarantine_alerted += 1
            alert_triggers.video_quarantined(self.settings, final, stage, failure.reason, attempts,
                                             container=container, log=excerpt)
        else:  # a burst (a broken camera): the rest of the run's are one alert at its end
            report.quarantine_held.append((str(final), stage, failure.reason))
        if result is not None and result.infrastructure_error:
            alert_triggers.container_failure(self.settings, container or self.runner.name,
                                             f"{stage} could not run {attempts} times: {failure.reason}",
                                             source="orchestrator")
        refreshed = self.store.get(row["sha256"])
        assert refreshed is not None
        self.finish_move(refreshed, report)

    def internal_failure(self, sha256: str, exc: Exception, report: RunReport) -> None:
        """The orchestrator itself failed on this video (a bug, an unexpected OS error): count it
        as a failed attempt, so the video is retried with backoff and, after MAX_ATTEMPTS,
        quarantined (or at least marked failed) instead of failing every run."""
        row = self.store.get(sha256)
        assert row is not None
        reason = printable(f"internal error: {type(exc).__name__}: {exc}")
        logger.error("orchestrator error on this video: %s", reason, exc_info=exc,
                     extra={"video_id": row["video_id"]})
        attempts = row["attempts"] + 1
        if attempts < self.settings.max_attempts:
            delay = backoff_delay(attempts, self.settings.retry_backoff_s, self.settings.retry_backoff_max_s)
            self.store.update(sha256, attempts=attempts, total_attempts=row["total_attempts"] + 1,
                              last_error=reason, last_error_stage="orchestrator",
                              last_failure_kind="transient", next_attempt_at=self.clock() + delay)
            report.retrying.append(row["video_id"])
            return
        try:
            self.quarantine(row, "orchestrator", Failure("transient", reason), report, attempts=attempts)
        except sqlite3.Error:
            raise
        except Exception:  # cannot even move it: stop trying, say where it is
            logger.exception("could not quarantine; marked failed in place", extra={"video_id": row["video_id"]})
            self.store.update(sha256, state="failed", outcome=None, attempts=attempts, last_error=reason,
                              last_error_stage="orchestrator", last_failure_kind="transient",
                              finished_at=self.clock(), next_attempt_at=0)
            report.failed.append(row["video_id"])

    # --- final placement ---------------------------------------------------------------------------
    def mark_done(self, row: sqlite3.Row) -> None:
        final = destination_for(self.root, row["current_path"], "processed", row["sha256"])
        self.store.update(row["sha256"], outcome="done", final_path=final)

    def finish_move(self, row: sqlite3.Row, report: RunReport) -> None:
        try:
            complete_move(self.root, row["current_path"], row["final_path"])
        except VideoVanished as exc:
            logger.error("%s", exc, extra={"video_id": row["video_id"]})
        state = "done" if row["outcome"] == "done" else "failed"
        if state == "done":
            record_placement(self.root, self.layout.state, row)
        self.store.update(row["sha256"], state=state, current_path=row["final_path"], outcome=None,
                          finished_at=self.clock(), next_attempt_at=0)
        if state == "done":
            self.store.set_flag(SCHEDULE_PENDING, "1")
            report.done.append(row["video_id"])
            logger.info("done → %s", row["final_path"], extra={"video_id": row["video_id"]})
        else:
            report.failed.append(row["video_id"])
            logger.warning("quarantined → %s: %s", row["final_path"], row["last_error"],
                           extra={"video_id": row["video_id"]})
