"""The same stack on Docker Swarm (deploy/swarm/), on the stack test's own engine and images: swarm
init, `docker stack deploy` of the rendered stack (Redis, the orchestrator with the queue runner, the
workers), the scanner scaled to 2 replicas, clips dropped into the shared storage, one scan task's
container SIGKILLed while it holds a job: every video still ends with exactly one LogLine and the
chain verifies. Then a second node (tests/stack/node.py: a private dockerd in a network namespace,
joined over a veth pair) pulls the scanner's image from the site registry the stack file names
(`ops.swarm --registry`) and scans a clip. The module's fixtures leave the swarm (stack rm, swarm
leave, its networks and volumes removed; the node, its namespace and the registry gone), so the
compose tests after it find the engine as they left it."""

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, repo_env
from tests.stack.conftest import REPORT, VV_UID, free_port, prepare_storage
from tests.stack.node import NodeLink, Registry
from tests.stack.test_stack import sample_video, wait_for

pytestmark = pytest.mark.slow
NAME = "vvswarm"
SERVICES = ("redis", "orchestrator", "scan_worker", "summarize_worker")
CLIPS = 3
TEST_FILE = REPO_ROOT / "tests/stack/docker-stack.stack-test.yml"


class Swarm:
    def __init__(self, stack, root: Path, link: NodeLink, registry: Registry) -> None:
        self.engine = stack.engine
        self.root = root
        self.link, self.registry = link, registry
        self.manager_addr = ""

    def docker(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        return self.engine.docker(*args, timeout=timeout, check=check)

    def replicas(self) -> dict[str, str]:
        out = self.docker("service", "ls", "--format", "{{.Name}} {{.Replicas}}").stdout
        return dict(line.split(" ", 1) for line in out.splitlines() if line.strip())

    def converged(self, **want: int) -> bool:
        running = self.replicas()
        return all(running.get(f"{NAME}_{name}", "").startswith(f"{count}/{count}") for name, count in want.items())

    def containers(self, service: str, engine=None) -> list[str]:
        out = (engine or self.engine).docker("ps", "-q", "--no-trunc", "--filter",
                                             f"label=com.docker.swarm.service.name={NAME}_{service}")
        return out.stdout.split()

    def redis_cli(self, *args: str) -> str:
        (redis,) = self.containers("redis")
        return self.docker("exec", redis, "redis-cli", *args, timeout=30).stdout


@pytest.fixture(scope="module")
def swarm(stack):
    from tests.stack.images import SWARM_OVERRIDE, VERSION, build_images

    timings = REPORT["timings_s"]
    started = time.monotonic()
    # The two images only the swarm has (the stage images are the session's).
    sizes = build_images(stack.engine, timings, SWARM_OVERRIDE, only={"redis", "orchestrator"})
    REPORT["image_sizes_mb"].update({name: size / 1e6 for name, size in sizes.items()})
    root = Path(tempfile.mkdtemp(prefix="vv-swarm."))
    storage, models, key_store, checkpoint_key_store = prepare_storage(root)  # its own chain
    # The manager advertises its end of the second node's veth; the site registry listens there too.
    link, registry = NodeLink().open(), None
    try:
        registry = Registry(link.host_ip, free_port()).start()
    except Exception:
        if registry is not None:
            registry.stop()
        link.close()
        raise
    swarm = Swarm(stack, root, link, registry)
    env = repo_env(VIDEO_STORAGE_ROOT=str(storage), MODELS_DIR=str(models), KEY_STORE_PATH=str(key_store),
                   CHECKPOINT_KEY_STORE_PATH=str(checkpoint_key_store), VV_VERSION=VERSION)
    stack_file = root / "stack.json"
    render = subprocess.run([sys.executable, "-m", "ops.swarm", "-f", str(TEST_FILE), "-o", str(stack_file),
                             "--registry", registry.prefix, *SERVICES], capture_output=True, text=True, env=env,
                            cwd=REPO_ROOT, timeout=120, check=False)
    swarm.storage, swarm.key_store = storage, key_store
    try:
        assert render.returncode == 0, render.stderr
        # The manager has every image already (built here): its names in the registry's terms are
        # tags of those. Only the image node 2 needs is pushed (the second test), the others'
        # pulls fail ("manifest unknown") and the engine takes its local copy.
        for image in registry_images():
            swarm.docker("tag", image, registry.prefix + image)
        if swarm.docker("info", "-f", "{{.Swarm.LocalNodeState}}").stdout.strip() != "inactive":
            swarm.docker("swarm", "leave", "--force", timeout=120)  # an earlier session that never left
        # Own ports (a second engine on the box may run a swarm too): control plane and VXLAN.
        swarm.manager_addr = f"{link.host_ip}:{free_port()}"
        swarm.docker("swarm", "init", "--advertise-addr", swarm.manager_addr, "--listen-addr", swarm.manager_addr,
                     "--data-path-port", str(free_udp_port()), timeout=120)
        node = swarm.docker("info", "-f", "{{.Swarm.NodeID}}").stdout.strip()
        swarm.docker("node", "update", "--label-add", "vv-storage=true", node)
        # Never ask the registry for digests: it holds only what node 2 needs (pushed later).
        deploy = subprocess.run(["docker", "stack", "deploy", "--resolve-image", "never", "--detach=true",
                                 "-c", str(stack_file), NAME], capture_output=True, text=True,
                                env=stack.engine.env(), timeout=300, check=False)
        assert deploy.returncode == 0, deploy.stderr
        try:
            wait_for(lambda: swarm.converged(redis=1, orchestrator=1, scan_worker=1, summarize_worker=1),
                     timeout=180, what="every service running")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {swarm.replicas()}") from None
        timings["swarm init + deploy"] = time.monotonic() - started
        yield swarm
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):  # logs for the artifacts, best effort
            logs = [swarm.docker("service", "logs", "--no-task-ids", "--tail", "40", f"{NAME}_{name}", check=False,
                                 timeout=60) for name in SERVICES]
            (REPO_ROOT / "test-artifacts").mkdir(exist_ok=True)
            (REPO_ROOT / "test-artifacts" / "stack-swarm.log").write_text(
                "\n".join(log.stdout + log.stderr for log in logs)
                + swarm.docker("service", "ls", check=False).stdout
                + swarm.docker("service", "ps", "--no-trunc", f"{NAME}_scan_worker", check=False).stdout)
        swarm.docker("stack", "rm", NAME, check=False, timeout=120)
        with contextlib.suppress(AssertionError):  # leave the swarm whatever happens
            wait_for(lambda: not swarm.docker("ps", "-aq", "--filter", f"label=com.docker.stack.namespace={NAME}",
                                              check=False).stdout.strip(), timeout=120, what="containers gone")
        swarm.docker("swarm", "leave", "--force", check=False, timeout=120)
        for volume in ("redis_data", "storage"):
            swarm.docker("volume", "rm", f"{NAME}_{volume}", check=False)
        swarm.docker("network", "rm", "docker_gwbridge", check=False)  # swarm's bridge, left behind by leave
        for image in registry_images():
            swarm.docker("rmi", registry.prefix + image, check=False)  # the tag only (the cache keeps the image)
        registry.stop()
        link.close()
        subprocess.run(["chown", "-R", f"{os.getuid()}:{os.getgid()}", str(root)], check=False)
        shutil.rmtree(root, ignore_errors=True)


