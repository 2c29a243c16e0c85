"""`vv self-monitor [--once | --loop]`: restart failing stack containers, within a budget.

Each check inspects every watched container through the Docker SDK. A check *fails* for a
container that is missing, not running (exited, dead, restarting …) or whose healthcheck says
``unhealthy``; failures inside the start period (just after the container started) do not count,
unless the container is in a crash loop: Docker refreshes StartedAt on every restart, so the monitor
keeps each container's RestartCount between checks and, once it has seen it grow more than
FORGIVEN_RESTARTS times within SELF_MONITOR_BUDGET_WINDOW_S, no start period forgives it (a single
restart still is). A manual or self-monitor restart resets RestartCount to 0: a lower count is all new.
After SELF_MONITOR_ERROR_THRESHOLD consecutive failures the container is restarted, unless

* its restart budget for the window is spent (SELF_MONITOR_RESTART_BUDGET per
  SELF_MONITOR_BUDGET_WINDOW_S): then a CRITICAL alert with its last log lines and health output,
  once per window — no restart loops;
* it is within its backoff (SELF_MONITOR_BACKOFF_S, doubling with each restart in the window).

Each restart is also a WARNING alert (the box healed, a person should still know it hung or died),
and so is each restart by Docker's restart policy the monitor sees (RestartCount grew since the last
check): "container X restarted by Docker", with the last exit code, OOMKilled and FinishedAt. Not on
the first reading (a baseline), not for a count that went down (a manual, self-monitor or engine
restart resets it), and, like every alert, deduplicated within ALERT_DEDUP_WINDOW_S.

State (per-container counters and restart history) is a JSON file under state/, written
atomically, so separate cron invocations behave like one long-running loop.
"""

import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

import typer

from ops.settings import SelfMonitorSettings
from ops.upkeep.container_verdict import FORGIVEN_RESTARTS, docker_time, inspect_state, judge
from vv_core import alert_triggers
from vv_core.atomic import atomic_write_json
from vv_core.cli_support import run_command
from vv_core.jsonlog import start_process

STATE_NAME = "self_monitor.json"
LOG_TAIL_LINES = 30
SEEN_RESTARTS_KEPT = 100   # enough to tell a crash loop and count it; bounds the state file
logger = logging.getLogger("vv.self_monitor")


@dataclass
class ContainerRecord:
    consecutive_errors: int = 0
    restarts: list[float] = field(default_factory=list)   # epoch seconds, within the window
    last_restart_at: float | None = None
    budget_alerted_at: float | None = None
    last_status: str = ""
    restart_count: int | None = None                          # Docker's RestartCount at the last check
    seen_restarts: list[float] = field(default_factory=list)  # when it grew (one per restart), in the window


@dataclass(frozen=True)
class Observation:
    name: str
    healthy: bool
    status: str               # "running/healthy", "exited (1)", "missing", …
    in_start_period: bool = False
    health_log: str = ""


@dataclass
class CheckReport:
    restarted: list[str] = field(default_factory=list)
    alerted: list[str] = field(default_factory=list)
    failing: dict[str, int] = field(default_factory=dict)
    docker_restarted: list[str] = field(default_factory=list)   # restarted by Docker since the last check


def note_restarts(record: ContainerRecord, count: int, now: float, window_s: float) -> int:
    """Record Docker's RestartCount in ``record``; return how many restarts were seen within the window.

    The first reading is only a baseline (the lifetime count says nothing about now); a lower count
    means it went back to 0 in between (a manual or self-monitor restart resets it, a recreate starts
    at 0), so all of it is new.
    """
    if record.restart_count is not None and count != record.restart_count:
        grown = count - record.restart_count if count > record.restart_count else count
        record.seen_restarts.extend([now] * min(grown, SEEN_RESTARTS_KEPT))
    record.restart_count = count
    record.seen_restarts = [t for t in record.seen_restarts if now - t < window_s][-SEEN_RESTARTS_KEPT:]
    return len(record.seen_restarts)


def observe(name: str, state: dict[str, Any], now: float, start_period_s: float,
            recent_restarts: int = 0) -> Observation:
    """Judge one container from its inspect state (container_verdict.inspect_state): the self-monitor
    forgives a restarting or unhealthy container inside its start period, unless ``recent_restarts``
    (restarts seen within the window) says it is a crash loop (ops.upkeep.container_verdict)."""
    started = docker_time(state.get("StartedAt"))
    verdict = judge(state, restart_count=state["RestartCount"],
                    running_s=None if started is None else now - started, start_period_s=start_period_s,
                    forgive_start=True, recent_restarts=recent_restarts)
    # Starting (undecided, not a failure) counts as healthy; a forgiven failure neither counts nor resets.
    healthy = verdict.healthy is True or (verdict.healthy is None and not verdict.forgiven)
    status = verdict.status
    if verdict.healthy is False and recent_restarts > FORGIVEN_RESTARTS:
        status = f"{status}, crash loop ({recent_restarts} restarts in the window)"
    return Observation(name, healthy, status, verdict.forgiven, verdict.health_log)


