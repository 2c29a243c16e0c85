"""agent_dvr: record every configured camera into input/<camera>/<UTC>.mp4 (`vv capture`).

    python -m agent_dvr.agent_dvr [--camera NAME ...] [--duration S] [--no-http]

Runs until SIGINT/SIGTERM (or --duration seconds), then stops each ffmpeg with one SIGINT so the last
segment is finalized and published, prints the segments written and exits 0.
"""

import logging
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from agent_dvr.config import CameraConfig, CameraConfigError, load_cameras
from agent_dvr.http_endpoint import DvrHttpServer
from agent_dvr.metrics import DvrMetrics
from agent_dvr.outages import OutageStore
from agent_dvr.settings import DvrSettings
from agent_dvr.supervisor import CameraSupervisor
from vv_core.cli_support import run_command, run_stage
from vv_core.errors import VVError
from vv_core.jsonlog import start_process

logger = logging.getLogger("vv.agent_dvr")


@dataclass
class CaptureAgent:
    """All supervisors plus the HTTP endpoint, started and stopped together."""

    settings: DvrSettings
    cameras: list[CameraConfig]
    http: bool = True
    stop_event: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        layout = self.settings.storage
        layout.ensure()
        self.metrics = DvrMetrics()
        self.outages = OutageStore(layout.dvr_outages)
        self.supervisors = [CameraSupervisor(camera, self.settings, self.outages, self.metrics, self.stop_event)
                            for camera in self.cameras]
        self.http_server: DvrHttpServer | None = None

    def health(self) -> dict:
        return {"cameras": {s.camera.name: {"state": s.status.state, "segments": len(s.status.segments),
                                             "last_segment": s.status.last_segment,
                                             "restarts": s.status.restarts}
                            for s in self.supervisors}}

    def start(self) -> "CaptureAgent":
        if self.http:
            self.http_server = DvrHttpServer(
                self.settings.dvr_http_host, self.settings.dvr_http_port,
                self.settings.storage.camera_snapshots, [c.name for c in self.cameras],
                self.metrics.registry, self.health,
            ).start()
        for supervisor in self.supervisors:
            supervisor.start()
        logger.info("capture started", extra={"cameras": [c.name for c in self.cameras],
                                               "http_port": self.http_server.port if self.http_server else None})
        return self

    def stop(self) -> list[Path]:
        self.stop_event.set()
        for supervisor in self.supervisors:
            supervisor.join()
        if self.http_server is not None:
            self.http_server.stop()
        return [path for supervisor in self.supervisors for path in supervisor.status.segments]


def select_cameras(settings: DvrSettings, names: list[str] | None) -> list[CameraConfig]:
    cameras = load_cameras(settings)
    if not names:
        return cameras
    known = {camera.name: camera for camera in cameras}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise CameraConfigError(f"unknown camera(s): {', '.join(unknown)} (configured: {', '.join(known)})")
    return [known[name] for name in names]


def run_capture(settings: DvrSettings, camera_names: list[str] | None = None, duration_s: float | None = None,
                http: bool = True) -> list[Path]:
    """Record until a signal (or ``duration_s``); return the segments published."""
    if not settings.storage.root.is_dir():
        raise VVError(f"storage root {settings.storage.root} does not exist (run `vv bootstrap`)")
    agent = CaptureAgent(settings, select_cameras(settings, camera_names), http=http)

    def request_stop(signum: int, _frame: object) -> None:
        logger.info("stop requested", extra={"signal": signal.Signals(signum).name})
        agent.stop_event.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        agent.start()
        agent.stop_event.wait(duration_s)
    finally:
        written = agent.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return written


def capture_command(
    camera: Annotated[list[str] | None, typer.Option(help="Record only this camera (repeatable).")] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    no_http: Annotated[bool, typer.Option("--no-http", help="Do not serve snapshots/metrics.")] = False,
) -> None:
    """Record every configured camera into input/<camera>/<UTC>.mp4 until SIGINT/SIGTERM (or --duration).

    Each ffmpeg is stopped with one SIGINT so the last segment is finalized and published; prints
    the segments written and exits 0 (1 with one line when the cameras or the storage are wrong).
    """

    def action() -> list[Path]:
        settings = DvrSettings()
        start_process("agent_dvr", settings, console="stderr")
        return run_capture(settings, camera, duration, http=not no_http)

    run_stage(action)


def main(argv: list[str] | None = None) -> int:
    return run_command(capture_command, argv, "agent_dvr")


if __name__ == "__main__":
    raise SystemExit(main())