def registry_images() -> list[str]:
    from tests.stack.images import VERSION

    return [f"vv-video-ai/{name}:{VERSION}" for name in ("redis", "orchestrator", "scene_scanner", "scene_summarizer")]


def free_udp_port() -> int:
    """A free UDP port in the range Swarm allows for its VXLAN data path (1024-49151)."""
    import random
    import socket

    for port in random.sample(range(20000, 49151), 50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, contextlib.suppress(OSError):
            sock.bind(("0.0.0.0", port))  # noqa: S104 (a probe: VXLAN binds every address)
            return port
    raise AssertionError("no free UDP port for the swarm's data path")


def drop_clips(storage: Path, count: int, label: str = "swarm") -> list[str]:
    """``count`` distinct clips (the sample remuxed with its own comment: its own sha256), named as
    DVR segments that closed a minute apart, ending now; returns their video ids."""
    folder = storage / "input" / "cam1"
    folder.mkdir(parents=True, exist_ok=True)
    os.chown(folder, VV_UID, VV_UID)
    ids = []
    for index in range(count):
        name = datetime.fromtimestamp(time.time() - 60 * (count - index + 1), UTC).strftime("%Y%m%dT%H%M%SZ")
        target = folder / f"{name}.mp4"
        part = folder / f"{name}.part.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(sample_video()), "-c", "copy",
                        "-metadata", f"comment={label} clip {index}", str(part)], check=True, timeout=60)
        os.chown(part, VV_UID, VV_UID)
        os.replace(part, target)
        ids.append(f"cam1_{name}")
    return ids


