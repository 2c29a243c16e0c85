"""Atomic file writes: a reader sees the old file or the new one, never a torn one.

Protocol: temp file in the destination directory (same filesystem, so rename is atomic), write,
flush + fsync the data, os.replace onto the target, then fsync the directory so the rename itself
survives a power cut.
"""

import contextlib
import os
import tempfile
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
    os.close(fd)
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
    fsync_directory(target.parent)


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
