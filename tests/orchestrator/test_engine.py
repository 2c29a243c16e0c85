"""The orchestrator's state machine against the contract test double (real subprocesses)."""

import json
import logging
from pathlib import Path

import pytest

from orchestrator.engine import DB_NAME
from orchestrator.stages import PIPELINE
from orchestrator.state import StateStore
from tests.webhook_server import WebhookServer
from vv_core.schema import validate_schema


def rows(box):
    store = StateStore(box.root / "state" / DB_NAME)
    try:
        return {row["video_id"]: dict(row) for row in store.all_videos()}
    finally:
        store.close()


def stage_runs(box, stage=None):
    store = StateStore(box.root / "state" / DB_NAME)
    try:
        every = store.db.execute("SELECT * FROM stage_runs").fetchall()
        return [dict(r) for r in every if stage is None or r["stage"] == stage]
    finally:
        store.close()


def test_good_and_bad_videos_end_in_processed_and_corrupted_with_nothing_lost(box, caplog):
    box.drop("cam1/20261121T101500Z.mp4")
    box.drop("cam1/20261121T101600Z.mp4")
    box.drop("cam2/empty.mp4", b"")
    box.drop("cam2/notes.mp4", b"this is text, not a video")
    with caplog.at_level(logging.WARNING, logger="vv.alerts"):
        report = box.run()
    assert sorted(report.done) == ["cam1_20261121T101500Z", "cam1_20261121T101600Z"]
    assert sorted(report.failed) == ["cam2_empty", "cam2_notes"]
    assert box.files("input") == []
    assert box.files("processed") == ["cam1/20261121T101500Z.mp4", "cam1/20261121T101600Z.mp4"]
    assert box.files("corrupted") == ["cam2/empty.mp4", "cam2/empty.mp4.error.json",
                                      "cam2/notes.mp4", "cam2/notes.mp4.error.json"]
    for stage, out_dir, suffix in ((s.command, s.output_dir, s.output_suffix) for s in PIPELINE):
        assert box.files(out_dir) == [f"cam1_20261121T101500Z{suffix}", f"cam1_20261121T101600Z{suffix}"], stage
    record = json.loads((box.root / "corrupted/cam2/notes.mp4.error.json").read_text())
    assert record["stage"] == "scan" and record["kind"] == "permanent" and record["attempts"] == 1
    assert record["error"] == "not a video: notes.mp4"
    assert record["original_path"] == "input/cam2/notes.mp4"
    assert set(record["timestamps"]) == {"discovered_at", "last_attempt_at", "quarantined_at"}
    assert (box.root / "corrupted/cam2/empty.mp4").stat().st_size == 0  # kept, not lost
    status = json.loads((box.root / "state/pipeline_status.json").read_text())
    validate_schema(status, "pipeline_status")
    assert status["videos"] == {"done": 2, "failed": 2, "in_progress": 0}
    assert status["stages"]["scan"]["runs"] == 4 and status["stages"]["scan"]["errors"] == 2
    assert status["stages"]["logline"]["duration_seconds_buckets"]["+Inf"] == 2
    assert status["last_run"]["videos_done"] == 2 and status["queue_length"] == 0
    assert (box.root / "playlists/contract.json").is_file()  # vv schedule --once was triggered
    assert sum("video quarantined" in r.getMessage() for r in caplog.records) == 2
    assert not list(box.root.rglob("*.tmp"))


