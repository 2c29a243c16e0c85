"""A real Prometheus (Debian's binary) on loopback scrapes the real tv_api's /metrics (admin-only:
with a device token issued by `vv tokens issue`) and agent_dvr's endpoint, loads
monitoring/alerts.yml, and answers pipeline queries through its HTTP API; every expression of the
Grafana dashboard and every metric named by the alerts is checked against it."""

import json
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO_ROOT, make_storage_root, repo_env

MONITORING = REPO_ROOT / "monitoring"
PROMQL_FUNCTIONS = {"sum", "rate", "increase", "histogram_quantile", "max", "by", "and", "up", "time"}

pytestmark = pytest.mark.slow   # Debian's prometheus comes with `make setup` (APT_PACKAGES)


def schema_example(name: str) -> dict:
    return json.loads((REPO_ROOT / "schemas" / f"{name}.schema.json").read_text())["examples"][0]


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
def tv_api(tmp_path: Path):
    """The real tv_api (`vv serve`, port 0) over a storage root with a pipeline status and playlists,
    plus an admin device token for Prometheus issued by `vv tokens issue`."""
    storage = make_storage_root(tmp_path / "storage")
    (storage / "playlists").mkdir()
    status = schema_example("pipeline_status")
    (storage / "state" / "pipeline_status.json").write_text(json.dumps(status))
    (storage / "playlists" / "tv1.json").write_text(json.dumps(schema_example("playlist")))
    # what tv_scheduler writes after each build: the playlist-freshness series come from it
    (storage / "state" / "scheduler_heartbeat.json").write_text(json.dumps(
        {"schema_version": "1.0", "built_at": "2026-11-21T10:17:00.004Z", "built_at_unix": time.time(),
         "tvs": ["tv1"]}))
    env = repo_env(VIDEO_STORAGE_ROOT=str(storage), KEY_STORE_PATH=str(tmp_path / "keys.json"),
                   TV_API_SECRETS_DIR=str(tmp_path / "tv_api_secrets"), TV_API_COOKIE_SECURE="false")
    issued = subprocess.run([sys.executable, "-m", "vv_cli.main", "tokens", "issue", "prometheus", "--role", "admin"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, check=True, timeout=60)
    token = issued.stdout.strip().splitlines()[-1]
    server = subprocess.Popen([sys.executable, "-m", "vv_cli.main", "serve", "--host", "127.0.0.1", "--port", "0"],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                raise AssertionError(f"vv serve exited with {server.wait(timeout=5)}")
            if '"listening"' in line:
                port = json.loads(line)["port"]
        assert port, "vv serve never said where it listens"
        yield {"target": f"127.0.0.1:{port}", "token": token, "status": status}
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)


@pytest.fixture
def agent_dvr(tmp_path: Path):
    """agent_dvr's own metrics endpoint (its DvrHttpServer and DvrMetrics), with two cameras."""
    from agent_dvr.http_endpoint import DvrHttpServer
    from agent_dvr.metrics import DvrMetrics

    metrics = DvrMetrics()
    for camera, up in (("cam1", 1), ("cam2", 0)):
        metrics.camera_up.labels(camera).set(up)
        metrics.paused.labels(camera).set(0)
        metrics.segments.labels(camera).inc(3)
    server = DvrHttpServer("127.0.0.1", 0, tmp_path, ["cam1", "cam2"], metrics.registry, dict).start()
    yield f"127.0.0.1:{server.port}"
    server.stop()


@pytest.fixture
def queue_worker(tmp_path: Path):
    """A queue runner worker's metrics endpoint (`vv worker --metrics-port`) on a real redis-server."""
    from prometheus_client import start_http_server

    from tests.redis_server import RedisServer
    from vv_core.queue_worker import Worker
    from vv_core.workqueue import connect

    redis = RedisServer(tmp_path / "redis")
    worker = Worker(connect(redis.url), "scan", lambda job: "", name="scan-1")
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=worker.metrics.registry)
    yield f"127.0.0.1:{port}"
    server.shutdown()
    thread.join(5)
    redis.stop()


