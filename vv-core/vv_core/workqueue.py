"""The work queue on Redis Streams shared by the queue runner (orchestrator) and `vv worker`.

One stream per stage (``vv:jobs:<stage>``) read by one consumer group (``workers``). A job is one
video and one stage; its id is ``<stage>:<sha256>`` so that enqueuing it again while it waits (an
orchestrator restarted mid-run) adds nothing, and doing it twice (a worker killed after writing)
has one effect: the stage writes the same file, atomically, at the same path.

The life of a job:
1. the orchestrator :meth:`WorkQueue.submit` s it (a Lua script: XADD unless the same job is still
   in the stream or already has a result);
2. a worker reads it (XREADGROUP), or claims it from a worker that went silent (XAUTOCLAIM after
   ``claim_idle_s``; a live worker keeps its job by re-claiming it every ``claim_idle_s / 4``);
3. the worker writes and validates the output, then in one transaction stores the result
   (``vv:result:<job>``), wakes the orchestrator (``vv:done:<job>``) and XACK + XDEL the entry;
   a job delivered more than ``max_deliveries`` times gets a failure result instead of a 4th try;
4. the orchestrator :meth:`WorkQueue.wait_any` s for results (the queue runner's window: a look at
   :meth:`WorkQueue.results` once per job, then blocks in :meth:`WorkQueue.woken`) and
   :meth:`WorkQueue.collect` s them.

No stage logic here: a worker is given a handler (a function of the job returning the path written).
"""

import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

logger = logging.getLogger("vv.workqueue")

GROUP = "workers"
KEY_TTL_S = 7 * 86400  # a job or result nobody collects (its video deleted by hand) expires
ABANDONED = "abandoned"
WAKE_TTL_S = 3600  # a wake-up list left by a killed orchestrator expires

# KEYS: job key, stream, result key; ARGV: ttl, then the entry's field/value pairs.
_SUBMIT = """
local existing = redis.call('GET', KEYS[1])
if existing then
  if redis.call('EXISTS', KEYS[3]) == 1 then return existing end
  if #redis.call('XRANGE', KEYS[2], existing, existing) > 0 then return existing end
end
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
local id = redis.call('XADD', KEYS[2], '*', unpack(fields))
redis.call('SET', KEYS[1], id, 'EX', tonumber(ARGV[1]))
return id
"""


def stream_key(stage: str) -> str:
    return f"vv:jobs:{stage}"


@dataclass(frozen=True)
class Job:
    stage: str            # "scan", "summarize"
    sha256: str           # the video's content hash: with the stage, the job's identity
    video_id: str
    input: str            # absolute path of the stage's input
    output_dir: str
    schema: str           # schemas/<schema>.schema.json validates the output

    @property
    def job_id(self) -> str:
        return job_id_of(self.stage, self.sha256)


def job_id_of(stage: str, sha256: str) -> str:
    return f"{stage}:{sha256}"


@dataclass(frozen=True)
class JobResult:
    job_id: str
    exit_code: int        # the stage command contract: 0 ok, 1 the input's fault, 2 internal
    output: str           # the path written ("" on failure)
    error: str            # one line ("" on success)
    duration_s: float
    worker: str
    deliveries: int = 1


def connect(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2,
                                health_check_interval=10)


def retrying(action: Callable[[], Any], *, deadline_s: float, what: str) -> Any:
    """Run ``action`` until Redis answers (a restart takes a moment) or ``deadline_s`` passes."""
    import redis

    end = time.monotonic() + deadline_s
    delay = 0.05
    while True:
        try:
            return action()
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as exc:
            if time.monotonic() >= end:
                raise
            logger.warning("redis unreachable (%s), retrying: %s", what, exc)
            time.sleep(delay)
            delay = min(1.0, delay * 2)


