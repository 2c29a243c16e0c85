"""A second swarm node on the same machine, for tests/stack/test_swarm.py: a network namespace
joined to the host by a veth pair (a /30 of engine.NODE_NET, the manager's end on the host), a
private dockerd inside it (engine.PrivateDockerEngine with ``netns``), and the site registry both
engines pull from (Debian's `docker-registry`, plain HTTP on the manager's veth address).

Everything is undone by :meth:`NodeLink.close` / :meth:`Registry.stop`, also after a failure:
deleting the namespace deletes both veth ends; the one iptables rule added (INPUT from the veth,
for hosts whose INPUT policy is DROP) is deleted by its exact specification.
"""

import contextlib
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.stack.engine import CACHE_ROOT, EngineError, claim_cache


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if check and result.returncode != 0:
        raise EngineError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


class NodeLink:
    """A network namespace and a veth pair: ``host_ip`` on the host, ``node_ip`` inside."""

    def __init__(self) -> None:
        tag = f"{os.getpid() % 100000}{random.randrange(100):02d}"
        self.netns, self.host_if, self.node_if = f"vvnode{tag}", f"vvh{tag}", f"vvn{tag}"
        used = _ip("-4", "route").stdout + _ip("-4", "addr").stdout
        third = next((n for n in random.sample(range(1, 255), 254) if f"10.214.{n}." not in used), None)
        if third is None:
            raise EngineError("no free /30 in 10.214.0.0/16 for the second node's veth")
        self.host_ip, self.node_ip = f"10.214.{third}.1", f"10.214.{third}.2"
        self._rule = ["INPUT", "-i", self.host_if, "-j", "ACCEPT"]
        self._rule_added = False

    def open(self) -> "NodeLink":
        try:
            _ip("netns", "add", self.netns)
            _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.node_if)
            _ip("link", "set", self.node_if, "netns", self.netns)
            _ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
            _ip("link", "set", self.host_if, "up")
            _ip("-n", self.netns, "addr", "add", f"{self.node_ip}/30", "dev", self.node_if)
            _ip("-n", self.netns, "link", "set", self.node_if, "up")
            _ip("-n", self.netns, "link", "set", "lo", "up")
            # Swarm's control plane, gossip and VXLAN between the two ends (a no-op where INPUT accepts).
            subprocess.run(["iptables", "-I", *self._rule], check=True, capture_output=True, timeout=30)
            self._rule_added = True
        except (EngineError, subprocess.SubprocessError):
            self.close()
            raise
        return self

    def close(self) -> None:
        if self._rule_added:
            subprocess.run(["iptables", "-D", *self._rule], check=False, capture_output=True, timeout=30)
            self._rule_added = False
        _ip("netns", "delete", self.netns, check=False)  # takes the veth pair with it
        _ip("link", "delete", self.host_if, check=False)  # (already gone: harmless)


class Registry:
    """Debian's `docker-registry` (distribution 2.x) on ``address:port``. Its blobs are cached
    beside the engines' data-roots (a warm push uploads nothing: the blobs are there already), in
    a temp dir when another run holds that cache."""

    def __init__(self, address: str, port: int) -> None:
        if shutil.which("docker-registry") is None:
            raise EngineError("docker-registry not found (apt-get install docker-registry; in requirements/apt.txt)")
        self.address, self.port = address, port
        self.root = Path(tempfile.mkdtemp(prefix="vv-registry."))
        self._lock = claim_cache(CACHE_ROOT / "registry")
        self.storage = CACHE_ROOT / "registry" if self._lock is not None else self.root / "data"
        self.process: subprocess.Popen | None = None

    @property
    def prefix(self) -> str:
        """The image prefix `python -m ops.swarm --registry` takes."""
        return f"{self.address}:{self.port}/"

    def start(self, timeout: float = 30) -> "Registry":
        config = self.root / "config.yml"
        config.write_text(f"version: 0.1\nlog: {{level: warn}}\n"
                          f"storage: {{filesystem: {{rootdirectory: {self.storage}}}}}\n"
                          f"http: {{addr: '{self.address}:{self.port}'}}\n")
        with (self.root / "registry.log").open("w") as log:
            self.process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EngineError(f"docker-registry exited {self.process.returncode}: {self.log_tail()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"http://{self.prefix}v2/", timeout=2):
                return self
            time.sleep(0.2)
        raise EngineError(f"docker-registry did not answer within {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 10) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((self.root / "registry.log").read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self._lock is not None:
            self._lock.close()
        shutil.rmtree(self.root, ignore_errors=True)
