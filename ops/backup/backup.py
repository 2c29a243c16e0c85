"""`vv backup [--media]` / `vv backup init`: restic backups of everything needed to rebuild the box.

Two schedules (docs/disaster-recovery.md, RPO table): the metadata backup (artifacts, LogLines,
playlists, the state DB, config, .env, key store, model manifest, logs) runs hourly and is small;
the media backup (processed/, tv_curado/) runs nightly. Each run stages a consistent tree
(ops/backup/staging.py), writes a sha256 manifest into it, backs it up with tags
``vv`` + ``metadata|media``, applies GFS retention with prune, logs one JSON line with the result,
records it in ``state/backup_status.json`` and raises an alert if anything failed.

The repository is never created implicitly: a backup that finds no repository fails loudly (an
unmounted backup disk must not silently become a fresh, empty repository) — run `vv backup init`.
"""

import json
import logging
import time
from typing import Any

from filelock import FileLock, Timeout

from ops.backup.restic_repo import ResticRepo, redact
from ops.backup.staging import MIB, BackupError, clear_directory, excludes_of, stage_backup
from ops.settings import BackupSettings
from vv_core.alert_triggers import build_alert
from vv_core.alerts import send_alert
from vv_core.atomic import atomic_write_json
from vv_core.errors import VVError
from vv_core.jsonlog import start_process, utc_timestamp
from vv_core.progress import progress
from vv_core.storage import BACKUP_STATUS

logger = logging.getLogger("vv.backup")
STATUS_FILE = BACKUP_STATUS
LOCK_FILE = "backup.lock"


def run_backup(settings: BackupSettings, media: bool = False, apply_retention: bool = True) -> dict[str, Any]:
    """Stage, back up, apply retention; return the result. Alerts and re-raises on failure."""
    kind = "media" if media else "metadata"
    started = time.monotonic()
    settings.storage.state.mkdir(parents=True, exist_ok=True)
    try:
        repo = ResticRepo.from_settings(settings)
        with FileLock(settings.storage.state / LOCK_FILE, timeout=0):
            result = _backup_locked(settings, repo, kind, apply_retention)
    except (VVError, Timeout, OSError) as exc:
        message = "another backup is running" if isinstance(exc, Timeout) else redact(str(exc))
        failure = {"kind": kind, "status": "failed", "error": message,
                   "duration_s": round(time.monotonic() - started, 3), "finished_at": utc_timestamp()}
        record_status(settings, failure)
        logger.error("backup failed: %s", message, extra={"backup": failure})
        send_alert(build_alert("CRITICAL", f"{kind} backup failed", message, "backup",
                               file=redact(settings.restic_repository or ""), log=message), settings)
        if isinstance(exc, VVError):
            raise
        raise BackupError(message) from exc
    result["duration_s"] = round(time.monotonic() - started, 3)
    record_status(settings, result)
    logger.info("backup done: %s snapshot %s", kind, result["snapshot_id"], extra={"backup": result})
    return result


def _backup_locked(settings: BackupSettings, repo: ResticRepo, kind: str, apply_retention: bool) -> dict[str, Any]:
    if not repo.unlock():
        raise BackupError(f"no restic repository at {redact(repo.repository)}: run `vv backup init`")
    staged = stage_backup(settings, kind)
    try:
        # restic's own status messages: bytes read so far of the staged tree.
        with progress(f"backup {kind}: upload", total=staged.total_bytes / MIB or None, unit="MiB") as task:
            summary = repo.backup(staged.root, ["vv", kind], excludes_of(settings),
                                  on_status=lambda status: task.update(min(
                                      status.get("bytes_done", 0), staged.total_bytes) / MIB))
            task.update(staged.total_bytes / MIB)
    finally:
        clear_directory(staged.root)
    removed: list[str] = []
    if apply_retention:
        removed = repo.forget(["vv", kind], settings.backup_keep_daily, settings.backup_keep_weekly,
                              settings.backup_keep_monthly)
    return {
        "kind": kind,
        "status": "ok",
        "snapshot_id": summary["snapshot_id"],
        "files": len(staged.files),
        "bytes": staged.total_bytes,
        "hashes_reused": staged.hashes_reused,
        "databases": [{"path": db["path"], "integrity": db["integrity"]} for db in staged.databases],
        "files_new": summary.get("files_new", 0),
        "files_changed": summary.get("files_changed", 0),
        "data_added_bytes": summary.get("data_added", 0),
        "snapshots_removed": len(removed),
        "finished_at": utc_timestamp(),
    }


def record_status(settings: BackupSettings, result: dict[str, Any]) -> None:
    """state/backup_status.json: the last attempt and last success per kind (for /status, alerts)."""
    path = settings.storage.backup_status
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        status = {}
    entry = status.setdefault(result["kind"], {})
    entry["last_attempt"] = result
    if result["status"] == "ok":
        entry["last_success"] = result
    atomic_write_json(path, status)


def init_repository(settings: BackupSettings) -> dict[str, Any]:
    repo = ResticRepo.from_settings(settings)
    created = repo.init()
    result = {"repository": redact(repo.repository), "created": created}
    logger.info("backup repository %s", "created" if created else "already exists", extra={"backup": result})
    return result


def log_to_app_log(settings: BackupSettings, service_name: str = "backup") -> None:
    """JSON log lines to logs/app.log only: stdout carries the result, stderr the one error line."""
    start_process(service_name, settings, console="none")


def main(argv: list[str] | None = None) -> None:
    """Blueprint script entry: `python ops/backup/backup.py [init] [--media] [--no-retention]`."""
    import argparse

    parser = argparse.ArgumentParser(prog="backup.py", description=__doc__.splitlines()[0])
    parser.add_argument("action", nargs="?", choices=["run", "init"], default="run")
    parser.add_argument("--media", action="store_true", help="back up processed/ and tv_curado/")
    parser.add_argument("--no-retention", action="store_true", help="skip forget --prune")
    args = parser.parse_args(argv)
    if args.action == "init":
        cli_init()
    else:
        cli_backup(media=args.media, apply_retention=not args.no_retention)


def cli_backup(media: bool = False, apply_retention: bool = True) -> None:
    from ops.json_command import run_json_command

    def action() -> dict[str, Any]:
        settings = BackupSettings()
        log_to_app_log(settings)
        return run_backup(settings, media=media, apply_retention=apply_retention)

    run_json_command(action)


def cli_init() -> None:
    from ops.json_command import run_json_command

    def action() -> dict[str, Any]:
        settings = BackupSettings()
        log_to_app_log(settings)
        return init_repository(settings)

    run_json_command(action)


if __name__ == "__main__":
    main()