def pending_scan_jobs(swarm: Swarm) -> list[tuple[str, str]]:
    """(entry id, consumer) of every scan job a worker holds now (XPENDING of the workers' group:
    id, consumer, idle ms, deliveries per entry)."""
    out = swarm.redis_cli("XPENDING", "vv:jobs:scan", "workers", "-", "+", "10").split()
    if len(out) % 4 or not all(re.fullmatch(r"\d+-\d+", entry) for entry in out[::4]):
        return []  # no group yet (an error line), or nothing pending
    return [(out[i], out[i + 1]) for i in range(0, len(out), 4)]


def test_a_scan_task_killed_mid_job_still_leaves_each_video_logged_once(swarm):
    started = time.monotonic()
    swarm.docker("service", "scale", "--detach", f"{NAME}_scan_worker=2")
    wait_for(lambda: swarm.converged(scan_worker=2), timeout=120, what="2 scan_worker replicas")
    workers = swarm.containers("scan_worker")
    assert len(workers) == 2, workers
    REPORT["timings_s"]["swarm scale to 2"] = time.monotonic() - started

    video_ids = drop_clips(swarm.storage, CLIPS)
    # The consumer is `<hostname>-<pid>`; a task container's hostname is its short id.
    holder = wait_for(lambda: next((c for _, c in pending_scan_jobs(swarm)), None), timeout=120, interval=0.2,
                      what="a scan worker holding a job")
    victim = next(cid for cid in workers if holder.startswith(cid[:12]))
    swarm.docker("kill", "-s", "KILL", victim)
    REPORT["swarm_killed_consumer"] = holder

    logline_dir = swarm.storage / "loglines"
    wait_for(lambda: all((logline_dir / f"{vid}.logline.json").is_file() for vid in video_ids), timeout=300,
             interval=2, what=f"a LogLine for each of {video_ids}: {sorted(p.name for p in logline_dir.glob('*'))}")
    REPORT["timings_s"][f"swarm: {CLIPS} clips to LogLines, one worker killed"] = time.monotonic() - started

    paths = sorted(logline_dir.glob("*.logline.json"))
    assert [path.name for path in paths] == sorted(f"{vid}.logline.json" for vid in video_ids)  # nothing else
    records = [json.loads(path.read_text()) for path in paths]
    assert sorted(record["seq"] for record in records) == list(range(CLIPS))       # each video once
    assert len({record["source_hash"] for record in records}) == CLIPS
    verify = subprocess.run([sys.executable, "-m", "vv_cli.main", "verify", str(logline_dir)], capture_output=True,
                            text=True, timeout=120, check=False, cwd=swarm.root,
                            env=repo_env(VIDEO_STORAGE_ROOT=str(swarm.storage), KEY_STORE_PATH=str(swarm.key_store)))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert not list((swarm.storage / "corrupted").rglob("*.mp4"))
    # The swarm replaced the killed task (restart policy): 2 workers again, the victim not among them.
    wait_for(lambda: swarm.converged(scan_worker=2), timeout=120, what="the killed task replaced")
    assert victim not in swarm.containers("scan_worker")
    assert pending_scan_jobs(swarm) == []


