"""vv backup against a real restic repository: what goes in, what stays out, retention, failures."""

import json
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from ops.backup.backup import init_repository, run_backup
from ops.backup.restic_repo import ResticError, ResticRepo, check_password_file, redact
from ops.backup.staging import MANIFEST_NAME, SUMS_NAME, BackupError, backup_sqlite, stage_backup
from tests.helpers import repo_env
from tests.ops.backup.conftest import make_state_db
from vv_cli.settings import Settings


def snapshot_listing(settings: Settings, snapshot_id: str) -> set[str]:
    repo = ResticRepo.from_settings(settings)
    result = repo.run("ls", "--json", snapshot_id)
    return {json.loads(line)["path"] for line in result.stdout.splitlines()
            if line.startswith("{") and '"struct_type":"node"' in line and '"type":"file"' in line}


def test_metadata_backup_holds_every_critical_file_and_nothing_else(box):
    result = run_backup(box, apply_retention=False)
    assert result["status"] == "ok" and result["kind"] == "metadata"
    files = snapshot_listing(box, result["snapshot_id"])
    expected = {
        "/storage/analytic/cam1_20261121T100000Z.analytic.json",
        "/storage/summaries/cam1_20261121T100200Z.summary.json",
        "/storage/loglines/cam1_20261121T100100Z.logline.json",
        "/storage/loglines/cam1_20261121T100100Z.md",
        "/storage/playlists/tv1.json",
        "/storage/logs/app.log",
        "/storage/state/orchestrator.sqlite3",
        "/storage/state/pipeline_status.json",
        "/config/.env",
        "/config/tv_scheduler/config.yaml",
        "/secrets/logline_keys.json",
        "/models/model_manifest.json",
        f"/{MANIFEST_NAME}",
        f"/{SUMS_NAME}",
    }
    assert expected <= files
    # transient or media files stay out of the metadata snapshot
    assert not any(p.endswith((".part", ".jpg", ".mp4", "-wal", "-shm")) for p in files)
    assert result["databases"] == [{"path": "storage/state/orchestrator.sqlite3", "integrity": "ok"}]
    # the staging tree is gone, the originals are untouched, the status file records the success
    assert not (box.storage.state / "backup-staging" / "metadata").exists()
    assert (box.storage.root / "analytic" / "half-written.json.part").exists()
    status = json.loads((box.storage.state / "backup_status.json").read_text())
    assert status["metadata"]["last_success"]["snapshot_id"] == result["snapshot_id"]


def test_media_backup_is_its_own_tagged_snapshot_and_reuses_unchanged_hashes(box):
    result = run_backup(box, media=True, apply_retention=False)
    assert result["hashes_reused"] == 0
    files = snapshot_listing(box, result["snapshot_id"])
    assert "/storage/processed/cam1/20261121T100000Z.mp4" in files
    assert "/storage/tv_curado/promo.mp4" in files
    assert not any(p.startswith("/storage/loglines") for p in files)
    tags = ResticRepo.from_settings(box).latest_snapshot(["vv", "media"])["tags"]
    assert sorted(tags) == ["media", "vv"]
    # an unchanged video is not re-read for its hash; a replaced one is
    (box.storage.root / "tv_curado" / "promo.mp4").write_bytes(b"new promo")
    again = run_backup(box, media=True, apply_retention=False)
    assert again["hashes_reused"] == again["files"] - 1 == 1


