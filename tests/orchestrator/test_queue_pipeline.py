"""The queue runner's window (orchestrator/queue_pipeline.py) with a real redis-server: worker threads
doing the contract double's scan and summary (vv_core.queue_worker.Worker), the contract double's
`vv logline` as the single writer (CONTRACT_LOG records each LogLine it writes, in order).

- the window is no batch barrier: segment 9+ is on the queue before any LogLine of 1-8 is written,
  and QUEUE_WINDOW bounds it (a video enters once the one QUEUE_WINDOW places before it is logged);
- LogLines come out in video order behind a slow earlier video (a quarantined one does not hold
  the rest back);
- a video dropped into input/ while the run's window is busy is taken in and logged by the same run,
  after the videos already in it (video order is the order of entry, not of names); under steady
  input the run stops taking videos in at QUEUE_RUN_MAX_S, drains and ends;
- a SIGKILL of `vv orchestrate` while its writer has written LogLines it has not recorded yet, with
  later jobs on the workers: the next run logs every video exactly once.
"""

import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.cli import run_loop
from orchestrator.engine import Orchestrator
from orchestrator.queue_runner import QueueRunner
from orchestrator.runners import LocalRunner, StageResult
from orchestrator.state import StateStore
from tests.orchestrator import contract_stages
from tests.orchestrator.conftest import Box, contract_command
from tests.redis_server import REDIS_SERVER, RedisServer
from vv_core.errors import VVError
from vv_core.queue_worker import Worker
from vv_core.workqueue import Job, WorkQueue, connect

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed (requirements/apt.txt)")
VIDEOS = 12   # more than the other runners' batch of 8


class Workers:
    """Scan and summarize workers on threads; ``hooks[(stage, video_id)]`` runs before that job's work
    (``hooks[(stage, "*")]`` before every other job of the stage)."""

    def __init__(self, url: str, *, scans: int = 2, summaries: int = 1) -> None:
        self.taken: list[tuple[str, str, float]] = []      # (stage, video id, time.time()) as taken
        self.done: list[tuple[str, str]] = []
        self.hooks: dict[tuple[str, str], Callable[[], None]] = {}
        self.workers = [Worker(connect(url), stage, self.handler, claim_idle_s=5, block_s=0.05, name=f"t-{stage}-{i}")
                        for stage, count in (("scan", scans), ("summarize", summaries)) for i in range(count)]
        self.threads = [threading.Thread(target=worker.run, daemon=True) for worker in self.workers]
        for thread in self.threads:
            thread.start()

    def handler(self, job: Job) -> str:
        self.taken.append((job.stage, job.video_id, time.time()))
        self.hooks.get((job.stage, job.video_id), self.hooks.get((job.stage, "*"), lambda: None))()
        out_dir = Path(job.output_dir)
        if job.stage == "scan":
            if contract_stages.scan(Path(job.input), job.video_id, out_dir, None):
                raise VVError(f"not a video: {Path(job.input).name}")
            path = out_dir / f"{job.video_id}.analytic.json"
        else:
            contract_stages.write_output("summarize", Path(job.input), out_dir, None)
            path = out_dir / f"{job.video_id}.summary.json"
        self.done.append((job.stage, job.video_id))
        return str(path)

    def taken_of(self, stage: str) -> list[str]:
        return [video for kind, video, _ in self.taken if kind == stage]

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop.set()
        for thread in self.threads:
            thread.join(10)


@pytest.fixture
def redis(tmp_path):
    server = RedisServer(tmp_path / "redis")
    yield server
    server.stop()


def queue_box(storage_root: Path, tmp_path: Path, redis: RedisServer) -> Box:
    box = Box(storage_root, tmp_path, orchestrator_runner="queue", queue_redis_url=redis.url)
    box.env["CONTRACT_LOG"] = str(tmp_path / "loglines.log")
    return box


def drop_segments(box: Box) -> list[str]:
    """VIDEOS segments of one camera; their ids in video order (discovery sorts by path)."""
    for i in range(VIDEOS):
        box.drop(f"cam1/seg{i:02d}.mp4")
    return [f"cam1_seg{i:02d}" for i in range(VIDEOS)]


