"""The operator console with a big chain: review, full-text and semantic search, index catch-up.

    python benchmarks/bench_console.py [LOGLINES] [DISTINCT_TEXTS]     (default 100000 2000)

Writes LOGLINES signed LogLines (titles/summaries drawn from DISTINCT_TEXTS combinations, so the
embedding model runs once per distinct text, as the index does), builds the index, installs the
embedding model (verified, from the manifest), then times through the real app (FastAPI
TestClient, admin session, pages rendered by Jinja2):
  - the review page (newest 50; with camera / status / label filters),
  - full-text search pages, semantic search pages (p50/p95 over many requests),
  - catch-up: a new LogLine file written → found by a full-text search (10 times, worst case),
and reports the index size. Targets (issue 18): review and full-text p95 ≤ 100 ms, semantic p95 ≤
300 ms, catch-up ≤ 2 s.
"""

import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "vv-core")]

from fastapi.testclient import TestClient  # noqa: E402

from tests.tv_api.console_support import install_embedder  # noqa: E402
from tv_api.app import create_app  # noqa: E402
from tv_api.auth.store import UserStore  # noqa: E402
from vv_cli.settings import Settings  # noqa: E402
from vv_core.keystore import create_key_store  # noqa: E402
from vv_core.loglines import encode_logline, logline_filename, seal_logline  # noqa: E402
from vv_core.storage import StorageLayout  # noqa: E402

WHO = ["A person", "Two people", "A courier", "A child", "A cyclist", "A dog", "A delivery van", "A cat"]
DID = ["walks past", "stops at", "rides a bicycle past", "waits by", "runs across", "parks near", "leaves",
       "looks into"]
WHERE = ["the front gate", "the garage", "the lawn", "the drive", "the back door", "the bins", "the fence",
         "the street"]
WHEN = ["in daylight", "at night", "in the rain", "at dusk"]
STATUSES = ("confirmado", "alerta", "experimental", "curado")


def text_for(n: int) -> tuple[str, str]:
    who, did, where, when = WHO[n % 8], DID[n // 8 % 8], WHERE[n // 64 % 8], WHEN[n // 512 % 4]
    return f"{who} {did} {where}", f"{who} {did} {where} {when}."


def write_chain(loglines: Path, key_store, count: int, distinct: int, start: datetime) -> str:
    prev = "0" * 64
    for index in range(count):
        title, summary = text_for(index % distinct)
        fields = {"schema_version": "1.0", "id": f"cam{index % 4}_{index:07d}", "who": f"cam{index % 4}",
                  "did": "detected", "this": "1 person", "status": STATUSES[index % 4], "title": title,
                  "summary": summary, "when": (start + timedelta(seconds=30 * index)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "source": {"video": f"processed/cam{index % 4}/{index:07d}.mp4", "duration_s": 60.0},
                  "source_hash": hashlib.sha256(str(index).encode()).hexdigest()}
        record = seal_logline(fields, seq=index, prev_hash=prev, key_store=key_store)
        raw = encode_logline(record)
        (loglines / logline_filename(record["id"])).write_bytes(raw)
        prev = hashlib.sha256(raw[:-1]).hexdigest()
    return prev


def timed(client, headers, urls: list[str], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        for url in urls:
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
    return times


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    distinct = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    work = Path(tempfile.mkdtemp(prefix="vv-bench-console-"))
    try:
        layout = StorageLayout(work / "storage")
        layout.ensure()
        key_store = create_key_store(work / "keys.json", "k1")
        start = datetime(2026, 1, 1, tzinfo=UTC)
        t0 = time.perf_counter()
        write_chain(layout.loglines, key_store, count, distinct, start)
        print(f"wrote {count} LogLines in {time.perf_counter() - t0:.1f} s")
        models = install_embedder(work / "models")
        secrets_dir = work / "secrets"
        UserStore(secrets_dir).add("admin", "benchmark password", "admin")
        settings = Settings(video_storage_root=layout.root, key_store_path=work / "keys.json", models_dir=models,
                            tv_api_secrets_dir=secrets_dir)
        app = create_app(settings)
        token, _ = app.state.services.tokens.issue("admin", "admin", "access", 3600)
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(app) as client:
            t0 = time.perf_counter()
            client.get("/console/review", headers=headers)  # first request: builds the index
            state = app.state.console
            state.stop()  # the benchmark drives the index itself
            print(f"full-text index of {count} LogLines built in {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            embedded = state.index.embed_pending()
            print(f"embedded {embedded} distinct texts in {time.perf_counter() - t0:.1f} s "
                  f"({(time.perf_counter() - t0) / max(embedded, 1) * 1000:.1f} ms each)")
            review = ["/console/review", "/console/review?camera=cam2", "/console/review?status=alerta",
                      "/console/review?camera=cam1&status=experimental", "/console/review?since=2026-01-20T00:00"]
            words = ["/console/search?q=bicycle", "/console/search?q=courier+garage",
                     "/console/search?q=dog+lawn+rain", "/console/search?q=night&status=alerta",
                     "/console/search?q=van&camera=cam3"]
            meaning = ["/console/search?mode=semantic&q=someone+on+a+bike+at+night",
                       "/console/search?mode=semantic&q=a+parcel+being+delivered",
                       "/console/search?mode=semantic&q=an+animal+in+the+garden&camera=cam2",
                       "/console/search?mode=semantic&q=a+kid+playing+outside"]
            timed(client, headers, review + words + meaning, 1)  # warm up
            results = {name: timed(client, headers, urls, rounds) for name, urls, rounds in
                       (("review page", review, 20), ("full-text search", words, 20),
                        ("semantic search", meaning, 15))}
            catch_up = []
            prev_hash = hashlib.sha256((layout.loglines / logline_filename(f"cam{(count - 1) % 4}_{count - 1:07d}")
                                        ).read_bytes()[:-1]).hexdigest()
            for n in range(10):
                fields = {"schema_version": "1.0", "id": f"new_{n}", "who": "cam9", "did": "detected",
                          "this": "1 fox", "status": "alerta", "title": f"Zebracrossing fox {n}",
                          "summary": "A fox crosses.", "when": "2026-12-01T00:00:00Z",
                          "source": {"video": "processed/cam9/x.mp4"}, "source_hash": "0" * 64}
                record = seal_logline(fields, seq=count + n, prev_hash=prev_hash, key_store=key_store)
                raw = encode_logline(record)
                written = time.perf_counter()
                (layout.loglines / logline_filename(record["id"])).write_bytes(raw)
                prev_hash = hashlib.sha256(raw[:-1]).hexdigest()
                while f"Zebracrossing fox {n}" not in client.get(f"/console/search?q=zebracrossing+{n}",
                                                                 headers=headers).text:
                    time.sleep(0.01)
                catch_up.append((time.perf_counter() - written) * 1000)
            size = state.index.stats()
        print(f"\n{'':22} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  n")
        for name, values in results.items():
            print(f"{name:22} {statistics.median(values):8.1f} {p(values, 95):8.1f} {max(values):8.1f}  {len(values)}")
        print(f"{'catch-up (new file)':22} {statistics.median(catch_up):8.1f} {'':>8} {max(catch_up):8.1f}  10")
        print(f"\nindex: {size['events']} LogLines, {size['vectors']} vectors, "
              f"{size['bytes'] / 1e6:.1f} MB on disk ({size['bytes'] / max(size['events'], 1):.0f} B per LogLine)")
        print(f"load average: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
