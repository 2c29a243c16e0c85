"""The docker runner and the self-monitor against a REAL Docker engine, when one is given.

Set VV_TEST_DOCKER_HOST (e.g. unix:///tmp/vvd.xxx/docker.sock, the deployment engineer's private
dockerd used by `make test-stack`) to run these; they never start dockerd themselves. They create
one throw-away container of their own (named vv-test-probe-*) from a local stack image and remove
it afterwards. Without an engine they skip; the recorded-API tests cover the same SDK paths.
"""

import os
import uuid

import pytest

from ops.upkeep.self_monitor import SelfMonitor
from orchestrator.runners import DockerRunner

ENGINE = os.environ.get("VV_TEST_DOCKER_HOST")
pytestmark = pytest.mark.skipif(not ENGINE, reason="no Docker engine given (set VV_TEST_DOCKER_HOST)")


@pytest.fixture
def probe():
    import docker

    try:
        client = docker.DockerClient(base_url=ENGINE, timeout=120)
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.skip(f"Docker engine at {ENGINE} does not answer: {exc}")
    wanted = os.environ.get("VV_TEST_DOCKER_IMAGE")
    images = [tag for image in client.images.list() for tag in image.tags]
    image = wanted or next((t for t in images if t.startswith("vv-video-ai/logline_writer")), None)
    if image is None:
        pytest.skip("no vv-video-ai stack image in this engine (build it with make test-stack)")
    name = f"vv-test-probe-{uuid.uuid4().hex[:8]}"
    container = client.containers.run(image, entrypoint=["sleep"], command=["600"], name=name, detach=True,
                                      labels={"vv.test": "orchestrator"})
    try:
        yield client, container
    finally:
        container.remove(force=True)
        client.close()


@pytest.mark.slow
def test_docker_runner_execs_vv_in_a_real_container(probe, settings):
    client, container = probe
    runner = DockerRunner(client, {"version": container.name}, settings.storage.root, "/data")
    result = runner.run("version", [], timeout_s=60)
    assert result.ok, result.stderr
    assert result.stdout.strip()
    missing = DockerRunner(client, {"version": "vv-test-no-such"}, settings.storage.root, "/data").run(
        "version", [], timeout_s=10)
    assert missing.infrastructure_error == "container vv-test-no-such not found"


@pytest.mark.slow
def test_self_monitor_restarts_a_really_exited_container(probe, settings):
    client, container = probe
    container.stop(timeout=1)
    configured = settings.model_copy(update={
        "self_monitor_containers": container.name, "self_monitor_start_period_s": 0.0,
        "self_monitor_backoff_s": 0.0})
    reports = [SelfMonitor(configured, client).check() for _ in range(3)]
    assert [r.failing.get(container.name) for r in reports] == [1, 2, 3]
    assert reports[-1].restarted == [container.name]
    container.reload()
    assert container.status == "running"
