"""One supervisor thread per camera: keep ffmpeg recording, whatever the camera does.

The loop: check disk → start ffmpeg → publish closed segments while watching its progress →
on exit/stall/disk-full stop ffmpeg with ONE SIGINT (it finalizes the open segment) → publish what is
left → open an outage and wait with exponential backoff → try again. The first progress that moves
closes the outage. An outage longer than ``DVR_OUTAGE_ALERT_AFTER_S`` raises one alert (and one more
when the camera is back). Modelled on Frigate's watchdog: restart forever, but never in a hot loop.
"""

import collections
import contextlib
import logging
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent_dvr.config import CameraConfig
from agent_dvr.metrics import DvrMetrics
from agent_dvr.outages import OutageStore
from agent_dvr.recorder import ANALYZE_S, build_record_command
from agent_dvr.segments import STAGING_DIR, PublishedSegment, StagingTracker, publish_part
from agent_dvr.settings import DvrSettings
from vv_core.alert_triggers import build_alert
from vv_core.alerts import Severity, send_alert

logger = logging.getLogger("vv.agent_dvr")

TICK_S = 0.25             # how often the supervisor looks at ffmpeg, the staging dir and the disk
STOP_GRACE_S = 5.0        # after one SIGINT (and ffmpeg's own input timeout), time to finalize before SIGKILL


@dataclass
class CameraState:
    name: str
    state: str = "starting"      # starting | recording | reconnecting | paused_disk | stopped
    segments: list[Path] = field(default_factory=list)
    last_segment: str | None = None
    restarts: int = 0
    last_error: str | None = None


