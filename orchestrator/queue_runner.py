"""The queue runner (``ORCHESTRATOR_RUNNER=queue``): scans and summaries by long-lived workers.

Scan and summarize jobs go on Redis Streams (:mod:`vv_core.workqueue`) and any number of
`vv worker --stage scan|summarize` processes, on this box or others sharing the storage root, take
them with their models already loaded. Everything else stays as with the local runner: the same
files, the same states in SQLite, the same failure classification (a job's result carries the
stage's exit code and one-line error), and the LogLine stage runs here, one `vv logline` at a time
in video order, so the chain has a single writer.

:mod:`.queue_pipeline` keeps the workers busy: it keeps up to ``QUEUE_WINDOW`` videos in flight,
records each result as it comes in (as :meth:`Orchestrator.settle` does for any runner), enqueues the
video's next stage, and has the LogLines written in video order while the workers go on.
"""

import logging
import sqlite3

from orchestrator.protocol import Engine
from orchestrator.runners import LocalRunner, StageResult
from orchestrator.settings import PipelineSettings
from orchestrator.stages import DUE_IN_STATE, SCAN, SUMMARIZE, StageSpec
from vv_core.workqueue import Job, JobResult, WorkQueue, connect

QUEUED: tuple[StageSpec, ...] = (SCAN, SUMMARIZE)  # the stages the workers do
logger = logging.getLogger("vv.orchestrator")


class QueueRunner:
    """Scan and summarize on the queue; logline and schedule as local subprocesses."""

    name = "queue"

    def __init__(self, queue: WorkQueue, local: LocalRunner, wait_s: float) -> None:
        self.queue = queue
        self.local = local
        self.wait_s = wait_s

    @classmethod
    def from_settings(cls, settings: PipelineSettings) -> "QueueRunner":
        queue = WorkQueue(connect(settings.queue_redis_url))
        return cls(queue, LocalRunner.from_settings(settings), settings.queue_wait_s)

    def run(self, command: str, args: list[str], timeout_s: float) -> StageResult:
        if command in {spec.command for spec in QUEUED}:
            raise ValueError(f"`{command}` runs on the queue: use run_job")
        return self.local.run(command, args, timeout_s)

    def submit(self, job: Job) -> str:
        return self.queue.submit(job)

    def run_job(self, job: Job, timeout_s: float) -> StageResult:
        """One job, waited for (the engine's own handling, outside :mod:`.queue_pipeline`)."""
        self.submit(job)
        found = self.queue.wait_any([job.job_id], min(timeout_s, self.wait_s))
        if found is None:
            return waited_in_vain(job.stage, min(timeout_s, self.wait_s))
        # Collected before the engine records it: a crash in between only means the stage runs again.
        self.queue.collect(job.job_id)
        return as_stage_result(job.stage, found)


def as_stage_result(stage: str, found: JobResult) -> StageResult:
    """A worker's result in the terms of the command contract the failure classification reads."""
    return StageResult(stage, found.exit_code, found.output + "\n" if found.output else "",
                       f"error: {found.error}\n" if found.error else "", found.duration_s,
                       container=f"worker {found.worker}")


def waited_in_vain(stage: str, waited_s: float) -> StageResult:
    """No worker finished the job in time: transient (workers down or swamped); the job stays queued."""
    return StageResult(stage, None, "", "", waited_s,
                       infrastructure_error=f"no {stage} worker finished the job within {waited_s:.0f} s")


def due_on_queue(orchestrator: Engine, row: sqlite3.Row) -> StageSpec | None:
    """The queued stage this video needs now; None when it needs none, or the engine's own handling
    (an output to adopt, a missing input to re-derive or quarantine)."""
    if row["outcome"] is not None:
        return None
    spec = DUE_IN_STATE.get(row["state"])
    if spec not in QUEUED:
        return None
    assert spec is not None
    stage_input = row[spec.input_column]
    if stage_input is None or not (orchestrator.root / stage_input).is_file():
        return None
    expected = orchestrator.expected_output(spec, row)
    return spec if orchestrator.valid_output(expected, str(spec.schema), row) is not None else None
