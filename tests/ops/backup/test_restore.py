"""Backup → damage → restore, for real: byte-identical files, a sound DB, a verified drill."""

import json
import sqlite3

import pytest

from ops.backup.backup import run_backup
from ops.backup.restic_repo import ResticRepo
from ops.backup.restore import destination_of, restore_in_place, verify_tree
from ops.backup.staging import BackupError
from tests.ops.backup.conftest import tree_digest


def corrupt_database(path):
    data = bytearray(path.read_bytes())
    data[0:16] = b"garbage-garbage!"      # the SQLite header: the file no longer opens
    path.write_bytes(bytes(data))


def test_backup_damage_restore_is_byte_identical(box):
    root = box.storage.root
    covered = [root / "analytic", root / "summaries", root / "loglines", root / "playlists",
               box.backup_config_root]
    before = tree_digest(*covered)
    key_store_before = box.key_store_path.read_bytes()
    db = root / "state" / "orchestrator.sqlite3"
    rows_before = sqlite3.connect(db).execute("SELECT count(*) FROM videos").fetchone()[0]
    run_backup(box, apply_retention=False)

    # damage: deleted LogLines and config, an edited playlist, a wrecked DB with a stale WAL, lost keys
    for path in (root / "loglines").glob("*100100Z*"):
        path.unlink()
    (box.backup_config_root / "tv_scheduler" / "config.yaml").unlink()
    (root / "playlists" / "tv1.json").write_text('{"tampered": true}\n')
    corrupt_database(db)
    (root / "state" / "orchestrator.sqlite3-wal").write_bytes(b"stale wal that must not be replayed")
    box.key_store_path.unlink()
    (root / "analytic" / "made-after-backup.analytic.json").write_text("{}\n")

    report = restore_in_place(box)

    # 2 LogLine files, the config, the playlist, the DB, the key store
    assert report["status"] == "ok" and report["restored"] == 6
    after = tree_digest(*covered)
    after.pop(str(root / "analytic" / "made-after-backup.analytic.json"))   # newer work is kept
    assert after == before
    assert box.key_store_path.read_bytes() == key_store_before
    assert (box.key_store_path.stat().st_mode & 0o077) == 0
    assert not (root / "state" / "orchestrator.sqlite3-wal").exists()
    connection = sqlite3.connect(db)
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert connection.execute("SELECT count(*) FROM videos").fetchone()[0] == rows_before
    connection.close()
    # a second restore finds nothing to do
    assert restore_in_place(box)["restored"] == 0


def test_restore_only_a_prefix(box):
    run_backup(box, apply_retention=False)
    root = box.storage.root
    for path in (root / "loglines").glob("*.logline.json"):
        path.unlink()
    (root / "playlists" / "tv1.json").unlink()
    report = restore_in_place(box, only=["storage/loglines"])
    assert report["restored"] == 3
    assert len(list((root / "loglines").glob("*.logline.json"))) == 3
    assert not (root / "playlists" / "tv1.json").exists()


def test_restore_media_snapshot(box):
    run_backup(box, media=True, apply_retention=False)
    video = box.storage.root / "processed" / "cam1" / "20261121T100000Z.mp4"
    original = video.read_bytes()
    video.unlink()
    report = restore_in_place(box, media=True)
    assert report["kind"] == "media" and video.read_bytes() == original


def test_restore_refuses_a_snapshot_that_does_not_match_its_manifest(box, tmp_path):
    run_backup(box, apply_retention=False)
    repo = ResticRepo.from_settings(box)
    # a snapshot whose tree was altered after its manifest was written (simulated tampering)
    scratch = tmp_path / "altered"
    repo.restore("latest", scratch)
    (scratch / "storage" / "playlists" / "tv1.json").write_text('{"evil": 1}\n')
    repo.backup(scratch, ["vv", "metadata"], [])
    (box.storage.root / "playlists" / "tv1.json").write_text("current\n")
    with pytest.raises(BackupError, match="does not match its manifest"):
        restore_in_place(box)
    assert (box.storage.root / "playlists" / "tv1.json").read_text() == "current\n"   # nothing touched


def test_restore_a_named_snapshot_and_unknown_ids(box):
    first = run_backup(box, apply_retention=False)
    (box.storage.root / "playlists" / "tv1.json").write_text('{"tv": "tv1", "items": [1]}\n')
    run_backup(box, apply_retention=False)
    restore_in_place(box, snapshot=first["snapshot_id"][:8])
    assert json.loads((box.storage.root / "playlists" / "tv1.json").read_text()) == {"tv": "tv1", "items": []}
    with pytest.raises(BackupError, match="no vv snapshot"):
        restore_in_place(box, snapshot="deadbeef")


def test_paths_map_to_this_boxs_settings(box):
    assert destination_of("storage/loglines/a.json", box) == box.storage.root / "loglines" / "a.json"
    assert destination_of("config/.env", box) == box.backup_config_root / ".env"
    assert destination_of("secrets/whatever.json", box) == box.key_store_path
    with pytest.raises(BackupError, match="no place"):
        destination_of("elsewhere/x", box)


def test_verify_tree_reports_missing_damaged_and_extra_files(box, tmp_path):
    run_backup(box, apply_retention=False)
    scratch = tmp_path / "restored"
    ResticRepo.from_settings(box).restore("latest", scratch)
    assert verify_tree(scratch).ok
    (scratch / "storage" / "playlists" / "tv1.json").unlink()
    (scratch / "storage" / "loglines" / "cam1_20261121T100000Z.md").write_text("edited\n")
    (scratch / "storage" / "loglines" / "intruder.json").write_text("{}\n")
    check = verify_tree(scratch)
    assert check.missing == ["storage/playlists/tv1.json"]
    assert check.mismatched == ["storage/loglines/cam1_20261121T100000Z.md"]
    assert check.unexpected == ["storage/loglines/intruder.json"]
    (scratch / "vv-backup-manifest.json").write_text("{not json")
    with pytest.raises(BackupError, match="not valid JSON"):
        verify_tree(scratch)
    (scratch / "vv-backup-manifest.json").unlink()
    with pytest.raises(BackupError, match="not a vv backup"):
        verify_tree(scratch)


def test_restore_waits_for_no_orchestrator_run(box):
    from filelock import FileLock

    run_backup(box, apply_retention=False)
    with FileLock(box.storage.state / "orchestrator.lock"), \
            pytest.raises(BackupError, match=r"orchestrator\.lock is held"):
        restore_in_place(box, lock_wait_s=0)
