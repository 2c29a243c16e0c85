"""Finding new videos in input/ that are safe to take.

A file is a candidate when it is a regular file (not a symlink: it could point anywhere), not
hidden (no path component starts with "."), and not still being written (``*.part`` from agent_dvr,
``*.tmp`` from atomic writers). It is *stable* — taken — once two looks at least ``stable_wait_s``
apart see the same size and mtime. Looks are recorded in the state DB (``sightings``), so the two
looks may come from two cron runs; within one ``--once`` run the orchestrator also waits once and
looks again, so a copied-in file is not left for the next run.

What can never be taken is reported as :class:`Ignored` (symlinks, FIFOs, sockets, devices, hidden
or unreadable folders, unreadable files) so the orchestrator can record it once; hidden files and
``*.part``-style names are in-progress work of other writers and are skipped without a word.
Any name the filesystem allows is handled: the state DB keys sightings by :func:`printable`
text, since a name need not be valid UTF-8.
"""

import logging
import os
import stat as stat_module
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from orchestrator.names import printable
from orchestrator.state import Sighting, StateStore
from vv_core.hashing import compute_sha256

IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload")
logger = logging.getLogger("vv.orchestrator.discovery")


@dataclass(frozen=True)
class StableFile:
    path: Path          # absolute
    relative: str       # relative to the storage root, as the filesystem names it (maybe not UTF-8)
    size: int
    sha256: str


@dataclass(frozen=True)
class Ignored:
    relative: str       # relative to the storage root, as the filesystem names it
    kind: str           # "symlink", "fifo", "socket", "device", "hidden folder", "unreadable …"


def _special_kind(mode: int) -> str | None:
    if stat_module.S_ISLNK(mode):
        return "symlink"
    if stat_module.S_ISFIFO(mode):
        return "fifo"
    if stat_module.S_ISSOCK(mode):
        return "socket"
    if stat_module.S_ISCHR(mode) or stat_module.S_ISBLK(mode):
        return "device"
    return None if stat_module.S_ISREG(mode) else "not a regular file"


def candidate_files(input_dir: Path, ignored: list[Ignored] | None = None) -> Iterator[Path]:
    """Regular, visible, finished files under input/ (sorted, so runs are reproducible).

    Entries that can never be taken are appended to ``ignored`` (when given), relative to
    ``input_dir``'s parent (the storage root).
    """
    if not input_dir.is_dir():
        return
    root = input_dir.parent
    notes: list[Ignored] = [] if ignored is None else ignored

    def note(path: Path | str, kind: str) -> None:
        notes.append(Ignored(Path(path).relative_to(root).as_posix(), kind))

    def unreadable(error: OSError) -> None:
        note(error.filename, f"unreadable folder: {error.strerror}")

    for directory, subdirs, files in os.walk(input_dir, followlinks=False, onerror=unreadable):
        kept = []
        for name in sorted(subdirs):
            path = Path(directory) / name
            if path.is_symlink():   # never followed: it could point anywhere
                note(path, "symlink")
            elif name.startswith("."):
                note(path, "hidden folder")
            else:
                kept.append(name)
        subdirs[:] = kept
        for name in sorted(files):
            if name.startswith(".") or name.lower().endswith(IN_PROGRESS_SUFFIXES):
                continue
            path = Path(directory) / name
            try:
                kind = _special_kind(path.lstat().st_mode)
            except FileNotFoundError:  # moved away while we listed
                continue
            if kind is not None:
                note(path, kind)
                continue
            yield path


def look(store: StateStore, root: Path, input_dir: Path, now: float, stable_wait_s: float,
         hasher: Callable[[Path], str] | None = None,
         ignored: list[Ignored] | None = None) -> tuple[list[StableFile], int]:
    """One look at input/: return the stable files (hashed) and how many are still settling.

    Entries that cannot be taken (see :func:`candidate_files`, plus files that cannot be read)
    are appended to ``ignored``.
    """
    stable: list[StableFile] = []
    settling = 0
    seen: set[str] = set()
    notes: list[Ignored] = [] if ignored is None else ignored
    hasher = hasher or compute_sha256
    for path in candidate_files(input_dir, notes):
        relative = path.relative_to(root).as_posix()
        key = printable(relative)   # a name need not be UTF-8; SQLite text must be
        try:
            stat = path.stat()
        except FileNotFoundError:  # moved away between listing and stat
            continue
        seen.add(key)
        previous = store.sighting(key)
        unchanged = (previous is not None and previous.size == stat.st_size
                     and previous.mtime_ns == stat.st_mtime_ns)
        if not unchanged:
            store.put_sighting(Sighting(key, stat.st_size, stat.st_mtime_ns, now, None))
            settling += 1
            continue
        assert previous is not None
        if now - previous.first_seen < stable_wait_s:
            settling += 1
            continue
        sha256 = previous.sha256
        if sha256 is None:
            try:
                sha256 = hasher(path)
            except OSError as exc:  # permissions, I/O error: nothing to take, say so once
                notes.append(Ignored(relative, f"unreadable file: {exc.strerror or exc}"))
                continue
            store.put_sighting(Sighting(key, stat.st_size, stat.st_mtime_ns, previous.first_seen,
                                        sha256))
        stable.append(StableFile(path, relative, stat.st_size, sha256))
    store.forget_sightings(seen)
    return stable, settling
