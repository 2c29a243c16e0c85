"""One reading of `docker inspect` State for the self-monitor and `vv update` (issue 22): every state a
container can be in, judged both ways; the two differ only where ``forgive_start`` says they should."""

import pytest

from ops.upkeep.container_verdict import CRASH_RESTARTS, FORGIVEN_RESTARTS, NO_HEALTHCHECK_RUN_S, judge


def state(status="running", health=None, exit_code=0, probe_output=""):
    document = {"Status": status, "ExitCode": exit_code}
    if health is not None:
        document["Health"] = {"Status": health, "Log": [{"Output": probe_output}] if probe_output else []}
    return document


START = 30.0
# (case, State, restart count, seconds running) → (self-monitor verdict, update verdict, status label)
CASES = [
    ("healthy", state(health="healthy"), 0, 100, True, True, "running/healthy"),
    ("healthy after restarts", state(health="healthy"), 5, 100, True, True, "running/healthy"),
    ("starting", state(health="starting"), 0, 5, None, None, "running/starting"),
    ("no healthcheck, just started", state(), 0, NO_HEALTHCHECK_RUN_S - 1, None, None, "running/no-healthcheck"),
    ("no healthcheck, running a while", state(), 0, NO_HEALTHCHECK_RUN_S, True, True, "running/no-healthcheck"),
    ("unhealthy after the start period", state(health="unhealthy", probe_output="HTTP 500"), 0, 100,
     False, False, "running/unhealthy"),
    # The one difference: inside the start period the self-monitor lets the restart policy work.
    ("unhealthy inside the start period", state(health="unhealthy"), 0, 5, None, False, "running/unhealthy"),
    ("restarting inside the start period", state("restarting", "unhealthy", 1), 0, 2, None, False, "restarting"),
    ("restarting after the start period", state("restarting", "unhealthy", 1), 3, 100, False, False, "restarting"),
    ("exited", state("exited", exit_code=137), 0, 2, False, False, "exited (137)"),
    ("dead", state("dead"), 0, 100, False, False, "dead"),
    ("paused (hung)", state("paused", health="healthy"), 0, 100, False, False, "paused"),
    ("created, never started", state("created"), 0, None, False, False, "created"),
    # Restarts since a recreate are a crash loop for the update; a long-lived container's lifetime
    # count means nothing to the self-monitor.
    ("restarted twice, now starting", state(health="starting"), CRASH_RESTARTS, 100, None, False, "running/starting"),
    ("restarted once, unhealthy", state(health="unhealthy"), 1, 100, False, False, "running/unhealthy"),
]


@pytest.mark.parametrize(("case", "inspect", "restarts", "running_s", "monitor", "update", "label"), CASES,
                         ids=[c[0] for c in CASES])
def test_each_inspect_state_both_ways(case, inspect, restarts, running_s, monitor, update, label):
    for forgive_start, expected in ((True, monitor), (False, update)):
        verdict = judge(inspect, restart_count=restarts, running_s=running_s, start_period_s=START,
                        forgive_start=forgive_start)
        assert (verdict.healthy, verdict.status) == (expected, label), (case, forgive_start, verdict)


def test_a_forgiven_failure_is_marked_so_and_a_start_is_not():
    forgiven = judge(state(health="unhealthy"), restart_count=0, running_s=5, start_period_s=START, forgive_start=True)
    starting = judge(state(health="starting"), restart_count=0, running_s=5, start_period_s=START, forgive_start=True)
    assert forgiven.forgiven and not starting.forgiven


def test_reasons_name_the_crash_the_probe_and_the_pause():
    crash = judge(state("restarting", "unhealthy", 1, "connection refused"), restart_count=0, running_s=2)
    assert crash.reason == "crash loop (restarting, 0 restarts, exit code 1)"
    assert crash.health_log == "connection refused"
    unhealthy = judge(state(health="unhealthy", probe_output="HTTP 500"), restart_count=0, running_s=100)
    assert unhealthy.reason == "unhealthy: HTTP 500"
    assert judge(state("paused"), restart_count=0, running_s=100).reason.startswith("paused")


LOOP = [state("restarting", "unhealthy", 1), state(health="unhealthy"), state(health="starting"), state()]


@pytest.mark.parametrize("inspect", LOOP, ids=["restarting", "unhealthy", "starting", "no-healthcheck"])
def test_more_restarts_in_the_window_than_forgiven_is_a_crash_loop_despite_the_start_period(inspect):
    """Issue 22: StartedAt is fresh after every restart; the restarts the self-monitor saw end the grace."""
    def verdict(recent, forgive_start=True):
        return judge(inspect, restart_count=0, running_s=2, start_period_s=START, forgive_start=forgive_start,
                     recent_restarts=recent)

    assert verdict(FORGIVEN_RESTARTS).healthy is None                  # one restart: still its start period
    looping = verdict(FORGIVEN_RESTARTS + 1)
    assert (looping.healthy, looping.forgiven) == (False, False)
    assert looping.reason.startswith(f"crash loop ({inspect['Status']}, {FORGIVEN_RESTARTS + 1} restarts in the window")
    healthy = judge(state(health="healthy"), restart_count=0, running_s=2, start_period_s=START,
                    forgive_start=True, recent_restarts=50)
    assert healthy.healthy is True                                     # healthy right now is healthy
    # `vv update` judges by the restarts since its recreate, never by the monitor's window.
    assert verdict(50, forgive_start=False) == verdict(0, forgive_start=False)
