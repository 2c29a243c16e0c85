"""A real Prometheus (Debian's binary) on loopback scrapes a /metrics endpoint serving the pipeline
metrics, loads monitoring/alerts.yml, and answers pipeline queries through its HTTP API; every
expression of the Grafana dashboard and every metric named by the alerts is checked against it."""

import json
import re
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO_ROOT

MONITORING = REPO_ROOT / "monitoring"
SCRAPE_TOKEN = "stand-in-exporter-ignores-it"
PROMQL_FUNCTIONS = {"sum", "rate", "increase", "histogram_quantile", "max", "by", "and", "up", "time"}

pytestmark = pytest.mark.slow   # Debian's prometheus comes with `make setup` (APT_PACKAGES)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read())


def query(base: str, expr: str) -> dict:
    return get_json(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))


def wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def pipeline_exporter():
    """A /metrics endpoint with tv_api's pipeline metric names (prometheus-client's own server)."""
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

    registry = CollectorRegistry()
    Gauge("vv_pipeline_queue_length", "Videos waiting in input/", registry=registry).set(7)
    Gauge("vv_pipeline_videos_in_progress", "Videos being processed", registry=registry).set(1)
    Gauge("vv_pipeline_status_present", "1 if pipeline_status.json was read", registry=registry).set(1)
    Gauge("vv_pipeline_status_age_seconds", "Seconds since the orchestrator wrote its status",
          registry=registry).set(42)
    Counter("vv_pipeline_videos_done", "Videos fully processed", registry=registry).inc(41)
    Counter("vv_pipeline_videos_failed", "Videos quarantined", registry=registry).inc(1)
    errors = Counter("vv_pipeline_stage_errors", "Stage runs that failed", ["stage"], registry=registry)
    runs = Counter("vv_pipeline_stage_runs", "Stage runs", ["stage"], registry=registry)
    durations = Histogram("vv_pipeline_stage_duration_seconds", "Stage run duration", ["stage"],
                          buckets=(1, 5, 30, 120, 600), registry=registry)
    for stage, seconds in (("scan", 2.5), ("summarize", 0.8), ("logline", 0.05)):
        runs.labels(stage).inc(3)
        errors.labels(stage).inc(0)
        for _ in range(3):
            durations.labels(stage).observe(seconds)
    Gauge("vv_storage_free_bytes", "Free bytes on the storage root", registry=registry).set(123e9)
    Gauge("vv_storage_total_bytes", "Size of the storage root", registry=registry).set(500e9)
    Gauge("vv_playlist_age_seconds", "Seconds since the TV's playlist was written", ["tv"],
          registry=registry).labels("tv1").set(30)
    Counter("vv_http_requests", "HTTP requests", ["method", "route", "status"],
            registry=registry).labels("GET", "/playlist", "200").inc()
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def prometheus(tmp_path: Path, pipeline_exporter: str):
    """Debian's Prometheus with monitoring/prometheus.yml, its target pointed at the exporter."""
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(MONITORING / "alerts.yml")]
    [tv_api] = [job for job in config["scrape_configs"] if job["job_name"] == "tv_api"]
    tv_api["scrape_timeout"] = "1s"
    token = tmp_path / "tv_api_token"
    token.write_text(SCRAPE_TOKEN + "\n")
    tv_api["authorization"]["credentials_file"] = str(token)
    tv_api["static_configs"][0]["targets"] = [pipeline_exporter]
    port = free_port()
    config["scrape_configs"] = [job for job in config["scrape_configs"] if job["job_name"] == "tv_api"]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: process.poll() is None
                 and urllib.request.urlopen(f"{base}/-/ready", timeout=2).status == 200,  # noqa: S310
                 60, "prometheus to be ready")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


def metric_names(expr: str) -> set[str]:
    names = set(re.findall(r"\b(vv_[a-z0-9_]+|up)\b", expr))
    return {re.sub(r"_(bucket|sum|count)$", "", n) if n.startswith("vv_pipeline_stage_duration") else n
            for n in names} - PROMQL_FUNCTIONS


def test_prometheus_scrapes_pipeline_metrics_and_answers_queries(prometheus, pipeline_exporter):
    found = wait_for(lambda: query(prometheus, "vv_pipeline_queue_length")["data"]["result"], 30,
                     "the first scrape of vv_pipeline_queue_length")
    assert float(found[0]["value"][1]) == 7
    assert found[0]["metric"]["job"] == "tv_api" and found[0]["metric"]["instance"] == pipeline_exporter
    done = query(prometheus, "vv_pipeline_videos_done_total")["data"]["result"]
    assert float(done[0]["value"][1]) == 41
    target = get_json(f"{prometheus}/api/v1/targets")["data"]["activeTargets"][0]
    assert target["health"] == "up" and target["labels"]["service"] == "tv_api"

    # the alert rules were loaded and evaluate without errors against real data
    def rule_groups():
        return get_json(f"{prometheus}/api/v1/rules")["data"]["groups"]

    assert {g["name"] for g in rule_groups()} == {"vv-pipeline", "vv-box"}
    wait_for(lambda: all(r["health"] == "ok" and r.get("lastEvaluation", "").startswith("20")
                         for g in rule_groups() for r in g["rules"]), 15, "every rule evaluated healthy")

    # every metric the dashboard and the alerts use is really exposed by the scraped endpoint
    exposed = set(get_json(f"{prometheus}/api/v1/label/__name__/values")["data"])
    dashboard = json.loads((MONITORING / "grafana/dashboards/vv-pipeline.json").read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
    expressions += [r["expr"] for g in rules for r in g["rules"]]
    used = set().union(*(metric_names(e) for e in expressions))
    exposed_families = exposed | {n.removesuffix("_bucket") for n in exposed}
    assert used - exposed_families == set(), "metrics used by dashboard/alerts but not exposed"

    # every dashboard expression is valid PromQL that Prometheus evaluates (Grafana's macro → 1m)
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", "1m")
            answer = query(prometheus, expr)
            assert answer["status"] == "success", (panel["title"], expr)
    scan_fast = query(prometheus, 'vv_pipeline_stage_duration_seconds_bucket{stage="scan", le="5.0"}')
    assert float(scan_fast["data"]["result"][0]["value"][1]) == 3
