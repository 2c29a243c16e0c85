"""`vv diagnose`: evidence rules, the LLM's answer held to the catalogue, remediation's guards, the CLI."""

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from agent_dvr.outages import OutageStore
from ops.diagnosis.catalogue import BY_ID, FAULTS, Thresholds
from ops.diagnosis.drills import sandbox_for
from ops.diagnosis.evidence import Evidence, gather
from ops.diagnosis.faults import inject_llm_corrupted
from ops.diagnosis.ranking import Cause, accept_llm_answer, diagnose, rank_by_rules
from ops.diagnosis.remediation import remediate
from ops.diagnosis.run import alert_sender, config_from_settings
from tests.webhook_server import WebhookServer
from vv_core.jsonlog import utc_timestamp
from vv_core.models import current_model

LIMITS = Thresholds(disk_full_percent=100.0, bad_file_burst=10, clock_jump_s=300.0, stage_hung_s=3600.0)


def test_every_fault_has_an_alert_and_only_known_remedies():
    known = {"restart_stage", "rollback_model", "free_space", "pause_ingestion", "requeue_transient",
             "resume_ingestion", "wait_for_db"}
    assert len({f.id for f in FAULTS}) == len(FAULTS) >= 10
    for fault in FAULTS:
        assert fault.alert_title and fault.description and fault.operator_hint
        assert {remedy.split(":")[0] for remedy in fault.remedies} <= known


def test_llm_answer_must_name_a_candidate_catalogue_id():
    causes = [Cause("disk_full", 91, ["disk: 97% used"]), Cause("tv_api_down", 71, ["tv_api: refused"])]
    assert accept_llm_answer('{"cause": "tv_api_down", "explanation": "x"}', causes) == ("tv_api_down", "x")
    assert accept_llm_answer('{"cause": "cosmic_rays", "explanation": "x"}', causes) is None
    assert accept_llm_answer('{"cause": "clock_jump", "explanation": "x"}', causes) is None  # no evidence for it
    assert accept_llm_answer("the disk is full", causes) is None
    # a small model may write a raw newline inside the explanation: still the catalogue id it names
    assert accept_llm_answer('{"cause": "disk_full", "explanation": "full\n  evidence"}', causes) == (
        "disk_full", "full\n  evidence")


def test_a_healthy_box_matches_no_fault(tmp_path):
    with sandbox_for(LIMITS, tmp_path) as sandbox:
        found = diagnose(gather(sandbox.probe), LIMITS)
    assert found.causes == [] and found.top is None and found.path == "rules"


def test_an_open_camera_outage_is_the_dvr_fault(tmp_path):
    with sandbox_for(LIMITS, tmp_path) as sandbox:
        store = OutageStore(sandbox.root / "state" / "agent_dvr.sqlite3")
        store.open_outage("gate", sandbox.clock() - 120, "connection refused")
        found = diagnose(gather(sandbox.probe), LIMITS)
    assert found.top == "dvr_unreachable"
    assert any("camera gate unreachable" in line and "connection refused" in line for line in found.causes[0].evidence)


def test_json_log_errors_in_the_window_are_evidence(tmp_path):
    with sandbox_for(LIMITS, tmp_path) as sandbox:
        log = sandbox.root / "logs" / "app.log"
        now = sandbox.clock()
        lines = [{"timestamp": utc_timestamp(now - 10), "level": "ERROR", "service_name": "orchestrator",
                  "message": "sqlite3.OperationalError: database is locked"},
                 {"timestamp": utc_timestamp(now - 7200), "level": "ERROR", "service_name": "x", "message": "old"},
                 {"timestamp": utc_timestamp(now - 5), "level": "INFO", "service_name": "x", "message": "fine"}]
        log.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n")
        evidence = gather(sandbox.probe)
    assert evidence.log_errors == ["orchestrator: sqlite3.OperationalError: database is locked"]
    assert [c.fault for c in rank_by_rules(evidence, LIMITS)] == ["sqlite_locked"]


def test_the_fault_that_explains_the_others_ranks_first():
    evidence = Evidence(now=1000.0, newest_record_at=9000.0, newest_record="LogLine x", status_error="refused",
                        key_store_error="key store not found")
    assert [c.fault for c in rank_by_rules(evidence, LIMITS)] == ["clock_jump", "key_store_unreadable", "tv_api_down"]


def test_fix_is_a_dry_run_by_default_and_each_action_needs_its_setting(tmp_path):
    with sandbox_for(LIMITS, tmp_path) as sandbox:
        inject_llm_corrupted(sandbox)
        found = diagnose(gather(sandbox.probe), LIMITS)
        before = current_model(sandbox.models_dir, "llm")
        dry = remediate(found, root=sandbox.root, models_dir=sandbox.models_dir, policy=sandbox.policy, apply=False,
                        alert=pytest.fail)
        assert [(a.action, a.outcome) for a in dry] == [("rollback_model:llm", "would apply"),
                                                        ("requeue_transient", "nothing to do")]
        off = replace(sandbox.policy, enabled=frozenset())
        disabled = remediate(found, root=sandbox.root, models_dir=sandbox.models_dir, policy=off, apply=True,
                             alert=pytest.fail)
        assert {a.outcome for a in disabled} == {"disabled"}
        assert "DIAGNOSE_FIX_ROLLBACK_MODEL=true" in disabled[0].detail
        assert current_model(sandbox.models_dir, "llm") == before   # nothing was switched


