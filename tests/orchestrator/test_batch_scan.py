"""Scanning in batches (one `vv scan A B …` process per batch) against the contract test double."""

import logging

from orchestrator.engine import DB_NAME
from orchestrator.state import StateStore
from tests.orchestrator.conftest import Box


class RecordingRunner:
    """The box's real runner (a subprocess per call), remembering which videos each scan call got."""

    def __init__(self, box: Box) -> None:
        self.inner = box.runner()
        self.name = self.inner.name
        self.scans: list[list[str]] = []
        self.timeouts: list[float] = []

    def run(self, command, args, timeout_s):
        if command == "scan":
            self.scans.append([a.rsplit("/", 1)[-1] for a in args[:args.index("--output-dir")]])
            self.timeouts.append(timeout_s)
        return self.inner.run(command, args, timeout_s)


def run(box: Box) -> tuple:
    runner = RecordingRunner(box)
    from orchestrator.engine import Orchestrator

    orchestrator = Orchestrator(box.settings, runner)
    try:
        return orchestrator.run_once(), runner
    finally:
        orchestrator.close()


def scan_runs(box: Box) -> list[dict]:
    store = StateStore(box.root / "state" / DB_NAME)
    try:
        return [dict(r) for r in store.db.execute("SELECT * FROM stage_runs WHERE stage = 'scan' ORDER BY id")]
    finally:
        store.close()


def test_one_process_scans_the_batch_and_a_bad_video_is_then_scanned_alone(box):
    for minute in (10, 11, 12):
        box.drop(f"cam1/20261121T10{minute}00Z.mp4")
    box.drop("cam1/20261121T101300Z.mp4", b"text, not a video")
    report, runner = run(box)
    assert runner.scans == [["20261121T101000Z.mp4", "20261121T101100Z.mp4", "20261121T101200Z.mp4",
                             "20261121T101300Z.mp4"],
                            ["20261121T101300Z.mp4"]]  # the batch, then the one it could not scan
    assert runner.timeouts == [4 * box.settings.stage_timeout_s("scan"), box.settings.stage_timeout_s("scan")]
    assert sorted(report.done) == [f"cam1_20261121T10{m}00Z" for m in (10, 11, 12)]
    assert report.failed == ["cam1_20261121T101300Z"]
    assert box.files("corrupted") == ["cam1/20261121T101300Z.mp4", "cam1/20261121T101300Z.mp4.error.json"]
    runs = scan_runs(box)
    assert [r["outcome"] for r in runs] == ["ok", "ok", "ok", "permanent"]
    assert all(r["exit_code"] == 0 and r["duration_s"] >= 0 for r in runs[:3])
    assert runs[3]["error"] == "not a video: 20261121T101300Z.mp4"


def test_a_killed_batch_loses_nothing_every_video_is_scanned_alone(box, caplog):
    for minute in (10, 11, 12):
        box.drop(f"cam1/20261121T10{minute}00Z.mp4")
    box.inject("scan", "kill9", times=1)
    with caplog.at_level(logging.WARNING, logger="vv.orchestrator"):
        report, runner = run(box)
    assert [len(call) for call in runner.scans] == [3, 1, 1, 1]
    assert sorted(report.done) == [f"cam1_20261121T10{m}00Z" for m in (10, 11, 12)] and report.failed == []
    assert "batch scan: 0 of 3 scanned (exit -9); the rest are scanned one by one" in caplog.text


def test_batches_are_bounded_and_each_is_finished_before_the_next(box):
    box.settings = box.settings.model_copy(update={"orchestrator_scan_batch": 2})
    for minute in (10, 11, 12, 13, 14):
        box.drop(f"cam1/20261121T10{minute}00Z.mp4")
    report, runner = run(box)
    assert [len(call) for call in runner.scans] == [2, 2, 1]
    assert len(report.done) == 5
    store = StateStore(box.root / "state" / DB_NAME)
    try:
        order = [r["stage"] for r in store.db.execute("SELECT stage FROM stage_runs ORDER BY id")]
    finally:
        store.close()
    # the first batch's videos are summarized, then logged together, before the second batch is scanned
    assert order[:7] == ["scan", "scan", "summarize", "summarize", "logline", "logline", "scan"]


def test_batch_size_1_runs_one_process_per_video(box):
    box.settings = box.settings.model_copy(update={"orchestrator_scan_batch": 1})
    for minute in (10, 11, 12):
        box.drop(f"cam1/20261121T10{minute}00Z.mp4")
    report, runner = run(box)
    assert [len(call) for call in runner.scans] == [1, 1, 1] and len(report.done) == 3


def test_a_video_with_its_analytic_already_written_is_adopted_not_rescanned(box):
    for minute in (10, 11, 12):
        box.drop(f"cam1/20261121T10{minute}00Z.mp4")
    box.inject("summarize", "exit2", times=3)  # stop every video after its scan (retry later)
    first, runner = run(box)
    assert runner.scans == [["20261121T101000Z.mp4", "20261121T101100Z.mp4", "20261121T101200Z.mp4"]]
    assert first.done == []
    # state lost for one video (as after a crash between the write and the commit): its output is adopted
    store = StateStore(box.root / "state" / DB_NAME)
    try:
        sha = store.db.execute("SELECT sha256 FROM videos WHERE video_id = 'cam1_20261121T101000Z'").fetchone()[0]
        store.update(sha, state="discovered", analytic_path=None, next_attempt_at=0)
        for row in store.all_videos():
            store.update(row["sha256"], next_attempt_at=0)
    finally:
        store.close()
    second, runner = run(box)
    assert runner.scans == [] and len(second.done) == 3


def test_a_video_that_failed_a_scan_is_retried_alone_never_in_a_batch_again(box):
    for minute in (10, 11, 12):
        box.drop(f"cam1/20261121T10{minute}00Z.mp4")
    box.inject("scan", "exit2", times=2)  # the batch fails, then the first single scan fails (retry later)
    first, runner = run(box)
    assert [len(call) for call in runner.scans] == [3, 1, 1, 1]
    assert first.retrying == ["cam1_20261121T101000Z"] and len(first.done) == 2
    store = StateStore(box.root / "state" / DB_NAME)
    try:
        for row in store.all_videos():
            store.update(row["sha256"], next_attempt_at=0)
    finally:
        store.close()
    box.drop("cam1/20261121T101300Z.mp4")
    box.drop("cam1/20261121T101400Z.mp4")
    second, runner = run(box)
    # the two new videos are batched; the one that failed before is scanned on its own
    assert sorted(map(sorted, runner.scans)) == [["20261121T101000Z.mp4"],
                                                ["20261121T101300Z.mp4", "20261121T101400Z.mp4"]]
    assert len(second.done) == 3
