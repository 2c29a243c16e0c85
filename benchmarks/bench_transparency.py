"""Transparency log costs: append + checkpoint, proofs at 1,000,000 leaves, keyless verification rate.

    python benchmarks/bench_transparency.py [VERIFY_COUNT] [PROOF_LEAVES]

1. append + checkpoint: what each LogLine adds to the writer (leaf + parents appended to the node
   file with one fdatasync, root, Ed25519 signature, checkpoint written atomically), on the storage
   disk and on tmpfs (the same work without the device's fsync latency); wall and CPU time.
2. proofs: a tree of PROOF_LEAVES synthetic leaves stored once, then inclusion and consistency
   proofs read from it (O(log n) node reads) and verified.
3. verification: `vv verify --public-key` (transparency.audit: read every file, leaf hashes, seq
   order, keyless chain links, root vs the signed checkpoint) on a VERIFY_COUNT chain, next to the
   HMAC verifier (scripts/logline_verifier.py) on the same files.
"""

import hashlib
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "vv-core"), str(REPO / "benchmarks")]

from bench_verify import write_chain  # noqa: E402

from logline_generator.transparency import CheckpointSigning, extend_tree  # noqa: E402
from scripts.logline_verifier import verify_directory  # noqa: E402
from transparency.audit import audit  # noqa: E402
from vv_core.keystore import create_key_store  # noqa: E402
from vv_core.merkle import leaf_hash, verify_consistency, verify_inclusion  # noqa: E402
from vv_core.notes import Checkpoint, NoteSigner, sign_note  # noqa: E402
from vv_core.tlog import TreeStore, logline_paths, read_checkpoint, read_leaf, write_checkpoint  # noqa: E402

ORIGIN = "bench.example/loglines"
SIGNING = CheckpointSigning(ORIGIN, NoteSigner.from_seed(ORIGIN, b"\x01" * 32))


def timed(action) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_append(base: Path, appends: int = 200) -> tuple[float, float]:
    """Per-LogLine seconds (wall, CPU) of extend_tree on a tree that already holds 10,000 leaves."""
    directory = base / "loglines"
    with TreeStore(directory) as store:
        store.rewrite([leaf_hash(i.to_bytes(8, "big")) for i in range(10_000)])
    records = [b'{"seq":%d,"id":"x"}\n' % i for i in range(10_000, 10_000 + appends)]

    def run() -> None:
        for seq, raw in enumerate(records, start=10_000):
            extend_tree(directory, raw, seq, SIGNING)

    wall, cpu = timed(run)
    assert read_checkpoint(directory) is not None
    return wall / appends, cpu / appends


def bench_proofs(base: Path, leaves: int, samples: int = 2000) -> dict[str, float]:
    directory = base / "big"
    hashes = [hashlib.sha256(b"\x00" + i.to_bytes(8, "big")).digest() for i in range(leaves)]
    store = TreeStore(directory)
    build, _ = timed(lambda: store.rewrite(hashes))
    root = store.root(leaves)
    rng = random.Random(20)
    indexes = [rng.randrange(leaves) for _ in range(samples)]
    olds = [rng.randrange(1, leaves) for _ in range(samples)]
    start = time.perf_counter()
    proofs = [store.inclusion_proof(i, leaves) for i in indexes]
    inclusion = (time.perf_counter() - start) / samples
    start = time.perf_counter()
    for index, proof in zip(indexes, proofs, strict=True):
        verify_inclusion(index, leaves, hashes[index], proof, root)
    verify = (time.perf_counter() - start) / samples
    start = time.perf_counter()
    pairs = [(old, store.consistency_proof(old, leaves), store.root(old)) for old in olds]
    consistency = (time.perf_counter() - start) / samples
    for old, proof, old_root in pairs[:200]:
        verify_consistency(old, leaves, old_root, root, proof)
    store.close()
    return {"build_s": build, "inclusion_ms": inclusion * 1e3, "verify_ms": verify * 1e3,
            "consistency_ms": consistency * 1e3, "file_mb": (directory / ".tlog" / "nodes").stat().st_size / 1e6}


def bench_verify(base: Path, count: int) -> list[tuple[str, float, float]]:
    key_store = create_key_store(base / "keys.json", "bench")
    directory = base / "chain"
    write_chain(directory, count, key_store)
    leaves = sorted((read_leaf(p) for p in logline_paths(directory)), key=lambda leaf: leaf.seq)
    with TreeStore(directory) as store:
        store.rewrite([leaf.hash for leaf in leaves])
        note = sign_note(Checkpoint(ORIGIN, count, store.root(count)).text(), SIGNING.signer)
    write_checkpoint(directory, note)
    key = SIGNING.signer.verifier_key
    assert audit(directory, note, [key]).ok            # warm the page cache, and it must pass
    rows = []
    for label, jobs in (("vv verify --public-key (transparency.audit), 1 process", 1),
                        (f"vv verify --public-key, {min(os.cpu_count() or 1, 4)} processes (default)", None)):
        wall = min(timed(lambda jobs=jobs: audit(directory, note, [key], jobs=jobs))[0] for _ in range(3))
        rows.append((label, count / wall, wall))
    hmac_wall = min(timed(lambda: verify_directory(directory, key_store))[0] for _ in range(2))
    rows.append(("vv verify with the HMAC key (scripts/logline_verifier.py, default processes)",
                 count / hmac_wall, hmac_wall))
    cpu = timed(lambda: audit(directory, note, [key], jobs=1))[1]
    rows.append(("vv verify --public-key, 1 process, per CPU-second", count / cpu, cpu))
    return rows


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    proof_leaves = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    print("\n| append + checkpoint per LogLine | wall ms | CPU ms |\n|---|---|---|")
    with tempfile.TemporaryDirectory(dir=REPO) as scratch:
        wall, cpu = bench_append(Path(scratch))
        print(f"| storage disk (fdatasync + atomic checkpoint) | {wall * 1e3:.2f} | {cpu * 1e3:.2f} |")
    tmpfs = Path("/dev/shm")  # noqa: S108 (a private TemporaryDirectory inside it, for its speed only)
    if tmpfs.is_dir():
        with tempfile.TemporaryDirectory(dir=tmpfs) as scratch:
            wall, cpu = bench_append(Path(scratch))
            print(f"| tmpfs (no device latency) | {wall * 1e3:.2f} | {cpu * 1e3:.2f} |")
    with tempfile.TemporaryDirectory(dir=REPO) as scratch:
        proofs = bench_proofs(Path(scratch), proof_leaves)
    print(f"\n| tree of {proof_leaves:,} leaves | value |\n|---|---|")
    print(f"| build once (all nodes, {proofs['file_mb']:.0f} MB node file) | {proofs['build_s']:.1f} s |")
    print(f"| inclusion proof | {proofs['inclusion_ms']:.3f} ms |")
    print(f"| inclusion proof verification | {proofs['verify_ms']:.3f} ms |")
    print(f"| consistency proof (+ old root) | {proofs['consistency_ms']:.3f} ms |")
    with tempfile.TemporaryDirectory(dir=REPO) as scratch:
        rows = bench_verify(Path(scratch), count)
    print(f"\n| verification of {count:,} LogLines | LogLines/s | seconds |\n|---|---|---|")
    for label, rate, seconds in rows:
        print(f"| {label} | {rate:,.0f} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