@pytest.fixture
def prometheus(tmp_path: Path, tv_api: dict, agent_dvr: str, queue_worker: str):
    """Debian's Prometheus with monitoring/prometheus.yml, its target and token pointed at tv_api."""
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(MONITORING / "alerts.yml")]
    [job] = [job for job in config["scrape_configs"] if job["job_name"] == "tv_api"]
    job["scrape_timeout"] = "1s"
    token = tmp_path / "tv_api_token"
    token.write_text(tv_api["token"] + "\n")
    job["authorization"]["credentials_file"] = str(token)
    job["static_configs"][0]["targets"] = [tv_api["target"]]
    port = free_port()
    [capture] = [job for job in config["scrape_configs"] if job["job_name"] == "agent_dvr"]
    capture["static_configs"][0]["targets"] = [agent_dvr]
    [workers] = [job for job in config["scrape_configs"] if job["job_name"] == "vv_workers"]
    (tmp_path / "workers.d").mkdir()
    (tmp_path / "workers.d" / "box1.json").write_text(json.dumps([{"targets": [queue_worker]}]))
    workers["file_sd_configs"][0]["files"] = [str(tmp_path / "workers.d" / "*.json")]
    config["scrape_configs"] = [job for job in config["scrape_configs"] if job["job_name"] != "prometheus"]
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


def test_prometheus_scrapes_tv_api_and_answers_pipeline_queries(prometheus, tv_api):
    status = tv_api["status"]
    found = wait_for(lambda: query(prometheus, "vv_pipeline_queue_length")["data"]["result"], 30,
                     "the first scrape of vv_pipeline_queue_length")
    assert float(found[0]["value"][1]) == status["queue_length"]
    assert found[0]["metric"]["job"] == "tv_api" and found[0]["metric"]["instance"] == tv_api["target"]
    done = query(prometheus, "vv_pipeline_videos_done_total")["data"]["result"]
    assert float(done[0]["value"][1]) == status["videos"]["done"]
    def healthy_targets():
        active = get_json(f"{prometheus}/api/v1/targets")["data"]["activeTargets"]
        up = {t["labels"]["job"]: t for t in active if t["health"] == "up"}
        return up if {"tv_api", "agent_dvr"} <= set(up) else None

    targets = wait_for(healthy_targets, 15, "both targets up")
    assert targets["tv_api"]["labels"]["service"] == "tv_api"
    cameras = wait_for(lambda: query(prometheus, "vv_dvr_camera_up == 0")["data"]["result"], 15, "camera gauges")
    assert [c["metric"]["camera"] for c in cameras] == ["cam2"]

    # the alert rules were loaded and evaluate without errors against real data
    def rule_groups():
        return get_json(f"{prometheus}/api/v1/rules")["data"]["groups"]

    assert {g["name"] for g in rule_groups()} == {"vv-pipeline", "vv-box", "vv-cameras"}
    wait_for(lambda: all(r["health"] == "ok" and r.get("lastEvaluation", "").startswith("20")
                         for g in rule_groups() for r in g["rules"]), 15, "every rule evaluated healthy")

    # every metric the dashboard and the alerts use is really exposed by the scraped endpoint
    # (request counters appear once tv_api has counted a request: the first scrape is one)
    dashboard = json.loads((MONITORING / "grafana/dashboards/vv-pipeline.json").read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
    expressions += [r["expr"] for g in rules for r in g["rules"]]
    used = set().union(*(metric_names(e) for e in expressions))

    def missing_metrics():
        exposed = set(get_json(f"{prometheus}/api/v1/label/__name__/values")["data"])
        return used - (exposed | {n.removesuffix("_bucket") for n in exposed})

    try:
        wait_for(lambda: not missing_metrics(), 10, "every metric of the dashboard and alerts")
    except AssertionError:
        raise AssertionError(f"used by dashboard/alerts but not exposed: {sorted(missing_metrics())}") from None

    # every dashboard expression is valid PromQL that Prometheus evaluates (Grafana's macro → 1m)
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", "1m")
            answer = query(prometheus, expr)
            assert answer["status"] == "success", (panel["title"], expr)
    scan_fast = query(prometheus, 'vv_pipeline_stage_duration_seconds_bucket{stage="scan", le="5.0"}')
    expected = status["stages"]["scan"]["duration_seconds_buckets"]["5"]
    assert float(scan_fast["data"]["result"][0]["value"][1]) == expected
