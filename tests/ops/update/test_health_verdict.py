"""How `vv update` reads a recreated container's `docker inspect` State (issue 22): a container that
keeps dying is named a crash loop even when its last health probe also failed."""

from ops.update.update import judge_state
from ops.upkeep.container_verdict import CRASH_RESTARTS, NO_HEALTHCHECK_RUN_S


def state(status="running", health=None, restarts=0, exit_code=0, probe_output=""):
    document = {"Status": status, "RestartCount": restarts, "ExitCode": exit_code}
    if health is not None:
        document["Health"] = {"Status": health, "Log": [{"Output": probe_output}] if probe_output else []}
    return document


def test_a_healthy_container_passes():
    assert judge_state(state(health="healthy"), running_s=1)[0] is True


def test_a_crash_loop_is_named_even_when_the_last_probe_failed():
    verdict, why = judge_state(state(status="restarting", health="unhealthy", restarts=CRASH_RESTARTS,
                                     exit_code=1, probe_output="connection refused"), running_s=5)
    assert verdict is False and why.startswith("crash loop") and "exit code 1" in why


def test_a_container_that_exited_once_is_a_crash_even_before_a_restart():
    # What Docker 20.10 reports right after the process exits: health already "unhealthy", no restart yet.
    verdict, why = judge_state(state(status="restarting", health="unhealthy", restarts=0, exit_code=1),
                               running_s=2)
    assert verdict is False and why.startswith("crash loop")
    verdict, why = judge_state(state(status="running", health="unhealthy", restarts=1), running_s=3)
    assert verdict is False and why.startswith("crash loop")


def test_an_unhealthy_container_that_runs_is_unhealthy_with_its_probe_output():
    verdict, why = judge_state(state(health="unhealthy", probe_output="HTTP 500"), running_s=40)
    assert verdict is False and why == "unhealthy: HTTP 500"


def test_starting_is_undecided_and_no_healthcheck_passes_after_a_while():
    assert judge_state(state(health="starting"), running_s=100)[0] is None
    assert judge_state(state(), running_s=NO_HEALTHCHECK_RUN_S - 1)[0] is None
    assert judge_state(state(), running_s=NO_HEALTHCHECK_RUN_S)[0] is True
    assert judge_state(state(status="dead"), running_s=1)[0] is False
