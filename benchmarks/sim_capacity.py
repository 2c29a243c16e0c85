"""How many cameras N boxes keep up with: a deterministic discrete-event simulation (issue 21).

    python benchmarks/sim_capacity.py [--boxes 1,2,4,8,16] [--busy 0.5] [--llm-s 2.5] [...]

The model. Every camera hands over one one-minute segment a minute (camera i at offset 60·i/C s,
so arrivals are spread evenly); a fraction ``--busy`` of each camera's segments has people in it
(spread evenly over its minutes), the rest are quiet. A segment is scanned, then summarized, then
logged. Each job (scan, summarize) passes once through Redis (one server, the measured queue
overhead per job, the whole round trip, as its service time: Redis's own CPU is far less, so this is
a pessimistic ceiling). Jobs run on the fleet's cores: N boxes × ``--cores``, one job per core at a
time, FIFO, scan and summarize workers sharing the cores (a worker waiting for a job uses no CPU).
LogLines have a single writer (the orchestrator's `vv logline`): a run costs a fixed start-up +
playlist rebuild plus a per-LogLine append.

Two orchestrator loops are simulated. ``batch`` is the loop the queue runner had before
orchestrator/queue_pipeline.py (and the local and docker runners still have): take ``--batch`` due
segments, put their jobs on the queue, wait for all their summaries, write their LogLines in one
run, then the next batch; so at most ``--batch`` segments are in flight and the workers wait while
the writer writes. ``pipelined`` is orchestrator/queue_pipeline.py: up to ``--window``
(QUEUE_WINDOW) segments in flight, the next due one enqueued as soon as one is logged; a scan's
summary is enqueued when the scan ends (also while the writer writes); the writer, whenever it is
free, writes in one run the longest run of summarized segments at the window's head, in arrival
(video) order: a segment still being scanned or summarized holds back every later one.

A row keeps up with C cameras when every resource's utilisation is < 1 (analytic, from the mean
costs) and the backlog (arrived, not yet logged), sampled each minute of a simulated hour, is on
average no larger in its last quarter than in its second (+ one batch). The limit named is the
resource with the highest utilisation one camera beyond (scan and summarize share the cores: "scan
cores" means the cores, mostly scanning); in ``batch`` mode, when the simulation fails below every
resource's limit, it is the batch loop itself.

Assumptions: a job holds one core for the measured whole-process wall time (measured at load 5-6 on
2 cores, where one process gets about one core; a long-lived worker skips the ~1 s start-up and
model load, left in as margin); the storage (NFS) is not a limit; due segments are seen at once (no
cron period, no stable-wait); no failures or retries; the writer runs on the storage node beside
the workers without taking one of their cores (79 ms CPU per LogLine).
"""

import argparse
import heapq
import math
from collections import deque
from dataclasses import dataclass

SOURCES = [  # (option, default, figure, where it comes from: docs/performance.md)
    ("scan_busy_s", 15.0, "scan, 60 s 720p people", "#17 whole process, int8, 12.1-17.7 s (load 5-6)"),
    ("scan_quiet_s", 1.5, "scan, 60 s 720p quiet", "#17 whole process, lazy faces, 1.33-1.60 s"),
    ("llm_s", 2.5, "summary with the LLM", "summarize_scene idle: 1.5 s in-process, 2.6 s cold CLI"),
    ("template_s", 0.1, "template summary", "no model loaded; an estimate, not timed alone"),
    ("logline_run_s", 1.32, "`vv logline` run start-up", "logline phase: 1,360 ms for 1, 8×202 ms for 8"),
    ("logline_per_s", 0.035, "per LogLine append", "chain+tree run of 8: 33.8 ms (tree 1.14 ms)"),
    ("playlist_s", 0.023, "playlist rebuild per run", "bench_schedule incremental, 100k: 23.1 ms"),
    ("redis_s", 0.003, "queue overhead per job", "bench_capacity: median 2.45-4.22 ms, p95 7-12 ms"),
]