def test_a_burst_of_50_bad_files_is_a_few_alerts_and_one_grouped_alert(box):
    """A broken camera writing 50 bad files (issue 22's burst) on the local runner: the first
    QUARANTINE_ALERTS_PER_RUN (5) are alerted one by one, the rest of the run's are one WARNING naming
    each file and the reasons; every file is kept with its reason and the good clip goes through."""
    for i in range(50):
        box.drop(f"cam2/bad{i:02d}.mp4", b"garbage %d" % i)
    box.drop("cam1/good.mp4")
    with WebhookServer() as webhook:
        box.settings = box.settings.model_copy(update={
            "quarantine_alerts_per_run": 5, "alert_webhook_url": webhook.url, "alert_webhook_format": "generic",
            "alert_retries": 0})
        report = box.run()
        bodies = webhook.bodies()
    assert report.done == ["cam1_good"] and len(report.failed) == 50
    one_by_one = [b for b in bodies if b["title"] == "video quarantined"]
    grouped = [b for b in bodies if b["title"] == "more videos quarantined"]
    assert len(one_by_one) == 5 and len(grouped) == 1, [b["title"] for b in bodies]
    context = grouped[0]["context"]
    assert context["count"] == 45 and grouped[0]["severity"] == "WARNING"
    named = [Path(b["context"]["file"]).name for b in one_by_one] + [Path(f).name for f in context["files"]]
    assert sorted(named) == [f"bad{i:02d}.mp4" for i in range(50)]      # every quarantined file named once
    expected = {f"scan: not a video: {name}" for name in named}
    assert len(context["reasons"]) == 10 and set(context["reasons"]) <= expected   # the commonest, counted
    assert set(context["reasons"].values()) == {1}
    assert grouped[0]["message"].startswith("45 more videos quarantined in this run (after 5 alerted one by one)")
    assert grouped[0]["message"].endswith("; 42 other reasons")
    assert len(box.files("corrupted")) == 100                # each bad file kept with its reason


def test_transient_failure_retries_then_succeeds(box):
    box.drop("cam1/a.mp4")
    box.inject("summarize", "exit2", times=2)
    first = box.run()
    assert first.retrying == ["cam1_a"] and not first.done
    row = rows(box)["cam1_a"]
    assert row["state"] == "scanned" and row["attempts"] == 1
    assert row["last_error"] == "internal error: RuntimeError: injected"
    assert box.run().retrying == ["cam1_a"]
    third = box.run()
    assert third.done == ["cam1_a"]
    row = rows(box)["cam1_a"]
    assert row["state"] == "done" and row["attempts"] == 0 and row["total_attempts"] == 2
    assert len(stage_runs(box, "scan")) == 1  # the scan was not repeated


def test_transient_failures_exhaust_max_attempts_and_quarantine(box, caplog):
    box.drop("cam1/a.mp4")
    box.inject("logline", "exit2", times=10)
    box.run()
    box.run()
    with caplog.at_level(logging.WARNING, logger="vv.alerts"):
        report = box.run()
    assert report.failed == ["cam1_a"]
    record = json.loads((box.root / "corrupted/cam1/a.mp4.error.json").read_text())
    assert record["stage"] == "logline" and record["kind"] == "transient" and record["attempts"] == 3
    assert "injected" in record["log_excerpt"]
    assert box.files("input") == [] and box.files("processed") == []
    assert any("video quarantined" in r.getMessage() for r in caplog.records)


def test_backoff_delays_the_retry(box):
    box.settings = box.settings.model_copy(update={"retry_backoff_s": 3600.0})
    box.drop("cam1/a.mp4")
    box.inject("scan", "exit2", times=1)
    box.run()
    row = rows(box)["cam1_a"]
    assert row["next_attempt_at"] - row["updated_at"] >= 3599
    report = box.run()  # not due yet: nothing runs
    assert not report.done and len(stage_runs(box, "scan")) == 1


def test_timeout_kills_the_stage_and_is_transient(box):
    box.settings = box.settings.model_copy(update={"stage_timeout_scan_s": 1.0})
    box.drop("cam1/a.mp4")
    box.inject("scan", "sleep", times=1)
    report = box.run()
    assert report.retrying == ["cam1_a"]
    assert rows(box)["cam1_a"]["last_error"].startswith("timeout after")
    assert box.run().done == ["cam1_a"]