class WorkQueue:
    """The queue as its producer (the orchestrator) sees it."""

    def __init__(self, client: Any, *, reconnect_s: float = 60.0) -> None:
        self.redis = client
        self.reconnect_s = reconnect_s
        self._submit = client.register_script(_SUBMIT)
        self._groups: set[str] = set()  # stages whose consumer group this process has made sure of

    def ensure_group(self, stage: str) -> None:
        import redis

        try:
            self.redis.xgroup_create(stream_key(stage), GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def submit(self, job: Job) -> str:
        """Enqueue ``job`` unless it is already waiting or done; return its stream entry id."""
        def go() -> str:
            if job.stage not in self._groups:
                self.ensure_group(job.stage)
                self._groups.add(job.stage)
            fields = [item for pair in asdict(job).items() for item in pair]
            return str(self._submit(keys=[f"vv:job:{job.job_id}", stream_key(job.stage), f"vv:result:{job.job_id}"],
                                    args=[KEY_TTL_S, *fields, "enqueued_at", repr(time.time())]))
        return retrying(go, deadline_s=self.reconnect_s, what=f"submit {job.job_id}")

    def result(self, job_id: str) -> JobResult | None:
        data = retrying(lambda: self.redis.hgetall(f"vv:result:{job_id}"), deadline_s=self.reconnect_s,
                        what="read a result")
        return _parse_result(data) if data else None

    def wait_any(self, job_ids: Iterable[str], timeout_s: float) -> JobResult | None:
        """The result of one of ``job_ids`` (any order), or None when none came within ``timeout_s``."""
        ids = list(job_ids)
        if not ids:
            return None
        found = self.results(ids)  # also a result whose wake-up an earlier run consumed
        return found[0] if found else self.woken(ids, timeout_s)

    def results(self, job_ids: Iterable[str]) -> list[JobResult]:
        """The results already there of ``job_ids`` (one pipelined read)."""
        ids = list(job_ids)
        if not ids:
            return []

        def read() -> list[dict[str, str]]:
            pipe = self.redis.pipeline(transaction=False)
            for job_id in ids:
                pipe.hgetall(f"vv:result:{job_id}")
            return pipe.execute()
        return [_parse_result(data) for data in retrying(read, deadline_s=self.reconnect_s, what="read results")
                if data]

    def woken(self, job_ids: Iterable[str], timeout_s: float, *, wake: str | None = None) -> JobResult | None:
        """Block until a worker's wake-up for one of ``job_ids`` (its result), a push on ``wake`` (None:
        see :meth:`wake`) or ``timeout_s`` (None). Only what is announced by a wake-up: a result whose
        wake-up was consumed (by a run killed before recording it) is read with :meth:`results`."""
        keys = [f"vv:done:{i}" for i in job_ids] + ([wake] if wake else [])
        end = time.monotonic() + timeout_s
        while keys and (left := end - time.monotonic()) > 0:
            popped = retrying(lambda: self.redis.blpop(keys, timeout=max(0.01, left)),
                              deadline_s=self.reconnect_s, what="wait for results")
            if popped is None or popped[0] == wake:
                return None
            found = self.result(popped[0].removeprefix("vv:done:"))
            if found is not None:  # else collected since (an output adopted): wait on
                return found
        return None

    def wake(self, key: str) -> None:
        """Wake the process blocked in :meth:`woken` with ``wake=key`` (a list that carries no data;
        the orchestrator's LogLine writer pushes it when its run ends)."""
        def push() -> None:
            pipe = self.redis.pipeline(transaction=True)
            pipe.rpush(key, "1")
            pipe.expire(key, WAKE_TTL_S)
            pipe.execute()
        retrying(push, deadline_s=self.reconnect_s, what="wake the orchestrator")

    def forget_wake(self, key: str) -> None:
        retrying(lambda: self.redis.delete(key), deadline_s=self.reconnect_s, what="forget a wake-up key")

    def collect(self, *job_ids: str) -> None:
        """Forget jobs whose result the orchestrator has recorded (the next attempt is a new job)."""
        keys = [f"vv:{kind}:{job_id}" for job_id in job_ids for kind in ("result", "done", "job")]
        retrying(lambda: self.redis.delete(*keys), deadline_s=self.reconnect_s, what="collect a result")

    def length(self, stage: str) -> int:
        """Jobs not yet acknowledged (waiting or in flight): entries are deleted when acknowledged."""
        return int(self.redis.xlen(stream_key(stage)))


def _parse_result(data: dict[str, str]) -> JobResult:
    return JobResult(job_id=data["job_id"], exit_code=int(data["exit_code"]), output=data["output"],
                     error=data["error"], duration_s=float(data["duration_s"]), worker=data["worker"],
                     deliveries=int(data.get("deliveries", 1)))


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"
