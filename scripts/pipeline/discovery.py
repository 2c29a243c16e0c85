"""Finding new videos in input/ that are safe to take.

A file is a candidate when it is a regular file (not a symlink: it could point anywhere), not
hidden (no path component starts with "."), and not still being written (``*.part`` from agent_dvr,
``*.tmp`` from atomic writers). It is *stable* — taken — once two looks at least ``stable_wait_s``
apart see the same size and mtime. Looks are recorded in the state DB (``sightings``), so the two
looks may come from two cron runs; within one ``--once`` run the orchestrator also waits once and
looks again, so a copied-in file is not left for the next run.
"""

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from scripts.pipeline.state import Sighting, StateStore
from vv_core.hashing import compute_sha256

IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload")
logger = logging.getLogger("vv.orchestrator.discovery")


@dataclass(frozen=True)
class StableFile:
    path: Path          # absolute
    relative: str       # relative to the storage root (the key used in the state DB)
    size: int
    sha256: str


def candidate_files(input_dir: Path) -> Iterator[Path]:
    """Regular, visible, finished files under input/ (sorted, so runs are reproducible)."""
    if not input_dir.is_dir():
        return
    for directory, subdirs, files in os.walk(input_dir, followlinks=False):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or name.lower().endswith(IN_PROGRESS_SUFFIXES):
                continue
            path = Path(directory) / name
            if path.is_symlink():
                logger.warning("ignoring symlink in input/: %s", path)
                continue
            if path.is_file():
                yield path


def look(store: StateStore, root: Path, input_dir: Path, now: float, stable_wait_s: float,
         hasher: Callable[[Path], str] = compute_sha256) -> tuple[list[StableFile], int]:
    """One look at input/: return the stable files (hashed) and how many are still settling."""
    stable: list[StableFile] = []
    settling = 0
    seen: set[str] = set()
    for path in candidate_files(input_dir):
        relative = path.relative_to(root).as_posix()
        try:
            stat = path.stat()
        except FileNotFoundError:  # moved away between listing and stat
            continue
        seen.add(relative)
        previous = store.sighting(relative)
        unchanged = (previous is not None and previous.size == stat.st_size
                     and previous.mtime_ns == stat.st_mtime_ns)
        if not unchanged:
            store.put_sighting(Sighting(relative, stat.st_size, stat.st_mtime_ns, now, None))
            settling += 1
            continue
        assert previous is not None
        if now - previous.first_seen < stable_wait_s:
            settling += 1
            continue
        sha256 = previous.sha256
        if sha256 is None:
            sha256 = hasher(path)
            store.put_sighting(Sighting(relative, stat.st_size, stat.st_mtime_ns, previous.first_seen,
                                        sha256))
        stable.append(StableFile(path, relative, stat.st_size, sha256))
    store.forget_sightings(seen)
    return stable, settling
