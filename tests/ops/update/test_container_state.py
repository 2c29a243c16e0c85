"""One reading of a container's `docker inspect` for `vv update` (the `docker` command) and the
self-monitor (the Docker SDK): the real docker CLI and the real docker-py both talk to one recorded
Engine API endpoint, and container_verdict.inspect_state turns both answers into the same dict and the
same verdicts."""

import shutil
import tempfile
from pathlib import Path

import pytest

from ops.update import stack
from ops.update.stack import StackError
from ops.update.update import judge_state
from ops.upkeep.container_verdict import docker_time, inspect_state, judge
from ops.upkeep.self_monitor import observe
from tests.engine_api_fake import EngineServer, FakeEngine, container_attrs


def recorded(name, status="running", health=None, restarts=0, exit_code=0, probe="", oom=False):
    attrs = container_attrs(name, status=status, health=health, exit_code=exit_code, health_output=probe)
    attrs["RestartCount"] = restarts
    attrs["State"].update(OOMKilled=oom, Paused=status == "paused", FinishedAt="2026-11-21T10:05:00.25Z")
    return attrs


CONTAINERS = {
    "healthy": recorded("healthy", health="healthy"),
    "crash_loop": recorded("crash_loop", "restarting", "unhealthy", restarts=2, exit_code=137, probe="refused"),
    "oom_killed": recorded("oom_killed", "exited", exit_code=137, oom=True),
    "hung": recorded("hung", "paused", "healthy"),
    "unhealthy": recorded("unhealthy", health="unhealthy", probe="HTTP 500"),
    "starting_again": recorded("starting_again", health="starting", restarts=1),
}


@pytest.fixture
def engine(monkeypatch):
    directory = tempfile.mkdtemp(prefix="vv-engine-", dir="/tmp")
    with EngineServer(Path(directory) / "docker.sock", FakeEngine(containers=CONTAINERS)) as server:
        # The docker command `vv update` runs, against the same engine as the SDK (DOCKER_HOST selects it).
        monkeypatch.setenv("DOCKER_HOST", server.base_url)
        monkeypatch.setenv("DOCKER_CONFIG", directory)  # no context or credentials from this box
        yield server
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize("name", sorted(CONTAINERS))
def test_the_docker_command_and_the_sdk_read_the_same_state_and_verdict(engine, name):
    via_cli = stack.container_state(name)
    via_sdk = inspect_state(engine.client().containers.get(name).attrs)
    assert via_cli == via_sdk
    attrs = CONTAINERS[name]
    assert via_cli["ImageId"] == attrs["Image"] and via_cli["RestartCount"] == attrs["RestartCount"]
    assert via_cli["OOMKilled"] == attrs["State"]["OOMKilled"] and via_cli["Status"] == attrs["State"]["Status"]
    now = docker_time(attrs["State"]["StartedAt"]) + 300
    for forgive_start in (True, False):
        verdicts = [judge(state, restart_count=state["RestartCount"], running_s=300, start_period_s=30,
                          forgive_start=forgive_start) for state in (via_cli, via_sdk)]
        assert verdicts[0] == verdicts[1]
    # What each command concludes from it: `vv update`'s verdict and the self-monitor's observation.
    assert judge_state(via_cli, running_s=300) == judge_state(via_sdk, running_s=300)
    assert observe(name, via_cli, now, 30) == observe(name, via_sdk, now, 30)


def test_the_states_are_told_apart(engine):
    update = {name: judge_state(stack.container_state(name), running_s=300) for name in CONTAINERS}
    assert update == {
        "healthy": (True, "running, health healthy, 0 restarts"),
        "crash_loop": (False, "crash loop (restarting, 2 restarts, exit code 137)"),
        "oom_killed": (False, "crash loop (exited, 0 restarts, exit code 137)"),
        "hung": (False, "paused: its processes are frozen (hung)"),
        "unhealthy": (False, "unhealthy: HTTP 500"),
        "starting_again": (None, "running, health starting, 1 restarts"),
    }


def test_a_missing_container_or_an_unreadable_answer_is_a_stack_error(engine):
    with pytest.raises(StackError, match="No such container"):
        stack.container_state("nope")
    with pytest.raises(ValueError, match=r"no State\.Status"):
        inspect_state({"Id": "x", "Image": "sha256:00"})
