"""Capacity: segments fully processed per minute (scan, summary, LogLine, playlist) by each runner.

    python benchmarks/bench_capacity.py [--segments 6] [--segment-s 20] [--llm] [--cache DIR]

Half the segments are busy (720p, people in every second: zidane.jpg / bus.jpg panning), half quiet
(720p, a street with nobody in it, still). Each runner gets a fresh box with the same segments:

- ``local``: one `vv orchestrate --once` (scans in one batch process, then summaries one process each);
- ``queue, N scan workers``: Redis on loopback, N `vv worker --stage scan` + 1 `vv worker --stage
  summarize`, started and their models loaded *before* the clock starts (they are long-lived), then
  one `vv orchestrate --once` with ORCHESTRATOR_RUNNER=queue. With 2 scan workers each gets
  SCAN_THREADS=1 (two workers × 2 threads would only oversubscribe the 2 cores).

The clock runs from the orchestrator's start to its end (every segment done, playlists rebuilt).
Summaries are template summaries unless ``--llm`` (the Gemma 270M GGUF from the test model cache).
Queue overhead per job: submit → a worker (another process, no-op handler) takes it → result and
XACK → the orchestrator has the result and collects it, for an empty job, median and p95.
The load average is printed with each row: the box is shared.
"""

import argparse
import json
import multiprocessing
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "vv-core")]


def make_segments(cache: Path, count: int, seconds: float) -> list[tuple[str, Path]]:
    from tests.scan_video import media

    cache.mkdir(parents=True, exist_ok=True)
    segments = []
    for i in range(count):
        length = seconds + 0.04 * i  # one frame longer each: no two segments are the same video
        if i % 2 == 0:
            out = cache / f"busy_{i}_{seconds:g}s.mp4"
            if not out.exists():
                media.still_clip(media.asset("zidane.jpg" if i % 4 == 0 else "bus.jpg"), length, out, pan=True)
            segments.append(("busy", out))
        else:
            segments.append(("quiet", media.empty_scene_clip(length, cache / f"quiet_{i}_{seconds:g}s.mp4")))
    return segments


def fresh_box(base: Path, llm: bool):
    from tests.orchestrator.test_e2e_real_stages import LiveBox, install_models

    return LiveBox(base, install_models(base / "models", with_llm=llm))


def drop_all(box, segments: list[tuple[str, Path]]) -> None:
    for i, (_, path) in enumerate(segments):
        box.drop(path, f"cam{i}", 30 - i)


def settle(box) -> float:
    started = time.monotonic()
    box.vv("orchestrate", "--once", timeout=3600)
    took = time.monotonic() - started
    status = json.loads((box.root / "state/pipeline_status.json").read_text())
    assert status["videos"]["in_progress"] == 0 and status["videos"]["failed"] == 0, status["videos"]
    return took


def run_local(base: Path, segments, llm: bool) -> float:
    box = fresh_box(base, llm)
    drop_all(box, segments)
    return settle(box)


def start_worker(env: dict[str, str], stage: str, log: Path) -> subprocess.Popen:
    extra = shlex.split(env.get("STAGE_ARGS_SUMMARIZE", "")) if stage == "summarize" else []  # its --config
    process = subprocess.Popen([sys.executable, "-m", "vv_cli.main", "worker", "--stage", stage, *extra], env=env,
                               cwd=REPO, stdout=subprocess.PIPE, stderr=log.open("wb"), text=True)
    line = process.stdout.readline() if process.stdout else ""
    assert line.startswith("worker "), f"{stage} worker did not start: {log.read_text()[-2000:]}"
    return process


def run_queue(base: Path, segments, llm: bool, scan_workers: int) -> float:
    from tests.redis_server import RedisServer

    redis = RedisServer(base / "redis")
    box = fresh_box(base, llm)
    box.env.update(ORCHESTRATOR_RUNNER="queue", QUEUE_REDIS_URL=redis.url)  # QUEUE_WINDOW: its default
    worker_env = dict(box.env, **({"SCAN_THREADS": "1"} if scan_workers > 1 else {}))
    workers = [start_worker(worker_env, "scan", base / f"scan{i}.log") for i in range(scan_workers)]
    workers.append(start_worker(worker_env, "summarize", base / "summarize.log"))
    try:
        drop_all(box, segments)
        return settle(box)
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            process.wait(60)
        redis.stop()


