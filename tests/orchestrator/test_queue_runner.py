"""The queue runner's quarantine path with a real redis-server: a video whose scan kills every worker
that takes it (a real worker process, SIGKILLed by its own handler, restarted as systemd would) is
failed after QUEUE_MAX_DELIVERIES and quarantined to corrupted/ with that reason, as today."""

import json
import subprocess
import sys
import threading
import time

import pytest

from orchestrator.engine import Orchestrator
from orchestrator.queue_runner import QueueRunner
from tests.helpers import REPO_ROOT, repo_env
from tests.redis_server import REDIS_SERVER, RedisServer
from vv_core.workqueue import WorkQueue, connect

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed (requirements/apt.txt)")

DYING_WORKER = """
import os, signal, sys
from vv_core.queue_worker import Worker
from vv_core.workqueue import connect

def die(job):
    os.kill(os.getpid(), signal.SIGKILL)   # the worker dies mid-job, every time

Worker(connect(sys.argv[1]), "scan", die, claim_idle_s=0.3, max_deliveries=2, block_s=0.1).run()
"""


def test_a_job_that_kills_every_worker_quarantines_its_video_with_the_reason(box, tmp_path):
    redis = RedisServer(tmp_path / "redis")
    video = box.drop("cam1/poison.mp4")
    runner = QueueRunner(WorkQueue(connect(redis.url)), box.runner(), wait_s=20)
    done = threading.Event()
    starts = []

    def supervise() -> None:  # restarts the worker whenever it dies, as systemd would
        worker = None
        while not done.is_set():
            if worker is None or worker.poll() is not None:
                worker = subprocess.Popen([sys.executable, "-c", DYING_WORKER, redis.url], env=repo_env(),
                                          cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                starts.append(worker.pid)
            time.sleep(0.05)
        worker.kill()
        worker.wait(10)

    supervisor = threading.Thread(target=supervise)
    supervisor.start()
    orchestrator = Orchestrator(box.settings, runner)
    try:
        report = orchestrator.run_once()
    finally:
        done.set()
        supervisor.join(20)
        orchestrator.close()
        redis.stop()

    assert len(report.failed) == 1, report
    assert len(starts) >= 3                                  # died on delivery 1 and 2; the 3rd start failed it
    assert not video.exists()
    record = json.loads((box.root / "corrupted" / "cam1" / "poison.mp4.error.json").read_text())
    assert record["stage"] == "scan" and record["kind"] == "permanent"
    assert record["error"].startswith("abandoned after 2 deliveries: the worker doing it died or stalled")
    assert box.files("corrupted") == ["cam1/poison.mp4", "cam1/poison.mp4.error.json"]
