"""Edges of the backup tools: other filesystems, symlinks, restic failures, the report contract."""

import json
import os
import shutil
import uuid
from pathlib import Path

import pytest

from ops.backup.backup import run_backup
from ops.backup.restic_repo import ResticError, ResticRepo
from ops.backup.restore import restore_in_place
from ops.backup.restore_drill import drill_failure_summary, verdict
from ops.backup.staging import BackupError, stage_backup
from ops.json_command import run_json_command
from vv_core.keystore import create_key_store

SHM = Path("/dev/shm")


@pytest.fixture
def key_store_on_another_filesystem(box):
    if not (SHM.is_dir() and os.access(SHM, os.W_OK)) or SHM.stat().st_dev == box.storage.root.stat().st_dev:
        pytest.skip("needs /dev/shm as a second filesystem")
    directory = SHM / f"vv-test-{uuid.uuid4().hex}"
    directory.mkdir(mode=0o700)
    key_store = directory / "logline_keys.json"
    create_key_store(key_store, "k-shm")
    yield box.model_copy(update={"key_store_path": key_store})
    shutil.rmtree(directory)


def test_key_store_on_another_filesystem_is_copied_and_restored_atomically(key_store_on_another_filesystem):
    settings = key_store_on_another_filesystem
    original = settings.key_store_path.read_bytes()
    run_backup(settings, apply_retention=False)
    settings.key_store_path.write_text("damaged")
    report = restore_in_place(settings, only=["secrets"])
    assert report["restored_paths"] == ["secrets/logline_keys.json"]
    assert settings.key_store_path.read_bytes() == original
    assert not [p for p in settings.key_store_path.parent.iterdir() if p.name.endswith(".tmp")]


def test_symlinks_are_not_followed_into_the_backup(box, tmp_path):
    outside = tmp_path / "outside-secret.txt"
    outside.write_text("not for the backup")
    (box.storage.root / "playlists" / "link.json").symlink_to(outside)
    staged = stage_backup(box, "metadata")
    assert not any("link.json" in f["path"] for f in staged.files)


def test_unknown_backup_kind_is_refused(box):
    with pytest.raises(BackupError, match="unknown backup kind"):
        stage_backup(box, "everything")


def test_restic_missing_or_slow_is_one_clear_error(box):
    repo = ResticRepo.from_settings(box)
    with pytest.raises(ResticError, match="not found: install it"):
        ResticRepo(repo.repository, repo.password_file, binary="restic-not-installed").snapshots()
    with pytest.raises(ResticError, match="timed out"):
        repo.run("snapshots", timeout_s=0.001)


def test_report_commands_print_json_and_exit_by_status(capsys):
    run_json_command(lambda: {"status": "pass", "rto_seconds": 1.5})
    assert json.loads(capsys.readouterr().out) == {"rto_seconds": 1.5, "status": "pass"}
    with pytest.raises(SystemExit) as failed:
        run_json_command(lambda: {"status": "fail"})
    assert failed.value.code == 1 and json.loads(capsys.readouterr().out)["status"] == "fail"

    def broken():
        raise RuntimeError("boom\nsecond line")

    with pytest.raises(SystemExit) as crashed:
        run_json_command(broken)
    captured = capsys.readouterr()
    assert crashed.value.code == 2 and captured.out == ""
    assert captured.err == "error: internal error: RuntimeError: boom second line\n"

    def bad_config():
        raise BackupError("no restic repository")

    with pytest.raises(SystemExit) as refused:
        run_json_command(bad_config)
    assert refused.value.code == 1


def test_drill_verdict_names_every_failed_check():
    passing = {"manifest": {"ok": True}, "loglines": {"status": "pass"}, "databases": [{"ok": True}],
               "repository_check": {"ok": True, "subset": "1/7"}}
    assert verdict(passing) == "pass"
    failing = {"manifest": {"ok": False, "missing": ["a"], "mismatched": []},
               "loglines": {"status": "fail"},
               "databases": [{"ok": False, "path": "storage/state/x.sqlite3", "integrity": "page 3 bad"}],
               "repository_check": {"ok": False, "subset": "2/7"}}
    assert verdict(failing) == "fail"
    summary = drill_failure_summary(failing)
    assert summary == ("1 missing, 0 damaged files; LogLine chain does not verify; "
                       "DB storage/state/x.sqlite3: page 3 bad; restic check 2/7 failed")
    for key, bad in (("loglines", {"status": "fail"}), ("databases", [{"ok": False}]),
                     ("repository_check", {"ok": False})):
        assert verdict({**passing, key: bad}) == "fail"


def test_online_copy_leaves_no_sidecars_and_handles_odd_paths(tmp_path):
    from ops.backup.staging import backup_sqlite
    from tests.ops.backup.conftest import make_state_db

    odd = tmp_path / "state dir #1?" / "orchestrator.sqlite3"
    make_state_db(odd, rows=5)
    assert not Path(f"{odd}-wal").exists()          # nobody has it open: no WAL beside it
    info = backup_sqlite(odd, tmp_path / "copy.sqlite3")
    assert info == {"integrity": "ok", "tables": 1}
    assert sorted(p.name for p in odd.parent.iterdir()) == ["orchestrator.sqlite3"]
    with pytest.raises(BackupError, match="cannot back up database"):
        backup_sqlite(tmp_path / "gone.sqlite3", tmp_path / "copy2.sqlite3")   # never created
    assert not (tmp_path / "gone.sqlite3").exists()
