"""Container healthchecks: each stage's probe passes when it can work and names what is wrong."""

import http.server
import subprocess
import sys
import threading

import pytest

from ops.upkeep import container_health as health
from ops.upkeep.container_health import Unhealthy, check_http, main, run_check
from tests.helpers import repo_env
from vv_core.keystore import create_key_store


@pytest.fixture
def ready(settings, monkeypatch):
    settings.storage.ensure()
    settings.key_store_path.parent.mkdir(parents=True, exist_ok=True)
    create_key_store(settings.key_store_path, "k1")
    # Stage code lands on other branches: make every stage module "importable" for these tests.
    monkeypatch.setattr(health.importlib.util, "find_spec", lambda name: object())
    return settings


@pytest.mark.parametrize("stage", ["capture", "scan", "logline", "schedule"])
def test_stages_are_healthy_when_ready(ready, stage):
    run_check(stage, ready)


def test_summarizer_needs_the_model_pointer(ready, tmp_path):
    ready = ready.model_copy(update={"models_dir": tmp_path / "models"})
    with pytest.raises(Unhealthy, match="LLM model pointer missing"):
        run_check("summarize", ready)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / ".current_model_info.json").write_text("{}")
    run_check("summarize", ready)


def test_missing_storage_is_named(ready):
    ready.storage.analytic.rmdir()
    with pytest.raises(Unhealthy, match=r"storage directory missing: .*analytic"):
        run_check("scan", ready)


def test_readonly_storage_is_named(ready, monkeypatch):
    monkeypatch.setattr(health.os, "access", lambda path, mode: False)
    with pytest.raises(Unhealthy, match="not writable by uid"):
        run_check("schedule", ready)


def test_bad_key_store_is_unhealthy_without_leaking(ready):
    ready.key_store_path.chmod(0o644)
    with pytest.raises(Unhealthy, match="chmod 600"):
        run_check("logline", ready)


def test_missing_stage_code_is_named(settings):
    settings.storage.ensure()
    with pytest.raises(Unhealthy, match="'no_such_stage' is not importable"):
        health.check_module("no_such_stage")


class _Handler(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_api_check_calls_healthz(ready, http_server, monkeypatch):
    port = http_server.server_address[1]
    monkeypatch.setenv("TV_API_INTERNAL_PORT", str(port))
    run_check("api", ready)
    _Handler.status = 503
    try:
        with pytest.raises(Unhealthy, match=r"503|unreachable"):
            check_http(f"http://127.0.0.1:{port}/healthz")
    finally:
        _Handler.status = 200
    http_server.shutdown()
    http_server.server_close()
    with pytest.raises(Unhealthy, match="unreachable"):
        check_http(f"http://127.0.0.1:{port}/healthz", timeout=1)


def test_main_exit_codes(ready, capsys, monkeypatch):
    monkeypatch.setattr(health, "CoreSettings", lambda: ready)
    assert main(["scan"]) == 0 and capsys.readouterr().out == "healthy\n"
    ready.storage.analytic.rmdir()
    assert main(["scan"]) == 1 and "unhealthy: storage directory missing" in capsys.readouterr().err
    assert main(["bogus"]) == 2 and "usage" in capsys.readouterr().err


def test_module_runs_as_the_dockerfile_healthcheck(tmp_path):
    env = repo_env(VIDEO_STORAGE_ROOT=str(tmp_path / "nope"), KEY_STORE_PATH=str(tmp_path / "k.json"))
    result = subprocess.run([sys.executable, "-m", "ops.upkeep.container_health", "logline"], capture_output=True,
                            text=True, env=env, cwd=tmp_path, check=False)
    assert result.returncode == 1 and result.stderr.startswith("unhealthy: ")


def test_redis_check_pings_the_queues_redis(settings, tmp_path, monkeypatch):
    """The redis image's healthcheck (deploy/swarm/): healthy while redis-server answers, one line
    naming the port once it is gone."""
    from tests.redis_server import REDIS_SERVER, RedisServer

    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path / "redis")
    monkeypatch.setenv("VV_REDIS_PORT", str(server.port))
    try:
        run_check("redis", settings)
    finally:
        server.stop()
    with pytest.raises(Unhealthy, match=rf"redis on 127.0.0.1:{server.port} does not answer: ConnectionError"):
        run_check("redis", settings)