def test_sigkilled_stage_is_transient(box):
    box.drop("cam1/a.mp4")
    box.inject("scan", "kill9", times=1)
    box.run()
    assert rows(box)["cam1_a"]["last_error"].startswith("killed (exit -9")
    assert box.run().done == ["cam1_a"]


def test_missing_model_is_transient_even_with_exit_1(box):
    box.drop("cam1/a.mp4")
    box.inject("scan", "missing_model", times=1)
    assert box.run().retrying == ["cam1_a"]
    assert rows(box)["cam1_a"]["last_failure_kind"] == "transient"


def test_schema_invalid_output_is_permanent_and_alerts(box, caplog):
    box.drop("cam1/a.mp4")
    box.drop("cam1/b.mp4")
    box.inject("summarize", "invalid", times=1)
    with caplog.at_level(logging.WARNING, logger="vv.alerts"):
        report = box.run()
    assert len(report.failed) == 1 and len(report.done) == 1
    failed = report.failed[0]
    record = json.loads((box.root / f"corrupted/cam1/{failed[-1]}.mp4.error.json").read_text())
    assert record["stage"] == "summarize" and record["kind"] == "permanent"
    assert "schema_version" in record["error"]
    assert any("schema validation error" in r.getMessage() for r in caplog.records)


def test_output_of_another_video_is_refused(box):
    box.drop("cam1/a.mp4")
    box.inject("scan", "wrong_hash", times=1)
    report = box.run()
    assert report.failed == ["cam1_a"]
    assert "source_hash mismatch" in rows(box)["cam1_a"]["last_error"]


def test_output_found_without_a_printed_path_is_used(box):
    box.drop("cam1/a.mp4")
    box.inject("scan", "no_path", times=1)
    assert box.run().done == ["cam1_a"]


def test_existing_valid_output_is_adopted_not_recomputed(box):
    box.drop("cam1/a.mp4")
    box.run()
    # Same content dropped again after its artifacts exist: recognised by sha256, never re-run.
    box.drop("cam1/again.mp4", seed="cam1/a.mp4")
    report = box.run()
    assert report.duplicates == ["input/cam1/again.mp4"] and not report.done
    assert len(stage_runs(box)) == 3
    assert box.files("processed") == ["cam1/a.mp4", "cam1/again.mp4"]
    assert rows(box)["cam1_a"]["duplicates"] == 1


def test_adoption_after_a_crash_between_stage_and_db_commit(box):
    """A stage finished but the orchestrator died before recording it: no second run."""
    box.drop("cam1/a.mp4")
    box.inject("summarize", "exit2", times=1)
    box.run()  # scanned; summarize failed once
    # Simulate "summarize wrote its output, then the orchestrator was killed".
    import os

    from tests.orchestrator.contract_stages import main as contract_main
    os.environ["VIDEO_STORAGE_ROOT"] = str(box.root)
    try:
        contract_main(["summarize", str(box.root / "analytic/cam1_a.analytic.json"),
                       "--output-dir", str(box.root / "summaries")])
    finally:
        del os.environ["VIDEO_STORAGE_ROOT"]
    assert box.run().done == ["cam1_a"]
    assert [r["outcome"] for r in stage_runs(box, "summarize")] == ["transient"]


def test_duplicate_of_a_quarantined_video_goes_to_corrupted_with_a_record(box):
    box.drop("cam2/x.mp4", b"garbage")
    box.run()
    box.drop("cam2/y.mp4", b"garbage")
    report = box.run()
    assert report.duplicates == ["input/cam2/y.mp4"]
    record = json.loads((box.root / "corrupted/cam2/y.mp4.error.json").read_text())
    assert record["kind"] == "duplicate" and "duplicate of input/cam2/x.mp4" in record["error"]
    assert len(stage_runs(box, "scan")) == 1