@pytest.fixture(scope="module")
def node2(swarm):
    """A second engine in its own network namespace, joined to the swarm as a worker; the scanner's
    image pushed to the site registry (node 2 pulls it when a task lands there)."""
    from tests.stack.engine import PrivateDockerEngine
    from tests.stack.images import VERSION

    timings = REPORT["timings_s"]
    started = time.monotonic()
    image = swarm.registry.prefix + f"vv-video-ai/scene_scanner:{VERSION}"
    swarm.docker("push", image, timeout=900)
    timings["node 2: push the scanner image"] = time.monotonic() - started
    started = time.monotonic()
    # Its own data-root cache (warm: the image's layers are there, the pull only checks them).
    engine = PrivateDockerEngine(netns=swarm.link.netns, cache="node2", address_pool="10.215.0.0/16")
    node = ""
    try:
        engine.start()
        REPORT["node 2 warm cache"] = engine.warm
        if engine.docker("info", "-f", "{{.Swarm.LocalNodeState}}").stdout.strip() != "inactive":
            engine.docker("swarm", "leave", "--force", timeout=120)  # an earlier session that never left
        token = swarm.docker("swarm", "join-token", "-q", "worker").stdout.strip()
        engine.docker("swarm", "join", "--token", token, "--advertise-addr", swarm.link.node_ip,
                      "--listen-addr", f"{swarm.link.node_ip}:2377", swarm.manager_addr, timeout=120)
        node = engine.docker("info", "-f", "{{.Swarm.NodeID}}").stdout.strip()
        timings["node 2: dockerd start + join"] = time.monotonic() - started
        yield engine, node, image
    finally:
        engine.docker("swarm", "leave", "--force", check=False, timeout=120)
        if node:
            swarm.docker("node", "rm", "--force", node, check=False)
        leftovers = engine.docker("ps", "-aq", check=False).stdout.split()  # the task containers
        # The image stays in node 2's cache under its plain name (a warm pull then moves no layer).
        for leftover in (("rm", "-f", "-v", *leftovers) if leftovers else ("ps", "-q"),
                         ("volume", "rm", f"{NAME}_storage"), ("network", "rm", "docker_gwbridge"),
                         ("tag", image, f"vv-video-ai/scene_scanner:{VERSION}"), ("rmi", image)):
            engine.docker(*leftover, check=False)
        engine.stop()


def test_a_job_runs_on_a_second_node(swarm, node2):
    """The scanner moved to node 2 (a placement constraint): a clip is scanned there (its log has
    the job, in node 2's own engine) and ends with exactly one LogLine in the same chain."""
    engine, node, image = node2
    started = time.monotonic()
    swarm.docker("service", "update", "--detach", "--replicas", "1", "--constraint-add", f"node.id=={node}",
                 f"{NAME}_scan_worker")
    wait_for(lambda: swarm.converged(scan_worker=1) and not swarm.containers("scan_worker")
             and len(swarm.containers("scan_worker", engine)) == 1, timeout=240, interval=1,
             what="the scan worker on node 2 and none on the manager")
    REPORT["timings_s"]["node 2: scanner task pulled and running"] = time.monotonic() - started
    (worker,) = swarm.containers("scan_worker", engine)
    tasks = swarm.docker("service", "ps", "-q", "--filter", "desired-state=running",
                         f"{NAME}_scan_worker").stdout.split()
    assert [swarm.docker("inspect", "-f", "{{.NodeID}}", task).stdout.strip() for task in tasks] == [node]
    # Node 2 pulled the image from the registry the stack file names (this run's address).
    digests = engine.docker("image", "inspect", "-f", "{{json .RepoDigests}}", image).stdout
    assert swarm.registry.prefix + "vv-video-ai/scene_scanner@sha256:" in digests, digests

    started = time.monotonic()
    (video_id,) = drop_clips(swarm.storage, 1, label="node 2")
    logline_dir = swarm.storage / "loglines"
    wait_for(lambda: (logline_dir / f"{video_id}.logline.json").is_file(), timeout=240, interval=2,
             what=f"a LogLine for {video_id}")
    REPORT["timings_s"]["node 2: one clip to its LogLine"] = time.monotonic() - started
    record = json.loads((logline_dir / f"{video_id}.logline.json").read_text())
    log = engine.docker("logs", worker).stderr + engine.docker("logs", worker).stdout
    assert f"job scan:{record['source_hash']}: ok" in log, log[-2000:]
    records = [json.loads(path.read_text()) for path in sorted(logline_dir.glob("*.logline.json"))]
    assert sorted(r["seq"] for r in records) == list(range(CLIPS + 1))  # the node-2 clip once, in the chain
    assert [r["source_hash"] for r in records].count(record["source_hash"]) == 1
    verify = subprocess.run([sys.executable, "-m", "vv_cli.main", "verify", str(logline_dir)], capture_output=True,
                            text=True, timeout=120, check=False, cwd=swarm.root,
                            env=repo_env(VIDEO_STORAGE_ROOT=str(swarm.storage), KEY_STORE_PATH=str(swarm.key_store)))
    assert verify.returncode == 0, verify.stdout + verify.stderr
