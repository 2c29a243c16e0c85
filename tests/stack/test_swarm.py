"""The same stack on Docker Swarm (deploy/swarm/), on the stack test's own engine and images: swarm
init, `docker stack deploy` of the rendered stack (Redis, the orchestrator with the queue runner, the
workers), the scanner scaled to 2 replicas, clips dropped into the shared storage, one scan task's
container SIGKILLed while it holds a job: every video still ends with exactly one LogLine and the
chain verifies. The module's fixture leaves the swarm (stack rm, swarm leave, its networks and
volumes removed), so the compose tests after it find the engine as they left it."""

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
from tests.stack.test_stack import sample_video, wait_for

pytestmark = pytest.mark.slow
NAME = "vvswarm"
SERVICES = ("redis", "orchestrator", "scan_worker", "summarize_worker")
CLIPS = 3
TEST_FILE = REPO_ROOT / "tests/stack/docker-stack.stack-test.yml"


class Swarm:
    def __init__(self, stack, root: Path) -> None:
        self.engine = stack.engine
        self.root = root

    def docker(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        return self.engine.docker(*args, timeout=timeout, check=check)

    def replicas(self) -> dict[str, str]:
        out = self.docker("service", "ls", "--format", "{{.Name}} {{.Replicas}}").stdout
        return dict(line.split(" ", 1) for line in out.splitlines() if line.strip())

    def converged(self, **want: int) -> bool:
        running = self.replicas()
        return all(running.get(f"{NAME}_{name}", "").startswith(f"{count}/{count}") for name, count in want.items())

    def containers(self, service: str) -> list[str]:
        out = self.docker("ps", "-q", "--no-trunc", "--filter", f"label=com.docker.swarm.service.name={NAME}_{service}")
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
    env = repo_env(VIDEO_STORAGE_ROOT=str(storage), MODELS_DIR=str(models), KEY_STORE_PATH=str(key_store),
                   CHECKPOINT_KEY_STORE_PATH=str(checkpoint_key_store), VV_VERSION=VERSION)
    stack_file = root / "stack.json"
    render = subprocess.run([sys.executable, "-m", "ops.swarm", "-f", str(TEST_FILE), "-o", str(stack_file),
                             *SERVICES], capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120,
                            check=False)
    assert render.returncode == 0, render.stderr
    swarm = Swarm(stack, root)
    swarm.storage, swarm.key_store = storage, key_store
    try:
        if swarm.docker("info", "-f", "{{.Swarm.LocalNodeState}}").stdout.strip() != "inactive":
            swarm.docker("swarm", "leave", "--force", timeout=120)  # an earlier session that never left
        # Own ports (a second engine on the box may run a swarm too): control plane and VXLAN.
        swarm.docker("swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", f"127.0.0.1:{free_port()}",
                     "--data-path-port", str(free_udp_port()), timeout=120)
        node = swarm.docker("info", "-f", "{{.Swarm.NodeID}}").stdout.strip()
        swarm.docker("node", "update", "--label-add", "vv-storage=true", node)
        # Images are the engine's own (no registry in the test): never ask one for a digest.
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
        subprocess.run(["chown", "-R", f"{os.getuid()}:{os.getgid()}", str(root)], check=False)
        shutil.rmtree(root, ignore_errors=True)


def free_udp_port() -> int:
    """A free UDP port in the range Swarm allows for its VXLAN data path (1024-49151)."""
    import random
    import socket

    for port in random.sample(range(20000, 49151), 50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, contextlib.suppress(OSError):
            sock.bind(("0.0.0.0", port))  # noqa: S104 (a probe: VXLAN binds every address)
            return port
    raise AssertionError("no free UDP port for the swarm's data path")


def drop_clips(storage: Path, count: int) -> list[str]:
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
                        "-metadata", f"comment=swarm clip {index}", str(part)], check=True, timeout=60)
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
