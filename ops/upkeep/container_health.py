"""Container healthchecks (Dockerfile HEALTHCHECK): is this stage able to do its job right now?

`python -m ops.upkeep.container_health STAGE` exits 0 when healthy, 1 with one line on stderr naming
the first failed check otherwise. Checks are cheap (no model is loaded, nothing heavy is imported):
the stage's code is importable, the storage directories it writes are writable, and what it needs
at run time is there (key store for LogLines, the model pointer for the summarizer, /healthz for
tv_api). Docker runs it every 30 s, so it must stay well under its 10 s timeout.
"""

import importlib.util
import os
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

from orchestrator import stages
from orchestrator.stages import API, LOGLINE, SCHEDULE, SUMMARIZE, StageSpec
from vv_core.errors import VVError
from vv_core.keystore import load_key_store
from vv_core.settings import CoreSettings


class Unhealthy(Exception):
    """A check failed; the message says which and why (never a secret)."""


def check_module(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise Unhealthy(f"stage code {module!r} is not importable")


def check_writable(settings: CoreSettings, *names: str) -> None:
    layout = settings.storage
    for name in names:
        directory = getattr(layout, name)
        if not directory.is_dir():
            raise Unhealthy(f"storage directory missing: {directory}")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise Unhealthy(f"storage directory not writable by uid {os.getuid()}: {directory}")


def check_key_store(settings: CoreSettings) -> None:
    try:
        load_key_store(settings.key_store_path)
    except VVError as exc:
        raise Unhealthy(str(exc)) from None


def check_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise Unhealthy(f"{what} missing: {path}")


def check_http(url: str, timeout: float = 5.0) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback URL we build)
            if response.status != 200:
                raise Unhealthy(f"{url} answered {response.status}")
    except OSError as exc:
        raise Unhealthy(f"{url} unreachable: {exc}") from None


def check_stage(spec: StageSpec, settings: CoreSettings) -> None:
    """What every stage's container needs: its code importable, the directories it writes writable."""
    check_module(spec.package)
    check_writable(settings, *spec.writes)


def check_redis(_settings: CoreSettings) -> None:
    """The work queue's own Redis (deploy/swarm/) answers PING on its port."""
    import redis  # only the redis image runs this check

    port = int(os.environ.get("VV_REDIS_PORT", "6379"))
    try:
        redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        raise Unhealthy(f"redis on 127.0.0.1:{port} does not answer: {type(exc).__name__}") from None


def check_api(settings: CoreSettings) -> None:
    check_http(f"http://127.0.0.1:{os.environ.get('TV_API_INTERNAL_PORT', '8000')}/healthz")


# What a stage needs beyond its code and its directories, before it can do its job.
EXTRA_CHECKS: dict[str, Callable[[CoreSettings], None]] = {
    SUMMARIZE.command: lambda s: check_file(s.models_dir / ".current_model_info.json", "LLM model pointer"),
    LOGLINE.command: check_key_store,
    SCHEDULE.command: check_key_store,
    API.command: check_api,
}


def _check(spec: StageSpec) -> Callable[[CoreSettings], None]:
    def check(settings: CoreSettings) -> None:
        check_stage(spec, settings)
        EXTRA_CHECKS.get(spec.command, lambda _s: None)(settings)
    return check


CHECKS: dict[str, Callable[[CoreSettings], None]] = {command: _check(spec) for command, spec in stages.ALL.items()}
CHECKS["redis"] = check_redis


def run_check(stage: str, settings: CoreSettings) -> None:
    """Raise Unhealthy (or KeyError for an unknown stage) if ``stage`` cannot work right now."""
    CHECKS[stage](settings)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in CHECKS:
        print(f"usage: container_health {{{','.join(CHECKS)}}}", file=sys.stderr)
        return 2
    try:
        run_check(args[0], CoreSettings())
    except Unhealthy as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    print("healthy")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
