"""Progress of long work (issue 19): a rich progress bar on a terminal, periodic JSON progress log
lines otherwise (cron, `vv up`, containers), from one helper every command shares.

    with progress("scan cam1_x", total=duration_s, unit="s") as task:
        for frame in frames:
            task.update(frame.time_s)

Off a terminal a line ``{"message": "progress", "task": …, "done": …, "total": …, "percent": …,
"elapsed_s": …}`` goes to the ``vv.progress`` logger at most every ``interval_s`` and once at the end.
Tasks of one process on a terminal share one live display (rich allows only one), so videos scanned
side by side show one bar each.
"""

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

logger = logging.getLogger("vv.progress")
INTERVAL_S = 10.0

_live_lock = threading.Lock()
_live: Any = None          # the process's rich Progress while at least one terminal task runs
_live_tasks = 0


class ProgressTask:
    """One piece of long work: ``update(done)`` or ``advance(n)``; reports throttled by ``interval_s``."""

    def __init__(self, label: str, total: float | None, unit: str, interval_s: float,
                 clock: Callable[[], float], bar: tuple[Any, Any] | None) -> None:
        self.label, self.total, self.unit, self.interval_s, self.clock = label, total, unit, interval_s, clock
        self.done = 0.0
        self.started = clock()
        self.last_report = self.started
        self.bar = bar          # (rich Progress, task id) on a terminal

    def advance(self, amount: float = 1) -> None:
        self.update(self.done + amount)

    def update(self, done: float) -> None:
        self.done = done
        if self.bar is not None:
            live, task_id = self.bar
            live.update(task_id, completed=done)
            return
        now = self.clock()
        if now - self.last_report >= self.interval_s:
            self.last_report = now
            self._log(now)

    def _log(self, now: float, finished: bool = False) -> None:
        fields: dict[str, Any] = {"task": self.label, "done": round(self.done, 3), "unit": self.unit,
                                  "elapsed_s": round(now - self.started, 3)}
        if self.total:
            fields["total"] = round(self.total, 3)
            fields["percent"] = round(min(100.0, 100 * self.done / self.total), 1)
        if finished:
            fields["finished"] = True
        logger.info("progress", extra=fields)

    def finish(self) -> None:
        if self.bar is None and (self.total or self.done):   # no work, no line (a quiet loop stays quiet)
            self._log(self.clock(), finished=True)


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def progress(label: str, total: float | None = None, *, unit: str = "items", interval_s: float | None = None,
             stream: IO[str] | None = None, clock: Callable[[], float] = time.monotonic) -> Iterator[ProgressTask]:
    """Report the progress of the work inside the block (see the module docstring); ``interval_s``
    defaults to the module's INTERVAL_S, read at each call (a test may lower it)."""
    global _live, _live_tasks
    interval_s = INTERVAL_S if interval_s is None else interval_s
    out = stream if stream is not None else sys.stderr
    bar = None
    if _is_terminal(out):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        with _live_lock:
            if _live is None:
                _live = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                                 TimeRemainingColumn(), console=Console(file=out), transient=False)
                _live.start()
            _live_tasks += 1
            bar = (_live, _live.add_task(label, total=total))
    task = ProgressTask(label, total, unit, interval_s, clock, bar)
    try:
        yield task
    finally:
        task.finish()
        if bar is not None:
            with _live_lock:
                _live_tasks -= 1
                if _live_tasks == 0 and _live is not None:
                    _live.stop()
                    _live = None
