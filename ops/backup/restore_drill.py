"""`vv restore-drill`: prove the latest backup can be restored, and how long it takes (RTO).

Steps, each recorded in the JSON report:
1. restore the latest (or a given) snapshot into a scratch dir;
2. verify every file against the sha256 manifest written at backup time (nothing missing, damaged
   or extra);
3. run the LogLine verifier (`python scripts/logline_verifier.py PATH --json`) on the restored chain
   with the restored key store — proving the keys came back too;
4. open every restored SQLite DB and run PRAGMA integrity_check;
5. `restic check --read-data-subset=n/N` on a rotation: each drill reads the next 1/N of the pack
   files, so N drills read the whole repository (the counter lives in state/restore_drill.json).
RTO = wall time of steps 1–4 (what a real recovery of this data would cost). The report goes to
stdout and state/restore_drill.json; a failed drill raises an alert and exits 1.
"""

import json
import logging
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ops.backup.restic_repo import ResticError, ResticRepo, redact
from ops.backup.restore import pick_snapshot, verify_tree
from ops.backup.staging import BackupError, clear_directory
from ops.settings import BackupSettings
from vv_core.alert_triggers import build_alert
from vv_core.alerts import send_alert
from vv_core.atomic import atomic_write_json
from vv_core.jsonlog import utc_timestamp

VERIFIER_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "logline_verifier.py"
DRILL_STATE_FILE = "restore_drill.json"
VERIFIER_TIMEOUT_S = 600
logger = logging.getLogger("vv.restore_drill")


def verify_restored_loglines(restored_storage: Path, key_store: Path | None) -> dict[str, Any]:
    """Run the LogLine verifier on the restored chain, in its own process, with the restored keys."""
    loglines = restored_storage / "loglines"
    if not loglines.is_dir() or not any(loglines.glob("*.logline.json")):
        return {"status": "pass", "checked": 0, "note": "no LogLines in the snapshot"}
    if not VERIFIER_SCRIPT.is_file():
        return {"status": "skipped", "reason": f"{VERIFIER_SCRIPT.name} is not installed"}
    env = dict(os.environ)
    env["VIDEO_STORAGE_ROOT"] = str(restored_storage)
    if key_store is not None:
        env["KEY_STORE_PATH"] = str(key_store)
    # run as a file: the script puts its own checkout first on sys.path, so the drill and the
    # verifier are always the same code, whatever PYTHONPATH or an editable install say
    command = [sys.executable, str(VERIFIER_SCRIPT), str(loglines), "--json"]
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True,
                                timeout=VERIFIER_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return {"status": "fail", "reason": f"verifier timed out after {VERIFIER_TIMEOUT_S} s"}
    try:
        report: Any = json.loads(result.stdout) if result.stdout.strip() else None
    except json.JSONDecodeError:
        report = None
    outcome = {"status": "pass" if result.returncode == 0 else "fail", "exit_code": result.returncode}
    if report is not None:
        outcome["report"] = report
    if result.returncode != 0 and result.stderr.strip():
        outcome["stderr"] = result.stderr.strip().splitlines()[-1]
    return outcome


