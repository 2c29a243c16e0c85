"""The compose project `vv update` works on, through the `docker compose` and `docker` commands
(the same ones an operator types; DOCKER_HOST selects the engine)."""

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ops.update.inputs import HASH_ARG, LABEL
from ops.upkeep.container_verdict import inspect_state

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


class StackError(RuntimeError):
    """A docker or compose command failed (the message carries the command and its stderr tail)."""


def duration_s(value: str | int | float | None, default: float = 0.0) -> float:
    """A compose duration ("1m30s", "30s", or nanoseconds as a number) in seconds."""
    if value is None or value == "":
        return default
    if isinstance(value, int | float):
        return float(value) / 1e9
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"not a duration: {value!r}")
    return sum(float(number) * _UNIT_S[unit] for number, unit in parts)


def default_compose_command() -> list[str]:
    """`docker-compose` beside this Python or on PATH (the standalone v2 binary), else the plugin."""
    beside = Path(sys.executable).parent / "docker-compose"
    if beside.is_file():
        return [str(beside)]
    if found := shutil.which("docker-compose"):
        return [found]
    return ["docker", "compose"]


@dataclass
class Service:
    name: str
    image: str
    build: dict | None           # compose's rendered build section (context, dockerfile, args)
    start_period_s: float
    container_name: str | None = None


@dataclass
class Project:
    directory: Path
    files: list[Path] = field(default_factory=list)
    name: str | None = None
    compose_command: list[str] = field(default_factory=default_compose_command)
    timeout_s: float = 1800

    def _base(self) -> list[str]:
        command = [*self.compose_command, "--project-directory", str(self.directory)]
        for path in self.files:
            command += ["-f", str(path)]
        if self.name:
            command += ["-p", self.name]
        return command

    def compose(self, *args: str, timeout: float | None = None) -> str:
        return run([*self._base(), *args], timeout or self.timeout_s, cwd=self.directory)

    def services(self) -> dict[str, Service]:
        """Every service of the rendered compose file, in its order (no engine needed)."""
        config = json.loads(self.compose("config", "--format", "json", timeout=120))
        services = {}
        for name, spec in config["services"].items():
            health = spec.get("healthcheck") or {}
            services[name] = Service(name, spec.get("image") or f"{config.get('name', 'project')}-{name}",
                                     spec.get("build"), duration_s(health.get("start_period"), 0.0),
                                     spec.get("container_name"))
        return services

    def build(self, service: Service, inputs_sha256: str) -> None:
        """``docker build`` of the service's rendered build section, the hash as a build arg (→ label).
        Not ``compose build``: recent compose builds only through buildx/bake, which an offline box
        may lack; the plain builder of the engine builds the same recipe with the same args."""
        build = service.build or {}
        context = Path(build["context"])
        command = ["docker", "build", "-q", "-f", str(context / (build.get("dockerfile") or "Dockerfile"))]
        for key, value in (build.get("args") or {}).items():
            command += ["--build-arg", f"{key}={value or ''}"]
        if build.get("target"):
            command += ["--target", build["target"]]
        command += ["--build-arg", f"{HASH_ARG}={inputs_sha256}", "-t", service.image, str(context)]
        run(command, self.timeout_s)

    def recreate(self, service: str, *, force: bool = False) -> None:
        self.compose("up", "-d", "--no-deps", "--no-build", *(["--force-recreate"] if force else []), service,
                     timeout=600)

    def container_id(self, service: str) -> str | None:
        out = self.compose("ps", "-a", "-q", service, timeout=120).split()
        return out[0] if out else None


def run(command: list[str], timeout: float, cwd: Path | None = None) -> str:
    env = dict(os.environ)
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env,
                                check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StackError(f"{' '.join(command[:4])}: {exc}") from None
    if result.returncode != 0:
        raise StackError(f"{' '.join(command[:6])} failed ({result.returncode}): {result.stderr.strip()[-1500:]}")
    return result.stdout


def docker(*args: str, timeout: float = 120) -> str:
    return run(["docker", *args], timeout)


def image_id(reference: str) -> str | None:
    try:
        return docker("image", "inspect", "-f", "{{.Id}}", reference).strip() or None
    except StackError:
        return None


def image_label(reference: str) -> str | None:
    try:
        out = docker("image", "inspect", "-f", "{{json .Config.Labels}}", reference).strip()
    except StackError:
        return None
    return (json.loads(out) or {}).get(LABEL) or None


def container_state(container: str) -> dict:
    """The container's State with its image id and restart count, from `docker inspect`, read by the
    same parser as the self-monitor's (ops.upkeep.container_verdict.inspect_state)."""
    out = docker("inspect", "--type", "container", container)
    try:
        return inspect_state(json.loads(out)[0])
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise StackError(f"docker inspect {container}: unreadable answer: {exc}") from None


def tag(source: str, target: str) -> None:
    docker("tag", source, target)


def registry_prefix(registry: str) -> str:
    """``--registry`` as the prefix of image references: "host:port/" from "host:port",
    "http://host:port/" or "host:port/path" (the same prefix `python -m ops.swarm --registry` takes)."""
    prefix = re.sub(r"^[a-z]+://", "", registry.strip()).strip("/")
    if not prefix or any(c.isspace() for c in prefix):
        raise ValueError(f"not a registry: {registry!r} (expected host:port, e.g. registry.site:5000)")
    return prefix + "/"


def pull(reference: str, timeout: float = 1800) -> None:
    docker("pull", "-q", reference, timeout=timeout)


def untag(reference: str) -> None:
    """Drop a tag (the image stays while another tag or a container holds it)."""
    with contextlib.suppress(StackError):
        docker("image", "rm", reference)