def last_exit_code(state: dict[str, Any]) -> int | None:
    """The exit code the container last ended with, if Docker still shows it (it clears ExitCode to 0
    when the container runs again; it keeps it while the container is restarting or stopped)."""
    exit_code = state.get("ExitCode")
    return None if state.get("Status") == "running" and not exit_code else exit_code


def docker_restart_message(name: str, state: dict[str, Any], grown: int) -> str:
    """What an operator reads when Docker's restart policy brought a container back: how it ended
    (exit code, OOMKilled, when) and how often Docker has restarted it."""
    exit_code = last_exit_code(state)
    ended = ("exit code not kept (Docker clears it once the container runs again)" if exit_code is None
             else f"exit code {exit_code}")
    finished = state.get("FinishedAt") or ""
    finished = finished if docker_time(finished) is not None else "unknown"
    times = "once" if grown == 1 else f"{grown} times"
    return (f"{name} was restarted by Docker's restart policy {times} since the last check "
            f"(RestartCount {state['RestartCount']}); last exit: {ended}, OOMKilled {bool(state.get('OOMKilled'))}, "
            f"finished at {finished}; now {state.get('Status')}")


class SelfMonitor:
    def __init__(self, settings: SelfMonitorSettings, client: Any, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.client = client
        self.clock = clock
        self.names = [n.strip() for n in settings.self_monitor_containers.split(",") if n.strip()]
        self.state_path = settings.storage.state / STATE_NAME

    def load_state(self) -> dict[str, ContainerRecord]:
        try:
            raw = json.loads(self.state_path.read_text(encoding="utf-8"))
            return {name: ContainerRecord(**record) for name, record in raw.get("containers", {}).items()}
        except (FileNotFoundError, json.JSONDecodeError, TypeError, AttributeError):
            return {}

    def save_state(self, records: dict[str, ContainerRecord]) -> None:
        atomic_write_json(self.state_path, {"containers": {n: asdict(r) for n, r in records.items()}})

    def check(self) -> CheckReport:
        import docker.errors

        now = self.clock()
        records = self.load_state()
        report = CheckReport()
        for name in self.names:
            record = records.setdefault(name, ContainerRecord())
            window = self.settings.self_monitor_budget_window_s
            record.restarts = [t for t in record.restarts if now - t < window]
            container = None
            try:
                container = self.client.containers.get(name)
                state = inspect_state(container.attrs)
                baseline = record.restart_count
                recent = note_restarts(record, state["RestartCount"], now, window)
                if baseline is not None and state["RestartCount"] > baseline:  # down: reset, not Docker's
                    self.docker_restarted(name, state, state["RestartCount"] - baseline, report)
                observation = observe(name, state, now, self.settings.self_monitor_start_period_s, recent)
            except docker.errors.NotFound:
                observation = Observation(name, False, "missing")
            record.last_status = observation.status
            if observation.healthy:
                record.consecutive_errors = 0
                continue
            if observation.in_start_period:
                logger.info("%s is %s but within its start period", name, observation.status)
                continue
            record.consecutive_errors += 1
            report.failing[name] = record.consecutive_errors
            logger.warning("%s failed check %d/%d: %s", name, record.consecutive_errors,
                           self.settings.self_monitor_error_threshold, observation.status,
                           extra={"container": name})
            if record.consecutive_errors < self.settings.self_monitor_error_threshold:
                continue
            self.act(container, record, observation, now, report)
        self.save_state(records)
        return report

    def docker_restarted(self, name: str, state: dict[str, Any], grown: int, report: CheckReport) -> None:
        message = docker_restart_message(name, state, grown)
        logger.warning("%s", message, extra={"container": name})
        alert_triggers.container_restarted_by_docker(
            self.settings, name, message, exit_code=last_exit_code(state), oom_killed=bool(state.get("OOMKilled")),
            finished_at=state.get("FinishedAt") or "", restart_count=state["RestartCount"])
        report.docker_restarted.append(name)

    def act(self, container: Any, record: ContainerRecord, observation: Observation, now: float,
            report: CheckReport) -> None:
        name = observation.name
        budget = self.settings.self_monitor_restart_budget
        if container is None or len(record.restarts) >= budget:
            window = self.settings.self_monitor_budget_window_s
            if record.budget_alerted_at is None or now - record.budget_alerted_at >= window:
                reason = ("container is missing" if container is None else
                          f"restart budget spent ({len(record.restarts)} restarts in {window:.0f} s)")
                alert_triggers.container_failure(
                    self.settings, name, f"{name} is {observation.status}: {reason}",
                    log=self.log_tail(container), health=observation.health_log)
                record.budget_alerted_at = now
                report.alerted.append(name)
            return
        backoff = self.settings.self_monitor_backoff_s * (2 ** max(0, len(record.restarts) - 1))
        if record.last_restart_at is not None and record.restarts and now - record.last_restart_at < backoff:
            logger.info("%s: waiting %.0f s before the next restart", name, backoff)
            return
        import docker.errors

        try:
            container.restart(timeout=10)
        except docker.errors.APIError as exc:
            logger.error("restart of %s failed: %s", name, exc, extra={"container": name})
            return
        record.restarts.append(now)
        record.last_restart_at = now
        record.restart_count = 0   # an API restart resets RestartCount: Docker's restarts count from here
        record.consecutive_errors = 0
        report.restarted.append(name)
        logger.warning("restarted %s (was %s); %d/%d restarts in window", name, observation.status,
                       len(record.restarts), budget, extra={"container": name})
        # Healed, but a person should know a container hung or died (a WARNING, once per restart).
        alert_triggers.container_restarted(
            self.settings, name, f"{name} was {observation.status} for {self.settings.self_monitor_error_threshold} "
            f"checks; restarted ({len(record.restarts)}/{budget} restarts in the window)",
            health=observation.health_log)

    @staticmethod
    def log_tail(container: Any) -> str:
        if container is None:
            return ""
        try:
            raw = container.logs(tail=LOG_TAIL_LINES, stdout=True, stderr=True)
        except Exception as exc:  # logs are context for the alert, never a reason to fail it
            return f"(logs unavailable: {type(exc).__name__})"
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def docker_client() -> Any:  # pragma: no cover - needs an engine; tests pass their own client
    import docker

    return docker.from_env(timeout=30)


def self_monitor_command(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One check (cron; the default).")] = False,
    loop: Annotated[bool, typer.Option("--loop", help="Check every SELF_MONITOR_INTERVAL_S seconds.")] = False,
) -> None:
    """Watch the stack's containers and restart failing ones, within a restart budget.

    Prints one JSON report per check ({"restarted", "alerted", "failing", "docker_restarted"}); exit 2
    when the Docker engine cannot be reached (a CRITICAL alert is raised too).
    """
    if once and loop:
        ctx.fail("--loop is not allowed with --once")
    raise typer.Exit(run_self_monitor(loop=loop, **(ctx.obj or {})))


def main(argv: list[str] | None = None, settings: SelfMonitorSettings | None = None,
         client_factory: Callable[[], Any] = docker_client, stop: threading.Event | None = None) -> int:
    return run_command(self_monitor_command, argv, "vv self-monitor", settings=settings,
                       client_factory=client_factory, stop=stop)


def run_self_monitor(*, loop: bool = False, settings: SelfMonitorSettings | None = None,
                     client_factory: Callable[[], Any] = docker_client, stop: threading.Event | None = None) -> int:
    """What `vv self-monitor` does once its arguments are parsed; returns the exit code."""
    settings = settings or SelfMonitorSettings()
    settings.storage.ensure()
    start_process("self_monitor", settings, console="stderr")
    import docker.errors
    import requests.exceptions

    try:
        monitor = SelfMonitor(settings, client_factory())
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        alert_triggers.container_failure(settings, "docker", f"Docker engine unreachable: {exc}")
        print(f"error: Docker engine unreachable: {exc}", file=sys.stderr)
        return 2
    stop = stop or threading.Event()
    previous = {}
    if loop:
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        return _check_until_stopped(monitor, settings, loop=loop, stop=stop)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _check_until_stopped(monitor: SelfMonitor, settings: SelfMonitorSettings, *, loop: bool,
                         stop: threading.Event) -> int:
    import docker.errors
    import requests.exceptions

    while True:
        try:
            report = monitor.check()
            print(json.dumps({"restarted": report.restarted, "alerted": report.alerted,
                              "failing": report.failing, "docker_restarted": report.docker_restarted}), flush=True)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            alert_triggers.container_failure(settings, "docker", f"Docker engine error: {exc}")
            print(f"error: Docker engine error: {exc}", file=sys.stderr)
            if not loop:
                return 2
        if not loop or stop.wait(settings.self_monitor_interval_s):
            return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
