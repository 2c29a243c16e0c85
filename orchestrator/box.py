"""`vv up`: the whole embedded box in the foreground, without Docker.

A small supervisor: each service (orchestrator loop, scheduler watch, tv_api, and capture when a
cameras file is configured) is a subprocess of this same Python running its own `vv` command. Their
stdout and stderr merge into one stream, each line prefixed with the service's name. A service that
dies is restarted after a short backoff, within a restart budget per window (the self-monitor's
rule, so a service that cannot start does not loop forever); once a budget is spent the box stops
and `vv up` exits 1 naming the service. SIGINT/SIGTERM stop every service (SIGTERM to each child's
process group, SIGKILL after a grace period) and `vv up` exits 0.

Each child runs in its own session: Ctrl-C on the terminal reaches only the supervisor, which then
stops the children in order, so no child prints a KeyboardInterrupt of its own and no grandchild
(a stage run, an ffmpeg) is left behind.
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

RESTART_BUDGET = 5          # restarts of one service per window before the box gives up
BUDGET_WINDOW_S = 300.0
BACKOFF_S = 1.0             # doubles with each restart in the window
STOP_GRACE_S = 10.0         # SIGTERM, then SIGKILL after this long


@dataclass(frozen=True)
class Service:
    name: str
    argv: list[str]


@dataclass
class _Running:
    service: Service
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)
    next_start_at: float = 0.0
    reader: threading.Thread | None = None


def vv_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "vv_cli.main", *args]


def box_services(*, capture: bool, host: str | None = None, port: int | None = None) -> list[Service]:
    """The services `vv up` runs, in start order."""
    serve = ["serve"] + (["--host", host] if host else []) + (["--port", str(port)] if port is not None else [])
    services = [Service("tv_api", vv_command(*serve)),
                Service("scheduler", vv_command("schedule")),
                Service("orchestrator", vv_command("orchestrate", "--loop"))]
    if capture:
        services.append(Service("capture", vv_command("capture")))
    return services


def cameras_configured(cameras_file: Path) -> bool:
    """Capture runs only when the operator configured cameras (the file exists)."""
    return cameras_file.is_file()


class Box:
    """Start, watch, restart within budget, and stop a set of services."""

    def __init__(self, services: list[Service], *, out: IO[str] | None = None, env: dict[str, str] | None = None,
                 budget: int = RESTART_BUDGET, window_s: float = BUDGET_WINDOW_S, backoff_s: float = BACKOFF_S,
                 grace_s: float = STOP_GRACE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.running = [_Running(service) for service in services]
        self.out = out or sys.stdout
        self.env = {**(env if env is not None else os.environ), "PYTHONUNBUFFERED": "1"}
        self.budget, self.window_s, self.backoff_s, self.grace_s = budget, window_s, backoff_s, grace_s
        self.clock = clock
        self.stop_requested = threading.Event()
        self.write_lock = threading.Lock()

    def say(self, name: str, line: str) -> None:
        with self.write_lock:
            self.out.write(f"[{name}] {line.rstrip()}\n")
            self.out.flush()

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(name, raw.decode("utf-8", errors="replace"))
        stream.close()

    def _start(self, item: _Running) -> None:
        process = subprocess.Popen(item.service.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        item.process = process
        assert process.stdout is not None
        item.reader = threading.Thread(target=self._pump, args=(item.service.name, process.stdout), daemon=True)
        item.reader.start()
        self.say("up", f"started {item.service.name} (pid {process.pid})")

    def _on_exit(self, item: _Running, now: float) -> str | None:
        """Schedule a restart of a dead service; return why the box must stop, if the budget is spent."""
        assert item.process is not None
        code = item.process.returncode
        _kill_group(item.process.pid)        # leave none of its children behind
        item.process = None
        item.restarts = [t for t in item.restarts if now - t < self.window_s]
        if len(item.restarts) >= self.budget:
            return (f"{item.service.name} exited with code {code} and its restart budget is spent "
                    f"({len(item.restarts)} restarts in {self.window_s:.0f} s); see its lines above")
        item.restarts.append(now)
        delay = self.backoff_s * (2 ** (len(item.restarts) - 1))
        item.next_start_at = now + delay
        self.say("up", f"{item.service.name} exited with code {code}; restarting in {delay:.0f} s "
                       f"({len(item.restarts)}/{self.budget} restarts in this window)")
        return None

    def request_stop(self, *_: object) -> None:
        self.stop_requested.set()

    def run(self, poll_s: float = 0.2) -> int:
        """Run until a stop is requested (exit 0) or a service spends its budget (exit 1)."""
        failure = None
        try:
            for item in self.running:
                self._start(item)
            while not self.stop_requested.wait(poll_s):
                now = self.clock()
                for item in self.running:
                    if item.process is not None and item.process.poll() is not None:
                        failure = self._on_exit(item, now)
                        if failure:
                            break
                    if item.process is None and now >= item.next_start_at:
                        self._start(item)
                if failure:
                    break
        finally:
            self.stop_all()
        if failure:
            self.say("up", f"error: {failure}")
            return 1
        self.say("up", "stopped")
        return 0

    def stop_all(self) -> None:
        """SIGTERM each service's process group (last started first), SIGKILL what outlives the grace."""
        alive = [item.process for item in reversed(self.running) if item.process is not None]
        for process in alive:
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s
        for process in alive:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
            _kill_group(process.pid)
        for item in self.running:
            if item.reader is not None:
                item.reader.join(timeout=2)
            item.process = None


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _kill_group(pgid: int) -> None:
    _signal_group(pgid, signal.SIGKILL)


def run_box(services: list[Service]) -> int:
    """`vv up`'s body: install the signal handlers and run the box in the foreground."""
    box = Box(services)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, box.request_stop)
    box.say("up", "starting " + ", ".join(s.name for s in services) + "; Ctrl-C stops them all")
    return box.run()
