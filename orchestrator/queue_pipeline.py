"""The queue runner's run: a window of videos in flight, LogLines written in video order behind it.

The batch loop of the other runners takes N due videos, waits for all their summaries, writes their
LogLines, then takes the next N: with workers on other boxes, they would wait at every batch's end.
Here the orchestrator keeps up to ``QUEUE_WINDOW`` due videos in flight: a video enters the window
(oldest first), its scan and then its summary go on the queue, and it leaves once its LogLine is
recorded (or it failed); the next due video enters at once.

The LogLine stage stays a single writer, in video order: the writer takes the longest run of videos
at the window's head that are ready (summarized) or settled (failed, quarantined, retrying later),
and writes the ready ones' LogLines in one `vv logline` run (one checkpoint per group, as a batch's).
A video still being scanned or summarized holds back every later one: a later video never gets its
LogLine before an earlier one in flight. While the run writes (a worker thread that only waits for
the subprocess), this loop goes on recording results and enqueuing jobs; everything touching SQLite
stays on this thread. Groups form by themselves: what became ready while one run wrote is the next.
The loop never polls: it blocks on Redis (BLPOP) on the workers' wake-up lists of its pending jobs
and on its own wake-up list, which the writer thread pushes when a run ends (lists that carry no
data: a result stays in its key until recorded in SQLite, so a crash never loses one).

The window does not wait for the next run to take new videos: while it has room, it looks at
input/ again every ``QUEUE_RESCAN_S`` (the engine's own look and claim: settled files only, nothing
while ingestion is paused) and takes in what is due since, behind the videos already in it (their
LogLines later: video order is the order videos enter the window, by discovery). The run ends when
the window is empty and a last look finds nothing due; after ``QUEUE_RUN_MAX_S`` it takes nothing
new and drains (so the run's end, with its playlist and status, still comes under steady input).

Crash safety is the engine's: every state is committed after its file exists, a job enqueued again
is the same job (its result, if any, is found), and a LogLine written but not recorded is adopted.
"""

import logging
import sqlite3
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from orchestrator.batch_logline import logline_run, needs_logline, record_logged
from orchestrator.protocol import Engine
from orchestrator.queue_runner import QUEUED, QueueRunner, as_stage_result, due_on_queue, waited_in_vain
from orchestrator.runners import StageResult
from orchestrator.stages import DUE_IN_STATE, LOGLINE, TERMINAL_STATES, StageSpec
from vv_core.workqueue import JobResult, job_id_of

logger = logging.getLogger("vv.orchestrator")

QUEUED_JOB, READY, SETTLED = "queued", "ready", "settled"   # a video's place in the window