def loglines_written(box: Box) -> list[tuple[float, str]]:
    log = Path(box.env["CONTRACT_LOG"])
    lines = log.read_text().splitlines() if log.is_file() else []
    return [(float(at), video) for at, video in (line.split() for line in lines)]


def run_queue(box: Box, redis: RedisServer):
    orchestrator = Orchestrator(box.settings, QueueRunner(WorkQueue(connect(redis.url)), box.runner(), wait_s=30))
    try:
        return orchestrator.run_once()
    finally:
        orchestrator.close()


def wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def test_the_window_is_no_batch_barrier(storage_root, tmp_path, redis):
    box = queue_box(storage_root, tmp_path, redis)
    ids = drop_segments(box)
    workers = Workers(redis.url)
    first_summary = threading.Event()

    def hold_the_first_summary() -> None:  # until every scan is on a worker (5 s at most)
        if not first_summary.is_set():
            first_summary.set()
            wait_until(lambda: len(workers.taken_of("scan")) == VIDEOS, 5)
    for video in ids:
        workers.hooks[("summarize", video)] = hold_the_first_summary
    try:
        report = run_queue(box, redis)
    finally:
        workers.stop()

    assert sorted(report.done) == ids
    first_logline = min(at for at, _ in loglines_written(box))
    scanned_before = [video for kind, video, at in workers.taken if kind == "scan" and at < first_logline]
    assert sorted(scanned_before) == ids   # the old batch loop: only segments 1-8 before their LogLines


def test_loglines_come_out_in_video_order_behind_a_slow_earlier_video(storage_root, tmp_path, redis):
    box = queue_box(storage_root, tmp_path, redis)
    ids = drop_segments(box)
    box.drop("cam1/seg02.mp4", b"not a video")  # an earlier video that is quarantined
    good = [video for video in ids if video != "cam1_seg02"]
    workers = Workers(redis.url, summaries=2)
    waited = []

    def slow_first_summary() -> None:  # every later summary is done before the first one is
        waited.append(wait_until(lambda: sum(stage == "summarize" for stage, _ in workers.done) == len(good) - 1, 5))
    workers.hooks[("summarize", good[0])] = slow_first_summary
    try:
        report = run_queue(box, redis)
    finally:
        workers.stop()

    assert waited == [True]   # the old batch loop: segments 9+ wait for the LogLines of 1-8
    assert [video for _, video in loglines_written(box)] == good   # in video order, each once
    assert sorted(report.done) == good and report.failed == ["cam1_seg02"]
    assert box.files("corrupted") == ["cam1/seg02.mp4", "cam1/seg02.mp4.error.json"]