class _WatchedFfmpeg:
    """ffmpeg started with two reader threads: when its output clock last moved, and its last stderr lines."""

    def __init__(self, command: list[str]) -> None:
        self.started = time.time()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        start_new_session=True)  # a terminal ^C must not reach ffmpeg twice
        self.progress_at: float | None = None     # wall time the reported out_time last changed
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=8)
        self._readers = [threading.Thread(target=self._read_progress, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read_progress(self) -> None:
        last_value = None
        for raw in self.process.stdout:  # type: ignore[union-attr]
            key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
            if key == "out_time_us" and value not in ("", "N/A") and value != last_value:
                last_value = value
                self.progress_at = time.time()

    def _read_stderr(self) -> None:
        for raw in self.process.stderr:  # type: ignore[union-attr]
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self.stderr_tail.append(line)

    def join_readers(self) -> None:
        for reader in self._readers:
            reader.join(timeout=2.0)


class CameraSupervisor(threading.Thread):
    def __init__(self, camera: CameraConfig, settings: DvrSettings, outages: OutageStore, metrics: DvrMetrics,
                 stop_event: threading.Event, *, free_bytes: Callable[[Path], int] | None = None) -> None:
        super().__init__(name=f"dvr-{camera.name}", daemon=True)
        self.camera = camera
        self.settings = settings
        self.outages = outages
        self.metrics = metrics
        self.stop_event = stop_event
        self.status = CameraState(camera.name)
        layout = settings.storage
        self.camera_dir = layout.input / camera.name
        self.staging = self.camera_dir / STAGING_DIR
        self.corrupted_dir = layout.corrupted / camera.name
        self.raw_dir = (layout.raw / camera.name) if settings.dvr_raw_copy else None
        self.snapshot = layout.camera_snapshots / f"{camera.name}.jpg"
        self._free_bytes = free_bytes or (lambda path: shutil.disk_usage(path).free)
        self._part_counter = 0
        self._disk_alerted = False

    # --- helpers ---------------------------------------------------------------------------------
    def _alert(self, severity: Severity, title: str, message: str, **context: object) -> None:
        # The one door (de-duplicated per camera, retried, formatted), on its own thread: retries
        # must never hold up recording. Not a daemon: an alert in flight is delivered before exit.
        alert = build_alert(severity, title, message, "agent_dvr", file=str(self.camera_dir),
                            container="video_capture", camera=self.camera.name, **context)
        threading.Thread(target=send_alert, args=(alert, self.settings), name="alert").start()

    def _disk_low(self) -> bool:
        free = self._free_bytes(self.camera_dir)
        self.metrics.disk_free.set(free)
        return free < self.settings.dvr_min_free_mb * 1024 * 1024

    def _publish(self, part: Path, started_ts: float) -> PublishedSegment | None:
        try:
            published = publish_part(part, self.camera_dir, self.corrupted_dir, started_ts, self.raw_dir)
        except FileNotFoundError:
            return None
        if published is None:
            self.metrics.invalid_segments.labels(self.camera.name).inc()
            return None
        self.status.segments.append(published.path)
        self.status.last_segment = published.path.name
        self.metrics.segments.labels(self.camera.name).inc()
        self.metrics.segment_bytes.labels(self.camera.name).inc(published.size_bytes)
        logger.info("segment recorded", extra={"camera": self.camera.name, "file": str(published.path),
                                               "duration_s": round(published.duration_s, 3)})
        return published

    def _drain(self, tracker: StagingTracker, now: float) -> None:
        """After ffmpeg exited: every part left is closed (or truncated by a crash: probe decides)."""
        tracker.observe(now)
        for part in tracker.closed_parts(now) + tracker.leftover_parts():
            if part.exists():
                self._publish(part, tracker.started_ts(part, now))
        tracker.reset()

    # --- outages ---------------------------------------------------------------------------------
    def _data_flowing(self, now: float) -> None:
        self.metrics.camera_up.labels(self.camera.name).set(1)
        self.status.state = "recording"
        closed = self.outages.close_outage(self.camera.name, now)
        if closed is None:
            return
        self.metrics.outages.labels(self.camera.name).inc()
        self.metrics.outage_seconds.labels(self.camera.name).inc(closed.duration_s or 0.0)
        logger.info("camera back", extra={"camera": self.camera.name, "outage_s": closed.duration_s})
        if closed.alerted:
            self._alert("INFO", f"camera {self.camera.name} is back",
                        f"recording resumed after {closed.duration_s:.0f} s", outage_id=closed.id,
                        started_at=closed.started_at, ended_at=closed.ended_at)

    def _camera_lost(self, since_ts: float, reason: str) -> None:
        self.metrics.camera_up.labels(self.camera.name).set(0)
        if self.outages.current(self.camera.name) is not None:
            return
        outage = self.outages.open_outage(self.camera.name, since_ts, reason)
        logger.warning("camera outage", extra={"camera": self.camera.name, "reason": reason,
                                               "since": outage.started_at})

    def _check_outage_alert(self, now: float) -> None:
        outage = self.outages.current(self.camera.name)
        if outage is None or outage.alerted:
            return
        if now - outage.started_ts >= self.settings.dvr_outage_alert_after_s:
            self.outages.mark_alerted(outage.id)
            self._alert("WARNING", f"camera {self.camera.name} is down",
                        f"no video since {outage.started_at} ({outage.reason})", outage_id=outage.id,
                        started_at=outage.started_at, reason=outage.reason)

    # --- ffmpeg ----------------------------------------------------------------------------------
    def _stop_ffmpeg(self, process: subprocess.Popen) -> None:
        """One SIGINT: ffmpeg writes the open segment's index and exits. SIGKILL only if it hangs."""
        if process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            # A read blocked on a hung camera only returns at ffmpeg's -timeout (= the stall timeout).
            process.wait(timeout=self.settings.dvr_stall_timeout_s + STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _record_once(self) -> tuple[str, bool, float]:
        """Run ffmpeg until it exits, stalls, the disk fills or we stop.

        Returns (reason it ended, whether data flowed, wall time of the last data).
        """
        self.staging.mkdir(parents=True, exist_ok=True)
        self.snapshot.parent.mkdir(parents=True, exist_ok=True)
        tracker = StagingTracker(self.staging)
        tracker.reset()
        for leftover in tracker.leftover_parts():   # from a previous crash of this agent
            self._publish(leftover, leftover.stat().st_mtime)
        command = build_record_command(self.camera, self.settings, self.staging, self.snapshot,
                                       start_number=self._part_counter)
        tracker.launched_at = time.time()
        ffmpeg = _WatchedFfmpeg(command)
        reason, flowing, last_data = self._watch(ffmpeg, tracker)
        self._stop_ffmpeg(ffmpeg.process)
        ffmpeg.join_readers()
        self._part_counter += len(tracker.leftover_parts())
        self._drain(tracker, time.time())
        last_line = ffmpeg.stderr_tail[-1] if ffmpeg.stderr_tail else ""
        if last_line:
            self.status.last_error = last_line
        if reason != "stopped":
            self.metrics.restarts.labels(self.camera.name, reason).inc()
            self.status.restarts += 1
            logger.info("ffmpeg ended", extra={"camera": self.camera.name, "reason": reason,
                                               "exit_code": ffmpeg.process.returncode, "stderr": last_line})
        return reason, flowing, last_data

    def _watch(self, ffmpeg: "_WatchedFfmpeg", tracker: StagingTracker) -> tuple[str, bool, float]:
        """Publish closed segments while ffmpeg runs; say why it must stop (or why it stopped)."""
        flowing = False
        last_data = ffmpeg.started
        next_disk_check = 0.0
        while True:
            now = time.time()
            tracker.observe(now)
            for part in tracker.closed_parts(now):
                self._part_counter += 1
                self._publish(part, tracker.started_ts(part, now))
            if ffmpeg.progress_at is not None and ffmpeg.progress_at > last_data:
                last_data = ffmpeg.progress_at
                if not flowing:
                    flowing = True
                    self._data_flowing(now)
            if ffmpeg.process.poll() is not None:
                # ffmpeg exits 0 both when the camera hangs up and when its -timeout fires: the
                # silence before the exit tells a hung camera from a dropped one.
                silent = now - last_data >= 0.8 * self.settings.dvr_stall_timeout_s
                reason = "stalled" if silent else "disconnected"
                if reason == "stalled" or flowing:
                    self._camera_lost(last_data, reason)
                return reason, flowing, last_data
            if self.stop_event.is_set():
                return "stopped", flowing, last_data
            # Before the first data ffmpeg is connecting and probing: allow for the probe too.
            allowed = self.settings.dvr_stall_timeout_s + (0.0 if flowing else ANALYZE_S + 1.0)
            if now - last_data > allowed:
                logger.warning("stream stalled: restarting ffmpeg",
                               extra={"camera": self.camera.name, "silent_s": round(now - last_data, 1)})
                self._camera_lost(last_data, "stalled")   # the outage starts now, not after ffmpeg exits
                return "stalled", flowing, last_data
            if now >= next_disk_check:
                next_disk_check = now + 1.0
                if self._disk_low():
                    return "disk_full", flowing, last_data
            if not flowing:
                self._check_outage_alert(now)
            self.stop_event.wait(TICK_S)

    # --- the loop --------------------------------------------------------------------------------
    def _pause_for_disk(self) -> None:
        self.status.state = "paused_disk"
        self.metrics.paused.labels(self.camera.name).set(1)
        if not self._disk_alerted:
            self._disk_alerted = True
            self._alert("CRITICAL", "disk full: recording paused",
                        f"free space under {self.camera_dir} is below {self.settings.dvr_min_free_mb} MB",
                        min_free_mb=self.settings.dvr_min_free_mb)
        while not self.stop_event.is_set() and self._disk_low():
            self.stop_event.wait(1.0)
        self.metrics.paused.labels(self.camera.name).set(0)
        if not self.stop_event.is_set():
            self._disk_alerted = False
            self._alert("INFO", "disk space back: recording resumed", f"camera {self.camera.name}")

    def _backoff_wait(self, delay: float) -> None:
        deadline = time.time() + delay
        while not self.stop_event.is_set() and time.time() < deadline:
            self._check_outage_alert(time.time())
            self.stop_event.wait(min(TICK_S, max(0.0, deadline - time.time())))

    def run(self) -> None:
        delay = self.settings.dvr_backoff_initial_s
        self.camera_dir.mkdir(parents=True, exist_ok=True)
        try:
            while not self.stop_event.is_set():
                if self._disk_low():
                    self._pause_for_disk()
                    continue
                self.status.state = "starting"
                reason, flowed, last_data = self._record_once()
                if reason == "stopped":
                    break
                if reason == "disk_full":
                    continue
                if flowed:
                    delay = self.settings.dvr_backoff_initial_s
                self.status.state = "reconnecting"
                self._camera_lost(last_data, reason)
                self._backoff_wait(delay)
                delay = min(delay * 2, self.settings.dvr_backoff_max_s)
        except Exception as exc:  # a supervisor must say why it died, not vanish
            self.status.last_error = f"{type(exc).__name__}: {exc}"
            logger.exception("camera supervisor crashed", extra={"camera": self.camera.name})
            raise
        finally:
            self.status.state = "stopped"
            self.metrics.camera_up.labels(self.camera.name).set(0)
            with contextlib.suppress(OSError):
                self.staging.rmdir()
