"""`vv cleanup`: delete old files under the storage root — a dry run unless ``--apply``.

Two modes:
* age (default): files older than ``--days`` (CLEANUP_DAYS) in ``--dirs`` (CLEANUP_DIRS);
* ``--disk-pressure``: oldest first, whatever their age, until free space ≥ ``--min-free-percent``
  (DISK_MIN_FREE_PERCENT).

Never deleted, in either mode:
* anything outside the storage root, or reached through a symlink (``--dirs`` that resolve outside
  the root are refused with exit 1; symlinks inside the scanned dirs are skipped, never followed);
* the audit trail and live state: loglines/, state/, playlists/, fallback/ cannot be named in --dirs;
* a file a current playlist references (``playlists/*.json`` ``media_url`` / ``thumbnail_url`` /
  fallback URLs, ``/media/<path under the root>`` or ``/thumbnails/<path under the root>``);
* alert footage: a video whose LogLine has status ``alerta`` and which is younger than
  ALERT_FOOTAGE_RETENTION_DAYS. The LogLine of a video the orchestrator placed comes from its state
  DB (a second video under a taken name is ``<stem>.<sha12>.<ext>``, with a LogLine of its own);
  other videos are matched by name (``loglines/<id>.logline.json``).

Output: one line per file (``would delete``/``deleted``, size, path) and a total; exit 0.
"""

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from ops.settings import CleanupSettings
from vv_core.cli_support import run_command
from vv_core.naming import artifact_id

PROTECTED_DIRS = ("loglines", "state", "playlists", "fallback")
MEDIA_PREFIX = "/media/"
# tv_api serves /thumbnails/<path> from the file at <path> (a video's frame, or the image itself,
# e.g. the scanner's snapshots/<id>/cover.jpg): that file is referenced too.
URL_PREFIXES = (MEDIA_PREFIX, "/thumbnails/")
DAY_S = 86400.0
logger = logging.getLogger("vv.cleanup")


class CleanupRefused(ValueError):
    """A requested directory is outside the storage root or protected."""


@dataclass
class Candidate:
    path: Path
    size: int
    mtime: float


@dataclass
class CleanupPlan:
    delete: list[Candidate] = field(default_factory=list)
    protected: list[tuple[Path, str]] = field(default_factory=list)
    skipped_symlinks: list[Path] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(c.size for c in self.delete)


def resolve_dirs(root: Path, names: list[str]) -> list[Path]:
    """The directories to scan, each checked to lie inside the root (symlinks resolved)."""
    real_root = root.resolve()
    resolved = []
    for name in names:
        candidate = (root / name) if not Path(name).is_absolute() else Path(name)
        real = candidate.resolve()
        if not real.is_relative_to(real_root) or real == real_root:
            raise CleanupRefused(f"refusing {name}: not a directory inside the storage root {root}")
        top = real.relative_to(real_root).parts[0]
        if top in PROTECTED_DIRS:
            raise CleanupRefused(f"refusing {name}: {top}/ is never cleaned (audit trail or live state)")
        resolved.append(real)
    return resolved