def test_same_name_different_content_gets_a_distinct_id_and_place(box):
    box.drop("cam1/a.mp4", seed="first")
    box.run()
    box.drop("cam1/a.mp4", seed="second")
    report = box.run()
    assert len(report.done) == 1 and report.done[0].startswith("cam1_a-")
    processed = box.files("processed")
    assert "cam1/a.mp4" in processed and len(processed) == 2
    assert next(p for p in processed if p != "cam1/a.mp4").startswith("cam1/a.")


def test_removed_intermediate_artifact_is_derived_again(box):
    box.drop("cam1/a.mp4")
    box.inject("summarize", "exit2", times=1)
    box.run()
    (box.root / "analytic/cam1_a.analytic.json").unlink()
    assert box.run().done == ["cam1_a"]
    assert len(stage_runs(box, "scan")) == 2


def test_video_removed_before_scan_is_recorded_as_failed(box):
    video = box.drop("cam1/a.mp4")
    box.inject("scan", "exit2", times=1)
    box.run()
    video.unlink()
    report = box.run()
    assert report.failed == ["cam1_a"]
    assert rows(box)["cam1_a"]["last_error"] == "video vanished from input/cam1/a.mp4"
    assert (box.root / "corrupted/cam1/a.mp4.error.json").is_file()


def test_schedule_failure_is_retried_on_the_next_run(box):
    box.drop("cam1/a.mp4")
    box.inject("schedule", "exit2", times=1)
    assert box.run().scheduled is False
    assert not (box.root / "playlists/contract.json").exists()
    assert box.run().scheduled is True
    assert box.run().scheduled is None  # nothing pending any more


def test_max_processing_time_alert_once(box, caplog):
    box.settings = box.settings.model_copy(update={"max_processing_s": 10.0, "retry_backoff_s": 1.0})
    box.drop("cam1/a.mp4")
    box.inject("scan", "exit2", times=5)
    box.run()
    clock = [rows(box)["cam1_a"]["discovered_at"] + 60]
    with caplog.at_level(logging.WARNING, logger="vv.alerts"):
        box.run(clock=lambda: clock[0])
        clock[0] += 60
        box.run(clock=lambda: clock[0])
    assert sum("exceeds max processing time" in r.getMessage() for r in caplog.records) == 1


def test_disk_below_threshold_alerts(box, caplog):
    box.settings = box.settings.model_copy(update={"disk_min_free_percent": 100.0})
    with caplog.at_level(logging.WARNING, logger="vv.alerts"):
        box.run()
    assert any("disk space low" in r.getMessage() for r in caplog.records)


@pytest.mark.real_clock  # file ages: kernel mtimes against the wall clock
def test_stale_temp_files_of_killed_stages_are_swept(box):
    import os

    stale = box.root / "analytic/.cam1_a.analytic.json.abc.tmp"
    fresh = box.root / "loglines/.cam1_b.logline.json.def.tmp"
    for temp in (stale, fresh):
        temp.write_text("{partial")
    os.utime(stale, (1, 1))
    box.run()
    assert not stale.exists() and fresh.exists()


def test_temp_files_are_swept_when_their_writer_is_dead_not_by_age(box, tmp_path, monkeypatch):
    """Issue 23: a killed stage's temp file used to stay up to the longest stage timeout (15 min),
    and an old-looking one was removed even if its writer was still alive."""
    import os
    import signal
    import time

    from tests.vv_core.test_atomic import start_writer
    from vv_core import atomic

    killed, killed_temp = start_writer(box.root / "analytic/cam1_a.analytic.json", tmp_path)
    live, live_temp = start_writer(box.root / "loglines/cam1_b.logline.json", tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        os.utime(live_temp, (1, 1))                       # looks ancient, but its writer is alive
        monkeypatch.setattr(atomic, "TEMP_GRACE_S", 0.0, raising=False)  # the killed one is a second old, not 15 min
        time.sleep(0.01)
        box.run()
        assert not killed_temp.exists()
        assert live_temp.exists()
    finally:
        live.send_signal(signal.SIGKILL)
        live.wait()
