"""The Swarm deployment (deploy/swarm/): docker-compose.yml + the override, rendered by
`python -m ops.swarm` into a stack file the docker CLI's own stack loader accepts, with the queue
runner's services replicated and bounded. tests/stack/test_swarm.py deploys it for real."""

import json
import os
import subprocess
import sys

import pytest

from ops.swarm.__main__ import swarm_service
from tests.deploy.test_images_and_compose import IN_IMAGE, image_app
from tests.deploy.tools import compose_env, tool
from tests.helpers import REPO_ROOT, repo_env

REGISTRY = "registry.example:5000/"
QUEUE_SERVICES = {"redis", "orchestrator", "scan_worker", "summarize_worker"}


def render(tmp_path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    env = repo_env(**{k: v for k, v in compose_env(tmp_path, **extra).items() if k != "PYTHONPATH"})
    return subprocess.run([sys.executable, "-m", "ops.swarm", *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120, check=False)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("swarm")
    out = tmp / "stack.json"
    result = render(tmp, "--registry", REGISTRY, "-o", str(out))
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    document["x-test-path"] = out
    document["x-test-storage"] = tmp / "storage"
    return document


def test_the_docker_clis_stack_loader_accepts_it(stack, tmp_path):
    # `docker stack config` is the loader `docker stack deploy` runs (no engine needed). The compose
    # file itself is refused by it (`name`, `mem_limit`, `cpus`, ...): hence the rendering.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "VV_"))}
    result = subprocess.run([tool("docker"), "stack", "config", "-c", str(stack["x-test-path"])],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    refused = subprocess.run([tool("docker"), "stack", "config", "-c", str(REPO_ROOT / "docker-compose.yml")],
                             capture_output=True, text=True, env=compose_env(tmp_path), cwd=tmp_path, timeout=60,
                             check=False)
    assert refused.returncode != 0


def test_the_queue_runner_replaces_the_exec_targets(stack):
    services = stack["services"]
    assert set(services) >= QUEUE_SERVICES
    # The docker runner's exec targets are not deployed: workers scan and summarize, the orchestrator logs.
    assert not {"scene_scanner", "scene_summarizer", "logline_writer", "watchtower"} & set(services)
    orchestrator = services["orchestrator"]
    assert orchestrator["environment"]["ORCHESTRATOR_RUNNER"] == "queue"
    assert orchestrator["deploy"]["replicas"] == 1  # the single LogLine writer
    assert {s["source"] for s in orchestrator["secrets"]} == {"logline_keys", "checkpoint_keys"}
    for stage, image in (("scan", "scene_scanner"), ("summarize", "scene_summarizer")):
        worker = services[f"{stage}_worker"]
        assert worker["command"] == ["vv", "worker", "--stage", stage]
        assert worker["image"] == f"{REGISTRY}vv-video-ai/{image}:0.1.0"  # the stage's own image
        assert worker["environment"]["QUEUE_REDIS_URL"] == "redis://redis:6379/0"
        assert worker["deploy"]["placement"]["preferences"] == [{"spread": "node.id"}]
    redis = services["redis"]
    assert redis["deploy"]["endpoint_mode"] == "dnsrr"  # no virtual IP: no IPVS needed
    assert redis["deploy"]["replicas"] == 1
    assert {m["target"]: m["type"] for m in redis["volumes"]} == {"/var/lib/vv/redis": "volume"}
    assert "ports" not in redis  # reachable on the stack's network only
    conf = (REPO_ROOT / "deploy/redis/redis.conf").read_text().splitlines()
    assert {"appendonly yes", "dir /var/lib/vv/redis"} <= set(conf)
    for name in ("redis", "orchestrator"):
        assert services[name]["deploy"]["placement"]["constraints"] == ["node.labels.vv-storage == true"]


def test_every_service_is_bounded_restarted_and_has_no_compose_only_keys(stack):
    for name, service in stack["services"].items():
        deploy = service["deploy"]
        assert {"cpus", "memory"} <= set(deploy["resources"]["limits"]), name
        assert deploy["restart_policy"]["condition"] == "any", name
        assert not {"build", "container_name", "depends_on", "mem_limit", "cpus", "restart", "env_file"} & set(service)
        assert service["image"].startswith(REGISTRY + "vv-video-ai/"), name
    assert "name" not in stack  # the stack's name is `docker stack deploy`'s argument


def test_media_and_state_are_on_the_one_shared_volume(stack, tmp_path):
    for name, service in stack["services"].items():
        data = [m for m in service.get("volumes", []) if m["target"] == "/data"]
        if name != "redis":
            assert [(m["type"], m["source"]) for m in data] == [("volume", "storage")], name
    # A local bind of the storage root by default; NFS with three variables (docs/deployment.md).
    assert stack["volumes"]["storage"]["driver_opts"] == {"type": "none", "o": "bind",
                                                         "device": str(stack["x-test-storage"])}
    out = tmp_path / "nfs.json"
    result = render(tmp_path, "-o", str(out), "orchestrator", VV_STORAGE_TYPE="nfs",
                    VV_STORAGE_OPTIONS="addr=10.0.0.10,rw,nfsvers=4.1", VV_STORAGE_DEVICE=":/srv/vv/storage")
    assert result.returncode == 0, result.stderr
    nfs = json.loads(out.read_text())
    assert nfs["volumes"]["storage"]["driver_opts"] == {"type": "nfs", "o": "addr=10.0.0.10,rw,nfsvers=4.1",
                                                       "device": ":/srv/vv/storage"}
    assert set(nfs["services"]) == {"orchestrator"}


def test_compose_limits_and_restart_become_swarms():
    service = {"image": "vv-video-ai/x:1", "mem_limit": "268435456", "cpus": 0.5, "restart": "always",
               "container_name": "x", "build": {"context": "."}, "depends_on": {"y": {}},
               "ports": [{"mode": "ingress", "host_ip": "127.0.0.1", "target": 8000, "published": "8000"}]}
    assert swarm_service(service, "r:5000/") == {
        "image": "r:5000/vv-video-ai/x:1",
        "deploy": {"resources": {"limits": {"memory": "268435456", "cpus": "0.5"}},
                   "restart_policy": {"condition": "any"}},
        "ports": [{"mode": "ingress", "target": 8000, "published": 8000}]}
    # What the override says under deploy wins over the compose keys.
    own = {"image": "i", "cpus": 0.5, "restart": "always",
           "deploy": {"resources": {"limits": {"cpus": 2}}, "restart_policy": {"condition": "on-failure"}}}
    assert swarm_service(own)["deploy"] == {"resources": {"limits": {"cpus": "2"}},
                                            "restart_policy": {"condition": "on-failure"}}


def test_a_compose_error_is_one_line(tmp_path):
    result = render(tmp_path, "-f", str(tmp_path / "missing.yml"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "missing.yml" in result.stderr


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("swarm-builds")
    result = subprocess.run(
        [tool("docker-compose"), "--project-directory", str(REPO_ROOT), "-f", str(REPO_ROOT / "docker-compose.yml"),
         "-f", str(REPO_ROOT / "deploy/swarm/docker-stack.override.yml"), "config", "--format", "json",
         "redis", "orchestrator"], capture_output=True, text=True, env=compose_env(tmp), cwd=REPO_ROOT, check=True)
    return {name: s["build"] for name, s in json.loads(result.stdout)["services"].items()}


def test_redis_and_the_orchestrator_are_built_by_the_one_recipe(builds):
    assert {build["dockerfile"] for build in builds.values()} == {"deploy/Dockerfile"}
    redis = builds["redis"]["args"]
    assert (redis["APT_PACKAGES"], redis["HEALTH_CHECK"]) == ("redis-server", "redis")
    assert "deploy/redis/redis.conf" in redis["COMMAND"]
    assert (REPO_ROOT / redis["STAGE"] / "redis.conf").is_file()


def test_the_orchestrator_image_runs_logline_and_schedule_itself(builds, tmp_path):
    """With the queue runner the orchestrator runs `vv logline` and `vv schedule --once` as local
    subprocesses: its image carries their code (STAGE_CODE), and `vv orchestrate` is its command."""
    args = builds["orchestrator"]["args"]
    assert args["COMMAND"] == "vv orchestrate --loop"
    app = image_app(tmp_path, args)
    import sysconfig

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VV_", "COV"))}
    env["PYTHONPATH"] = f"{app}:{app / 'vv-core'}:{sysconfig.get_paths()['purelib']}"
    for command in ("orchestrate", "logline", "schedule"):
        result = subprocess.run([sys.executable, "-S", "-c", IN_IMAGE, command, "--help"], capture_output=True,
                                text=True, cwd=app, env=env, timeout=120, check=False)
        assert result.returncode == 0, f"vv {command} --help\n{result.stderr[-2000:]}"


@pytest.mark.parametrize(("image", "stage"), [("scene_scanner", "scan_video"), ("scene_summarizer", "summarize_scene")])
def test_the_stage_images_can_run_their_worker(image, stage, tmp_path):
    """`vv worker` in the scanner and summarizer images (the swarm's workers) imports the pipeline
    settings and the queue besides the stage's own worker code: all of it must be in the image."""
    result = subprocess.run(
        [tool("docker-compose"), "--project-directory", str(REPO_ROOT), "config", "--format", "json", image],
        capture_output=True, text=True, env=compose_env(tmp_path), cwd=REPO_ROOT, check=True)
    args = json.loads(result.stdout)["services"][image]["build"]["args"]
    app = image_app(tmp_path, args)
    import sysconfig

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VV_", "COV"))}
    env["PYTHONPATH"] = f"{app}:{app / 'vv-core'}:{sysconfig.get_paths()['purelib']}"
    code = ("import importlib.util, sys\nassert importlib.util.find_spec('tests') is None\n"
            f"import vv_cli.worker, orchestrator.settings, vv_core.queue_worker, {stage}.worker\n")
    imported = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd=app, env=env,
                              timeout=120, check=False)
    assert imported.returncode == 0, imported.stderr[-2000:]