@dataclass(frozen=True)
class Costs:
    scan_busy_s: float
    scan_quiet_s: float
    llm_s: float
    template_s: float
    logline_run_s: float
    logline_per_s: float
    playlist_s: float
    redis_s: float
    busy: float
    cores: int
    batch: int
    window: int

    def summary_s(self, busy: bool, template: bool) -> float:
        return self.llm_s if busy or not template else self.template_s

    def utilisation(self, cameras: int, boxes: int, template: bool, group: int) -> dict[str, float]:
        """Each resource's busy fraction at C cameras, the writer writing ``group`` LogLines a run (its
        largest: a batch, or the window; a writer that falls behind has that many ready at once)."""
        per_min = cameras / 60.0
        summary = self.busy * self.llm_s + (1 - self.busy) * self.summary_s(False, template)
        scan = self.busy * self.scan_busy_s + (1 - self.busy) * self.scan_quiet_s
        cores = boxes * self.cores
        writer = self.logline_per_s + (self.logline_run_s + self.playlist_s) / group
        return {"scan cores": per_min * scan / cores, "summarize cores": per_min * summary / cores,
                "LogLine writer": per_min * writer, "Redis": per_min * 2 * self.redis_s}


def is_busy(camera: int, minute: int, fraction: float) -> bool:
    phase = (camera * 0.6180339887) % 1.0  # the cameras' busy minutes do not all coincide
    return math.floor((minute + 1) * fraction + phase) > math.floor(minute * fraction + phase)


