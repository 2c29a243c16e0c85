"""One orchestrator run at a time: an advisory lock on state/orchestrator.lock.

filelock's Unix lock is ``fcntl.flock``: the kernel drops it when the holder dies, even by SIGKILL,
so a crashed run never blocks the next one and no stale-PID logic is needed.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_NAME = "orchestrator.lock"


class AlreadyRunning(RuntimeError):
    """Another orchestrator run holds the lock."""


@contextmanager
def run_lock(state_dir: Path, wait_s: float = 0.0) -> Iterator[Path]:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / LOCK_NAME
    lock = FileLock(str(path), timeout=wait_s, is_singleton=False, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise AlreadyRunning(f"another orchestrator run holds {path}") from None
    try:
        yield path
    finally:
        lock.release()