def check_restored_databases(restored_root: Path, databases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    checked = []
    for database in databases:
        path = restored_root / database["path"]
        try:
            # immutable=1: read the restored file as it is, creating no -wal/-shm beside it.
            connection = sqlite3.connect(f"file:{quote(str(path))}?mode=ro&immutable=1", uri=True)
            try:
                integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
                tables = connection.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
            finally:
                connection.close()
        except sqlite3.DatabaseError as exc:
            integrity, tables = f"cannot open: {exc}", 0
        checked.append({"path": database["path"], "integrity": integrity, "tables": tables,
                        "ok": integrity == "ok"})
    return checked


def next_check_subset(settings: BackupSettings) -> tuple[int, int]:
    """The rotating `n/N` for restic check; the counter advances only after a successful check."""
    total = settings.backup_check_subsets
    state = read_drill_state(settings)
    current = int(state.get("next_check_subset", 1))
    return (current if 1 <= current <= total else 1), total


def read_drill_state(settings: BackupSettings) -> dict[str, Any]:
    try:
        return json.loads((settings.storage.state / DRILL_STATE_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def run_drill(settings: BackupSettings, snapshot: str | None = None, media: bool = False,
              check_data: bool = True, keep: Path | None = None) -> dict[str, Any]:
    repo = ResticRepo.from_settings(settings)
    kind = "media" if media else "metadata"
    report: dict[str, Any] = {"kind": kind, "started_at": utc_timestamp()}
    scratch = Path(tempfile.mkdtemp(prefix="vv-restore-drill-")) if keep is None else keep
    try:
        chosen = pick_snapshot(repo, kind, snapshot)
        report.update(snapshot_id=chosen["id"], snapshot_time=chosen["time"])
        started = time.monotonic()
        repo.restore(chosen["id"], scratch)
        report["restore_s"] = round(time.monotonic() - started, 3)
        manifest_check = verify_tree(scratch)
        report["manifest"] = manifest_check.as_dict()
        restored_keys = sorted((scratch / "secrets").glob("*")) if (scratch / "secrets").is_dir() else []
        report["loglines"] = verify_restored_loglines(scratch / "storage",
                                                      restored_keys[0] if restored_keys else None)
        report["databases"] = check_restored_databases(scratch, manifest_check.manifest.get("databases", []))
        report["rto_seconds"] = round(time.monotonic() - started, 3)
        if check_data:
            report["repository_check"] = check_repository_subset(settings, repo)
    except (BackupError, ResticError) as exc:
        report["error"] = redact(str(exc))
    finally:
        if keep is None:
            clear_directory(scratch)
    report["restored_to"] = str(scratch) if keep is not None else None
    report["status"] = verdict(report)
    report["degraded"] = report.get("loglines", {}).get("status") == "skipped"
    report["finished_at"] = utc_timestamp()
    record_drill(settings, report)
    logger.log(logging.ERROR if report["status"] == "fail" else logging.INFO, "restore drill %s: rto %s s",
               report["status"], report.get("rto_seconds"), extra={"drill": report})
    if report["status"] == "fail":
        summary = drill_failure_summary(report)
        send_alert(build_alert("CRITICAL", "restore drill failed", summary, "restore_drill",
                               file=settings.restic_repository, log=summary,
                               snapshot_id=report.get("snapshot_id")), settings)
    return report


def check_repository_subset(settings: BackupSettings, repo: ResticRepo) -> dict[str, Any]:
    current, total = next_check_subset(settings)
    subset = f"{current}/{total}"
    try:
        repo.check(read_data_subset=subset)
    except ResticError as exc:
        return {"subset": subset, "ok": False, "error": str(exc)}
    state = read_drill_state(settings)
    state["next_check_subset"] = current % total + 1
    state["last_checked_subset"] = subset
    atomic_write_json(settings.storage.state / DRILL_STATE_FILE, state)
    return {"subset": subset, "ok": True}


def verdict(report: dict[str, Any]) -> str:
    if "error" in report or not report.get("manifest", {}).get("ok"):
        return "fail"
    if report.get("loglines", {}).get("status") == "fail":
        return "fail"
    if not all(db["ok"] for db in report.get("databases", [])):
        return "fail"
    if not report.get("repository_check", {"ok": True})["ok"]:
        return "fail"
    return "pass"


def drill_failure_summary(report: dict[str, Any]) -> str:
    if "error" in report:
        return report["error"]
    manifest = report.get("manifest", {})
    parts = [f"{len(manifest.get('missing', []))} missing, "
             f"{len(manifest.get('mismatched', []))} damaged files"]
    if report.get("loglines", {}).get("status") == "fail":
        parts.append("LogLine chain does not verify")
    parts += [f"DB {db['path']}: {db['integrity']}" for db in report.get("databases", []) if not db["ok"]]
    if not report.get("repository_check", {"ok": True})["ok"]:
        parts.append(f"restic check {report['repository_check']['subset']} failed")
    return "; ".join(parts)


def record_drill(settings: BackupSettings, report: dict[str, Any]) -> None:
    settings.storage.state.mkdir(parents=True, exist_ok=True)
    state = read_drill_state(settings)
    state["last_drill"] = report
    atomic_write_json(settings.storage.state / DRILL_STATE_FILE, state)


def cli_restore_drill(snapshot: str | None = None, media: bool = False, check_data: bool = True,
                      keep: Path | None = None) -> None:
    from ops.backup.backup import log_to_app_log
    from ops.json_command import run_json_command

    def action() -> dict[str, Any]:
        settings = BackupSettings()
        log_to_app_log(settings, "restore_drill")
        return run_drill(settings, snapshot=snapshot, media=media, check_data=check_data, keep=keep)

    run_json_command(action)


def main(argv: list[str] | None = None) -> None:
    """Blueprint script entry: `python -m ops.backup.restore_drill [--snapshot ID] [--media] …`."""
    import argparse

    parser = argparse.ArgumentParser(prog="restore_drill.py", description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", default=None, help="snapshot id (default: latest)")
    parser.add_argument("--media", action="store_true", help="drill the media backup")
    parser.add_argument("--no-check", action="store_true", help="skip restic check --read-data-subset")
    parser.add_argument("--keep", type=Path, default=None, help="restore here and keep it")
    args = parser.parse_args(argv)
    cli_restore_drill(args.snapshot, args.media, not args.no_check, args.keep)


if __name__ == "__main__":
    main()
