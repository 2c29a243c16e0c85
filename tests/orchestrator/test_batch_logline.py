"""Logging a batch in one run (one `vv logline A B …`, one checkpoint): the REAL `vv logline`
through the local runner (the contract double scans and summarizes), real SQLite, real files."""

import json
from pathlib import Path

import pytest

from orchestrator.engine import DB_NAME, Orchestrator
from orchestrator.runners import LocalRunner
from orchestrator.state import StateStore
from tests.logline_fixtures import make_key_store
from tests.orchestrator.conftest import Box
from transparency.audit import audit
from transparency.verifier import verify_directory
from vv_core.keystore import create_key_store, load_key_store
from vv_core.notes import open_checkpoint, signers_from_key_store
from vv_core.tlog import read_checkpoint


class Crash(BaseException):
    """The orchestrator dying at this point (not an Exception: nothing in the engine catches it)."""


class RealLoglineRunner:
    """The contract double for scan and summarize, the real `vv logline` for LogLines; remembers each
    logline run's summaries and the checkpoint's tree size right after it."""

    name = "local"

    def __init__(self, box: Box, *, crash_after_logline: bool = False) -> None:
        self.box = box
        self.double = box.runner()
        self.real = LocalRunner(env={**box.env, "KEY_STORE_PATH": str(box.settings.key_store_path),
                                     "CHECKPOINT_KEY_STORE_PATH": str(box.settings.checkpoint_key_store_path)})
        self.crash_after_logline = crash_after_logline
        self.loglines: list[tuple[list[str], int | None]] = []

    def run(self, command, args, timeout_s):
        if command != "logline":
            return self.double.run(command, args, timeout_s)
        result = self.real.run(command, args, timeout_s)
        summaries = [Path(a).name.removesuffix(".summary.json") for a in args[:args.index("--output-dir")]]
        self.loglines.append((summaries, checkpoint_size(self.box)))
        if self.crash_after_logline:
            raise Crash
        return result


def public_key(box: Box):
    signer, _ = signers_from_key_store(load_key_store(box.settings.checkpoint_key_store_path),
                                       box.settings.transparency_origin)
    return signer.verifier_key


def checkpoint_size(box: Box) -> int | None:
    note = read_checkpoint(box.root / "loglines")
    return None if note is None else open_checkpoint(note, [public_key(box)])[0].size


@pytest.fixture
def real_box(box: Box, tmp_path: Path) -> Box:
    box.settings = box.settings.model_copy(
        update={"checkpoint_key_store_path": tmp_path / "secrets" / "checkpoint_keys.json"})
    make_key_store(box.settings.key_store_path)
    create_key_store(box.settings.checkpoint_key_store_path, "c1")
    return box


def run(box: Box, runner: RealLoglineRunner):
    orchestrator = Orchestrator(box.settings, runner)
    try:
        return orchestrator.run_once()
    finally:
        orchestrator.close()


def video_order(box: Box) -> list[str]:
    """The videos in the order the engine takes them (discovery, then sha256)."""
    store = StateStore(box.root / "state" / DB_NAME)
    try:
        return [row["video_id"] for row in store.all_videos()]
    finally:
        store.close()


def chained_ids(box: Box) -> list[str]:
    records = [json.loads(p.read_text()) for p in (box.root / "loglines").glob("*.logline.json")]
    records.sort(key=lambda record: record["seq"])
    assert [record["seq"] for record in records] == list(range(len(records)))
    return [record["id"] for record in records]


def assert_chain_verifies(box: Box, size: int) -> None:
    directory = box.root / "loglines"
    chain = verify_directory(directory, load_key_store(box.settings.key_store_path))
    assert chain.ok and chain.checked == size, chain.problems
    tree = audit(directory, read_checkpoint(directory), [public_key(box)])
    assert tree.ok and tree.tree_size == size, tree.problems


def test_one_run_logs_the_batch_in_video_order_and_a_bad_summary_only_fails_its_own_video(real_box):
    box = real_box
    for minute in (10, 11, 12, 13):
        box.drop(f"cam1/20261121T10{minute}00Z.mp4")
    box.inject("summarize", "outside_root", times=1, skip=1)  # the second video's summary
    runner = RealLoglineRunner(box)
    report = run(box, runner)
    order = video_order(box)
    bad = order[1]
    good = [video for video in order if video != bad]
    # one run for the batch, in video order, one checkpoint covering its three LogLines;
    # then the bad summary alone (it writes nothing, so no second checkpoint)
    assert runner.loglines == [(order, 3), ([bad], 3)]
    assert sorted(report.done) == sorted(good) and report.failed == [bad]
    assert chained_ids(box) == good
    assert_chain_verifies(box, 3)
    error = json.loads((box.root / "corrupted/cam1/20261121T101100Z.mp4.error.json").read_text())
    assert error["stage"] == "logline" and "must be a path inside the storage root" in error["error"]
    store = StateStore(box.root / "state" / DB_NAME)
    try:
        runs = [dict(r) for r in store.db.execute(
            "SELECT v.video_id, r.outcome, r.error FROM stage_runs r JOIN videos v USING (sha256)"
            " WHERE r.stage = 'logline' ORDER BY r.id")]
        states = {row["video_id"]: row["state"] for row in store.all_videos()}
    finally:
        store.close()
    assert [(r["video_id"], r["outcome"]) for r in runs] == [*((v, "ok") for v in good), (bad, "permanent")]
    assert "must be a path inside the storage root" in runs[-1]["error"]
    assert states == {**dict.fromkeys(good, "done"), bad: "failed"}


def test_a_crash_between_the_batchs_loglines_and_their_recording_duplicates_nothing(real_box):
    box = real_box
    for minute in (10, 11, 12):
        box.drop(f"cam1/20261121T10{minute}00Z.mp4")
    crashing = RealLoglineRunner(box, crash_after_logline=True)
    with pytest.raises(Crash):
        run(box, crashing)
    order = video_order(box)
    assert crashing.loglines == [(order, 3)]
    store = StateStore(box.root / "state" / DB_NAME)
    try:  # the LogLines are on disk, the state DB never heard of them
        assert {row["state"] for row in store.all_videos()} == {"summarized"}
    finally:
        store.close()
    after = RealLoglineRunner(box)
    report = run(box, after)
    assert after.loglines == []  # adopted, not written again
    assert sorted(report.done) == sorted(order) and report.failed == []
    assert chained_ids(box) == order
    assert_chain_verifies(box, 3)
