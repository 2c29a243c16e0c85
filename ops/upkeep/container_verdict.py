"""Is this container failing? One reading of `docker inspect`'s State for `vv self-monitor` and `vv update`.

Both callers ask the same question of the same data (status, health, the last probe's output, the
restart count); they differ on purpose in one point, ``forgive_start``:

* the self-monitor (``forgive_start=True``) watches containers that have run for weeks: a container
  restarting, or unhealthy, inside its start period is forgiven (its restart policy is at work), and
  the lifetime restart count says nothing about now. But StartedAt is refreshed on every restart, so
  a crash loop would look "just started" for ever: the self-monitor passes the restarts it saw within
  its window (``recent_restarts``), and more than FORGIVEN_RESTARTS of them is a crash loop that no
  start period forgives (issue 22);
* `vv update` (``forgive_start=False``) judges a container it has just recreated: any exit, and any
  restart since the recreate, is a crash (a broken release must be rolled back, not waited for).

A paused container is failing for both: its processes are frozen, so it does no work whatever its
last health probe said (Docker runs no probe in a paused container).

Both read the container the same way too: :func:`inspect_state` turns one `docker inspect` document
into the dict :func:`judge` reads. The self-monitor gets that document from the Docker SDK
(``container.attrs``), `vv update` from the `docker inspect` command (it drives Docker through the
commands an operator types, as it drives compose); both are the Engine API's
``GET /containers/{id}/json`` answer, so one parser serves both.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

CRASH_RESTARTS = 2           # restarts since a recreate that count as a crash loop (forgive_start=False)
FORGIVEN_RESTARTS = 1       # restarts the self-monitor forgives within its window (forgive_start=True)
NO_HEALTHCHECK_RUN_S = 10.0  # a container without a healthcheck must stay up this long
EXITED = ("restarting", "exited", "dead")


@dataclass(frozen=True)
class Verdict:
    healthy: bool | None     # True healthy, False failing, None not decided yet (starting, or forgiven)
    status: str              # "running/healthy", "exited (1)", "paused", "missing", …
    reason: str              # why it fails (or how it stands when it does not)
    health_log: str = ""     # the last probes' output (context for an alert)
    forgiven: bool = False   # failing, but inside its start period (forgive_start only)


def docker_time(value: str | None) -> float | None:
    """A Docker timestamp ("2026-11-21T10:00:00.123456789Z"; "0001-…" for never) in epoch seconds."""
    if not value or value.startswith("0001-"):
        return None
    text = value.rstrip("Z")
    if "." in text:  # Docker gives nanoseconds; Python parses microseconds
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    try:
        return datetime.fromisoformat(text + "+00:00").timestamp()
    except ValueError:
        return None


def inspect_state(inspect: dict[str, Any]) -> dict[str, Any]:
    """One `docker inspect` document (SDK ``container.attrs``, or an element of the `docker inspect`
    command's JSON list) → its State, plus ``ImageId`` (the image it runs) and ``RestartCount`` (Docker
    keeps both beside State, not in it): what :func:`judge` and the callers read."""
    state = inspect.get("State")
    if not isinstance(state, dict) or not state.get("Status"):
        raise ValueError(f"not a container's inspect document (no State.Status): {str(inspect)[:120]!r}")
    return {**state, "ImageId": str(inspect.get("Image") or ""), "RestartCount": int(inspect.get("RestartCount") or 0)}


def _health_log(health: dict[str, Any], entries: int) -> str:
    return "\n".join(str(entry.get("Output", "")).strip() for entry in (health.get("Log") or [])[-entries:])


def judge(state: dict[str, Any], *, restart_count: int, running_s: float | None, start_period_s: float = 0.0,
          forgive_start: bool = False, recent_restarts: int = 0) -> Verdict:
    """One `docker inspect` State → a :class:`Verdict`.

    ``running_s``: seconds since the container started (None: unknown); ``restart_count``: Docker's
    RestartCount (top-level in inspect, not in State); ``recent_restarts`` (forgive_start only): the
    restarts the caller saw within its window — more than FORGIVEN_RESTARTS is a crash loop, failing
    unless healthy right now.
    """
    status = str(state.get("Status", ""))
    health = state.get("Health") or {}
    health_status = health.get("Status")
    health_log = _health_log(health, 3)
    looping = forgive_start and recent_restarts > FORGIVEN_RESTARTS
    in_start = not looping and running_s is not None and start_period_s > 0 and running_s < start_period_s
    exit_code = state.get("ExitCode")
    label = f"exited ({exit_code})" if status == "exited" else (
        f"running/{health_status or 'no-healthcheck'}" if status == "running" else status)
    described = f"{status}, health {health_status or 'none'}, {restart_count} restarts"

    if status == "paused":
        return Verdict(False, label, "paused: its processes are frozen (hung)", health_log)
    restarts = f"{recent_restarts} restarts in the window" if looping else f"{restart_count} restarts"
    crash = (f"crash loop ({status}, {restarts}, exit code {exit_code})", health_log)
    if status in EXITED:
        # Docker marks a container whose process exits "unhealthy" at once, before any restart: the
        # exit is what to name. The self-monitor lets the restart policy work inside the start period.
        forgiven = forgive_start and in_start and status == "restarting"
        return Verdict(None if forgiven else False, label, *crash, forgiven=forgiven)
    if status != "running":  # created, removing: on its way, or never started
        return Verdict(None if in_start else False, label, described, health_log)
    if health_status == "healthy":
        return Verdict(True, label, described, health_log)
    recreated_loop = not forgive_start and (
        restart_count >= CRASH_RESTARTS or (health_status == "unhealthy" and restart_count))
    if looping or recreated_loop:  # starting or unhealthy, but restarting again and again
        return Verdict(False, label, *crash)
    if health_status == "unhealthy":
        last = _health_log(health, 1)
        reason = f"unhealthy: {last[-300:]}" if last else "unhealthy"
        forgiven = forgive_start and in_start
        return Verdict(None if forgiven else False, label, reason, health_log, forgiven=forgiven)
    if health_status is None and (running_s is None or running_s >= NO_HEALTHCHECK_RUN_S):
        return Verdict(True, label, described, health_log)
    return Verdict(None, label, described, health_log)
