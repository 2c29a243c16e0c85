"""Hostile names in input/ (issue 23): any name the filesystem allows is processed or quarantined
under a safe name, with its original recorded, and one bad name never stops the others.

Runs the orchestrator against the contract test double (tests/orchestrator/contract_stages.py);
the property test (test_hostile_names_property.py) drives the real stages.
"""

import json
import os
import shlex
import sqlite3
import subprocess
import sys

import pytest

from orchestrator import claims
from orchestrator.names import MAX_NAME_BYTES, is_safe_name, printable, safe_name
from orchestrator.state import StateStore
from tests.orchestrator.conftest import contract_command
from vv_core.hashing import compute_sha256
from vv_core.placement import read_placement, still_placed

NON_UTF8 = os.fsdecode(b"bad\xff\xfe name.mp4")


@pytest.fixture
def env(box):
    return {**box.env, "ORCHESTRATOR_VV_COMMAND": shlex.join(contract_command()), "STABLE_WAIT_S": "0",
            "RETRY_BACKOFF_S": "0", "KEY_STORE_PATH": str(box.root.parent / "secrets/keys.json")}


def orchestrate(env):
    return subprocess.run([sys.executable, "-m", "vv_cli.main", "orchestrate", "--once"], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def rows(box):
    with sqlite3.connect(box.root / "state/orchestrator.sqlite3") as db:
        db.row_factory = sqlite3.Row
        return {r["input_path"]: dict(r) for r in db.execute("SELECT * FROM videos")}


def assert_fits(box):
    """Every name the pipeline wrote leaves room under the 255-byte limit."""
    for directory in ("processed", "corrupted", "analytic", "summaries", "loglines"):
        for path in (box.root / directory).rglob("*"):
            assert len(os.fsencode(path.name)) <= 230, path.name


# --- the names themselves -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["a.mp4", "cam 1 — café.mp4", "$(touch x);`id`|&'\".mp4", "x" * MAX_NAME_BYTES])
def test_ordinary_and_shell_metacharacter_names_are_kept(name):
    assert is_safe_name(name) and safe_name(name, "sha") == name and printable(name) == name


@pytest.mark.parametrize("name", [NON_UTF8, "a" * 251 + ".mp4", "-rf.mp4", "line\nbreak.mp4", "tab\t.mp4",
                                  "bidi\u202eevil.mp4", "zero\u200bwidth.mp4", "--", "\x1b[31mred.mp4"])
def test_unsafe_names_get_a_safe_capped_hashed_name(name):
    safe = safe_name(name, "content-sha")
    assert is_safe_name(safe) and safe != name
    assert len(safe.encode()) <= MAX_NAME_BYTES and not safe.startswith("-")
    assert safe_name(name, "content-sha") == safe                       # deterministic (crash recovery)
    assert safe_name(name, "other-content") != safe                     # different content: other name
    if name.endswith(".mp4"):
        assert safe.endswith(".mp4")


def test_printable_is_unambiguous_and_utf8():
    names = [NON_UTF8, "bad\\xff\\xfe name.mp4", "line\nbreak", "line\\nbreak", "line\\x0abreak"]
    shown = [printable(n) for n in names]
    assert len(set(shown)) == len(names)
    for text in shown:
        text.encode("utf-8")                                            # storable, loggable
        assert "\n" not in text
    assert printable(NON_UTF8) == "bad\\xff\\xfe name.mp4"


# --- through the orchestrator ---------------------------------------------------------------------
def test_a_non_utf8_name_is_processed_under_a_safe_name_and_does_not_stop_the_run(box, env):
    box.drop(NON_UTF8, b"CONTRACTVIDEO non utf8")
    box.drop("good.mp4")
    result = orchestrate(env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "good.mp4" in box.files("processed")
    record = rows(box)["input/bad\\xff\\xfe name.mp4"]                 # original kept, bytes-safe
    assert record["name"] == "bad\\xff\\xfe name.mp4" and record["state"] == "done"
    assert is_safe_name(os.path.basename(record["current_path"]))
    assert (box.root / record["current_path"]).is_file()
    assert box.files("input") == []
    assert "unsafe name input/bad\\\\xff\\\\xfe name.mp4 replaced by" in result.stderr
    assert orchestrate(env).returncode == 0


@pytest.mark.parametrize("length", [245, 251])
def test_a_very_long_name_is_quarantined_and_later_runs_still_work(box, env, length):
    long_name = "v" * (length - 4) + ".mp4"
    assert len(long_name.encode()) == length
    box.drop(long_name, b"not a video at all")
    box.drop("good1.mp4")
    first = orchestrate(env)
    assert first.returncode == 0, first.stderr[-2000:]
    records = [name for name in box.files("corrupted") if name.endswith(".error.json")]
    assert len(records) == 1
    record = json.loads((box.root / "corrupted" / records[0]).read_text())
    assert record["original_path"] == f"input/{long_name}" and record["name"] == long_name
    assert record["kind"] == "permanent" and "not a video" in record["error"]
    assert (box.root / record["video"]).is_file()
    box.drop("good2.mp4")
    second = orchestrate(env)
    assert second.returncode == 0, second.stderr[-2000:]
    assert {"good1.mp4", "good2.mp4"} <= set(box.files("processed"))
    assert_fits(box)


def test_a_row_left_by_the_old_code_with_a_long_name_no_longer_blocks_every_run(box, env):
    """Before the fix, a 245+ byte name was claimed as is; once its file was gone, building
    `<name>.error.json` failed with ENAMETOOLONG on every run, for every video."""
    long_relative = "input/" + "w" * 246 + ".mp4"
    store = StateStore(box.root / "state/orchestrator.sqlite3")
    store.add_video(sha256="ab" * 32, video_id="w" * 200, camera=None, name=long_relative[6:],
                    path=long_relative, size=3, now=0.0)
    store.close()
    box.drop("good.mp4")
    result = orchestrate(env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert box.files("processed") == ["good.mp4"]
    old = rows(box)[long_relative]
    assert old["state"] == "failed" and "vanished" in old["last_error"]
    assert (box.root / f"{old['current_path']}.error.json").is_file()
    assert orchestrate(env).returncode == 0


def test_newlines_leading_dashes_and_shell_metacharacters(box, tmp_path):
    canary = tmp_path / "pwned"   # the working directory of the run and its stages
    names = {"dash": "-rf --output-dir=x.mp4", "newline": "two\nlines.mp4",
             "shell": "$(touch pwned);`touch pwned`|x&y;'q\" > pwned.mp4", "bidi": "gpj.\u202emp4"}
    for key, name in names.items():
        box.drop(name, b"CONTRACTVIDEO" + key.encode())
    seen_args: list[list[str]] = []
    orchestrator = box.orchestrator()
    real_run = orchestrator.runner.run
    orchestrator.runner.run = lambda command, args, timeout: seen_args.append(args) or real_run(command, args,
                                                                                                 timeout)
    try:
        report = orchestrator.run_once()
    finally:
        orchestrator.close()
    assert len(report.done) == 4 and report.failed == []
    assert not canary.exists()
    # The shell-metacharacter name is kept as it is (no shell ever sees it); the others are replaced.
    processed = box.files("processed")
    assert names["shell"] in processed
    assert all(is_safe_name(name) for name in processed)
    # No file argument of a stage can be read as an option: they are absolute paths.
    for args in seen_args:
        for arg in args:
            if arg.startswith("-"):
                assert arg in ("--output-dir", "--id", "--once"), arg
    state = rows(box)
    assert state["input/-rf --output-dir=x.mp4"]["state"] == "done"
    assert state["input/two\\x0alines.mp4"]["state"] == "done"


def test_a_non_utf8_camera_folder(box):
    folder = os.fsdecode(b"cam\xe9")
    box.drop(f"{folder}/a.mp4")
    report = box.run()
    assert len(report.done) == 1
    (processed,) = box.files("processed")
    camera, name = processed.split("/")
    assert camera.startswith("cam_-") and name == "a.mp4"
    assert rows(box)["input/cam\\xe9/a.mp4"]["camera"] == camera


def test_same_name_different_content_gets_its_own_id_place_and_placement_record(box):
    """Issue 23 item 4: the second good3.mp4 is stored as processed/good3.<sha12>.mp4, and the
    placement record (what the scheduler reads) says so, with the sha256 of the bytes placed."""
    first = box.drop("good3.mp4", b"CONTRACTVIDEO first")
    first_sha = compute_sha256(first)
    box.run()
    second = box.drop("good3.mp4", b"CONTRACTVIDEO second")
    second_sha = compute_sha256(second)
    box.run()
    processed = box.files("processed")
    assert processed == sorted(["good3.mp4", f"good3.{second_sha[:12]}.mp4"])
    with sqlite3.connect(box.root / "state/orchestrator.sqlite3") as db:
        ids = sorted(r[0] for r in db.execute("SELECT video_id FROM videos"))
    assert ids == ["good3", f"good3-{second_sha[:8]}"]
    state = box.settings.storage.state
    assert read_placement(state, first_sha).path == "processed/good3.mp4"
    placed = read_placement(state, second_sha)
    assert placed.path == f"processed/good3.{second_sha[:12]}.mp4"
    assert compute_sha256(box.root / placed.path) == second_sha and still_placed(placed, box.root)


def test_placements_of_videos_done_before_the_records_existed_are_backfilled_once(box):
    box.drop("a.mp4")
    box.drop("b.mp4")
    box.run()
    media = box.settings.storage.state / "media"
    before = sorted(p.name for p in media.iterdir())
    assert len(before) == 2
    for record in media.iterdir():         # as on a box upgraded from before placement records
        record.unlink()
    store = StateStore(box.root / "state/orchestrator.sqlite3")
    store.db.execute("DELETE FROM meta WHERE key = 'placements_backfilled'")
    store.close()
    box.run()
    assert sorted(p.name for p in media.iterdir()) == before
    next(media.iterdir()).unlink()
    box.run()                               # once: a record removed later is not rewritten
    assert len(list(media.iterdir())) == 1


def test_an_interrupted_rename_is_finished_by_the_next_run(box, monkeypatch):
    box.drop(NON_UTF8)
    calls = []

    def killed(root, relative, target, video_id):
        calls.append(target)
        raise KeyboardInterrupt  # as if SIGKILLed after the row was written, before the rename

    monkeypatch.setattr(claims, "rename_unsafe", killed)
    with pytest.raises(KeyboardInterrupt):
        box.run()
    monkeypatch.undo()
    report = box.run()
    assert len(report.done) == 1 and box.files("input") == []
    assert box.files("processed") == [calls[0].removeprefix("input/")]


def test_one_video_that_breaks_the_orchestrator_does_not_stop_the_others(box):
    box.drop("a.mp4")
    box.drop("b.mp4")
    orchestrator = box.orchestrator()
    real_run = orchestrator.runner.run

    def run(command, args, timeout):
        if command == "scan" and args[0].endswith("/a.mp4"):
            raise OSError(36, "File name too long")
        return real_run(command, args, timeout)

    orchestrator.runner.run = run
    try:
        reports = [orchestrator.run_once() for _ in range(3)]
    finally:
        orchestrator.close()
    assert reports[0].done == ["b"] and reports[0].retrying == ["a"]
    assert reports[2].failed == ["a"]                                   # after MAX_ATTEMPTS (3)
    error = json.loads((box.root / "corrupted/a.mp4.error.json").read_text())
    assert error["stage"] == "orchestrator" and "File name too long" in error["error"]


# --- what can never be taken: recorded once -------------------------------------------------------
def test_symlinks_fifos_and_hidden_folders_are_recorded_once_in_the_log_and_status(box, env, tmp_path):
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(b"CONTRACTVIDEO outside")
    (box.root / "input/cam1").mkdir(parents=True)
    (box.root / "input/cam1/link.mp4").symlink_to(outside)
    (box.root / "input/linked_folder").symlink_to(tmp_path)
    os.mkfifo(box.root / "input/cam1/pipe.mp4")
    (box.root / "input/.hidden_folder").mkdir()
    (box.root / "input/.hidden_folder/x.mp4").write_bytes(b"CONTRACTVIDEO hidden")
    box.drop("cam1/good.mp4")
    first = orchestrate(env)
    assert first.returncode == 0, first.stderr[-2000:]
    logged = [json.loads(line) for line in first.stderr.splitlines() if line.startswith("{")]
    ignored = {e["path"]: e["kind"] for e in logged if e["message"].startswith("ignored in input/")}
    assert ignored == {"input/cam1/link.mp4": "symlink", "input/linked_folder": "symlink",
                       "input/cam1/pipe.mp4": "fifo", "input/.hidden_folder": "hidden folder"}
    assert box.files("processed") == ["cam1/good.mp4"]
    second = orchestrate(env)
    assert second.returncode == 0 and "ignored in input/" not in second.stderr    # once, not every run
    status = subprocess.run([sys.executable, "-m", "vv_cli.main", "status", "--json"], capture_output=True, text=True,
                            env=env, timeout=60, check=True).stdout
    assert "# ignored in input/" in status and "input/cam1/pipe.mp4  fifo  since" in status
    assert '"ignored_in_input": 4' in status
    (box.root / "input/cam1/pipe.mp4").unlink()
    assert orchestrate(env).returncode == 0
    assert "pipe.mp4" not in subprocess.run([sys.executable, "-m", "vv_cli.main", "status", "--json"],
                                            capture_output=True, text=True, env=env, timeout=60, check=True).stdout


def test_a_file_that_cannot_be_read_is_recorded_not_fatal(box, monkeypatch):
    box.drop("secret.mp4")
    box.drop("good.mp4")
    from orchestrator import discovery

    real = discovery.compute_sha256

    def hasher(path):
        if path.name == "secret.mp4":
            raise PermissionError(13, "Permission denied")   # tests run as root: chmod cannot do it
        return real(path)

    monkeypatch.setattr(discovery, "compute_sha256", hasher)
    report = box.run()
    assert report.done == ["good"]
    store = StateStore(box.root / "state/orchestrator.sqlite3")
    try:
        assert [(r["path"], r["kind"]) for r in store.ignored_entries()] == [
            ("input/secret.mp4", "unreadable file: Permission denied")]
    finally:
        store.close()