def _noop_worker(url: str, output: str) -> None:
    from vv_core.queue_worker import Worker
    from vv_core.workqueue import connect

    Worker(connect(url), "bench", lambda job: output, block_s=0.5).run()


def queue_overhead(base: Path, jobs: int = 300) -> tuple[float, float]:
    """Round trip of an empty job through Redis and a worker process: median and p95 in ms."""
    from tests.redis_server import RedisServer
    from vv_core.workqueue import Job, WorkQueue, connect

    redis = RedisServer(base / "redis-overhead")
    schema = base / "empty.schema.json"
    schema.write_text(json.dumps({"type": "object"}))
    output = base / "empty.json"
    output.write_text(json.dumps({"source_hash": "0" * 64}))
    worker = multiprocessing.get_context("spawn").Process(target=_noop_worker, args=(redis.url, str(output)),
                                                          daemon=True)
    worker.start()
    queue = WorkQueue(connect(redis.url))
    times = []
    try:
        for i in range(jobs + 20):  # the first 20 warm up the connections and the schema cache
            job = Job(stage="bench", sha256="0" * 64, video_id=f"v{i}", input="-", output_dir="-",
                      schema=str(schema))
            started = time.perf_counter()
            queue.submit(job)
            found = queue.wait_any([job.job_id], 10)
            assert found is not None and found.exit_code == 0, found
            queue.collect(job.job_id)
            if i >= 20:
                times.append((time.perf_counter() - started) * 1000)
    finally:
        worker.terminate()
        redis.stop()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=6)
    parser.add_argument("--segment-s", type=float, default=20.0)
    parser.add_argument("--llm", action="store_true", help="real LLM summaries (default: template summaries)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "vv-bench-capacity")
    parser.add_argument("--only", choices=["local", "queue1", "queue2", "overhead"], action="append")
    args = parser.parse_args()
    only = set(args.only or ["local", "queue1", "queue2", "overhead"])
    segments = make_segments(args.cache / "media", args.segments, args.segment_s)
    busy = sum(1 for kind, _ in segments if kind == "busy")
    print(f"{len(segments)} segments of {args.segment_s:g} s 720p ({busy} busy, {len(segments) - busy} quiet), "
          f"summaries: {'LLM' if args.llm else 'template'}\n")
    print("| runner | wall (s) | segments / min | segment-minutes / min | load avg (1 min) before → after |")
    print("| --- | ---: | ---: | ---: | --- |")
    modes = [("local", lambda base: run_local(base, segments, args.llm)),
             ("queue1", lambda base: run_queue(base, segments, args.llm, 1)),
             ("queue2", lambda base: run_queue(base, segments, args.llm, 2))]
    names = {"local": "local", "queue1": "queue, 1 scan worker", "queue2": "queue, 2 scan workers"}
    for key, action in modes:
        if key not in only:
            continue
        with tempfile.TemporaryDirectory(prefix=f"vv-capacity-{key}-") as tmp:
            before = os.getloadavg()[0]
            took = action(Path(tmp))
            after = os.getloadavg()[0]
        rate = len(segments) / took * 60
        print(f"| {names[key]} | {took:.1f} | {rate:.1f} | {rate * args.segment_s / 60:.1f} | "
              f"{before:.1f} → {after:.1f} |", flush=True)
    if "overhead" in only:
        with tempfile.TemporaryDirectory(prefix="vv-capacity-overhead-") as tmp:
            median, p95 = queue_overhead(Path(tmp))
        print(f"\nqueue overhead per empty job (submit → worker → result + XACK → collected): "
              f"median {median:.2f} ms, p95 {p95:.2f} ms (load avg {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