def test_a_kill_mid_window_resumes_exactly_once(storage_root, tmp_path, redis):
    box = queue_box(storage_root, tmp_path, redis)
    ids = drop_segments(box)
    box.inject("logline", "sleep_after")   # the first `vv logline` run writes, then hangs: killed there
    env = {**box.env, "ORCHESTRATOR_VV_COMMAND": shlex.join(contract_command()), "STABLE_WAIT_S": "0",
           "RETRY_BACKOFF_S": "0", "KEY_STORE_PATH": str(tmp_path / "secrets/keys.json"),
           "ORCHESTRATOR_RUNNER": "queue", "QUEUE_REDIS_URL": redis.url, "QUEUE_WAIT_S": "30"}
    workers = Workers(redis.url)
    release = threading.Event()
    workers.hooks[("scan", ids[-1])] = lambda: release.wait(30)   # the last scan is on a worker at the kill
    orchestrate = [sys.executable, "-m", "vv_cli.main", "orchestrate", "--once"]
    first = subprocess.Popen(orchestrate, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        killed_mid_window = wait_until(lambda: bool(loglines_written(box))
                                       and len(workers.taken_of("scan")) == VIDEOS, 20)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert killed_mid_window   # the old batch loop: no scan of 9+ while the first LogLines are written
        written_at_kill = [video for _, video in loglines_written(box)]
        store = StateStore(box.settings.storage.orchestrator_db)
        recorded = [row["video_id"] for row in store.all_videos() if row["logline_path"]]
        store.close()
        assert written_at_kill and not set(written_at_kill) & set(recorded)   # written, not recorded
        release.set()
        second = subprocess.run(orchestrate, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert second.returncode == 0, second.stderr[-2000:]
    finally:
        release.set()
        if first.poll() is None:
            first.kill()
        workers.stop()

    assert [video for _, video in loglines_written(box)] == ids   # each once, in video order
    assert box.files("processed") == [f"cam1/seg{i:02d}.mp4" for i in range(VIDEOS)]
    assert box.files("loglines") == [f"{video}.logline.json" for video in ids]
    client = connect(redis.url)
    assert client.xlen("vv:jobs:scan") == 0 and client.xlen("vv:jobs:summarize") == 0
    assert client.keys("vv:result:*") == []


def test_queue_window_bounds_the_videos_in_flight(storage_root, tmp_path, redis):
    box = Box(storage_root, tmp_path, orchestrator_runner="queue", queue_redis_url=redis.url, queue_window=3)
    box.env["CONTRACT_LOG"] = str(tmp_path / "loglines.log")
    ids = drop_segments(box)
    workers = Workers(redis.url)
    entered: list[tuple[int, int]] = []   # (video's place, LogLines written) as its scan is taken

    def note(place: int) -> Callable[[], None]:
        return lambda: entered.append((place, len(loglines_written(box))))
    for place, video in enumerate(ids):
        workers.hooks[("scan", video)] = note(place)
    try:
        report = run_queue(box, redis)
    finally:
        workers.stop()

    assert sorted(report.done) == ids
    assert all(place < written + 3 for place, written in entered), entered   # a video leaves once logged
    assert [video for _, video in loglines_written(box)] == ids


def test_a_video_dropped_during_the_run_is_logged_by_the_same_run(storage_root, tmp_path, redis):
    box = Box(storage_root, tmp_path, orchestrator_runner="queue", queue_redis_url=redis.url, queue_rescan_s=0.1)
    box.env["CONTRACT_LOG"] = str(tmp_path / "loglines.log")
    ids = [f"cam1_seg{i:02d}" for i in range(3)]
    for i in range(3):
        box.drop(f"cam1/seg{i:02d}.mp4")
    workers = Workers(redis.url)
    taken_in = []

    def drop_while_busy() -> None:  # the window holds seg00 until the late video is on a worker (10 s at most)
        box.drop("cam1/aaa.mp4")    # a name that sorts first: it still comes after the videos in the window
        taken_in.append(wait_until(lambda: "cam1_aaa" in workers.taken_of("scan"), 10))
    workers.hooks[("scan", ids[0])] = drop_while_busy
    try:
        report = run_queue(box, redis)   # returns: the run still ends once the window is empty
    finally:
        workers.stop()

    assert taken_in == [True]   # the old run: only the videos due when it started
    assert sorted(report.done) == ["cam1_aaa", *ids] and not report.cut_short
    assert [video for _, video in loglines_written(box)] == [*ids, "cam1_aaa"]   # in order of entry, each once
    assert box.files("input") == []


def test_under_steady_input_the_run_stops_taking_videos_in_and_ends(storage_root, tmp_path, redis):
    box = Box(storage_root, tmp_path, orchestrator_runner="queue", queue_redis_url=redis.url, queue_rescan_s=0.05,
              queue_run_max_s=1.5)
    box.env["CONTRACT_LOG"] = str(tmp_path / "loglines.log")
    box.drop("cam1/seg000.mp4")
    workers = Workers(redis.url)
    dropped = []

    def drop_the_next() -> None:  # every scan brings a new segment: input never runs dry
        dropped.append(f"seg{len(dropped) + 1:03d}")
        box.drop(f"cam1/{dropped[-1]}.mp4")
        time.sleep(0.1)
    workers.hooks[("scan", "*")] = drop_the_next
    client = connect(redis.url)
    client.config_resetstat()
    try:
        report = run_queue(box, redis)
    finally:
        workers.stop()

    logged = [video for _, video in loglines_written(box)]
    assert report.cut_short and len(logged) >= 3   # several taken in during the run, then it ended
    # Draining after the cut, the loop blocks for results (it spun with no next look to wait for,
    # reading every pending result key each turn: thousands of reads).
    assert commands(client).get("hgetall", 0) <= 2 * 2 * len(logged)   # a scan and a summary each
    assert logged == sorted(logged) and sorted(report.done) == logged   # in order, each once
    left = [f"cam1_{Path(name).stem}" for name in box.files("input")]
    assert left and not set(left) & set(logged)   # the latest segments wait for the next run


def test_the_loop_starts_the_next_run_at_once_after_a_cut_short_one(storage_root, tmp_path, redis):
    box = Box(storage_root, tmp_path, orchestrator_runner="queue", queue_redis_url=redis.url, queue_rescan_s=0.05,
              queue_run_max_s=0.5, orchestrator_interval=60)
    box.env["CONTRACT_LOG"] = str(tmp_path / "loglines.log")
    box.drop("cam1/seg000.mp4")
    workers = Workers(redis.url)
    dropped = [0]

    def drop_the_next() -> None:
        dropped[0] += 1
        box.drop(f"cam1/seg{dropped[0]:03d}.mp4")
        time.sleep(0.1)
    workers.hooks[("scan", "*")] = drop_the_next
    runner = QueueRunner(WorkQueue(connect(redis.url)), box.runner(), wait_s=30)
    started = time.monotonic()
    try:
        assert run_loop(box.settings, threading.Event(), runner=runner, max_runs=2) == 2
    finally:
        workers.stop()

    assert time.monotonic() - started < 30   # not ORCHESTRATOR_INTERVAL (60 s) between the two runs
    logged = [video for _, video in loglines_written(box)]
    assert len(logged) >= 2 and logged == sorted(logged) and len(set(logged)) == len(logged)


class SlowLogline(LocalRunner):
    """The contract double's `vv logline`, each run held ``hold_s`` first (a writer that takes its time)."""

    def __init__(self, box: Box, hold_s: float) -> None:
        super().__init__(contract_command(), env=box.env)
        self.hold_s, self.runs = hold_s, 0

    def run(self, command: str, args: list[str], timeout_s: float) -> StageResult:
        if command == "logline":
            time.sleep(self.hold_s)
            self.runs += 1
        return super().run(command, args, timeout_s)


def commands(client) -> dict[str, int]:
    return {name.removeprefix("cmdstat_"): stats["calls"] for name, stats in client.info("commandstats").items()}


def test_while_the_writer_writes_the_window_waits_on_redis_without_polling(storage_root, tmp_path, redis):
    """The loop blocks on the workers' wake-up lists and a wake-up the writer pushes when its run ends:
    each job's result key is read once or twice (a look when it is enqueued, a read on its wake-up),
    however long the writer takes. The old loop looked at every pending result every 0.1 s."""
    box = queue_box(storage_root, tmp_path, redis)
    ids = drop_segments(box)
    workers = Workers(redis.url)
    local = SlowLogline(box, hold_s=1.0)
    workers.hooks[("summarize", ids[-1])] = lambda: wait_until(lambda: local.runs >= 1, 10)  # out while it writes
    client = connect(redis.url)
    client.config_resetstat()
    orchestrator = Orchestrator(box.settings, QueueRunner(WorkQueue(connect(redis.url)), local, wait_s=30))
    started = time.monotonic()
    try:
        report = orchestrator.run_once()
    finally:
        orchestrator.close()
        workers.stop()
    took = time.monotonic() - started
    calls = commands(client)

    assert sorted(report.done) == ids and local.runs >= 2
    jobs = 2 * VIDEOS   # a scan and a summary each
    print(f"\n{VIDEOS}-segment window, {local.runs} logline runs of >= 1 s, {took:.1f} s: "
          f"HGETALL {calls.get('hgetall', 0)}, BLPOP {calls.get('blpop', 0)}, all {sum(calls.values())}: {calls}")
    assert calls.get("hgetall", 0) <= 2 * jobs   # the old loop: ~2 x the pending jobs every 0.1 s of writing
    assert calls.get("blpop", 0) <= jobs + 2 * local.runs + 2