def test_the_action_budget_stops_a_remediation_loop(tmp_path, settings):
    with WebhookServer() as hook, sandbox_for(LIMITS, tmp_path) as sandbox:
        send = alert_sender(settings.model_copy(update={"alert_webhook_url": hook.url, "alert_dedup_window_s": 0}))
        policy = replace(sandbox.policy, budget=1)
        inject_llm_corrupted(sandbox)
        found = diagnose(gather(sandbox.probe), LIMITS)
        first = remediate(found, root=sandbox.root, models_dir=sandbox.models_dir, policy=policy, apply=True,
                          alert=send)
        assert first[0].outcome == "applied" and current_model(sandbox.models_dir, "llm")["version"] == "1.0"
        inject_llm_corrupted(sandbox)   # the rolled-back-to model breaks too: the budget is spent
        again = remediate(diagnose(gather(sandbox.probe), LIMITS), root=sandbox.root, models_dir=sandbox.models_dir,
                          policy=policy, apply=True, alert=send)
        assert again[0].outcome == "over budget"
        assert current_model(sandbox.models_dir, "llm")["version"] == "1.0"
    alerts = hook.bodies()
    assert len(alerts) == 1 and alerts[0]["title"] == "remediation applied: rollback_model:llm"
    assert "sha256" in json.dumps(alerts[0])   # the evidence travels with the alert


def test_settings_unpack_into_the_diagnosis_config(settings):
    config = config_from_settings(settings.model_copy(update={"diagnose_fix_free_space": True}))
    assert config.policy.enabled == frozenset({"free_space"})
    assert config.limits.disk_full_percent == 95.0 and config.probe.root == settings.storage.root
    assert config.limits.stage_hung_s == 2 * (settings.stage_timeout_scan_s + settings.stage_timeout_summarize_s
                                              + settings.stage_timeout_logline_s + settings.stage_timeout_schedule_s)


def test_vv_diagnose_end_to_end_names_a_missing_key_store(cli_env, storage_root):
    env = {**cli_env, "DIAGNOSE_STATUS_URL": "", "DIAGNOSE_USE_LLM": "false",
           "DIAGNOSE_DISK_FULL_PERCENT": "100"}  # the host disk (the temp root's) is not this test's fault
    run = subprocess.run([sys.executable, "-m", "vv_cli", "diagnose", "--json"], env=env, capture_output=True,
                         text=True, timeout=60, cwd=storage_root.parent)
    assert run.returncode == 1, run.stderr
    document = json.loads(run.stdout)
    assert document["top"] == "key_store_unreadable" and document["path"] == "rules"
    assert document["causes"][0]["evidence"][0].startswith("key store: key store not found")
    table = subprocess.run([sys.executable, "-m", "vv_cli", "diagnose", "--fix"], env=env, capture_output=True,
                           text=True, timeout=60, cwd=storage_root.parent)
    assert "key_store_unreadable" in table.stdout and BY_ID["key_store_unreadable"].alert_title in table.stdout
    assert BY_ID["key_store_unreadable"].operator_hint in table.stdout.replace("\n", " ")
    assert table.returncode == 1
    helps = subprocess.run([sys.executable, "-m", "vv_cli", "--help"], env=env, capture_output=True, text=True,
                           timeout=60)
    operations = helps.stdout[helps.stdout.index("Operations"):]
    assert "diagnose" in operations and "drill" in operations


def test_tv_api_that_answers_401_is_up_and_a_502_is_down():
    """/status wants an admin token, which `vv diagnose` does not have: on the real stack tv_api answers
    401, and that is an answer (it was read as 'tv_api down' on every healthy box)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from ops.diagnosis.evidence import read_status

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(int(self.path.strip("/")))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        assert read_status(f"{base}/401") == (None, None)
        assert read_status(f"{base}/403") == (None, None)
        assert read_status(f"{base}/502") == (None, f"{base}/502: HTTP 502")
    finally:
        server.shutdown()
        server.server_close()


def test_the_diagnosis_own_alert_is_no_evidence_once_the_fault_is_gone(cli_env, storage_root, tmp_path):
    """Found on the real stack (tests/stack/test_drills_infra.py): `vv diagnose --alert` logs its alert as
    CRITICAL with the evidence ("database is locked"); read back from the JSON log it kept sqlite_locked
    matching for the whole window after the writer had let go, so a paused ingestion was never resumed."""
    import sqlite3

    from orchestrator.state import StateStore
    from vv_core.keystore import create_key_store
    from vv_core.storage import StorageLayout

    create_key_store(tmp_path / "secrets" / "keys.json", "k1")
    db = StorageLayout(storage_root).orchestrator_db
    StateStore(db).close()

    def run(*args: str, **extra: str) -> dict:
        env = {**cli_env, "DIAGNOSE_STATUS_URL": "", "DIAGNOSE_USE_LLM": "false", "DIAGNOSE_DISK_FULL_PERCENT": "100",
               **extra}
        done = subprocess.run([sys.executable, "-m", "vv_cli", "diagnose", "--json", *args], env=env,
                              capture_output=True, text=True, timeout=60, cwd=storage_root.parent)
        assert done.returncode in (0, 1), done.stderr
        return json.loads(done.stdout)

    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with WebhookServer() as webhook:
            locked = run("--alert", ALERT_WEBHOOK_URL=webhook.url, ALERT_WEBHOOK_FORMAT="generic", ALERT_RETRIES="0")
            alerts = webhook.bodies()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert locked["top"] == "sqlite_locked"
    assert [a["title"] for a in alerts] == ["diagnosis: state database locked"]
    logged = StorageLayout(storage_root).app_log.read_text()
    assert "database is locked" in logged and '"service_name": "diagnose"' in logged  # its own alert, logged
    after = run()
    assert "sqlite_locked" not in [cause["fault"] for cause in after["causes"]], after["causes"]
