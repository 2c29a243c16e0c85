"""compute_sha256 throughput vs coreutils `sha256sum` on the same file, same run.

    python benchmarks/bench_sha256.py [SIZE_MB]
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "vv-core"))
from vv_core.hashing import compute_sha256


def best_of(runs: int, action) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "blob.bin"
        with path.open("wb") as handle:
            for _ in range(size_mb):
                handle.write(os.urandom(1 << 20))
        ours = best_of(3, lambda: compute_sha256(path))
        theirs = best_of(3, lambda: subprocess.run(["sha256sum", str(path)], check=True, capture_output=True))
    print(f"| implementation | {size_mb} MiB best of 3 (s) | MiB/s | ratio vs sha256sum |")
    print("|---|---|---|---|")
    print(f"| sha256sum (baseline) | {theirs:.3f} | {size_mb / theirs:.0f} | 1.00 |")
    print(f"| vv_core.compute_sha256 | {ours:.3f} | {size_mb / ours:.0f} | {theirs / ours:.2f} |")


if __name__ == "__main__":
    main()
