"""A private Docker engine for the stack test: `dockerd` started by hand with its own socket,
pidfile and exec-root (so it never touches a system engine), and a data-root cached under
~/.cache/vv-video-ai/docker/<engine version> so images survive between runs (warm runs are fast).

No default bridge and no IP masquerade: the stack is offline by construction (published ports go
through docker-proxy on loopback). dockerd does manage iptables for its own bridge: where the
host's FORWARD policy is DROP with br_netfilter loaded (any Docker engine that ran before sets it),
container-to-container traffic (nginx → tv_api) needs the ACCEPT rules dockerd adds.
"""

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

CACHE_ROOT = Path(os.environ.get("VV_DOCKER_CACHE", Path.home() / ".cache" / "vv-video-ai" / "docker"))
# The second swarm node's veth link is a /30 in here (tests/stack/node.py); its registry is plain HTTP.
NODE_NET = "10.214.0.0/16"


class EngineError(RuntimeError):
    pass


def engine_version() -> str:
    out = subprocess.run(["dockerd", "--version"], capture_output=True, text=True, check=True).stdout
    return out.split()[2].rstrip(",").split("+")[0]


def claim_cache(cached: Path):
    """Create ``cached`` and lock it for this run (the open lock file, held until closed), or None
    when another run holds it."""
    cached.mkdir(parents=True, exist_ok=True)
    lock = cached.with_name(f"{cached.name}.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    return lock


class PrivateDockerEngine:
    """``netns``: run dockerd in that network namespace (`nsenter --net`: the mount namespace stays
    the host's, cgroups included); ``cache``: the cached data-root's name (None: a throwaway one)."""

    def __init__(self, netns: str | None = None, cache: str | None = "engine",
                 address_pool: str = "10.213.0.0/16") -> None:
        if shutil.which("dockerd") is None:
            raise EngineError("dockerd not found (apt-get install docker.io; make setup does it as root)")
        self.run_dir = Path(tempfile.mkdtemp(prefix="vvd.", dir="/tmp"))  # short: unix socket paths
        self.socket = self.run_dir / "docker.sock"
        self.pidfile = self.run_dir / "dockerd.pid"
        self.log_path = self.run_dir / "dockerd.log"
        self.process: subprocess.Popen | None = None
        self._lock = None
        self.netns, self.address_pool = netns, address_pool
        self.data_root = self._claim_data_root(cache) if cache else self.run_dir / "data"
        self.warm = (self.data_root / "image").is_dir()

    def _claim_data_root(self, cache: str) -> Path:
        """The cached data-root, unless another run holds it: then a throwaway one (cold)."""
        cached = CACHE_ROOT / f"{cache}-{engine_version()}"
        self._lock = claim_cache(cached)
        return cached if self._lock is not None else self.run_dir / "data"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ, DOCKER_HOST=self.host, DOCKER_BUILDKIT="0", **extra)
        env.pop("DOCKER_CONTEXT", None)
        return env

    def docker(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(["docker", *args], capture_output=True, text=True, env=self.env(),
                                timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise EngineError(f"docker {' '.join(args[:3])} failed: {result.stderr.strip()[-2000:]}")
        return result

    def start(self, timeout: float = 60) -> "PrivateDockerEngine":
        log = self.log_path.open("w")
        enter = ["nsenter", f"--net=/run/netns/{self.netns}"] if self.netns else []
        self.process = subprocess.Popen(
            [*enter, "dockerd", "--data-root", str(self.data_root), "--exec-root", str(self.run_dir / "exec"),
             "--pidfile", str(self.pidfile), "-H", self.host, "--ip-masq=false", "--insecure-registry", NODE_NET,
             "--bridge=none", "--log-level=warn", "--default-address-pool", f"base={self.address_pool},size=24"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EngineError(f"dockerd exited {self.process.returncode}: {self.log_tail()}")
            with contextlib.suppress(subprocess.TimeoutExpired):  # a daemon still loading its state
                if self.docker("version", "--format", "{{.Server.Version}}", check=False, timeout=10).returncode == 0:
                    return self
            time.sleep(0.5)
        raise EngineError(f"dockerd did not answer within {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM the dockerd we started (by its PID), SIGKILL if it does not stop."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self._lock is not None:
            self._lock.close()
        # dockerd leaves its exec-root's network namespace bind-mounted after it exits.
        netns = self.run_dir / "exec" / "netns" / "default"
        if os.path.ismount(netns):
            subprocess.run(["umount", "-l", str(netns)], check=False)
        with contextlib.suppress(OSError):
            if self.data_root.is_relative_to(self.run_dir):
                subprocess.run(["rm", "-rf", str(self.data_root)], check=False)  # throwaway root only
        shutil.rmtree(self.run_dir, ignore_errors=True)