def playlist_references(root: Path) -> set[Path]:
    """Files referenced by the current playlists (resolved paths)."""
    referenced: set[Path] = set()
    playlists = root / "playlists"
    if not playlists.is_dir():
        return referenced
    for playlist in playlists.glob("*.json"):
        try:
            document = json.loads(playlist.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            logger.warning("unreadable playlist %s: protecting nothing from it", playlist)
            continue
        urls = [(document.get("fallback") or {}).get(k) for k in ("media_url", "image_url")]
        for item in document.get("items") or []:
            urls += [item.get("media_url"), item.get("thumbnail_url")]
        for url in urls:
            prefix = next((p for p in URL_PREFIXES if isinstance(url, str) and url.startswith(p)), None)
            if prefix is not None:
                relative = urllib.parse.unquote(url[len(prefix):].split("?", 1)[0])
                referenced.add((root / relative).resolve())
    return referenced


def loglines_of_placed_videos(root: Path) -> dict[str, str]:
    """final path → LogLine path of every video the orchestrator placed (its state DB, read-only)."""
    db = root / "state" / "orchestrator.sqlite3"
    if not db.is_file():
        return {}
    with contextlib.suppress(sqlite3.Error), contextlib.closing(
            sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as connection:
        return dict(connection.execute("SELECT final_path, logline_path FROM videos"
                                       " WHERE final_path IS NOT NULL AND logline_path IS NOT NULL"))
    return {}


def is_alert_footage(root: Path, video: Path, placed: dict[str, str] | None = None) -> bool:
    """True when the video's LogLine has status ``alerta`` (``placed``: see loglines_of_placed_videos)."""
    relative = video.relative_to(root).as_posix() if video.is_relative_to(root) else None
    recorded = (placed or {}).get(relative) if relative else None
    logline = root / recorded if recorded else root / "loglines" / f"{artifact_id(video, root)}.logline.json"
    try:
        return json.loads(logline.read_text(encoding="utf-8")).get("status") == "alerta"
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return False


def walk_files(directory: Path, plan: CleanupPlan) -> Iterator[Candidate]:
    for current, subdirs, files in os.walk(directory, followlinks=False):
        base = Path(current)
        for name in list(subdirs):
            if (base / name).is_symlink():
                plan.skipped_symlinks.append(base / name)
        for name in sorted(files):
            path = base / name
            if path.is_symlink():
                plan.skipped_symlinks.append(path)
                continue
            try:
                stat = path.lstat()
            except FileNotFoundError:
                continue
            yield Candidate(path, stat.st_size, stat.st_mtime)


def plan_cleanup(root: Path, dirs: list[Path], *, older_than_s: float | None, now: float,
                 alert_retention_s: float) -> CleanupPlan:
    """Everything deletable in ``dirs`` (older than the cutoff when given), oldest first."""
    plan = CleanupPlan()
    referenced = playlist_references(root)
    placed = loglines_of_placed_videos(root)
    real_root = root.resolve()
    candidates: list[Candidate] = []
    for directory in dirs:
        for candidate in walk_files(directory, plan):
            real = candidate.path.resolve()
            if not real.is_relative_to(real_root):  # pragma: no cover - walk never follows links
                continue
            age = now - candidate.mtime
            if older_than_s is not None and age < older_than_s:
                continue
            if real in referenced:
                plan.protected.append((candidate.path, "referenced by a playlist"))
                continue
            if age < alert_retention_s and is_alert_footage(root, candidate.path, placed):
                plan.protected.append((candidate.path, "alert footage within its retention"))
                continue
            candidates.append(candidate)
    candidates.sort(key=lambda c: (c.mtime, str(c.path)))
    plan.delete = candidates
    return plan


def limit_to_disk_pressure(plan: CleanupPlan, free_bytes: int, total_bytes: int,
                           min_free_percent: float) -> CleanupPlan:
    """Keep only the oldest files needed to bring free space to the threshold."""
    needed = int(total_bytes * min_free_percent / 100.0) - free_bytes
    chosen: list[Candidate] = []
    for candidate in plan.delete:
        if needed <= 0:
            break
        chosen.append(candidate)
        needed -= candidate.size
    plan.delete = chosen
    return plan


def apply_plan(plan: CleanupPlan, root: Path, remove: Callable[[Path], None] = os.unlink) -> int:
    """Delete the planned files (re-checking each is still inside the root); return bytes freed."""
    freed = 0
    real_root = root.resolve()
    for candidate in plan.delete:
        if candidate.path.is_symlink() or not candidate.path.resolve().is_relative_to(real_root):
            continue  # changed since planning: never follow it
        try:
            remove(candidate.path)
        except FileNotFoundError:
            continue
        freed += candidate.size
    return freed


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def cleanup_command(
    ctx: typer.Context,
    days: Annotated[float | None, typer.Option(help="Minimum age in days (default: CLEANUP_DAYS).")] = None,
    dirs: Annotated[str | None, typer.Option(
        help="Comma-separated directories under the storage root (default: CLEANUP_DIRS).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only print (the default).")] = False,
    apply: Annotated[bool, typer.Option("--apply", help="Really delete.")] = False,
    disk_pressure: Annotated[bool, typer.Option(
        "--disk-pressure", help="Delete oldest first (any age) until free space reaches --min-free-percent.")
    ] = False,
    min_free_percent: Annotated[float | None, typer.Option(
        help="Free space to reach with --disk-pressure, in percent (default: DISK_MIN_FREE_PERCENT).")] = None,
) -> None:
    """Delete old files under the storage root: a dry run unless --apply (docs/orchestrator.md).

    Never deleted: anything outside the root or behind a symlink, loglines/, state/, playlists/,
    fallback/, files a current playlist references, and alert footage younger than
    ALERT_FOOTAGE_RETENTION_DAYS. Exit 1 when --dirs names a refused directory.
    """
    if dry_run and apply:
        ctx.fail("--apply is not allowed with --dry-run")
    raise typer.Exit(run_cleanup(days=days, dirs=dirs, apply=apply, disk_pressure=disk_pressure,
                                 min_free_percent=min_free_percent, **(ctx.obj or {})))


def main(argv: list[str] | None = None, settings: CleanupSettings | None = None) -> int:
    return run_command(cleanup_command, argv, "vv cleanup", settings=settings)


def run_cleanup(*, days: float | None = None, dirs: str | None = None, apply: bool = False,
                disk_pressure: bool = False, min_free_percent: float | None = None,
                settings: CleanupSettings | None = None) -> int:
    """What `vv cleanup` does once its arguments are parsed (None: the setting); returns the exit code."""
    settings = settings or CleanupSettings()
    days = settings.cleanup_days if days is None else days
    dirs = settings.cleanup_dirs if dirs is None else dirs
    min_free_percent = settings.disk_min_free_percent if min_free_percent is None else min_free_percent
    root = settings.storage.root
    try:
        dirs = resolve_dirs(root, [d.strip() for d in dirs.split(",") if d.strip()])
    except CleanupRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    now = time.time()
    plan = plan_cleanup(root, [d for d in dirs if d.is_dir()],
                        older_than_s=None if disk_pressure else days * DAY_S, now=now,
                        alert_retention_s=settings.alert_footage_retention_days * DAY_S)
    if disk_pressure:
        usage = shutil.disk_usage(root)
        plan = limit_to_disk_pressure(plan, usage.free, usage.total, min_free_percent)
    freed = apply_plan(plan, root) if apply else plan.total_bytes
    verb = "deleted" if apply else "would delete"
    for candidate in plan.delete:
        print(f"{verb} {human(candidate.size):>10}  {candidate.path}")
    for path, reason in plan.protected:
        print(f"kept ({reason})  {path}")
    for path in plan.skipped_symlinks:
        print(f"skipped symlink  {path}")
    suffix = "" if apply else " (dry run: use --apply)"
    print(f"{verb} {len(plan.delete)} files, {human(freed)}{suffix}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