def test_manifest_lists_every_file_with_its_sha256(box):
    staged = stage_backup(box, "metadata")
    manifest = json.loads((staged.root / MANIFEST_NAME).read_text())
    assert manifest["file_count"] == len(manifest["files"]) == len(staged.files)
    sums = (staged.root / SUMS_NAME).read_text()
    # the SHA256SUMS file is the same list in `sha256sum -c` format, and it checks out
    check = subprocess.run(["sha256sum", "--check", "--quiet", SUMS_NAME], cwd=staged.root,
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert sums.count("\n") == manifest["file_count"]
    assert (staged.root.stat().st_mode & 0o077) == 0


def test_live_wal_database_is_copied_consistently_while_another_process_writes(box, tmp_path):
    db = box.storage.state / "orchestrator.sqlite3"
    writer_script = textwrap.dedent("""
        import sqlite3, sys, time
        connection = sqlite3.connect(sys.argv[1], timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        print("ready", flush=True)
        for i in range(4000):
            connection.execute("INSERT INTO videos (sha256, state) VALUES (?, 'scanned')", (f"w{i}",))
            connection.commit()
            time.sleep(0.001)
        """)
    writer = subprocess.Popen([sys.executable, "-c", writer_script, str(db)], stdout=subprocess.PIPE,
                              text=True, env=repo_env())
    try:
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(0.2)   # let it commit some rows into the WAL before the copy starts
        staged_copy = tmp_path / "copy.sqlite3"
        info = backup_sqlite(db, staged_copy)
        result = run_backup(box, apply_retention=False)
        still_writing = writer.poll() is None
    finally:
        writer.kill()
        writer.wait(timeout=10)
    assert still_writing, "the writer must still be running during the backup for this test to mean anything"
    assert info["integrity"] == "ok"
    assert not (tmp_path / "copy.sqlite3-wal").exists()
    connection = sqlite3.connect(staged_copy)
    rows = connection.execute("SELECT count(*) FROM videos").fetchone()[0]
    connection.close()
    assert rows > 50   # the committed WAL content is in the copy, not only the main file
    assert result["databases"][0]["integrity"] == "ok"


def test_retention_keeps_one_snapshot_per_day_and_kind(box):
    media = run_backup(box, media=True, apply_retention=False)
    first = run_backup(box, apply_retention=False)
    second = run_backup(box)   # same day: GFS keeps only the newest metadata snapshot
    assert second["snapshots_removed"] == 1 and first["snapshot_id"] != second["snapshot_id"]
    repo = ResticRepo.from_settings(box)
    assert [s["short_id"] for s in repo.snapshots(["vv", "metadata"])] == [second["snapshot_id"]]
    assert [s["short_id"] for s in repo.snapshots(["vv", "media"])] == [media["snapshot_id"]]   # never mixed


def test_missing_repository_fails_names_the_fix_and_alerts(box, tmp_path, webhook):
    settings = box.model_copy(update={"restic_repository": str(tmp_path / "not-a-repo"),
                                      "alert_webhook_url": webhook.url})
    with pytest.raises(BackupError, match="run `vv backup init`"):
        run_backup(settings)
    assert not (tmp_path / "not-a-repo").exists()   # never created implicitly
    [alert] = webhook.received
    assert alert["severity"] == "CRITICAL" and alert["source"] == "backup"
    assert "vv backup init" in alert["message"]
    status = json.loads((box.storage.state / "backup_status.json").read_text())
    assert status["metadata"]["last_attempt"]["status"] == "failed"
    assert "last_success" not in status["metadata"]


def test_wrong_password_is_an_error_not_a_missing_repository(box, tmp_path):
    wrong = tmp_path / "wrong-password"
    wrong.write_text("nope\n")
    wrong.chmod(0o600)
    with pytest.raises(ResticError, match="cannot open"):
        ResticRepo(box.restic_repository, wrong).exists()


def test_concurrent_backup_is_refused(box):
    from filelock import FileLock

    with FileLock(box.storage.state / "backup.lock"), pytest.raises(BackupError, match="another backup"):
        run_backup(box, apply_retention=False)


def test_init_creates_the_repository_once(box, tmp_path):
    settings = box.model_copy(update={"restic_repository": str(tmp_path / "new-repo")})
    assert init_repository(settings)["created"] is True
    assert init_repository(settings)["created"] is False
    assert (tmp_path / "new-repo" / "config").is_file()


def test_unconfigured_or_unsafe_password_is_refused(box, tmp_path):
    with pytest.raises(ResticError, match="RESTIC_REPOSITORY"):
        ResticRepo.from_settings(box.model_copy(update={"restic_repository": None}))
    with pytest.raises(ResticError, match="RESTIC_PASSWORD_FILE"):
        ResticRepo.from_settings(box.model_copy(update={"restic_password_file": None}))
    loose = tmp_path / "loose-password"
    loose.write_text("x\n")
    loose.chmod(0o644)
    with pytest.raises(ResticError, match="chmod 600"):
        check_password_file(loose)
    with pytest.raises(ResticError, match="not found"):
        check_password_file(tmp_path / "absent")


def test_empty_restic_settings_in_dotenv_mean_unset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("RESTIC_REPOSITORY=\nRESTIC_PASSWORD_FILE=\n")
    loaded = Settings()
    assert loaded.restic_repository is None and loaded.restic_password_file is None


def test_redact_hides_credentials_in_repository_urls():
    assert redact("rest:https://user:s3cret@backup.example:8000/vv") == "rest:https://***@backup.example:8000/vv"
    assert redact("/srv/backup/vv") == "/srv/backup/vv"


def test_corrupt_database_fails_the_backup_with_its_name(box):
    db = box.storage.state / "orchestrator.sqlite3"
    data = bytearray(db.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)   # wreck the schema page, keep the SQLite header
    db.write_bytes(bytes(data))
    for sidecar in ("-wal", "-shm"):
        (box.storage.state / f"orchestrator.sqlite3{sidecar}").unlink(missing_ok=True)
    with pytest.raises(BackupError, match=r"orchestrator\.sqlite3"):
        run_backup(box, apply_retention=False)


def test_second_database_in_state_is_also_backed_up_online(box):
    make_state_db(box.storage.state / "scheduler.sqlite3", rows=3)
    result = run_backup(box, apply_retention=False)
    assert {db["path"] for db in result["databases"]} == {
        "storage/state/orchestrator.sqlite3", "storage/state/scheduler.sqlite3"}


def test_a_repeated_backup_failure_alerts_once_through_the_one_door(box, tmp_path, webhook):
    # The backup raises its alert through send_alert: de-duplicated within ALERT_DEDUP_WINDOW_S and
    # carrying the standard context (issue 16; raise_alert posted every failure, bare).
    settings = box.model_copy(update={"restic_repository": str(tmp_path / "not-a-repo"),
                                      "alert_webhook_url": webhook.url})
    for _ in range(2):
        with pytest.raises(BackupError):
            run_backup(settings)
    [alert] = webhook.received
    assert alert["title"].endswith("backup failed")
    assert {"file", "container", "timestamp", "log_excerpt"} <= set(alert["context"])
    assert "vv backup init" in alert["context"]["log_excerpt"]
