"""`vv verify` and a rolled-back chain head (issue 23 item 6): restore an older genuine
.chain_head.json, delete the LogLines after it, and the chain alone looks whole; the box's other
records of the newest LogLine (state DB, pipeline_status.json, scheduler cache, playlists, logs,
log export) must say otherwise.

The box is driven by the real orchestrator with the REAL `vv logline` and `vv schedule` stages;
scan and summarize are the contract test double (fast), whose summaries are schema-valid.
"""

import json
import shutil
import subprocess
import sys

import pytest

from ops.upkeep.log_exporter import export_logs
from orchestrator.runners import LocalRunner, default_vv_command
from tests.orchestrator.conftest import Box, contract_command
from transparency.chain_witnesses import RECORDED_LOGLINE_MISSING, TAIL_MISSING
from vv_core.loglines import HEAD_FILE


class HybridRunner:
    """Contract double for scan/summarize, the real `vv logline` / `vv schedule` for the rest."""

    name = "hybrid"

    def __init__(self, env):
        self.contract = LocalRunner(contract_command(), env=env)
        self.real = LocalRunner(default_vv_command(), env=env)

    def run(self, command, args, timeout_s):
        runner = self.real if command in ("logline", "schedule") else self.contract
        return runner.run(command, args, timeout_s)


@pytest.fixture
def live(storage_root, tmp_path, monkeypatch):
    from ops.provisioning.bootstrap import bootstrap

    monkeypatch.chdir(tmp_path)
    box = Box(storage_root, tmp_path)
    box.settings = box.settings.model_copy(update={"orchestrator_trigger_schedule": True})
    bootstrap(box.settings)
    box.env = {**box.env, "KEY_STORE_PATH": str(box.settings.key_store_path), "STABLE_WAIT_S": "0"}
    return box


def run(box):
    from orchestrator.cli import run_once
    from vv_core.jsonlog import setup_logging

    setup_logging("orchestrator", "INFO", box.settings.storage.logs / "app.log", stream=sys.stderr)
    return run_once(box.settings, HybridRunner(box.env))


def verify(box, *args):
    return subprocess.run([sys.executable, "-m", "vv_cli.main", "verify", *args], capture_output=True, text=True,
                          env=box.env, timeout=120, check=False)


def test_a_rolled_back_head_with_its_tail_deleted_is_caught_by_the_other_records(live, tmp_path):
    loglines = live.root / "loglines"
    for name in ("a", "b"):
        live.drop(f"cam1/{name}.mp4")
    assert len(run(live).done) == 2
    old_head = (loglines / HEAD_FILE).read_bytes()               # genuine, at seq 1
    for name in ("c", "d"):
        live.drop(f"cam1/{name}.mp4")
    assert len(run(live).done) == 2
    export_logs(live.root / "logs", live.root / "logs" / "archive")
    clean = verify(live)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "cross-checked with the orchestrator's state DB (seq 3)" in clean.stdout
    for seen in ("pipeline_status.json (seq 3)", "the scheduler's signed cache (seq 3)",
                 "the JSON log (seq 3)", "the newest log export (seq 3)"):
        assert seen in clean.stdout

    # The attack: the old genuine head back, the LogLines after it gone.
    (loglines / HEAD_FILE).write_bytes(old_head)
    tail = sorted(p for p in loglines.glob("*.logline.json") if json.loads(p.read_text())["seq"] >= 2)
    assert len(tail) == 2
    for path in tail:
        path.unlink()
        path.with_name(path.name.replace(".logline.json", ".md")).unlink(missing_ok=True)
    shutil.copytree(loglines, tmp_path / "chain_alone")
    assert verify(live, str(tmp_path / "chain_alone")).returncode == 0   # the chain alone cannot tell

    caught = verify(live, "--json")
    assert caught.returncode == 1
    report = json.loads(caught.stdout)
    reasons = {(p["reason"], p["file"].removeprefix(str(live.root) + "/")) for p in report["problems"]}
    assert {(TAIL_MISSING, "state/orchestrator.sqlite3"), (TAIL_MISSING, "state/pipeline_status.json"),
            (TAIL_MISSING, "state/tv_scheduler_cache.json"), (TAIL_MISSING, "logs/app.log")} <= reasons
    assert sorted(f for r, f in reasons if r == RECORDED_LOGLINE_MISSING) == sorted(
        f"loglines/{p.name}" for p in tail)
    text = verify(live).stdout
    assert "at least 2 LogLine(s) are missing" in text and "only a checkpoint kept off the box" in text


def test_a_box_without_other_records_says_the_check_could_not_be_made(live):
    from tests.logline_fixtures import fast_chain
    from vv_core.keystore import load_key_store

    fast_chain(live.root / "loglines", 3, load_key_store(live.settings.key_store_path))
    result = verify(live)
    assert result.returncode == 0
    assert "warning: no other record of the newest LogLine" in result.stdout


def test_a_forged_scheduler_cache_is_no_witness(live):
    live.drop("cam1/a.mp4")
    run(live)
    cache = live.root / "state/tv_scheduler_cache.json"
    mac, payload = cache.read_bytes().split(b"\n", 1)
    document = json.loads(payload)
    document["rows"][0][6] = 99                                  # claims seq 99, without the key
    cache.write_bytes(mac + b"\n" + json.dumps(document).encode())
    result = verify(live, "--json")
    assert result.returncode == 0, result.stdout
    witnesses = {w["what"]: w["newest_seq"] for w in json.loads(result.stdout)["witnesses"]}
    assert witnesses["the scheduler's signed cache"] is None and witnesses["the orchestrator's state DB"] == 0


def test_vv_verify_of_another_directory_is_not_cross_checked(live, tmp_path):
    live.drop("cam1/a.mp4")
    run(live)
    copy = tmp_path / "copy"
    shutil.copytree(live.root / "loglines", copy)
    result = verify(live, "--json", str(copy))
    assert result.returncode == 0 and "witnesses" not in json.loads(result.stdout)
