"""`vv restore`: put a verified snapshot back in place (disk loss, DB corruption, deleted files).

The snapshot is first restored into a scratch dir on the storage filesystem and checked against
its sha256 manifest; only if every file matches is anything touched. Then each file is moved into
place atomically (a reader sees the old file or the restored one), files that already match are
left alone, and files that are not in the snapshot are never deleted (work done after the backup
stays). A restored SQLite DB first loses the damaged DB's -wal/-shm: SQLite would otherwise replay
a stale write-ahead log onto the restored file. Stop the stack before restoring (operator guide).
"""

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ops.backup.restic_repo import ResticRepo
from ops.backup.staging import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    MIB,
    RESTORE_SCRATCH_DIRNAME,
    SUMS_NAME,
    BackupError,
    clear_directory,
    models_dir,
    tv_api_secrets_dir,
)
from ops.settings import BackupSettings
from vv_core.atomic import atomic_output, fsync_directory
from vv_core.hashing import compute_sha256
from vv_core.progress import progress

ORCHESTRATOR_LOCK = "orchestrator.lock"   # orchestrator/lock.py: one pipeline run at a time
BACKUP_LOCK = "backup.lock"

@dataclass
class ManifestCheck:
    manifest: dict[str, Any]
    verified: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.mismatched or self.unexpected)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "verified": self.verified, "expected": len(self.manifest["files"]),
                "missing": self.missing, "mismatched": self.mismatched, "unexpected": self.unexpected}


def load_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"snapshot has no {MANIFEST_NAME}: not a vv backup") from None
    except json.JSONDecodeError as exc:
        raise BackupError(f"{MANIFEST_NAME} is not valid JSON (line {exc.lineno})") from None
    if manifest.get("format") != MANIFEST_FORMAT:
        raise BackupError(f"{MANIFEST_NAME} has unknown format {manifest.get('format')!r}")
    return manifest


def verify_tree(root: Path) -> ManifestCheck:
    """Every manifest file present with its size and sha256; nothing else in the tree."""
    check = ManifestCheck(load_manifest(root))
    listed = set()
    total = sum(entry["size"] for entry in check.manifest["files"]) / MIB
    with progress("restore: verify", total=total or None, unit="MiB") as task:
        for entry in check.manifest["files"]:
            listed.add(entry["path"])
            path = root / entry["path"]
            if not path.is_file():
                check.missing.append(entry["path"])
            elif path.stat().st_size != entry["size"] or compute_sha256(path) != entry["sha256"]:
                check.mismatched.append(entry["path"])
            else:
                check.verified += 1
            task.advance(entry["size"] / MIB)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative not in listed and relative not in (MANIFEST_NAME, SUMS_NAME):
            check.unexpected.append(relative)
    return check


def pick_snapshot(repo: ResticRepo, kind: str, snapshot: str | None) -> dict[str, Any]:
    if snapshot in (None, "latest"):
        return repo.latest_snapshot(["vv", kind])
    for candidate in repo.snapshots(["vv"]):
        if snapshot in (candidate["id"], candidate.get("short_id")):
            return candidate
    raise BackupError(f"no vv snapshot {snapshot!r} in the repository")


def destination_of(relative: str, settings: BackupSettings) -> Path:
    """Where a snapshot path lives on this box (the current settings, not the backed-up ones)."""
    head, _, rest = relative.partition("/")
    if head == "storage":
        return settings.storage.root / rest
    if head == "config":
        return settings.backup_config_root / rest
    if head == "secrets":
        return settings.key_store_path
    if head == "tv_api_secrets" and tv_api_secrets_dir(settings) is not None:
        return tv_api_secrets_dir(settings) / rest
    if head == "models":
        return models_dir(settings) / rest
    raise BackupError(f"snapshot path {relative!r} has no place on this box")


def place_atomically(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, destination)
    except OSError:  # another filesystem (key store on a secrets mount): copy next to it, then rename
        with atomic_output(destination, mode=source.stat().st_mode & 0o777) as temp:
            shutil.copy2(source, temp)
        return
    fsync_directory(destination.parent)


def restore_in_place(settings: BackupSettings, snapshot: str | None = None, media: bool = False,
                     only: list[str] | None = None, lock_wait_s: float = 60.0) -> dict[str, Any]:
    """Restore a verified snapshot onto this box; ``only`` limits it to path prefixes.

    Holds the orchestrator's run lock (state/orchestrator.lock) and the backup lock throughout,
    so no pipeline run or backup starts while files are being put back.
    """
    repo = ResticRepo.from_settings(settings)
    state = settings.storage.state
    state.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(state / ORCHESTRATOR_LOCK, timeout=lock_wait_s), FileLock(state / BACKUP_LOCK, timeout=0):
            return _restore_locked(settings, repo, snapshot, media, only)
    except Timeout as exc:
        raise BackupError(f"{Path(exc.lock_file).name} is held: an orchestrator run or a backup is in "
                          "progress; stop the stack first") from None


def _restore_locked(settings: BackupSettings, repo: ResticRepo, snapshot: str | None, media: bool,
                    only: list[str] | None) -> dict[str, Any]:
    kind = "media" if media else "metadata"
    chosen = pick_snapshot(repo, kind, snapshot)
    scratch = settings.storage.state / RESTORE_SCRATCH_DIRNAME
    clear_directory(scratch)
    scratch.mkdir(parents=True, mode=0o700)
    try:
        repo.restore(chosen["id"], scratch)
        check = verify_tree(scratch)
        if not check.ok:
            raise BackupError(f"snapshot {chosen['short_id']} does not match its manifest "
                              f"({len(check.missing)} missing, {len(check.mismatched)} damaged, "
                              f"{len(check.unexpected)} unexpected): nothing restored")
        databases = {db["path"] for db in check.manifest.get("databases", [])}
        restored, unchanged = [], 0
        chosen_files = [entry for entry in check.manifest["files"]
                        if not only or any(entry["path"].startswith(prefix.rstrip("/") + "/")
                                           or entry["path"] == prefix for prefix in only)]
        with progress("restore: place", total=len(chosen_files) or None, unit="files") as task:
            for entry in chosen_files:
                relative = entry["path"]
                task.advance()
                destination = destination_of(relative, settings)
                if destination.is_file() and compute_sha256(destination) == entry["sha256"]:
                    unchanged += 1
                    continue
                if relative in databases:
                    for sidecar in ("-wal", "-shm"):
                        with contextlib.suppress(FileNotFoundError):
                            Path(f"{destination}{sidecar}").unlink()
                place_atomically(scratch / relative, destination)
                restored.append(relative)
    finally:
        clear_directory(scratch)
    return {"status": "ok", "snapshot_id": chosen["id"], "snapshot_time": chosen["time"], "kind": kind,
            "restored": len(restored), "unchanged": unchanged, "restored_paths": restored}


def cli_restore(snapshot: str | None, media: bool, only: list[str] | None) -> None:
    from ops.json_command import run_json_command

    run_json_command(lambda: restore_in_place(BackupSettings(), snapshot=snapshot, media=media, only=only))
