"""`vv logline`, the blueprint script and `vv keys rotate`, end to end once each."""

import json
import subprocess
import sys

import pytest

from tests.logline_fixtures import make_key_store, summary_doc, write_summary


def run(*args, env):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, check=False)


@pytest.mark.slow
def test_vv_logline_and_blueprint_script(cli_env, storage_root, tmp_path):
    make_key_store(tmp_path / "secrets" / "keys.json")
    first = write_summary(storage_root, summary_doc("cam1_a"))
    result = run("-m", "vv_cli.main", "logline", str(first), env=cli_env)
    assert result.returncode == 0, result.stderr
    written = storage_root / "loglines" / "cam1_a.logline.json"
    assert result.stdout.strip() == str(written)
    second = write_summary(storage_root, summary_doc("cam1_b"))
    out_dir = tmp_path / "elsewhere"
    result = run("-m", "logline_generator.logline_generator", str(second), "--output-dir", str(out_dir),
                 env=cli_env)
    assert result.returncode == 0, result.stderr
    assert json.loads((out_dir / "cam1_b.logline.json").read_text())["seq"] == 0  # its own chain
    bad = run("-m", "vv_cli.main", "logline", str(tmp_path / "missing.json"), env=cli_env)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "summary not found" in bad.stderr


def test_vv_logline_logs_to_app_log_and_keeps_its_streams_for_data(cli_env, storage_root, tmp_path):
    # The one process start-up (issue 16): JSON log lines in logs/app.log; stdout only the paths
    # written, stderr nothing on success (before, its warnings went bare to stderr and INFO nowhere).
    make_key_store(tmp_path / "secrets" / "keys.json")
    summary = write_summary(storage_root, summary_doc("cam1_logged"))
    result = run("-m", "vv_cli.main", "logline", str(summary), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(storage_root / "loglines" / "cam1_logged.logline.json")
    assert result.stderr == ""
    log = [json.loads(line) for line in (storage_root / "logs" / "app.log").read_text().splitlines()]
    assert any(entry["message"] == "LogLine appended" and entry["video_id"] == "cam1_logged"
               and entry["service_name"] == "logline_generator" for entry in log)


@pytest.mark.slow
def test_vv_keys_rotate_then_old_and_new_loglines_verify(cli_env, storage_root, tmp_path):
    store = tmp_path / "secrets" / "keys.json"
    make_key_store(store, "k1")
    assert run("-m", "vv_cli.main", "logline", str(write_summary(storage_root, summary_doc("a"))),
               env=cli_env).returncode == 0
    rotated = run("-m", "vv_cli.main", "keys", "rotate", "k2", env=cli_env)
    assert rotated.returncode == 0 and rotated.stdout.strip() == str(store)
    assert json.loads(store.read_text())["active_key_id"] == "k2"
    assert "k1" in json.loads(store.read_text())["keys"]
    assert run("-m", "vv_cli.main", "logline", str(write_summary(storage_root, summary_doc("b"))),
               env=cli_env).returncode == 0
    assert json.loads((storage_root / "loglines" / "b.logline.json").read_text())["key_id"] == "k2"
    verified = run("-m", "vv_cli.main", "verify", env=cli_env)
    assert verified.returncode == 0 and "OK: 2 LogLine(s)" in verified.stdout
    again = run("-m", "vv_cli.main", "keys", "rotate", "k2", env=cli_env)
    assert again.returncode == 1 and "already exists" in again.stderr
    invalid = run("-m", "vv_cli.main", "keys", "rotate", "bad id", env=cli_env)
    assert invalid.returncode == 1 and "must match" in invalid.stderr
