"""tv_scheduler scaling: 1k / 10k / 100k LogLines, all inside the 24 h window.

    python benchmarks/bench_schedule.py [SIZES...]     (default: 1000 10000 100000)

Per size, on a real storage root (signed LogLines, media files with the orchestrator's placement
records, config.yaml rules):
- cold index: verify every LogLine from scratch (a first start without cache);
- full build: every playlist (tv1, tv2, tv3, playlist.json) from the verified index, written;
- incremental: one new LogLine lands → re-check that file, rebuild, write what changed;
- warm `--once`: a new process with the signed cache: load it, stat-scan, build, save;
- baseline (same run): a scheduler without an index does cold index + full build on every change.
"""

import hashlib
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "vv-core")]

from tv_scheduler.config import load_config  # noqa: E402
from tv_scheduler.tv_scheduler import Scheduler  # noqa: E402
from vv_cli.settings import Settings  # noqa: E402
from vv_core.canonical import pretty_json  # noqa: E402
from vv_core.keystore import create_key_store  # noqa: E402
from vv_core.loglines import (  # noqa: E402
    GENESIS_HASH,
    HEAD_FILE,
    ChainHead,
    encode_logline,
    head_document,
    seal_logline,
)
from vv_core.placement import write_placement  # noqa: E402

STATUSES = ("confirmado", "alerta", "experimental", "curado")
VIDEOS = 50


def video_of(index: int) -> str:
    """LogLines share VIDEOS media files (each LogLine's source_hash is its file's sha256)."""
    return f"processed/cam{index % VIDEOS % 4}/{index % VIDEOS:05d}.mp4"


def media_content(index: int) -> bytes:
    return f"media {index % VIDEOS}".encode()


class Chain:
    """Appends signed LogLines straight to disk (benchmark setup, no fsync)."""

    def __init__(self, directory: Path, key_store) -> None:
        self.directory, self.key_store = directory, key_store
        self.seq, self.prev = -1, GENESIS_HASH
        directory.mkdir(parents=True, exist_ok=True)

    def append(self, index: int, when: datetime) -> str:
        fields = {"schema_version": "1.0", "id": f"cam{index % 4}_{index:07d}", "who": f"cam{index % 4}",
                  "did": "detected", "this": "2 persons", "when": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "status": STATUSES[index % 4], "title": f"Event {index}",
                  "summary": "Two people ride bicycles past the front gate in daylight.",
                  "source": {"video": video_of(index), "duration_s": 60.0},
                  "source_hash": hashlib.sha256(media_content(index)).hexdigest()}
        record = seal_logline(fields, seq=self.seq + 1, prev_hash=self.prev, key_store=self.key_store)
        raw = encode_logline(record)
        name = f"{record['id']}.logline.json"
        (self.directory / name).write_bytes(raw)
        self.seq, self.prev, self.last_id = record["seq"], hashlib.sha256(raw[:-1]).hexdigest(), record["id"]
        return name

    def write_head(self) -> None:
        head = ChainHead(self.seq, self.prev, self.last_id)
        (self.directory / HEAD_FILE).write_bytes(pretty_json(head_document(head, self.key_store)))


def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def run_size(count: int, scratch: Path) -> dict[str, float]:
    root = scratch / f"storage_{count}"
    settings = Settings(video_storage_root=root, key_store_path=scratch / f"keys_{count}.json")
    key_store = create_key_store(settings.key_store_path, "bench")
    for index in range(VIDEOS):
        media = root / video_of(index)
        media.parent.mkdir(parents=True, exist_ok=True)
        media.write_bytes(media_content(index))
        write_placement(settings.storage.state, root, video_of(index), hashlib.sha256(media_content(index)).hexdigest())
    now = datetime.now(UTC)
    chain = Chain(settings.storage.loglines, key_store)
    spacing = timedelta(seconds=23 * 3600 / count)  # all inside the 24 h window
    start = now - timedelta(hours=23)
    for index in range(count):
        chain.append(index, start + spacing * index)
    chain.write_head()

    config = load_config()
    scheduler = Scheduler(settings, config)
    cold, _ = timed(scheduler.index.refresh_all)
    builds, builds_cpu = [], []
    for _ in range(3):
        scheduler.writer.known.clear()
        for path in settings.storage.playlists.glob("*.json"):
            path.unlink()
        cpu_start = time.process_time()
        builds.append(timed(lambda: scheduler.build(now.timestamp()))[0])
        builds_cpu.append(time.process_time() - cpu_start)
    scheduler.save_cache()
    incremental, incremental_cpu = [], []
    for step in range(5):
        name = chain.append(count + step, now - timedelta(seconds=5 - step))
        cpu_start = time.process_time()
        seconds, written = timed(lambda name=name: (scheduler.refresh_names({name}),
                                                    scheduler.build(now.timestamp()))[1])
        assert written, "a new LogLine must change at least the combined playlist"
        incremental.append(seconds)
        incremental_cpu.append(time.process_time() - cpu_start)
    scheduler.save_cache()
    warm, _ = timed(lambda: Scheduler(settings, config).run_once(now.timestamp()))

    def naive() -> None:
        fresh = Scheduler(settings, config)
        fresh.index.refresh_all()
        fresh.build(now.timestamp())

    baseline, _ = timed(naive)
    median = len(incremental) // 2
    return {"cold": cold, "build": min(builds), "build_cpu": min(builds_cpu),
            "incremental": sorted(incremental)[median], "incremental_cpu": sorted(incremental_cpu)[median],
            "warm": warm, "baseline": baseline}


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [1000, 10_000, 100_000]
    print(f"cpus: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f}")
    print("| LogLines in window | cold index (verify all) s | full build ms (CPU ms) "
          "| incremental, 1 new LogLine ms (CPU ms) | warm --once s | baseline: verify all + build s "
          "| incremental vs baseline |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for count in sizes:
            r = run_size(count, Path(scratch))
            ratio = r["baseline"] / r["incremental"]
            print(f"| {count:,} | {r['cold']:.2f} | {1000 * r['build']:.1f} ({1000 * r['build_cpu']:.1f}) "
                  f"| {1000 * r['incremental']:.1f} ({1000 * r['incremental_cpu']:.1f}) "
                  f"| {r['warm']:.2f} | {r['baseline']:.2f} | {ratio:,.0f}× faster |", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