def backlog_grows(costs: Costs, cameras: int, boxes: int, template: bool, pipelined: bool,
                  hour_s: float = 3600.0) -> bool:
    """Simulate an hour; True when the mean backlog (sampled each minute) of its last quarter
    exceeds that of its second quarter by more than a batch, or it falls ten minutes behind."""
    events: list[tuple[float, int, str, int]] = []
    seq = 0

    def at(time: float, kind: str, seg: int) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (time, seq, kind, seg))

    busy_of: list[bool] = []
    arrivals: list[float] = []  # in time order; kept out of the heap, which holds only jobs in flight
    for minute in range(int(hour_s // 60)):
        for camera in range(cameras):
            busy_of.append(is_busy(camera, minute, costs.busy))
            arrivals.append(60.0 * (minute + 1) + 60.0 * camera / cameras)
    arrivals.append(math.inf)
    free_cores, core_queue = boxes * costs.cores, deque[tuple[str, int]]()
    redis_free_at, writer_busy, ready = 0.0, False, deque[int]()
    due, in_batch = deque[int](), 0
    window, summarized, in_flight = deque[int](), set[int](), 0  # pipelined: the window (arrival order)
    arrived = logged = 0
    backlog_each_minute: list[int] = []

    def submit(now: float, stage: str, seg: int) -> None:  # through Redis (one server), then a core
        nonlocal redis_free_at
        redis_free_at = max(now, redis_free_at) + costs.redis_s
        at(redis_free_at, stage + "-queued", seg)

    def start_jobs(now: float) -> None:
        nonlocal free_cores
        while free_cores and core_queue:
            stage, seg = core_queue.popleft()
            free_cores -= 1
            cost = (costs.scan_busy_s if busy_of[seg] else costs.scan_quiet_s) if stage == "scan" \
                else costs.summary_s(busy_of[seg], template)
            at(now + cost, stage + "-done", seg)

    def start_writer(now: float) -> None:
        nonlocal writer_busy, in_batch
        if writer_busy:
            return
        if pipelined:  # the summarized head of the window, in order
            run = []
            while window and window[0] in summarized:
                summarized.discard(window[0])
                run.append(window.popleft())
        elif ready and not in_batch:
            run = [ready.popleft() for _ in range(min(costs.batch, len(ready)))]
        else:
            return
        if run:
            writer_busy = True
            at(now + costs.logline_run_s + costs.playlist_s + costs.logline_per_s * len(run), "logged", len(run))

    def fill_window(now: float) -> None:
        nonlocal in_flight
        while due and in_flight < costs.window:  # admitted, not yet logged (the writer's run included)
            in_flight += 1
            seg = due.popleft()
            window.append(seg)
            submit(now, "scan", seg)

    def start_batch(now: float) -> None:
        nonlocal in_batch
        if pipelined or in_batch or writer_busy:
            return
        for _ in range(min(costs.batch, len(due))):
            in_batch += 1
            submit(now, "scan", due.popleft())

    while arrived < len(busy_of) or events:
        if events and events[0][0] < arrivals[arrived]:
            now, _, kind, seg = heapq.heappop(events)
        else:
            now, kind, seg = arrivals[arrived], "arrive", arrived
        while now >= 60.0 * (len(backlog_each_minute) + 1):
            backlog_each_minute.append(arrived - logged)
        if now > hour_s or arrived - logged > 10 * cameras + costs.batch:  # ten minutes behind: growing
            break
        if kind == "arrive":
            arrived += 1
            due.append(seg)
            if pipelined:
                fill_window(now)
            else:
                start_batch(now)
        elif kind.endswith("-queued"):
            core_queue.append((kind.removesuffix("-queued"), seg))
            start_jobs(now)
        elif kind.endswith("-done"):
            free_cores += 1
            if kind == "scan-done":
                submit(now, "summarize", seg)
            elif pipelined:
                summarized.add(seg)
                start_writer(now)
            else:
                ready.append(seg)
                in_batch -= 1
                start_writer(now)
            start_jobs(now)
        elif kind == "logged":
            writer_busy, logged = False, logged + seg
            if pipelined:
                in_flight -= seg
                fill_window(now)
            start_writer(now)
            start_batch(now)
    quarter = len(backlog_each_minute) // 4
    if quarter == 0:
        return True
    second, last = backlog_each_minute[quarter:2 * quarter], backlog_each_minute[-quarter:]
    return sum(last) / quarter > sum(second) / quarter + costs.batch


def cameras_kept_up(costs: Costs, boxes: int, template: bool, pipelined: bool) -> tuple[int, str]:
    """The most cameras the row keeps up with, and what limits it."""
    group = costs.window if pipelined else costs.batch

    def fits(cameras: int) -> bool:
        return max(costs.utilisation(cameras, boxes, template, group).values()) < 1 and \
            not backlog_grows(costs, cameras, boxes, template, pipelined)

    high = 1
    while max(costs.utilisation(high, boxes, template, group).values()) < 1:
        high += 1
    low = high - 1
    if not fits(low):  # else (usually so when pipelined) one simulation was enough
        low, probe = 0, 1
        while probe < high and fits(probe):  # small counts first: they simulate fast
            low, probe = probe, probe * 2
        high = min(probe, high)
    while high - low > 1:  # fits(low), not fits(high)
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    use = costs.utilisation(high, boxes, template, group)
    limit = max(use, key=lambda name: use[name])
    if max(use["scan cores"] + use["summarize cores"], use[limit]) < 1:  # no resource full: the loop's bound
        limit = f"window ({costs.window} in flight)" if pipelined else f"batch loop ({costs.batch} in flight)"
    return low, limit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for option, default, figure, _ in SOURCES:
        parser.add_argument("--" + option.replace("_", "-"), type=float, default=default, help=figure)
    parser.add_argument("--busy", type=float, default=0.5, help="fraction of segments with people")
    parser.add_argument("--cores", type=int, default=2, help="cores per box")
    parser.add_argument("--batch", type=int, default=8, help="ORCHESTRATOR_SCAN_BATCH (the batch loop)")
    parser.add_argument("--window", type=int, default=64, help="QUEUE_WINDOW (the pipelined queue runner)")
    parser.add_argument("--boxes", default="1,2,4,8,16", help="comma-separated box counts")
    args = parser.parse_args()
    costs = Costs(**{option: getattr(args, option) for option, *_ in SOURCES},
                  busy=args.busy, cores=args.cores, batch=args.batch, window=args.window)
    print("Inputs (docs/performance.md; each is an option):\n")
    print("| option | value | figure | measured |\n| --- | ---: | --- | --- |")
    for option, _, figure, source in SOURCES:
        print(f"| --{option.replace('_', '-')} | {getattr(costs, option):g} | {figure} | {source} |")
    print(f"\n{costs.busy:.0%} busy segments, {costs.cores} cores a box, batch {costs.batch}, "
          f"window {costs.window}.\n")
    print("| boxes | summaries | cameras, batch loop | limit | cameras, pipelined (queue runner) | limit |")
    print("| ---: | --- | ---: | --- | ---: | --- |")
    for boxes in (int(n) for n in args.boxes.split(",")):
        for template, name in ((False, "LLM on every segment"), (True, "template for empty scenes")):
            batch_c, batch_limit = cameras_kept_up(costs, boxes, template, pipelined=False)
            piped_c, piped_limit = cameras_kept_up(costs, boxes, template, pipelined=True)
            print(f"| {boxes} | {name} | {batch_c} | {batch_limit} | {piped_c} | {piped_limit} |")
    print()
    for template, name in ((False, "LLM on every segment"), (True, "template for empty scenes")):
        one_box = costs.utilisation(1, 1, template, costs.window)
        per_box = 1 / (one_box["scan cores"] + one_box["summarize cores"])  # cameras a box's cores hold
        for resource in ("LogLine writer", "Redis"):
            ceiling = 1 / one_box[resource]
            print(f"{name}: the {resource} holds {ceiling:,.0f} cameras; it is the limit from "
                  f"{math.ceil(ceiling / per_box)} boxes on ({per_box:.1f} cameras a box, pipelined)")


if __name__ == "__main__":
    main()
