"""A long-lived worker of one stage on the work queue (:mod:`vv_core.workqueue`): `vv worker`.

The stage gives a handler (models loaded once, before the first job) that does one job and returns
the path it wrote. The worker checks that output (JSON, the stage's schema, the video's
``source_hash``) and only then, in one transaction, records the result and acknowledges the entry.
A worker killed mid-job leaves its entry pending: another worker claims it once it has been silent
for ``claim_idle_s`` (a live worker re-claims its own job every ``claim_idle_s / 4``, which resets
the idle time without counting a delivery). An entry delivered more than ``max_deliveries`` times is
failed with that reason instead of being tried again: the orchestrator quarantines the video.

Metrics (prometheus-client, on ``metrics_port`` when given): ``vv_queue_length{stage}``,
``vv_queue_jobs_in_flight{stage,worker}``, ``vv_queue_redeliveries_total{stage}``,
``vv_queue_jobs_total{stage,outcome}``.
"""

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from vv_core.cli_support import EXIT_FAILURE, one_line, reason_and_code
from vv_core.errors import SchemaValidationError
from vv_core.schema import validate_schema
from vv_core.workqueue import ABANDONED, GROUP, KEY_TTL_S, Job, consumer_name, retrying, stream_key

logger = logging.getLogger("vv.worker")
Handler = Callable[[Job], str]


