"""`vv orchestrate`, `vv status`, `vv alert` as subprocesses (contract test double as the stages)."""

import json
import shlex
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from orchestrator.cli import run_loop, status_summary
from orchestrator.lock import run_lock
from tests.orchestrator.conftest import contract_command
from tests.webhook_server import WebhookServer


@pytest.fixture
def env(box):
    return {**box.env, "ORCHESTRATOR_VV_COMMAND": shlex.join(contract_command()), "STABLE_WAIT_S": "0",
            "RETRY_BACKOFF_S": "0", "KEY_STORE_PATH": str(box.root.parent / "secrets/keys.json")}


def vv(*args, env, timeout=120):
    return subprocess.run([sys.executable, "-m", "vv_cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)


def test_orchestrate_once_and_status(box, env):
    box.drop("cam1/a.mp4")
    box.drop("cam1/bad.mp4", b"nope")
    result = vv("orchestrate", "--once", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(box.root / "state/pipeline_status.json")
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    summary = next(e for e in logged if e["message"].startswith("run finished"))
    assert summary["done"] == ["cam1_a"] and summary["failed"] == ["cam1_bad"]
    assert (box.root / "logs/app.log").is_file()
    status = vv("status", "--json", env=env)
    assert status.returncode == 0
    assert '"done": 1' in status.stdout and "cam1_bad  failed  attempts=1" in status.stdout
    assert "not a video: bad.mp4" in status.stdout


def test_status_before_any_run(box):
    text = status_summary(box.settings)
    assert "has not run" in text and "no state DB" in text


def test_status_shows_pending_retries(box):
    box.drop("cam1/a.mp4")
    box.inject("scan", "exit2")
    box.settings = box.settings.model_copy(update={"retry_backoff_s": 60.0})
    box.run()
    assert "cam1_a  discovered  attempts=1 next attempt" in status_summary(box.settings)


def test_a_second_run_is_skipped_while_the_lock_is_held(box, env):
    box.drop("cam1/a.mp4")
    with run_lock(box.root / "state"):
        result = vv("orchestrate", "--once", env=env)
    assert result.returncode == 0
    assert "skipped: another orchestrator run holds the lock" in result.stderr
    assert box.files("processed") == []


def test_help_and_bad_arguments(env):
    assert "--loop" in vv("orchestrate", "--help", env=env).stdout
    result = vv("orchestrate", "--once", "--loop", env=env)
    assert result.returncode == 2 and "not allowed with" in result.stderr


def test_internal_failure_exits_2(box, env):
    (box.root / "state/orchestrator.sqlite3").mkdir()  # the DB path is unusable
    result = vv("orchestrate", "--once", env=env)
    assert result.returncode == 2 and "error: internal error" in result.stderr


def test_loop_runs_until_sigterm(box, env):
    box.drop("cam1/a.mp4")
    process = subprocess.Popen([sys.executable, "-m", "vv_cli.main", "orchestrate", "--loop"],
                               env={**env, "ORCHESTRATOR_INTERVAL": "0.2"}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (box.root / "processed/cam1/a.mp4").exists():
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_run_loop_survives_a_failing_run(box, caplog):
    calls = []

    class Broken:
        name = "broken"

        def run(self, *args, **kwargs):
            calls.append(args)
            # A broken state DB fails the whole run (one video's own errors do not: test_hostile_names).
            raise sqlite3.OperationalError("disk I/O error")

    box.drop("cam1/a.mp4")
    quick = box.settings.model_copy(update={"orchestrator_interval": 0.01})
    assert run_loop(quick, threading.Event(), runner=Broken(), max_runs=2) == 2
    assert len(calls) == 2 and "orchestrator run failed" in caplog.text


def test_vv_alert_command_posts_to_the_webhook(box, env, tmp_path):
    log = tmp_path / "smoke.log"
    log.write_text("step 1 ok\nstep 2 FAILED\n")
    with WebhookServer() as hook:
        result = vv("alert", "daily smoke failed", "LogLine missing", "--severity", "CRITICAL",
                    "--source", "run_tests", "--log-file", str(log),
                    env={**env, "ALERT_WEBHOOK_URL": hook.url, "ALERT_RETRIES": "0"})
        assert result.returncode == 0, result.stderr
        body = hook.bodies()[0]
    assert body["severity"] == "CRITICAL" and body["context"]["log_excerpt"].endswith("step 2 FAILED")
    bad = vv("alert", "t", "m", "--severity", "LOUD", env=env)
    assert bad.returncode == 2
    unreachable = vv("alert", "t", "m", env={**env, "ALERT_WEBHOOK_URL": "http://127.0.0.1:9/x",
                                             "ALERT_RETRIES": "0", "ALERT_TIMEOUT_S": "1"})
    assert unreachable.returncode == 2 and "could not be delivered" in unreachable.stderr
