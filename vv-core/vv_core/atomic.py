"""Atomic file writes: a reader sees the old file or the new one, never a torn one.

Protocol: temp file in the destination directory (same filesystem, so rename is atomic), write,
flush + fsync the data, os.replace onto the target, then fsync the directory so the rename itself
survives a power cut.

The writer holds an exclusive ``flock`` on its temp file until the rename. The kernel drops the
lock when the writer dies, even by SIGKILL, and across containers sharing the volume, so a
cleaner can prove a temp file orphaned (:func:`remove_orphan_temp`) instead of guessing by age.
"""

import contextlib
import fcntl
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vv_core.canonical import pretty_json


def fsync_directory(directory: str | os.PathLike[str]) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], *, mode: int = 0o644, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temp path next to ``path`` for anyone to write (Python, ffmpeg, a copy); on success
    fsync it and rename it onto ``path``; on any failure remove it and leave ``path`` untouched.

    ``suffix`` lets tools that pick a format from the extension (ffmpeg) write the temp file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)   # "a live writer owns this": see remove_orphan_temp
        try:
            yield Path(temp_name)
            with open(temp_name, "rb") as written:
                os.fsync(written.fileno())
            os.chmod(temp_name, mode)
            os.replace(temp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
    finally:
        os.close(fd)
    fsync_directory(target.parent)


# A temp file this young is never removed: its writer may be between creating and locking it.
TEMP_GRACE_S = 2.0


def remove_orphan_temp(path: str | os.PathLike[str], grace_s: float | None = None) -> bool:
    """Remove the temp file of an :func:`atomic_output` whose writer is dead; True if removed.

    Proof of death: nobody holds the writer's ``flock`` (the kernel released it when the writer
    exited or was killed). A locked file, a file younger than ``grace_s`` (default
    :data:`TEMP_GRACE_S`), a symlink or anything but a regular file is left alone.
    """
    grace_s = TEMP_GRACE_S if grace_s is None else grace_s
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:  # gone, a symlink (ELOOP), unreadable
        return False
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or time.time() - opened.st_mtime < grace_s:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its writer is alive
        try:  # still the same file under that name (not renamed into place meanwhile)?
            current = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if (current.st_dev, current.st_ino) != (opened.st_dev, opened.st_ino):
            return False
        os.unlink(path)
        return True
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` atomically and durably; return the path written."""
    with atomic_output(path, mode=mode) as temp:
        temp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, mode: int = 0o644) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def atomic_write_json(path: str | os.PathLike[str], data: Any, *, mode: int = 0o644) -> Path:
    """Write ``data`` as indented UTF-8 JSON (stable key order) atomically."""
    return atomic_write_bytes(path, pretty_json(data), mode=mode)
