"""LogLine verification throughput: scripts/logline_verifier.py vs naive baselines, same run.

    python benchmarks/bench_verify.py [COUNT]

Ours: `verify_directory` on a COUNT-record chain (file read, parse, full schema check, HMAC, chain
links, head). Baselines, per record: read + json.loads + schema + HMAC over re-serialized canonical
JSON + link hash — (a) with `jsonschema.validate(doc, schema)` as commonly written (re-checks the
schema every call), (b) with a jsonschema validator compiled once (vv_core.schema.validate_schema).
"""

import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "vv-core")]

import jsonschema  # noqa: E402

from transparency.verifier import verify_directory  # noqa: E402
from vv_core.canonical import canonical_json  # noqa: E402
from vv_core.keystore import create_key_store  # noqa: E402
from vv_core.loglines import (  # noqa: E402
    GENESIS_HASH,
    ChainHead,
    encode_logline,
    head_document,
    link_hash,
    seal_logline,
)
from vv_core.schema import load_schema, validate_schema  # noqa: E402
from vv_core.signing import verify_signature  # noqa: E402


def write_chain(directory: Path, count: int, key_store) -> list[Path]:
    directory.mkdir(parents=True)
    prev, paths = GENESIS_HASH, []
    for index in range(count):
        fields = {"schema_version": "1.0", "id": f"cam{index % 4}_{index:07d}", "who": f"cam{index % 4}",
                  "did": "detected", "this": f"{index % 5 + 1} persons, 1 bicycle",
                  "when": "2026-11-21T10:15:00Z", "status": "confirmado", "title": f"Event {index}",
                  "summary": "Two people ride bicycles past the front gate in daylight.",
                  "source": {"video": f"input/cam{index % 4}/{index:07d}.mp4", "duration_s": 60.0,
                             "summary": f"summaries/cam{index % 4}_{index:07d}.summary.json"},
                  "source_hash": hashlib.sha256(str(index).encode()).hexdigest()}
        record = seal_logline(fields, seq=index, prev_hash=prev, key_store=key_store)
        path = directory / f"{record['id']}.logline.json"
        path.write_bytes(encode_logline(record))
        prev = link_hash(record)
        paths.append(path)
    head = ChainHead(count - 1, prev, record["id"])
    (directory / ".chain_head.json").write_bytes(json.dumps(head_document(head, key_store)).encode())
    return paths


def naive(paths: list[Path], key_store, validate) -> int:
    ok, prev = 0, GENESIS_HASH
    for path in sorted(paths):
        document = json.loads(path.read_bytes())
        validate(document)
        good = verify_signature(document, document["signature"], key_store.secret_for(document["key_id"]))
        ok += good and document["prev_hash"] == prev
        prev = hashlib.sha256(canonical_json(document)).hexdigest()
    return ok


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def cpu_timed(action) -> float:
    """CPU seconds of this process: on a box shared with other jobs, the wall time it would take
    alone (wall time under contention mostly measures the neighbours)."""
    start = time.process_time()
    action()
    return time.process_time() - start


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    schema = load_schema("logline")
    with tempfile.TemporaryDirectory() as scratch:
        key_store = create_key_store(Path(scratch) / "keys.json", "bench")
        paths = write_chain(Path(scratch) / "loglines", count, key_store)
        directory = paths[0].parent
        verify_directory(directory, key_store)  # warm the page cache and compile once
        ours = min(timed(lambda: verify_directory(directory, key_store)) for _ in range(3))
        serial = min(timed(lambda: verify_directory(directory, key_store, jobs=1)) for _ in range(3))
        serial_cpu = min(cpu_timed(lambda: verify_directory(directory, key_store, jobs=1)) for _ in range(3))
        assert verify_directory(directory, key_store).ok
        compiled = min(timed(lambda: naive(paths, key_store, lambda d: validate_schema(d, "logline")))
                       for _ in range(2))
        compiled_cpu = cpu_timed(lambda: naive(paths, key_store, lambda d: validate_schema(d, "logline")))
        subset = paths[: max(1, count // 20)]  # jsonschema.validate re-checks the schema: slow
        literal = timed(lambda: naive(subset, key_store, lambda d: jsonschema.validate(d, schema)))
    rate_literal = len(subset) / literal
    rows = [
        ("naive: jsonschema.validate + hmac per record", len(subset), literal, rate_literal),
        ("naive: compiled jsonschema + hmac per record", count, compiled, count / compiled),
        ("scripts/logline_verifier.py, 1 process", count, serial, count / serial),
        (f"scripts/logline_verifier.py, {min(os.cpu_count() or 1, 4)} processes (default)", count, ours,
         count / ours),
    ]
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    print("| implementation | LogLines | seconds | LogLines/s | vs jsonschema.validate | vs compiled |")
    print("|---|---|---|---|---|---|")
    for name, n, seconds, rate in rows:
        print(f"| {name} | {n} | {seconds:.3f} | {rate:,.0f} | {rate / rate_literal:.1f}× "
              f"| {rate / (count / compiled):.2f}× |")
    print()
    print("CPU time (what the same run costs without neighbours on the box):")
    print("| implementation | LogLines | CPU seconds | LogLines per CPU-second | ratio |")
    print("|---|---|---|---|---|")
    print(f"| naive: compiled jsonschema + hmac | {count} | {compiled_cpu:.3f} "
          f"| {count / compiled_cpu:,.0f} | 1.00× |")
    print(f"| scripts/logline_verifier.py, 1 process | {count} | {serial_cpu:.3f} "
          f"| {count / serial_cpu:,.0f} | {compiled_cpu / serial_cpu:.2f}× |")


if __name__ == "__main__":
    main()
