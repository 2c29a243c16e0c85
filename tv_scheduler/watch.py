"""Watch loglines/: rebuild shortly after new LogLines land, and rescan everything periodically.

Filesystem events only say *which* files to re-check (cheap, incremental); the periodic full rescan
is the safety net for anything events miss (a restart, an overflowing inotify queue, NFS).
Events are debounced: a burst of LogLines becomes one rebuild, after ``debounce_s`` of quiet (but
never later than ``10 × debounce_s`` after the first event, so a steady stream still gets shown).
"""

import logging
import os
import threading
import time

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from tv_scheduler.tv_scheduler import Scheduler
from vv_core.loglines import LOGLINE_SUFFIX

logger = logging.getLogger("vv.tv_scheduler")


class LogLineEvents(FileSystemEventHandler):
    """Collects the names of LogLine files that were created, replaced, changed or removed."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.lock = threading.Lock()
        self.wake = threading.Event()

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = [event.src_path, getattr(event, "dest_path", "")]
        names = {os.path.basename(os.fsdecode(p)) for p in paths if p}
        names = {n for n in names if n.endswith(LOGLINE_SUFFIX)}
        if names:
            with self.lock:
                self.names |= names
            self.wake.set()

    def take(self) -> set[str]:
        with self.lock:
            names, self.names = self.names, set()
        return names


def wait_for_quiet(events: LogLineEvents, debounce_s: float, stop: threading.Event) -> None:
    deadline = time.monotonic() + 10 * debounce_s
    while not stop.is_set():
        events.wake.clear()
        quiet = max(0.0, min(debounce_s, deadline - time.monotonic()))
        if stop.wait(quiet) or not events.wake.is_set() or time.monotonic() >= deadline:
            return


def watch_loglines(scheduler: Scheduler, interval_s: float, debounce_s: float,
                   stop: threading.Event) -> None:
    """Run until ``stop`` is set; every pass is logged, failures are logged and retried next pass."""
    directory = scheduler.index.directory
    directory.mkdir(parents=True, exist_ok=True)
    events = LogLineEvents()
    observer = Observer()
    observer.schedule(events, str(directory), recursive=False)
    observer.start()
    try:
        scheduler.load_cache()
        next_full = 0.0
        while not stop.is_set():
            if time.monotonic() >= next_full:
                _guarded(lambda: (scheduler.refresh_all(), scheduler.build(), scheduler.save_cache()))
                next_full = time.monotonic() + interval_s
            if events.wake.wait(timeout=max(0.0, min(next_full - time.monotonic(), 1.0))):
                wait_for_quiet(events, debounce_s, stop)
                names = events.take()
                _guarded(lambda names=names: scheduler.refresh_names(names) and scheduler.build())
            # a stop during the wait ends the loop on the next check
    finally:
        observer.stop()
        observer.join(timeout=5)
        _guarded(scheduler.save_cache)


def _guarded(action) -> None:
    try:
        action()
    except Exception:  # the daemon must outlive one bad pass; the next pass retries
        logger.exception("scheduler pass failed")
