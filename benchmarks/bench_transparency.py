"""Transparency log costs: append + checkpoint, proofs at 1,000,000 leaves, keyless verification rate.

    python benchmarks/bench_transparency.py [VERIFY_COUNT] [PROOF_LEAVES]

1. append + checkpoint: what each LogLine adds to the writer, on the storage disk and on tmpfs (the
   same work without the device's fsync latency); wall and CPU time, fsyncs counted in process.
   - before (per LogLine: leaf + parents appended with one fdatasync, root, Ed25519 signature,
     checkpoint written atomically), kept here for comparison;
   - now (the default): leaves appended buffered, and once per run (one `vv logline` run, however
     many summaries it is given) one fdatasync of the node file + one signed checkpoint; shown for
     runs of 1, 8 (the orchestrator's default batch), 10 and 100 LogLines;
   - the whole LogLine append (chain_head intent, record, .md, head, then the above) for the same
     run sizes, since that is what a LogLine costs the box.
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

from logline_generator.chain import append_loglines  # noqa: E402
from logline_generator.transparency import CheckpointSigning, append_leaf, sign_checkpoint  # noqa: E402
from tests.logline_fixtures import make_key_store, record_fields  # noqa: E402
from transparency.audit import audit  # noqa: E402
from transparency.verifier import verify_directory  # noqa: E402
from vv_core.keystore import create_key_store  # noqa: E402
from vv_core.merkle import leaf_hash, verify_consistency, verify_inclusion  # noqa: E402
from vv_core.notes import Checkpoint, NoteSigner, sign_note  # noqa: E402
from vv_core.tlog import TreeStore, logline_paths, read_checkpoint, read_leaf, write_checkpoint  # noqa: E402

ORIGIN = "bench.example/loglines"
RUN_SIZES = (1, 8, 10, 100)  # 8: the orchestrator's default batch (one `vv logline` run per batch)
SIGNING = CheckpointSigning(ORIGIN, NoteSigner.from_seed(ORIGIN, b"\x01" * 32))


def timed(action) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


class SyncCounter:
    """Counts os.fsync + os.fdatasync calls while active (every durable write here goes through them)."""

    def __init__(self) -> None:
        self.calls = 0

    def __enter__(self) -> "SyncCounter":
        self._saved = os.fsync, os.fdatasync

        def counted(real):
            def call(fd: int) -> None:
                self.calls += 1
                real(fd)
            return call

        os.fsync, os.fdatasync = counted(os.fsync), counted(os.fdatasync)
        return self

    def __exit__(self, *_exc: object) -> None:
        os.fsync, os.fdatasync = self._saved


def seeded_tree(directory: Path, leaves: int = 10_000) -> None:
    with TreeStore(directory) as store:
        store.rewrite([leaf_hash(i.to_bytes(8, "big")) for i in range(leaves)])


def bench_tree_before(base: Path, appends: int = 200) -> tuple[float, float, float]:
    """The tree's cost per LogLine as first shipped: fdatasync per leaf + a checkpoint per LogLine."""
    directory = base / "tree"
    seeded_tree(directory)

    def run() -> None:
        with TreeStore(directory) as store:
            for seq in range(10_000, 10_000 + appends):
                store.append([leaf_hash(b'{"seq":%d}\n' % seq)], durable=True)
                note = sign_note(Checkpoint(ORIGIN, seq + 1, store.root(seq + 1)).text(), SIGNING.signer)
                write_checkpoint(directory, note)

    with SyncCounter() as syncs:
        wall, cpu = timed(run)
    return wall / appends, cpu / appends, syncs.calls / appends


def bench_tree_now(base: Path, run_size: int, appends: int = 200) -> tuple[float, float, float]:
    """The tree's cost per LogLine now: buffered leaves, one sync + checkpoint per run of ``run_size``."""
    directory = base / "tree"
    seeded_tree(directory)
    seqs = list(range(10_000, 10_000 + appends))

    def run() -> None:
        with TreeStore(directory) as store:
            for first in range(0, appends, run_size):
                for seq in seqs[first:first + run_size]:
                    append_leaf(store, b'{"seq":%d}\n' % seq, seq)
                sign_checkpoint(directory, store, SIGNING)

    with SyncCounter() as syncs:
        wall, cpu = timed(run)
    assert read_checkpoint(directory) is not None
    return wall / appends, cpu / appends, syncs.calls / appends


def bench_logline_append(base: Path, run_size: int, appends: int = 100) -> tuple[float, float, float]:
    """Whole LogLine appends (chain + tree + checkpoint) per LogLine, in runs of ``run_size``."""
    directory = base / "loglines"
    keys = make_key_store(base / "keys.json")
    batch = [record_fields(i, when="2030-01-01T00:00:00Z", status="confirmado") for i in range(appends)]

    def run() -> None:
        for first in range(0, appends, run_size):
            append_loglines(directory, batch[first:first + run_size], keys, signing=SIGNING)

    with SyncCounter() as syncs:
        wall, cpu = timed(run)
    return wall / appends, cpu / appends, syncs.calls / appends


def bench_append(base: Path, rounds: int = 3) -> list[tuple[str, float, float, float]]:
    """Each case ``rounds`` times, interleaved (this disk's fsync latency drifts with other tenants'
    load, so before and now must be measured side by side); the median round of each."""
    cases = [("tree, before: fdatasync + checkpoint per LogLine", bench_tree_before)]
    cases += [(f"tree, now: run of {n} (1 sync + 1 checkpoint per run)",
               lambda where, n=n: bench_tree_now(where, n)) for n in RUN_SIZES]
    cases += [(f"whole LogLine append (chain + tree), run of {n}",
               lambda where, n=n: bench_logline_append(where, n)) for n in RUN_SIZES]
    results: dict[str, list[tuple[float, float, float]]] = {label: [] for label, _ in cases}
    for round_index in range(rounds):
        for case_index, (label, bench) in enumerate(cases):
            results[label].append(bench(base / f"r{round_index}c{case_index}"))
    return [(label, *sorted(runs)[len(runs) // 2]) for label, runs in results.items()]


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
    print("\n| append + checkpoint per LogLine | where | wall ms | CPU ms | fsyncs |\n|---|---|---|---|---|")
    places = [("storage disk", REPO)]
    tmpfs = Path("/dev/shm")  # noqa: S108 (a private TemporaryDirectory inside it, for its speed only)
    if tmpfs.is_dir():
        places.append(("tmpfs", tmpfs))
    for place, parent in places:
        with tempfile.TemporaryDirectory(dir=parent) as scratch:
            for label, wall, cpu, syncs in bench_append(Path(scratch)):
                print(f"| {label} | {place} | {wall * 1e3:.2f} | {cpu * 1e3:.2f} | {syncs:.2f} |")
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
