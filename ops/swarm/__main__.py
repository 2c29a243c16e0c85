"""`python -m ops.swarm [-o FILE] [--registry PREFIX] [-f EXTRA.yml] [SERVICE ...]`: the Swarm stack file.

`docker stack deploy` reads only a subset of the compose format: it refuses docker-compose.yml's
top-level `name`, `mem_limit`, `cpus`, the long `env_file` form and the `depends_on` conditions,
and it ignores `build`, `container_name` and `restart`. So the stack is rendered, not copied:
`docker compose config` merges docker-compose.yml with deploy/swarm/docker-stack.override.yml (and
any EXTRA files), interpolates the environment and drops the services of inactive profiles (the
docker runner's exec targets); then each service is put in Swarm's terms (:func:`swarm_service`).
Output is JSON (a YAML subset): `docker stack deploy -c FILE NAME` reads it as it is.
"""

import argparse
import json
import sys
from pathlib import Path

from ops.update.stack import Project

REPO_ROOT = Path(__file__).resolve().parents[2]
OVERRIDE = Path("deploy/swarm/docker-stack.override.yml")
# What Swarm refuses or ignores in a service; the ones that mean something are translated first.
_NOT_SWARM = ("build", "container_name", "depends_on", "restart", "mem_limit", "memswap_limit", "cpus",
              "env_file", "profiles", "pull_policy", "network_mode")
_RESTART = {"always": "any", "unless-stopped": "any", "on-failure": "on-failure", "no": "none"}


def swarm_service(service: dict, registry: str = "") -> dict:
    """One service of `docker compose config` in Swarm's terms: its limits and restart policy under
    `deploy` (unless set there already), its image from ``registry``, compose-only keys dropped."""
    out = {key: value for key, value in service.items() if key not in _NOT_SWARM and value is not None}
    deploy = dict(out.get("deploy") or {})
    limits = dict((deploy.get("resources") or {}).get("limits") or {})
    if "memory" not in limits and service.get("mem_limit"):
        limits["memory"] = str(service["mem_limit"])
    if "cpus" not in limits and service.get("cpus"):
        limits["cpus"] = str(service["cpus"])
    if "cpus" in limits:
        limits["cpus"] = str(limits["cpus"])
    if limits:
        deploy["resources"] = {**(deploy.get("resources") or {}), "limits": limits}
    if "restart_policy" not in deploy and service.get("restart") in _RESTART:
        deploy["restart_policy"] = {"condition": _RESTART[service["restart"]]}
    out["deploy"] = deploy
    if registry:
        out["image"] = registry + service["image"]
    ports = []
    for port in out.get("ports", []):  # Swarm publishes on every node's address (host_ip is ignored)
        port = {key: value for key, value in port.items() if key != "host_ip"}
        if "published" in port:
            port["published"] = int(port["published"])
        ports.append(port)
    if ports:
        out["ports"] = ports
    return out


def swarm_stack(config: dict, registry: str = "") -> dict:
    """The whole stack file from `docker compose config --format json` output. Names of volumes,
    secrets and networks are left to `docker stack deploy`, which prefixes them with the stack's."""
    def unnamed(section: str) -> dict:
        return {key: {k: v for k, v in (value or {}).items() if k != "name"}
                for key, value in (config.get(section) or {}).items()}
    stack = {"services": {name: swarm_service(service, registry) for name, service in config["services"].items()}}
    for section in ("volumes", "secrets", "networks"):
        if config.get(section):
            stack[section] = unnamed(section)
    return stack


def render(project_dir: Path, extra: list[Path], services: list[str], registry: str = "") -> dict:
    project = Project(project_dir, [project_dir / "docker-compose.yml", project_dir / OVERRIDE, *extra])
    return swarm_stack(json.loads(project.compose("config", "--format", "json", *services)), registry)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.swarm", description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", help="only these services (default: all)")
    parser.add_argument("-o", "--output", type=Path, help="write here (default: stdout)")
    parser.add_argument("-f", "--file", dest="extra", type=Path, action="append", default=[],
                        help="another compose file merged last (site settings)")
    parser.add_argument("--registry", default="", help="image prefix, e.g. registry.example:5000/")
    parser.add_argument("--project-dir", type=Path, default=REPO_ROOT, help="the checkout (default: this one)")
    args = parser.parse_args(argv)
    try:
        stack = render(args.project_dir, args.extra, args.services, args.registry)
    except Exception as exc:  # compose's own message names the file and key
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(stack, indent=2, sort_keys=True) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        from vv_core.atomic import atomic_write_text
        atomic_write_text(args.output, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
