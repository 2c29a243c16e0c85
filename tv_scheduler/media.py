"""Which file a playlist item plays, proven to be the video its LogLine speaks of.

The place comes from a record, never from the name: the orchestrator's placement record
(``state/media/<source_hash>.json``, :mod:`vv_core.placement`) for videos it moved, else the path
the LogLine itself names (curated videos stay where they were placed). The proof is the LogLine's
``source_hash``:

* with a placement record: its sha256 is the source_hash and one ``stat`` shows the file still has
  the recorded size and mtime — no read of the video;
* otherwise (or when the stat differs): the file is hashed, once per (inode, size, mtime, ctime);
  the result is kept in memory and in the scheduler's signed cache file between ``--once`` runs.

A LogLine whose media does not match stays off the TVs, with one warning per file and reason.
"""

import logging
import os
import stat as stat_module
from pathlib import Path

from vv_core.hashing import compute_sha256
from vv_core.placement import read_placement, safe_relative_path, still_placed

logger = logging.getLogger("vv.tv_scheduler")
Stamp = tuple[int, int, int, int]


class MediaResolver:
    def __init__(self, root: Path, state_dir: Path) -> None:
        self.root = Path(root)
        self.state_dir = Path(state_dir)
        self.hashes: dict[str, tuple[Stamp, str]] = {}   # relative path -> (stamp, sha256)
        self.hashed_files = 0                            # files read and hashed, for logs and tests
        self.used: set[str] = set()                      # hashes looked up since begin_build()
        self._warned: set[tuple[str, str]] = set()

    def begin_build(self) -> None:
        """A playlist build starts: the cache will keep the hashes this build needs, no others."""
        self.used = set()

    def locate(self, video: str, source_hash: str) -> str | None:
        """Storage-relative path of the media of a LogLine, or None when no file provably matches."""
        placement = read_placement(self.state_dir, source_hash) if _is_sha256(source_hash) else None
        if placement is not None:
            if still_placed(placement, self.root):
                return placement.path
            candidate = placement.path
        else:
            candidate = safe_relative_path(video)
            if candidate is None:
                return self._refuse(video, "not a path inside the storage root")
        digest = self.sha256_of(candidate)
        if digest is None:
            return None  # missing (cleaned up, not placed yet): not worth a warning
        if digest != source_hash:
            return self._refuse(candidate, "its sha256 does not match the LogLine's source_hash")
        return candidate

    def sha256_of(self, relative: str) -> str | None:
        path = self.root / relative
        try:
            stat = os.stat(path, follow_symlinks=False)
        except OSError:
            return None
        if not stat_module.S_ISREG(stat.st_mode):
            return None
        stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        known = self.hashes.get(relative)
        self.used.add(relative)
        if known is not None and known[0] == stamp:
            return known[1]
        try:
            digest = compute_sha256(path)
        except OSError:
            return None
        self.hashes[relative] = (stamp, digest)
        self.hashed_files += 1
        return digest

    def _refuse(self, where: str, why: str) -> None:
        if (where, why) not in self._warned:
            self._warned.add((where, why))
            logger.warning("media kept off the TVs: %s: %s", where, why, extra={"media": where})
        return None

    # --- the scheduler's signed cache file carries the hashes between runs ------------------------
    def cache_rows(self) -> list[list]:
        """The hashes the last build used (files that left the playlists are forgotten)."""
        return [[path, *stamp, digest] for path, (stamp, digest) in sorted(self.hashes.items())
                if path in self.used]

    def load_cache_rows(self, rows: list[list]) -> None:
        for path, ino, size, mtime, ctime, digest in rows:
            self.hashes[path] = ((ino, size, mtime, ctime), digest)
        self.used = set(self.hashes)


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)

