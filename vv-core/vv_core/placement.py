"""Where a video was placed, recorded by whoever placed it: ``state/media/<sha256>.json``.

A LogLine names the video as it was when the LogLine was signed (``input/<cam>/<name>``); the
orchestrator moves it afterwards, to ``processed/<cam>/<name>`` or, when that name is taken by
another video, ``processed/<cam>/<stem>.<sha12>.<ext>``. So nobody may guess the place from the
name: the orchestrator writes this record after the move, and the scheduler reads it.

The record holds the sha256 of the file *as placed* (hashed again after the move) plus its size
and mtime_ns. A reader proves "this file is the video of that LogLine" cheaply: the record's
sha256 equals the LogLine's ``source_hash`` and one ``stat`` of the file still shows the recorded
size and mtime_ns. (A rename keeps the mtime; editing the file in place changes it; anyone able to
forge the mtime back can also rewrite state/, so hashing every play would not prove more.)
"""

import json
import os
import re
import stat as stat_module
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from vv_core.atomic import atomic_write_json

FORMAT = "vv.media-placement/1"
PLACEMENT_DIR = "media"     # under state/
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Placement:
    sha256: str
    path: str           # relative to the storage root
    size: int
    mtime_ns: int


def safe_relative_path(value: object) -> str | None:
    """``value`` if it is a plain relative path inside the storage root (no "..", not absolute)."""
    if not isinstance(value, str) or not value or "\\" in value:
        return None
    path = PurePosixPath(value)
    if path.is_absolute() or any(part in ("", ".", "..") for part in value.split("/")):
        return None
    return path.as_posix()


def placement_file(state_dir: Path, sha256: str) -> Path:
    if not _SHA256.match(sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    return Path(state_dir) / PLACEMENT_DIR / f"{sha256}.json"


def write_placement(state_dir: Path, root: Path, relative: str, sha256: str) -> Placement:
    """Record that ``root/relative`` holds the video whose sha256 (checked by the caller) is ``sha256``."""
    if safe_relative_path(relative) != relative:
        raise ValueError(f"not a path inside the storage root: {relative!r}")
    stat = os.stat(Path(root) / relative)
    placement = Placement(sha256, relative, stat.st_size, stat.st_mtime_ns)
    atomic_write_json(placement_file(state_dir, sha256), {
        "format": FORMAT, "sha256": sha256, "path": relative, "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    })
    return placement


def read_placement(state_dir: Path, sha256: str) -> Placement | None:
    """The record for ``sha256``; None when there is none or it is not a well-formed record of it."""
    try:
        document = json.loads(placement_file(state_dir, sha256).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("format") != FORMAT or document.get("sha256") != sha256:
        return None
    path, size, mtime_ns = safe_relative_path(document.get("path")), document.get("size"), document.get("mtime_ns")
    if path is None or not isinstance(size, int) or not isinstance(mtime_ns, int):
        return None
    return Placement(sha256, path, size, mtime_ns)


def still_placed(placement: Placement, root: Path) -> bool:
    """The file is where the record says, with the recorded size and mtime (one ``stat``)."""
    try:
        stat = os.stat(Path(root) / placement.path, follow_symlinks=False)
    except OSError:
        return False
    return (stat_module.S_ISREG(stat.st_mode) and stat.st_size == placement.size
            and stat.st_mtime_ns == placement.mtime_ns)
