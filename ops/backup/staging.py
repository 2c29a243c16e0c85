"""Build a consistent, point-in-time staging tree for restic, and its sha256 manifest.

Why a staging tree: playlists are rewritten every minute and the state DB is written all the time.
Backing the live directories up directly would give a snapshot whose files come from different
moments, and a manifest that does not match it. Instead we:

* hard-link files that are only ever replaced atomically (every artifact, playlist, LogLine): the
  link pins the inode of that moment, and a later atomic rename does not touch it — a free,
  consistent snapshot;
* copy files that are appended in place (logs) or live on another filesystem (key store, .env);
* copy every SQLite database with SQLite's online backup API (a reader in WAL mode sees one
  consistent snapshot while writers go on) — never a raw copy of a live DB.

Snapshot layout (the staging dir is backed up as ``.``)::

    storage/<dir>/…             analytic snapshots summaries loglines playlists logs state (+ processed tv_curado)
    config/.env, config/<module>/config.yaml, config/<module>/prompts/…
    secrets/<key store file>
    models/model_manifest.json  (+ the current-model pointers)
    vv-backup-manifest.json, SHA256SUMS
"""

import contextlib
import errno
import fnmatch
import json
import os
import shutil
import socket
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ops.settings import BackupSettings
from vv_core import __version__
from vv_core.atomic import atomic_write_json, atomic_write_text
from vv_core.errors import VVError
from vv_core.hashing import compute_sha256
from vv_core.jsonlog import utc_timestamp
from vv_core.progress import progress

MANIFEST_NAME = "vv-backup-manifest.json"
SUMS_NAME = "SHA256SUMS"
MANIFEST_FORMAT = "vv-backup-manifest/1"
MIB = 2**20                              # progress is reported in MiB
METADATA_DIRS = ("analytic", "snapshots", "summaries", "loglines", "playlists", "logs")
MEDIA_DIRS = ("processed", "tv_curado")
STAGING_DIRNAME = "backup-staging"      # under state/, never itself backed up
RESTORE_SCRATCH_DIRNAME = "restore-scratch"
# state/ holds the DB, pipeline_status.json, chain head; these are regenerated or transient.
HASH_CACHE_DIRNAME = "backup-hash-cache"
STATE_SKIP = (STAGING_DIRNAME, RESTORE_SCRATCH_DIRNAME, HASH_CACHE_DIRNAME, "snapshots")
SQLITE_SIDECARS = ("*-wal", "*-shm", "*-journal")
APPENDED_IN_PLACE = ("*.log", "*.log.*")
CONFIG_GLOBS = (".env", "config.yaml", "*/config.yaml", "*/prompts/*", "*/prompts/**/*")
MODEL_FILES = ("model_manifest.json", ".current_model_info.json", ".current_detector_info.json")
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(VVError):
    """The backup could not be staged or verified."""


@dataclass
class StagedTree:
    root: Path
    kind: str
    files: list[dict[str, Any]] = field(default_factory=list)
    databases: list[dict[str, Any]] = field(default_factory=list)
    hashes_reused: int = 0

    @property
    def total_bytes(self) -> int:
        return sum(entry["size"] for entry in self.files)


class HashCache:
    """sha256 by (inode, size, mtime) from the previous run of the same kind.

    The staging tree hard-links unchanged files, so an unchanged video keeps its inode and mtime:
    its hash is reused instead of re-reading hundreds of GB of media every night. Copied files
    (logs, key store) get a new inode each run and are always hashed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.previous: dict[str, list[Any]] = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            self.previous = {}
        self.current: dict[str, list[Any]] = {}
        self.reused = 0

    def sha256(self, relative: str, path: Path) -> str:
        info = path.stat()
        key = [info.st_ino, info.st_size, info.st_mtime_ns]
        cached = self.previous.get(relative)
        if cached is not None and cached[:3] == key:
            digest = cached[3]
            self.reused += 1
        else:
            digest = compute_sha256(path)
        self.current[relative] = [*key, digest]
        return digest

    def save(self) -> None:
        atomic_write_json(self.path, self.current)


def models_dir(settings: BackupSettings) -> Path:
    # `models_dir` is the model lifecycle's setting (vv_core.models); default as documented there.
    return Path(getattr(settings, "models_dir", None) or "models")


def tv_api_secrets_dir(settings: BackupSettings) -> Path | None:
    # `tv_api_secrets_dir` is tv_api's setting (users, device tokens, JWT key).
    value = getattr(settings, "tv_api_secrets_dir", None)
    return Path(value) if value else None


def excludes_of(settings: BackupSettings) -> list[str]:
    return [p.strip() for p in settings.backup_excludes.split(",") if p.strip()]


def is_excluded(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def is_sqlite_database(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def backup_sqlite(source: Path, destination: Path, busy_timeout_s: float = 30.0) -> dict[str, Any]:
    """Copy a live SQLite DB with the online backup API, then prove the copy is sound.

    One step (pages=-1) reads the whole DB inside a single read transaction: in WAL mode that is a
    consistent snapshot and writers are never blocked; a stepped backup would restart every time
    a writer commits.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    # mode=rw, not ro: never creates a missing DB, and as the last connection to close it folds
    # the WAL back and removes -wal/-shm like any client (a ro connection would leave them).
    try:
        src = sqlite3.connect(f"file:{quote(str(source))}?mode=rw", uri=True, timeout=busy_timeout_s)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up database {source}: {exc}") from None
    try:
        dst = sqlite3.connect(destination)
        try:
            src.backup(dst, pages=-1)
            integrity = dst.execute("PRAGMA integrity_check").fetchone()[0]
            tables = dst.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            # A restored copy must stand alone: fold any WAL content back into the main file.
            dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"cannot back up database {source}: {exc}") from None
    finally:
        src.close()
    for sidecar in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{destination}{sidecar}").unlink()
    if integrity != "ok":
        raise BackupError(f"database {source} fails integrity_check: {integrity}")
    return {"integrity": integrity, "tables": tables}


