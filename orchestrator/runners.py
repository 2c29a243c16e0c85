"""Runners: how a stage command is executed (DESIGN.md "Runners").

* :class:`LocalRunner` — the stage CLI as a subprocess of this Python environment, in its own
  process group with a timeout; on timeout the whole group is SIGKILLed. The child also gets
  ``PR_SET_PDEATHSIG=SIGKILL`` so that if the orchestrator itself is killed, no orphaned stage keeps
  running and races the next run on the same video.
* :class:`DockerRunner` — ``exec_run`` through the Docker SDK into the long-running stage container;
  the command is wrapped in coreutils ``timeout -s KILL`` inside the container (the exec API has no
  timeout of its own) and host paths are mapped to the container's mount of the storage root.

Both return a :class:`StageResult`; classifying it is :mod:`orchestrator.failures`' job.
"""

import contextlib
import ctypes
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from orchestrator.settings import PipelineSettings
from orchestrator.stages import LOGLINE, RUN_BY_ORCHESTRATOR, SCAN

PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class StageResult:
    command: str                 # "scan", "summarize", "logline", "schedule"
    exit_code: int | None        # None when the command could not be run at all
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    infrastructure_error: str | None = None   # could not run: container down, engine unreachable …
    container: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and self.infrastructure_error is None

    def output_paths(self) -> list[str]:
        return [line.strip() for line in self.stdout.splitlines() if line.strip()]

    def error_line(self) -> str:
        """The stage's one-line reason (last non-empty stderr line), without the 'error: ' prefix."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        if not lines:
            return ""
        last = lines[-1]
        return last[len("error: "):] if last.startswith("error: ") else last


class Runner(Protocol):
    name: str

    def run(self, command: str, args: list[str], timeout_s: float) -> StageResult: ...


def _load_prctl():  # pragma: no cover - only absent on non-Linux platforms
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def _die_with_parent() -> None:
    """preexec_fn: the kernel SIGKILLs the stage when the orchestrator dies."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def default_vv_command() -> list[str]:
    return [sys.executable, "-m", "vv_cli.main"]


class LocalRunner:
    name = "local"

    def __init__(self, vv_command: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.vv_command = vv_command or default_vv_command()
        self.env = env

    @classmethod
    def from_settings(cls, settings: PipelineSettings) -> "LocalRunner":
        configured = shlex.split(settings.orchestrator_vv_command or "")
        return cls(configured or None)

    def run(self, command: str, args: list[str], timeout_s: float) -> StageResult:
        argv = [*self.vv_command, command, *args]
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                text=True, errors="replace", start_new_session=True, preexec_fn=_die_with_parent,
                env=self.env,
            )
        except OSError as exc:
            return StageResult(command, None, "", "", time.monotonic() - started,
                               infrastructure_error=f"cannot start {argv[0]}: {exc.strerror or exc}")
        try:
            stdout, stderr = process.communicate(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            # Kill the whole group: a stage may have children (ffmpeg) that would keep files open.
            with contextlib.suppress(ProcessLookupError):  # exited between timeout and kill
                os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            timed_out = True
        return StageResult(command, process.returncode, stdout, stderr, time.monotonic() - started,
                           timed_out=timed_out)


def longest_run_s(settings: PipelineSettings) -> float:
    """The longest one stage command may run: a scan or logline batch gets its stage's timeout once
    per video. (The Docker client's HTTP timeout must outlast it, or a long batch would look like a
    dead engine.)"""
    batched = (SCAN, LOGLINE)
    return max(*(spec.timeout_s(settings) * settings.orchestrator_scan_batch for spec in batched),
               *(spec.timeout_s(settings) for spec in RUN_BY_ORCHESTRATOR if spec not in batched))


class DockerRunner:
    """``docker exec`` into the stage containers through the Docker SDK."""

    name = "docker"

    def __init__(self, client: Any, containers: dict[str, str], host_root: Path, container_root: Path,
                 vv_command: list[str] | None = None) -> None:
        self.client = client
        self.containers = containers
        self.host_root = Path(host_root).absolute()
        self.container_root = Path(container_root)
        self.vv_command = vv_command or ["vv"]

    @classmethod
    def from_settings(cls, settings: PipelineSettings, client: Any = None) -> "DockerRunner":
        if client is None:  # pragma: no cover - needs a Docker engine; tests pass a client
            import docker

            client = docker.from_env(timeout=int(longest_run_s(settings)) + 60)
        containers = {spec.command: spec.container(settings) for spec in RUN_BY_ORCHESTRATOR}
        return cls(client, containers, settings.storage.root, settings.docker_container_storage_root)

    def to_container_path(self, value: str) -> str:
        """Map a host path under the storage root to the same file inside the container."""
        path = Path(value)
        if path.is_absolute() and path.is_relative_to(self.host_root):
            return str(self.container_root / path.relative_to(self.host_root))
        return value

    def run(self, command: str, args: list[str], timeout_s: float) -> StageResult:
        import docker.errors
        import requests.exceptions

        name = self.containers[command]
        started = time.monotonic()

        def infrastructure(message: str) -> StageResult:
            return StageResult(command, None, "", "", time.monotonic() - started,
                               infrastructure_error=message, container=name)

        argv = ["timeout", "-s", "KILL", str(max(1, int(timeout_s))), *self.vv_command, command,
                *[self.to_container_path(a) for a in args]]
        try:
            container = self.client.containers.get(name)
            if container.status != "running":
                return infrastructure(f"container {name} is {container.status}")
            exit_code, (stdout, stderr) = container.exec_run(argv, demux=True)
        except docker.errors.NotFound:
            return infrastructure(f"container {name} not found")
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            return infrastructure(f"docker engine error for {name}: {type(exc).__name__}: {exc}")
        out = (stdout or b"").decode("utf-8", "replace")
        err = (stderr or b"").decode("utf-8", "replace")
        # Paths printed by the stage are container paths: map them back for the orchestrator.
        out = out.replace(str(self.container_root) + "/", str(self.host_root) + "/")
        # 137 from `timeout -s KILL` and from the OOM killer look the same: both are transient.
        return StageResult(command, exit_code, out, err, time.monotonic() - started, container=name)


def build_runner(settings: PipelineSettings) -> Runner:
    if settings.orchestrator_runner == "queue":
        from orchestrator.queue_runner import QueueRunner

        return QueueRunner.from_settings(settings)
    if settings.orchestrator_runner == "docker":
        return DockerRunner.from_settings(settings)
    return LocalRunner.from_settings(settings)
