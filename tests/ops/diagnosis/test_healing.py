"""The healing actions beyond a model rollback: resume after a pause, wait out a locked state DB,
a bad-file burst that ends when the pipeline goes on, the sandbox's quota disk, `vv diagnose --resume`."""

import json
import sqlite3
import subprocess
import sys
from dataclasses import replace

from ops.diagnosis.catalogue import BY_ID, Thresholds
from ops.diagnosis.drills import sandbox_for
from ops.diagnosis.evidence import Evidence, Quarantined, gather
from ops.diagnosis.faults import good_file_processed, inject_bad_burst, inject_disk_full
from ops.diagnosis.ranking import diagnose
from ops.diagnosis.remediation import PAUSED_BY, remediate, resume_ingestion, wait_for_db
from vv_core.storage import StorageLayout

LIMITS = Thresholds(disk_full_percent=95.0, bad_file_burst=10, clock_jump_s=300.0, stage_hung_s=3600.0)


def test_a_writer_that_never_lets_go_is_reported_after_the_backoff(tmp_path):
    db = tmp_path / "state.sqlite3"
    sqlite3.connect(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    naps = []
    result = wait_for_db(db, 1.0, apply=True, sleep=naps.append)
    holder.rollback()
    assert result.outcome == "failed" and "still locked" in result.detail and "fuser" in result.detail
    assert naps == [0.1, 0.2, 0.4, 0.8]   # exponential backoff until the next nap would pass the wait
    assert wait_for_db(db, 1.0, apply=True).outcome == "applied"    # free now: the first try takes it
    assert wait_for_db(db, 1.0, apply=False).outcome == "would apply"
    assert wait_for_db(tmp_path / "missing.sqlite3", 1.0, apply=True).outcome == "failed"
    assert not (tmp_path / "missing.sqlite3").exists()


def test_only_a_pause_the_fix_wrote_is_lifted_by_itself(tmp_path):
    layout = StorageLayout(tmp_path)
    layout.state.mkdir(parents=True)
    assert resume_ingestion(layout, apply=True).outcome == "nothing to do"
    layout.ingestion_paused.write_text(json.dumps({"by": "operator", "paused_at": "now"}))
    kept = resume_ingestion(layout, apply=True)
    assert kept.outcome == "nothing to do" and "vv diagnose --resume" in kept.detail
    assert layout.ingestion_paused.exists()
    assert resume_ingestion(layout, apply=True, only_ours=False).outcome == "applied"
    assert not layout.ingestion_paused.exists()
    layout.ingestion_paused.write_text(json.dumps({"by": PAUSED_BY}))
    assert resume_ingestion(layout, apply=False).outcome == "would apply" and layout.ingestion_paused.exists()
    assert resume_ingestion(layout, apply=True).outcome == "applied"


def test_a_pause_is_resumed_only_once_its_fault_is_gone(tmp_path):
    with sandbox_for(LIMITS, tmp_path) as sandbox:
        inject_disk_full(sandbox)
        first = diagnose(gather(sandbox.probe), LIMITS)
        policy = replace(sandbox.policy, enabled=frozenset({"pause_ingestion", "resume_ingestion"}))
        actions = remediate(first, root=sandbox.root, models_dir=sandbox.models_dir, policy=policy, apply=True,
                            alert=lambda *_: None)
        assert [(a.action, a.outcome) for a in actions] == [("pause_ingestion", "applied"), ("free_space", "disabled")]
        still = diagnose(gather(sandbox.probe), LIMITS)   # the disk is still full: disk_full stays on top
        assert [c.fault for c in still.causes] == ["disk_full", "ingestion_paused"]
        assert StorageLayout(sandbox.root).ingestion_paused.exists()
        (sandbox.root / "input/cam1/new_segment.mp4").unlink()   # an operator moved the new recordings away
        gone = diagnose(gather(sandbox.probe), LIMITS)
        assert gone.top == "ingestion_paused" and "for disk_full" in gone.causes[0].evidence[0]
        resumed = remediate(gone, root=sandbox.root, models_dir=sandbox.models_dir, policy=policy, apply=True,
                            alert=lambda *_: None)
        assert [(a.action, a.outcome) for a in resumed] == [("resume_ingestion", "applied")]
        assert diagnose(gather(sandbox.probe), LIMITS).top is None


def test_the_sandbox_disk_is_a_quota_over_real_files(tmp_path):
    with sandbox_for(LIMITS, tmp_path) as sandbox:
        assert 20.0 < gather(sandbox.probe).disk_used_percent < 30.0
        inject_disk_full(sandbox)
        assert 95.0 <= gather(sandbox.probe).disk_used_percent <= 100.0


def test_a_bad_file_burst_ends_when_the_next_good_file_goes_through(tmp_path):
    with sandbox_for(LIMITS, tmp_path) as sandbox:
        inject_bad_burst(sandbox)
        assert diagnose(gather(sandbox.probe), LIMITS).top == "bad_file_burst"
        good_file_processed(sandbox)
        assert diagnose(gather(sandbox.probe), LIMITS).top is None
    # a good file before the burst does not end it
    burst = [Quarantined(f"corrupted/b{n}.mp4", "not a video", "permanent", "scan", 10.0) for n in range(12)]
    evidence = Evidence(now=1000.0, quarantined=burst, last_finished_at=980.0)
    assert BY_ID["bad_file_burst"].rule(evidence, LIMITS)
    assert not BY_ID["bad_file_burst"].rule(Evidence(now=1000.0, quarantined=burst, last_finished_at=995.0), LIMITS)


def test_vv_diagnose_resume_lifts_any_pause_and_says_what_still_matches(cli_env, storage_root):
    paused = StorageLayout(storage_root).ingestion_paused
    paused.parent.mkdir(parents=True, exist_ok=True)
    paused.write_text(json.dumps({"by": "operator"}))
    env = {**cli_env, "DIAGNOSE_STATUS_URL": "", "DIAGNOSE_USE_LLM": "false",
           "DIAGNOSE_DISK_FULL_PERCENT": "100"}  # the host disk (the temp root's) is not this test's fault
    run = subprocess.run([sys.executable, "-m", "vv_cli", "diagnose", "--resume"], env=env, capture_output=True,
                         text=True, timeout=60, cwd=storage_root.parent)
    assert run.returncode == 0, run.stderr
    assert not paused.exists()
    assert "resume_ingestion: applied" in run.stdout
    assert "warning: key_store_unreadable still matches" in run.stdout   # the test box has no key store