class QueueMetrics:
    def __init__(self, stage: str, worker: str, length: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.in_flight = Gauge("vv_queue_jobs_in_flight", "Jobs this worker is doing now.",
                               ["stage", "worker"], registry=self.registry).labels(stage, worker)
        self.redeliveries = Counter("vv_queue_redeliveries", "Jobs this worker claimed from a silent worker.",
                                    ["stage"], registry=self.registry).labels(stage)
        self.jobs = Counter("vv_queue_jobs", "Jobs this worker finished, by outcome.",
                            ["stage", "outcome"], registry=self.registry)
        length_gauge = Gauge("vv_queue_length", "Jobs of the stage not yet acknowledged (waiting or in flight).",
                             ["stage"], registry=self.registry)
        length_gauge.labels(stage).set_function(lambda: _or_nan(length))


def _or_nan(read: Callable[[], int]) -> float:
    try:
        return float(read())
    except Exception:  # Redis away: the scrape says "unknown", not 0
        return float("nan")


def check_output(path: str, job: Job) -> str | None:
    """None when ``path`` is a valid output of ``job``; else why not."""
    file = Path(path)
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
        validate_schema(document, job.schema)
    except OSError as exc:
        return f"output unreadable: {exc}"
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return f"{file.name} is not JSON: {exc}"
    except SchemaValidationError as exc:
        return str(exc)
    if document.get("source_hash") != job.sha256:
        return f"{file.name} belongs to another video (source_hash mismatch)"
    return None


class Worker:
    def __init__(self, client: Any, stage: str, handler: Handler, *, claim_idle_s: float = 60.0,
                 max_deliveries: int = 3, block_s: float = 1.0, name: str | None = None) -> None:
        self.redis = client
        self.stage = stage
        self.stream = stream_key(stage)
        self.handler = handler
        self.claim_idle_ms = max(1, int(claim_idle_s * 1000))
        self.max_deliveries = max_deliveries
        self.block_ms = max(1, int(block_s * 1000))
        self.name = name or consumer_name()
        self.stop = threading.Event()
        self._job_done = threading.Event()  # set when the job in hand ends: its keep-alive stops at once
        self._group_ready = False
        self._next_claim_check = 0.0
        self.metrics = QueueMetrics(stage, self.name, lambda: int(self.redis.xlen(self.stream)))

    # --- the loop ------------------------------------------------------------------------------------
    def run(self, max_jobs: int | None = None) -> int:
        """Take jobs until :attr:`stop` is set (or ``max_jobs`` are done); return the jobs done."""
        import redis

        done = 0
        while not self.stop.is_set() and (max_jobs is None or done < max_jobs):
            try:
                entry, deliveries = self.next_entry()
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as exc:
                logger.warning("redis unreachable, retrying: %s", exc)
                self.stop.wait(0.5)
                continue
            if entry is None:
                continue
            self.handle(*entry, deliveries=deliveries)
            done += 1
        return done

    def next_entry(self) -> tuple[tuple[str, dict[str, str]] | None, int]:
        """A job silent too long at another worker first, else a new one (blocking up to block_s)."""
        import redis

        if not self._group_ready:
            self.ensure_group()
            self._group_ready = True
        try:
            return self._next_entry()
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._group_ready = False  # Redis lost the group (restarted without its AOF): create it again
            return None, 0

    def _next_entry(self) -> tuple[tuple[str, dict[str, str]] | None, int]:
        claimed = []
        now = time.monotonic()
        if now >= self._next_claim_check:  # a silent worker's job waits claim_idle_s anyway: look now and then
            _, claimed, _ = self.redis.xautoclaim(self.stream, GROUP, self.name, self.claim_idle_ms, "0-0", count=1)
            if not claimed:
                self._next_claim_check = now + min(self.block_ms, self.claim_idle_ms / 4) / 1000
        if claimed:
            entry_id, fields = claimed[0]
            pending = self.redis.xpending_range(self.stream, GROUP, entry_id, entry_id, 1)
            deliveries = int(pending[0]["times_delivered"]) if pending else 2
            self.metrics.redeliveries.inc()
            logger.warning("claimed job %s:%s from a silent worker (delivery %d)", self.stage, fields.get("sha256"),
                           deliveries)
            return (entry_id, fields), deliveries
        read = self.redis.xreadgroup(GROUP, self.name, {self.stream: ">"}, count=1, block=self.block_ms)
        if not read or not read[0][1]:
            return None, 0
        entry_id, fields = read[0][1][0]
        return (entry_id, fields), 1

    def ensure_group(self) -> None:
        import redis

        try:
            self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    # --- one job -------------------------------------------------------------------------------------
    def handle(self, entry_id: str, fields: dict[str, str], *, deliveries: int) -> None:
        job = Job(**{name: fields[name] for name in ("stage", "sha256", "video_id", "input", "output_dir",
                                                     "schema")})
        started = time.monotonic()
        if deliveries > self.max_deliveries:
            reason = (f"{ABANDONED} after {deliveries - 1} deliveries: the worker doing it died or stalled "
                      f"each time ({self.stage} of {job.video_id})")
            self.finish(entry_id, job, EXIT_FAILURE, "", reason, started, deliveries)
            return
        self.metrics.in_flight.inc()
        self._job_done.clear()
        keeper = threading.Thread(target=self._keep_claimed, args=(entry_id,), daemon=True)
        keeper.start()
        try:
            output = self.handler(job)
            problem = check_output(output, job)
            code, error = (0, "") if problem is None else (EXIT_FAILURE, f"invalid output: {problem}")
        except Exception as exc:  # the stage's one-line contract: the input's fault (1) or internal (2)
            output = ""
            reason, code = reason_and_code(exc)
            error = one_line(reason)
        finally:
            self._job_done.set()
            keeper.join()
            self.metrics.in_flight.dec()
        self.finish(entry_id, job, code, output if code == 0 else "", error, started, deliveries)

    def _keep_claimed(self, entry_id: str) -> None:
        """While the job runs, re-claim it now and then so no other worker thinks this one is dead."""
        while not self._job_done.wait(self.claim_idle_ms / 4000):
            try:
                self.redis.xclaim(self.stream, GROUP, self.name, 0, [entry_id], justid=True)
            except Exception as exc:  # Redis restarting: the next beat tries again
                logger.debug("keep-alive of %s failed: %s", entry_id, exc)

    def finish(self, entry_id: str, job: Job, code: int, output: str, error: str, started: float,
               deliveries: int) -> None:
        """Record the result, wake the orchestrator and acknowledge: one transaction, retried until
        Redis answers (the output is on disk; losing the ack would only mean doing it again)."""
        result = {"job_id": job.job_id, "exit_code": code, "output": output, "error": error,
                  "duration_s": round(time.monotonic() - started, 4), "worker": self.name,
                  "deliveries": deliveries}

        def commit() -> None:
            pipe = self.redis.pipeline(transaction=True)
            pipe.hset(f"vv:result:{job.job_id}", mapping=result)
            pipe.expire(f"vv:result:{job.job_id}", KEY_TTL_S)
            pipe.delete(f"vv:done:{job.job_id}")
            pipe.rpush(f"vv:done:{job.job_id}", "1")
            pipe.expire(f"vv:done:{job.job_id}", KEY_TTL_S)
            pipe.xack(self.stream, GROUP, entry_id)
            pipe.xdel(self.stream, entry_id)
            pipe.execute()

        retrying(commit, deadline_s=3600, what=f"record {job.job_id}")
        outcome = "ok" if code == 0 else (ABANDONED if error.startswith(ABANDONED) else "failed")
        self.metrics.jobs.labels(self.stage, outcome).inc()
        logger.info("job %s: %s in %.2f s%s", job.job_id, outcome, result["duration_s"],
                    f": {error}" if error else "", extra={"video_id": job.video_id})