class QueuePipeline:
    def __init__(self, engine: Engine, due: list[sqlite3.Row], report: Any, advance: Callable[[], object],
                 more: Callable[[], list[sqlite3.Row]] | None = None) -> None:
        self.engine = engine
        self.runner: QueueRunner = engine.runner  # type: ignore[assignment]
        self.report, self.progressed = report, advance
        self.window = engine.settings.queue_window
        self.waiting = deque(row["sha256"] for row in due)   # due, not yet in the window (oldest first)
        self.taken = set(self.waiting)                       # every video this run took (once each)
        self.more = more                                     # claims what settled since, returns what is due
        settings = engine.settings
        self.rescan_s = settings.queue_rescan_s
        self.next_look = time.monotonic() + self.rescan_s
        self.take_until = time.monotonic() + settings.queue_run_max_s
        self.order: deque[str] = deque()                     # the window, in video order
        self.status: dict[str, str] = {}
        self.pending: dict[str, tuple[StageSpec, str, float]] = {}  # job id → (stage, video, enqueued at)
        self.unlooked: set[str] = set()                      # enqueued jobs whose result key was not read yet
        self.wake_key = f"vv:wake:orchestrator:{uuid.uuid4().hex}"  # the writer's "my run ended"
        self.writing: Future | None = None
        self.group: list[sqlite3.Row] = []                   # what the writer is writing
        self.quiet_since = time.monotonic()                  # the last time a worker finished a job

    def run(self) -> None:
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vv-logline") as writer:
                while True:
                    self.fill()
                    self.start_writing(writer)
                    if self.writing is None and not self.pending:
                        if not self.order and not self.waiting and not self.look_again():
                            return
                        continue  # the head moved on: take more videos in
                    self.wait()
                    if self.has_room() and time.monotonic() >= self.next_look:
                        self.look_again()
        finally:  # after the writer thread ended: no wake-up comes after this
            self.runner.queue.forget_wake(self.wake_key)

    # --- the window ---------------------------------------------------------------------------------
    def fill(self) -> None:
        """Take due videos into the window while it has room."""
        while self.waiting and len(self.order) < self.window:
            sha = self.waiting.popleft()
            self.order.append(sha)
            self.status[sha] = self.guarded(sha, lambda sha=sha: self.step(sha))

    def has_room(self) -> bool:
        """Room to take newly due videos in (none after QUEUE_RUN_MAX_S: no next look to wake up for)."""
        return self.more is not None and not self.waiting and len(self.order) < self.window \
            and time.monotonic() < self.take_until

    def look_again(self) -> bool:
        """Take the videos due since into ``waiting`` (True when there are any); none after QUEUE_RUN_MAX_S."""
        if self.more is None:
            return False
        if time.monotonic() >= self.take_until:
            self.report.cut_short = True   # `vv orchestrate --loop` starts the next run at once
            return False
        self.next_look = time.monotonic() + self.rescan_s
        new = [row["sha256"] for row in self.more() if row["sha256"] not in self.taken]
        if new:
            logger.info("%d newly due video(s) taken into the running window", len(new))
        self.waiting.extend(new)
        self.taken.update(new)
        return bool(new)

    def step(self, sha: str) -> str:
        """Take the video on: enqueue its next job, or let the engine do what needs no worker (adopt
        an output, re-derive a missing input, quarantine), until it waits for a job or its LogLine."""
        for _ in range(10):  # bounded like Orchestrator.process: each pass moves the state on
            row = self.engine.store.get(sha)
            assert row is not None
            spec = due_on_queue(self.engine, row)
            if spec is not None:
                job = self.engine.job_for(spec, row)
                if not self.pending:
                    self.quiet_since = time.monotonic()
                self.runner.submit(job)
                self.pending[job.job_id] = (spec, sha, self.engine.clock())
                self.unlooked.add(job.job_id)
                return QUEUED_JOB
            due = DUE_IN_STATE.get(row["state"]) if row["outcome"] is None else None
            if due in QUEUED:  # due_on_queue said no job: an output to adopt or an input missing (no run)
                moved = self.engine.advance(row, due, self.report)
                # A run killed after a worker's result but before recording it left the result: adopted now.
                self.runner.queue.collect(job_id_of(due.command, sha))
                if not moved:
                    return SETTLED
                continue
            return READY if self.engine.process_guarded(row, self.report, until=LOGLINE) else SETTLED
        logger.error("video did not settle within one run", extra={"video_id": row["video_id"]})
        return SETTLED

    def guarded(self, sha: str, action: Callable[[], str]) -> str:
        """An unexpected error counts against this video only (retried with backoff, as the engine does)."""
        try:
            return action()
        except sqlite3.Error:
            raise
        except Exception as exc:
            self.engine.internal_failure(sha, exc, self.report)
            return SETTLED

    # --- results -----------------------------------------------------------------------------------
    def wait(self) -> None:
        """Wait for a job's result or the writer, whichever comes first, and record what came.

        No polling: the loop blocks on Redis until a worker's wake-up for a pending job, the
        writer's wake-up (pushed when its run ends), the next look at input/ or QUEUE_WAIT_S. A
        job's result key is read when it is enqueued (a result whose wake-up a killed run consumed
        has none left) and when its wake-up comes, not while the loop waits."""
        if self.pending:
            found = self.runner.queue.results([i for i in self.unlooked if i in self.pending])
            self.unlooked.clear()
            if not found:
                timeout = max(0.0, self.runner.wait_s - (time.monotonic() - self.quiet_since))
                if self.has_room():  # wake up for the next look at input/
                    timeout = min(timeout, max(0.0, self.next_look - time.monotonic()))
                woken = self.runner.queue.woken(list(self.pending), timeout, wake=self.wake_key)
                found = [woken] if woken is not None else []
            if found:
                self.quiet_since = time.monotonic()
                for result in found:
                    if result.job_id in self.pending:
                        self.record(result)
            elif time.monotonic() - self.quiet_since >= self.runner.wait_s:
                self.give_up_waiting()
        if self.writing is not None and (self.writing.done() or not self.pending):
            self.finish_writing()

    def record(self, found: JobResult) -> None:
        spec, sha, started = self.pending.pop(found.job_id)
        row = self.engine.store.get(sha)
        assert row is not None
        finished = self.engine.clock()  # the stage run's own time, not its wait in the queue:

        def settle() -> str:
            moved = self.engine.settle(row, spec, as_stage_result(spec.command, found),
                                       max(started, finished - found.duration_s), finished, self.report)
            return self.step(sha) if moved else SETTLED
        self.status[sha] = self.guarded(sha, settle)
        self.runner.queue.collect(found.job_id)  # recorded in SQLite first: a crash here only leaves a stale key

    def give_up_waiting(self) -> None:
        """No worker finished anything for QUEUE_WAIT_S: every job still out is a failed attempt
        (transient: retried later, the job stays queued); the run goes on with the window's rest."""
        for job_id, (spec, sha, started) in list(self.pending.items()):
            def count_failed(spec: StageSpec = spec, sha: str = sha, started: float = started) -> str:
                row = self.engine.store.get(sha)
                assert row is not None
                self.engine.settle(row, spec, waited_in_vain(spec.command, self.runner.wait_s), started,
                                   self.engine.clock(), self.report)
                return SETTLED
            self.status[sha] = self.guarded(sha, count_failed)
            logger.warning("job %s still queued after %.0f s", job_id, self.runner.wait_s)
        self.pending.clear()

    # --- the single LogLine writer -------------------------------------------------------------------
    def start_writing(self, writer: ThreadPoolExecutor) -> None:
        """Drop the settled head of the window (making room); then, when the writer is free, write the
        LogLines of the ready videos at the head, up to the first one still in flight."""
        while True:
            while self.order and self.status[self.order[0]] == SETTLED:
                self.leave()
            if self.writing is not None or not self.order or self.status[self.order[0]] != READY:
                return
            head = self.order[0]
            group = self.ready_run()
            if not group:  # the head needs more than one batch run (a retry alone, a missing summary)
                self.status[head] = self.guarded(head, lambda head=head: self.finish(head))
                continue
            self.group = group
            self.writing = writer.submit(write_loglines, self.runner, self.engine.clock,
                                         *logline_run(self.engine, group))
            self.writing.add_done_callback(self.wake_when_written)
            return

    def ready_run(self) -> list[sqlite3.Row]:
        """The ready videos from the window's head on, up to the first that is in flight or cannot go
        in a batch run (its LogLine would then come after later ones')."""
        group = []
        for sha in self.order:
            if self.status[sha] == SETTLED:
                continue
            row = self.engine.store.get(sha) if self.status[sha] == READY else None
            if row is None or not needs_logline(self.engine, row):
                break
            group.append(row)
        return group

    def wake_when_written(self, _done: Future) -> None:
        """(The writer thread.) Wake the loop blocked in :meth:`wait`; a wake-up that cannot be pushed
        only means the loop notices the writer at its next result or timeout."""
        try:
            self.runner.queue.wake(self.wake_key)
        except Exception as exc:
            logger.warning("could not wake the window after a logline run: %s", exc)

    def finish_writing(self) -> None:
        assert self.writing is not None
        try:
            started, result, finished = self.writing.result()
        except Exception as exc:  # the run could not even be waited for: each video is logged alone
            logger.exception("logline run failed")
            started = finished = self.engine.clock()
            result = StageResult(LOGLINE.command, None, "", "", 0.0, infrastructure_error=str(exc))
        group, self.writing, self.group = self.group, None, []
        try:
            record_logged(self.engine, group, result, started, finished)
        except sqlite3.Error:
            raise
        except Exception:  # as a failed batch: each video below adopts its LogLine or is logged alone
            logger.exception("recording the logline run failed")
        for row in group:  # adopt the LogLines; a video the run did not log is logged alone, in order
            self.status[row["sha256"]] = self.guarded(row["sha256"], lambda sha=row["sha256"]: self.finish(sha))

    def finish(self, sha: str) -> str:
        row = self.engine.store.get(sha)
        assert row is not None
        self.engine.process_guarded(row, self.report)
        return SETTLED

    def leave(self) -> None:
        sha = self.order.popleft()
        del self.status[sha]
        row = self.engine.store.get(sha)
        if row is not None and row["state"] in TERMINAL_STATES:
            # Finished (in SQLite): a result a killed run recorded but did not collect goes now.
            self.runner.queue.collect(*(job_id_of(spec.command, sha) for spec in QUEUED))
        self.progressed()


def write_loglines(runner: QueueRunner, clock: Callable[[], float], args: list[str],
                   timeout_s: float) -> tuple[float, StageResult, float]:
    """The writer thread's part: one `vv logline` run, timed (no SQLite here: its connection is the loop's)."""
    started = clock()
    return started, runner.run(LOGLINE.command, args, timeout_s), clock()


def run_pipelined(engine: Engine, due: list[sqlite3.Row], report: Any, advance: Callable[[], object],
                  more: Callable[[], list[sqlite3.Row]] | None = None) -> None:
    """Take ``due`` (oldest first) through the queue runner with ``QUEUE_WINDOW`` videos in flight, and
    what ``more`` returns (due since) while the window has room."""
    QueuePipeline(engine, due, report, advance, more).run()
