"""The work queue against a real redis-server (tests/redis_server.py): one job per video and stage,
acknowledged only after a valid output, taken over from a silent worker, failed after N deliveries."""

import json
import threading
import time
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from orchestrator.failures import classify_result
from orchestrator.queue_runner import as_stage_result
from tests.redis_server import REDIS_SERVER, RedisServer
from vv_core.queue_worker import Worker
from vv_core.workqueue import GROUP, Job, WorkQueue, connect, stream_key

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed (requirements/apt.txt)")
SHA = "ab" * 32


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture
def schema(tmp_path) -> Path:
    path = tmp_path / "out.schema.json"
    path.write_text(json.dumps({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                                "required": ["source_hash"], "properties": {"source_hash": {"type": "string"}}}))
    return path


def job(tmp_path: Path, schema: Path, sha: str = SHA) -> Job:
    return Job(stage="scan", sha256=sha, video_id=f"cam_{sha[:6]}", input=str(tmp_path / "in.mp4"),
               output_dir=str(tmp_path / "out"), schema=str(schema))


def writer(calls: list[str], *, sha: str = SHA, gate: threading.Event | None = None):
    def handle(j: Job) -> str:
        calls.append(j.job_id)
        if gate is not None:
            gate.wait(10)
        out = Path(j.output_dir) / f"{j.video_id}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"source_hash": sha}))
        return str(out)
    return handle


def test_a_job_submitted_twice_is_queued_once_and_done_once(redis_server, tmp_path, schema):
    queue = WorkQueue(connect(redis_server.url))
    first = queue.submit(job(tmp_path, schema))
    assert queue.submit(job(tmp_path, schema)) == first          # still waiting: not added again
    assert queue.length("scan") == 1
    calls: list[str] = []
    worker = Worker(connect(redis_server.url), "scan", writer(calls), block_s=0.1)
    assert 'vv_queue_length{stage="scan"} 1.0' in generate_latest(worker.metrics.registry).decode()
    assert worker.run(max_jobs=1) == 1
    exported = generate_latest(worker.metrics.registry).decode()
    assert 'vv_queue_length{stage="scan"} 0.0' in exported
    assert f'vv_queue_jobs_in_flight{{stage="scan",worker="{worker.name}"}} 0.0' in exported
    assert 'vv_queue_jobs_total{outcome="ok",stage="scan"} 1.0' in exported
    result = queue.wait_any([f"scan:{SHA}"], 5)
    assert result is not None and result.exit_code == 0 and result.output.endswith(".json")
    assert queue.length("scan") == 0                              # acknowledged and deleted
    assert queue.submit(job(tmp_path, schema)) == first           # done, not collected: not again
    queue.collect(result.job_id)
    assert queue.submit(job(tmp_path, schema)) != first           # collected: a new attempt is a new job
    assert calls == [f"scan:{SHA}"]


def test_an_invalid_output_is_a_failed_result_not_an_ack_of_success(redis_server, tmp_path, schema):
    queue = WorkQueue(connect(redis_server.url))
    queue.submit(job(tmp_path, schema))
    worker = Worker(connect(redis_server.url), "scan", writer([], sha="cd" * 32), block_s=0.1)
    worker.run(max_jobs=1)
    result = queue.result(f"scan:{SHA}")
    assert result is not None and result.exit_code == 1 and result.output == ""
    assert "belongs to another video" in result.error
    assert classify_result(as_stage_result("scan", result)).permanent


def test_a_silent_workers_job_is_taken_over_then_failed_after_max_deliveries(redis_server, tmp_path, schema):
    client = connect(redis_server.url)
    queue = WorkQueue(client)
    queue.submit(job(tmp_path, schema))
    stream = stream_key("scan")
    # Delivery 1 and 2: workers that took the job and died (never acknowledged).
    client.xreadgroup(GROUP, "dead-1", {stream: ">"}, count=1)
    time.sleep(0.15)
    calls: list[str] = []
    survivor = Worker(connect(redis_server.url), "scan", writer(calls), claim_idle_s=0.1, max_deliveries=2,
                      block_s=0.1)
    entry, deliveries = survivor.next_entry()                      # taken over: delivery 2
    assert entry is not None and deliveries == 2
    time.sleep(0.15)                                               # ... and this one dies too
    entry, deliveries = survivor.next_entry()
    assert entry is not None and deliveries == 3
    survivor.handle(*entry, deliveries=deliveries)                 # delivery 3 > max 2: failed
    result = queue.result(f"scan:{SHA}")
    assert result is not None and result.exit_code == 1 and calls == []
    assert result.error.startswith("abandoned after 2 deliveries")
    failure = classify_result(as_stage_result("scan", result))
    assert failure.permanent and "died or stalled" in failure.reason   # → corrupted/ with this reason
    assert queue.length("scan") == 0
    assert survivor.metrics.redeliveries._value.get() == 2