def place_file(source: Path, destination: Path) -> None:
    """Hard-link when the file is only ever replaced atomically and on the same filesystem."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if not is_excluded(source.name, list(APPENDED_IN_PLACE)):
        try:
            os.link(source, destination)
            return
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                raise
    shutil.copy2(source, destination)


class Stager:
    def __init__(self, settings: BackupSettings, kind: str) -> None:
        self.settings = settings
        self.kind = kind
        self.excludes = excludes_of(settings)
        self.root = settings.storage.state / STAGING_DIRNAME / kind
        self.tree = StagedTree(self.root, kind)

    def build(self) -> StagedTree:
        clear_directory(self.root)
        # The tree holds the key store and .env: only the owner may read it.
        self.root.mkdir(parents=True, mode=0o700)
        self.root.chmod(0o700)
        storage = self.settings.storage
        if self.kind == "media":
            for name in MEDIA_DIRS:
                self.add_directory(storage.root / name, Path("storage") / name)
        else:
            for name in METADATA_DIRS:
                self.add_directory(storage.root / name, Path("storage") / name)
            self.add_state(storage.state)
            self.add_config()
            key_store = self.settings.key_store_path
            if key_store.is_file():
                self.add_file(key_store, Path("secrets") / key_store.name)
            self.add_tv_api_secrets()
            for name in MODEL_FILES:
                candidate = models_dir(self.settings) / name
                if candidate.is_file():
                    self.add_file(candidate, Path("models") / name)
        self.write_manifest()
        return self.tree

    def add_file(self, source: Path, relative: Path) -> None:
        if is_excluded(source.name, self.excludes):
            return
        if is_sqlite_database(source):
            info = backup_sqlite(source, self.root / relative)
            self.tree.databases.append({"path": relative.as_posix(), "origin": str(source), **info})
        else:
            place_file(source, self.root / relative)

    def add_directory(self, source: Path, relative: Path, skip: tuple[str, ...] = ()) -> None:
        if not source.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(source):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if not (here == source and d in skip))
            for name in sorted(filenames):
                path = here / name
                if path.is_symlink() or not path.is_file():
                    continue   # a symlink could point anywhere; media lives in real files
                if is_excluded(name, list(SQLITE_SIDECARS)):
                    continue   # folded into the online-backup copy of its DB
                self.add_file(path, relative / path.relative_to(source))

    def add_tv_api_secrets(self) -> None:
        """tv_api's users, device-token registry and JWT key: without them every TV must be paired
        again. The restic password is never put inside the repository it opens."""
        directory = tv_api_secrets_dir(self.settings)
        if directory is None or not directory.is_dir():
            return
        skip = {p.resolve() for p in (self.settings.restic_password_file, self.settings.key_store_path) if p}
        for path in sorted(directory.rglob("*")):
            if path.is_file() and not path.is_symlink() and path.resolve() not in skip:
                self.add_file(path, Path("tv_api_secrets") / path.relative_to(directory))

    def add_state(self, state_dir: Path) -> None:
        self.add_directory(state_dir, Path("storage") / "state", skip=STATE_SKIP)

    def add_config(self) -> None:
        config_root = self.settings.backup_config_root
        seen: set[Path] = set()
        for pattern in CONFIG_GLOBS:
            for path in sorted(config_root.glob(pattern)):
                if path.is_file() and path not in seen and ".venv" not in path.parts:
                    seen.add(path)
                    self.add_file(path, Path("config") / path.relative_to(config_root))

    def write_manifest(self) -> None:
        cache = HashCache(self.settings.storage.state / HASH_CACHE_DIRNAME / f"{self.kind}.json")
        files = []
        staged = [(path, path.stat().st_size) for path in sorted(p for p in self.root.rglob("*") if p.is_file())]
        # Hashing is the long part of a first backup (later ones reuse the hashes of unchanged files).
        with progress(f"backup {self.kind}: hash", total=sum(size for _, size in staged) / MIB, unit="MiB") as task:
            for path, size in staged:
                relative = path.relative_to(self.root).as_posix()
                files.append({"path": relative, "size": size, "sha256": cache.sha256(relative, path)})
                task.advance(size / MIB)
        cache.save()
        self.tree.files = files
        self.tree.hashes_reused = cache.reused
        manifest = {
            "format": MANIFEST_FORMAT,
            "kind": self.kind,
            "created_at": utc_timestamp(),
            "hostname": socket.gethostname(),
            "vv_version": __version__,
            "origins": {
                "storage": str(self.settings.storage.root),
                "config": str(self.settings.backup_config_root.absolute()),
                "key_store": str(self.settings.key_store_path.absolute()),
                "models": str(models_dir(self.settings).absolute()),
            },
            "file_count": len(files),
            "total_bytes": self.tree.total_bytes,
            "files": files,
            "databases": self.tree.databases,
        }
        atomic_write_json(self.root / MANIFEST_NAME, manifest)
        atomic_write_text(self.root / SUMS_NAME, "".join(f"{f['sha256']}  {f['path']}\n" for f in files))


def clear_directory(path: Path) -> None:
    """Remove a staging/scratch tree (hard links only: the originals are untouched)."""
    if path.exists():
        shutil.rmtree(path)


def stage_backup(settings: BackupSettings, kind: str) -> StagedTree:
    if kind not in ("metadata", "media"):
        raise BackupError(f"unknown backup kind {kind!r}")
    return Stager(settings, kind).build()
