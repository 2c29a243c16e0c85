"""vv restore-drill: restore the latest snapshot, verify it all, report RTO and pass/fail."""

import json
import subprocess
import sys

import ops.backup.restore_drill as drill_module
from ops.backup.backup import run_backup
from ops.backup.restic_repo import ResticRepo
from ops.backup.restore_drill import (
    check_repository_subset,
    check_restored_databases,
    run_drill,
    verify_restored_loglines,
)
from tests.helpers import repo_env


def test_drill_passes_reports_rto_and_rotates_the_data_check(box):
    run_backup(box, apply_retention=False)
    settings = box.model_copy(update={"backup_check_subsets": 3})
    report = run_drill(settings)
    assert report["status"] == "pass", report
    assert report["manifest"]["ok"] and report["manifest"]["verified"] == report["manifest"]["expected"] > 10
    assert report["rto_seconds"] >= report["restore_s"] > 0
    assert report["databases"] == [{"path": "storage/state/orchestrator.sqlite3", "integrity": "ok",
                                    "tables": 1, "ok": True}]
    assert report["repository_check"] == {"subset": "1/3", "ok": True}
    assert report["restored_to"] is None
    repo = ResticRepo.from_settings(settings)
    rotation = [check_repository_subset(settings, repo)["subset"] for _ in range(3)]
    assert rotation == ["2/3", "3/3", "1/3"]
    state = json.loads((box.storage.state / "restore_drill.json").read_text())
    assert state["next_check_subset"] == 2 and state["last_drill"]["status"] == "pass"


def test_drill_fails_and_alerts_when_the_repository_is_damaged(box, restic_repo, webhook):
    run_backup(box, apply_retention=False)
    for pack in (restic_repo / "data").rglob("*"):
        if pack.is_file():
            data = bytearray(pack.read_bytes())
            data[len(data) // 2] ^= 0xFF
            pack.chmod(0o600)
            pack.write_bytes(bytes(data))
    settings = box.model_copy(update={"alert_webhook_url": webhook.url})
    report = run_drill(settings)
    assert report["status"] == "fail"
    assert "restic" in report["error"]
    [alert] = webhook.received
    assert alert["title"] == "restore drill failed" and alert["severity"] == "CRITICAL"


def test_drill_keeps_the_restore_when_asked(box, tmp_path):
    run_backup(box, apply_retention=False)
    keep = tmp_path / "kept"
    report = run_drill(box, check_data=False, keep=keep)
    assert report["status"] == "pass" and report["restored_to"] == str(keep)
    assert "repository_check" not in report
    assert (keep / "storage" / "state" / "orchestrator.sqlite3").is_file()


def test_drill_without_a_snapshot_fails_cleanly(box):
    report = run_drill(box)
    assert report["status"] == "fail" and "no snapshot tagged vv,metadata" in report["error"]


def test_damaged_restored_database_fails_the_check(tmp_path):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "db.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    [checked] = check_restored_databases(tmp_path, [{"path": "state/db.sqlite3"}])
    assert checked["ok"] is False


def test_loglines_check_is_labelled_skipped_while_no_verifier_is_installed(box, tmp_path, monkeypatch):
    monkeypatch.setattr(drill_module, "VERIFIER_SCRIPT", tmp_path / "no_such_verifier.py")
    run_backup(box, apply_retention=False)
    report = run_drill(box, check_data=False)
    assert report["loglines"]["status"] == "skipped"
    assert report["degraded"] is True and report["status"] == "pass"
    empty = tmp_path / "empty-storage"
    (empty / "loglines").mkdir(parents=True)
    assert verify_restored_loglines(empty, None)["checked"] == 0


def test_vv_backup_and_restore_drill_cli_end_to_end(box, tmp_path):
    env = repo_env(VIDEO_STORAGE_ROOT=str(box.storage.root), KEY_STORE_PATH=str(box.key_store_path),
                   RESTIC_REPOSITORY=str(tmp_path / "cli-repo"),
                   RESTIC_PASSWORD_FILE=str(box.restic_password_file),
                   BACKUP_CONFIG_ROOT=str(box.backup_config_root))

    def vv(*args):
        return subprocess.run([sys.executable, "-m", "vv_cli.main", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, check=False, timeout=120)

    missing = vv("backup")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.count("\n") == 1 and "vv backup init" in missing.stderr
    init = vv("backup", "init")
    assert init.returncode == 0 and json.loads(init.stdout)["created"] is True
    backup = vv("backup")
    assert backup.returncode == 0, backup.stderr
    assert json.loads(backup.stdout)["status"] == "ok"
    drill = vv("restore-drill", "--no-check")
    assert drill.returncode == 0, drill.stderr
    assert json.loads(drill.stdout)["status"] == "pass"
    log_lines = [json.loads(line) for line in (box.storage.logs / "app.log").read_text().splitlines()]
    assert any(e.get("service_name") == "backup" and e.get("backup", {}).get("status") == "ok" for e in log_lines)
    assert any(e.get("service_name") == "restore_drill" and e.get("drill", {}).get("status") == "pass"
               for e in log_lines)



def test_drill_verifies_the_restored_chain_with_the_restored_keys(box):
    run_backup(box, apply_retention=False)
    box.key_store_path.unlink()          # the live keys are gone: the drill must use the snapshot's
    report = run_drill(box, check_data=False)
    assert report["status"] == "pass" and report["degraded"] is False
    assert report["loglines"]["status"] == "pass"
    assert report["loglines"]["report"]["checked"] == 3 and report["loglines"]["report"]["ok"] is True


def test_drill_fails_when_the_backed_up_chain_was_tampered_with(box, webhook):
    logline = box.storage.loglines / "cam1_20261121T100100Z.logline.json"
    record = json.loads(logline.read_text())
    record["title"] = "nothing happened here"          # edited after signing
    logline.write_text(json.dumps(record, indent=2))
    run_backup(box, apply_retention=False)             # the manifest faithfully records the tampered file
    report = run_drill(box.model_copy(update={"alert_webhook_url": webhook.url}), check_data=False)
    assert report["manifest"]["ok"] is True
    assert report["loglines"]["status"] == "fail" and report["status"] == "fail"
    problems = report["loglines"]["report"]["problems"]
    assert [p["file"].rsplit("/", 1)[-1] for p in problems][:1] == ["cam1_20261121T100100Z.logline.json"]
    [alert] = webhook.received
    assert "LogLine chain does not verify" in alert["message"]