def test_a_live_worker_keeps_its_job_however_long_it_takes(redis_server, tmp_path, schema):
    queue = WorkQueue(connect(redis_server.url))
    queue.submit(job(tmp_path, schema))
    gate = threading.Event()
    calls: list[str] = []
    slow = Worker(connect(redis_server.url), "scan", writer(calls, gate=gate), claim_idle_s=0.2, block_s=0.1)
    thread = threading.Thread(target=slow.run, kwargs={"max_jobs": 1})
    thread.start()
    while not calls:                                               # the slow worker has the job
        time.sleep(0.01)
    other = Worker(connect(redis_server.url), "scan", writer(calls), claim_idle_s=0.2, block_s=0.1)
    deadline = time.monotonic() + 1.0                              # 5 × the claim timeout
    while time.monotonic() < deadline:
        entry, _ = other.next_entry()
        if entry is not None:
            gate.set()
        assert entry is None, "a live worker's job was taken over"
    assert slow.metrics.in_flight._value.get() == 1
    gate.set()
    thread.join(10)
    assert calls == [f"scan:{SHA}"]
    assert queue.result(f"scan:{SHA}").exit_code == 0


def test_the_stream_and_its_pending_job_survive_a_redis_kill(redis_server, tmp_path, schema):
    client = connect(redis_server.url)
    WorkQueue(client).submit(job(tmp_path, schema))
    client.xreadgroup(GROUP, "dead-1", {stream_key("scan"): ">"}, count=1)   # in flight when Redis dies
    redis_server.restart()
    calls: list[str] = []
    worker = Worker(connect(redis_server.url), "scan", writer(calls), claim_idle_s=0.05, block_s=0.1)
    time.sleep(0.1)
    assert worker.run(max_jobs=1) == 1
    assert calls == [f"scan:{SHA}"]
    assert WorkQueue(connect(redis_server.url)).result(f"scan:{SHA}").exit_code == 0


def test_a_wait_blocks_on_the_wake_up_lists_and_a_wake_push_ends_it(redis_server, tmp_path, schema):
    """woken() reads no result key while it waits (one BLPOP, however long): a push on its wake key
    ends it at once, a worker's wake-up brings the result; a result whose wake-up was consumed is
    read with results(), as a run killed after popping it would need."""
    queue, client = WorkQueue(connect(redis_server.url)), connect(redis_server.url)
    queue.submit(job(tmp_path, schema))
    job_id = f"scan:{SHA}"
    client.config_resetstat()
    threading.Timer(0.5, queue.wake, ["vv:wake:test"]).start()
    started = time.monotonic()
    assert queue.woken([job_id], 20, wake="vv:wake:test") is None
    assert time.monotonic() - started < 5                         # woken, not timed out
    calls = {name: stats["calls"] for name, stats in client.info("commandstats").items()}
    assert calls.get("cmdstat_hgetall", 0) == 0 and calls["cmdstat_blpop"] == 1
    assert Worker(connect(redis_server.url), "scan", writer([]), block_s=0.1).run(max_jobs=1) == 1
    found = queue.woken([job_id], 5, wake="vv:wake:test")
    assert found is not None and found.exit_code == 0
    assert queue.woken([job_id], 0.2) is None                     # its wake-up consumed: no second one
    assert [r.job_id for r in queue.results([job_id, "scan:" + "cd" * 32])] == [job_id]
    queue.forget_wake("vv:wake:test")
    assert client.exists("vv:wake:test") == 0
