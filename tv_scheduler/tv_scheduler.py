"""tv_scheduler: verified LogLines → ``playlists/<tv>.json`` + ``playlists/playlist.json``.

    python -m tv_scheduler.tv_scheduler [--once]
    vv schedule [--once]

``--once`` builds once (printing the playlists it rewrote); otherwise it watches loglines/ (filesystem
events, debounced) with a periodic full rescan as a safety net, until SIGTERM/SIGINT.
"""

import argparse
import logging
import os
import signal
import threading
import time
from pathlib import Path

from tv_scheduler.config import SchedulerConfig, load_config
from tv_scheduler.index import LogLineIndex
from tv_scheduler.media import MediaResolver
from tv_scheduler.playlists import PlaylistWriter, build_playlists
from tv_scheduler.settings import SchedulerSettings
from vv_core.alert_triggers import build_alert
from vv_core.alerts import send_alert
from vv_core.atomic import atomic_write_json
from vv_core.cli_support import run_stage
from vv_core.jsonlog import start_process, utc_timestamp
from vv_core.keystore import load_key_store

logger = logging.getLogger("vv.tv_scheduler")
CACHE_NAME = "tv_scheduler_cache.json"
REPO_ROOT = Path(__file__).resolve().parents[1]


def config_path(settings: SchedulerSettings) -> Path:
    """The rules file; a relative path is looked up from the working directory, then the repo."""
    path = settings.tv_scheduler_config
    if path.is_absolute() or path.exists():
        return path
    return REPO_ROOT / path


class Scheduler:
    """Keeps the index of trusted LogLines current and the playlists in step with it."""

    def __init__(self, settings: SchedulerSettings, config: SchedulerConfig) -> None:
        self.settings = settings
        self.config = config
        self.layout = settings.storage
        self.cache_path = self.layout.state / CACHE_NAME
        self.writer = PlaylistWriter(self.layout.playlists)
        self.media = MediaResolver(self.layout.root, self.layout.state)
        self._saved_media: list[list] | None = None
        self.alerted: set[tuple[str, str]] = set()
        self._alert_state: tuple[int, int, int] | None = None
        self._key_store_stamp: tuple[int, int] | None = None
        self.index = self._new_index()

    def _new_index(self) -> LogLineIndex:
        stat = os.stat(self.settings.key_store_path) if self.settings.key_store_path.exists() else None
        self._key_store_stamp = (stat.st_mtime_ns, stat.st_ino) if stat else None
        return LogLineIndex(self.layout.loglines, load_key_store(self.settings.key_store_path))

    def _key_store_changed(self) -> bool:
        try:
            stat = os.stat(self.settings.key_store_path)
        except FileNotFoundError:
            return False  # keep verifying with the keys we have; the next load will fail loudly
        return (stat.st_mtime_ns, stat.st_ino) != self._key_store_stamp

    def load_cache(self) -> bool:
        media = self.index.load_cache(self.cache_path)
        if media is None:
            return False
        self.media.load_cache_rows(media)
        self._saved_media = self.media.cache_rows()
        return True

    def save_cache(self) -> None:
        media = self.media.cache_rows()
        if self.index.dirty or media != self._saved_media:
            self.index.save_cache(self.cache_path, media)
            self._saved_media = media

    def refresh_all(self) -> bool:
        """Full rescan (and a fresh index after a key rotation: unknown keys may now be known)."""
        if self._key_store_changed():
            logger.info("key store changed: re-verifying every LogLine")
            self.index = self._new_index()
        return self.index.refresh_all()

    def refresh_names(self, names: set[str]) -> bool:
        if self._key_store_changed():
            return self.refresh_all()
        return self.index.refresh_names(names)

    def build(self, now: float | None = None) -> list[Path]:
        """Rebuild every playlist from the index; write the ones whose content changed."""
        started = time.perf_counter()
        documents = build_playlists(self.index, self.config, self.media,
                                    time.time() if now is None else now)
        written = self.writer.write_changed(documents)
        self.write_heartbeat(sorted(self.config.tvs))
        self._alert_untrusted()
        logger.info("playlists built", extra={"written": [p.name for p in written],
                                              "trusted": len(self.index.trusted),
                                              "build_ms": round(1000 * (time.perf_counter() - started), 2)})
        return written

    def write_heartbeat(self, tvs: list[str]) -> Path:
        """state/scheduler_heartbeat.json: when the last build succeeded and for which TVs (not the
        combined "playlist" document). Playlist freshness is measured from it, not from file ages."""
        built = time.time()
        return atomic_write_json(self.layout.scheduler_heartbeat,
                                 {"schema_version": "1.0", "built_at": utc_timestamp(built),
                                  "built_at_unix": built, "tvs": tvs})

    def _alert_untrusted(self) -> None:
        # Listing the untrusted files walks every entry: only when there are some, and only when
        # something could have changed since the last look.
        state = (len(self.index.entries), len(self.index.trusted), self.index.verified_files)
        if state == self._alert_state:
            return
        self._alert_state = state
        untrusted = self.index.untrusted() if state[0] != state[1] else {}
        fresh = {(name, why) for name, why in untrusted.items()} - self.alerted
        if fresh:
            sample = sorted(fresh)[:5]
            # Blueprint 12.9's HMAC failure, raised where it is seen: the scheduler verifies every
            # LogLine before it reaches a TV.
            send_alert(build_alert("WARNING", "LogLines kept off the TVs",
                                   f"{len(untrusted)} LogLine(s) do not verify or are not chained; "
                                   "run `vv verify`", "tv_scheduler", file=str(self.settings.storage.loglines),
                                   log="\n".join(f"{n}: {w}" for n, w in sample),
                                   files=[f"{n}: {w}" for n, w in sample]), self.settings)
        self.alerted = {(name, why) for name, why in untrusted.items()}

    def run_once(self, now: float | None = None) -> list[Path]:
        self.load_cache()
        self.refresh_all()
        written = self.build(now)
        self.save_cache()
        return written


def build_scheduler(settings: SchedulerSettings) -> Scheduler:
    return Scheduler(settings, load_config(config_path(settings)))


def run_schedule(settings: SchedulerSettings, once: bool) -> None:
    """The CLI body of ``vv schedule`` and this module."""
    if once:
        run_stage(lambda: build_scheduler(settings).run_once())
        return
    from tv_scheduler.watch import watch_loglines

    start_process(settings.service_name, settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run_stage(lambda: watch_loglines(build_scheduler(settings), settings.schedule_interval_s,
                                     settings.schedule_debounce_s, stop) or [])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the TV playlists from verified LogLines.")
    parser.add_argument("--once", action="store_true", help="build once and exit (default: watch)")
    args = parser.parse_args(argv)
    run_schedule(SchedulerSettings(), once=args.once)


if __name__ == "__main__":
    main()
