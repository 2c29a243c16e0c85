"""/status: the system's health from real signals, in the blueprint's shape.

Signals: the orchestrator's state/pipeline_status.json, free space on the storage root, the model
pointer <MODELS_DIR>/.current_model_info.json, DVR reachability (TCP connect, or a fresh snapshot),
the scheduler's build heartbeat and snapshot freshness, and container health through the Docker SDK
when a Docker socket is present. Each check says ok / degraded / failed with a one-line detail (no
filesystem paths), or not_configured for a part this box does not use (no camera: no DVR check);
not_configured never makes the box DEGRADED.
"""

import json
import logging
import shutil
import socket
import time
from pathlib import Path
from typing import Any

import yaml

from tv_api.settings import TvApiSettings
from vv_core import __version__
from vv_core.jsonlog import utc_timestamp
from vv_core.models import ModelIntegrityError, current_model

OK, DEGRADED, FAILED, NOT_CONFIGURED = "ok", "degraded", "failed", "not_configured"
REPO_ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("tv_api.status")
PIPELINE_STALE_SECONDS = 900.0  # cron runs every 5 min: three missed runs is a problem
DOCKER_SOCKET = Path("/var/run/docker.sock")
GB = 1024**3


def _check(status: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"status": status, "detail": detail, **extra}


def _newest_mtime(paths) -> float | None:
    newest = None
    for path in paths:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        newest = mtime if newest is None else max(newest, mtime)
    return newest


def read_pipeline_status(settings: TvApiSettings) -> dict[str, Any] | None:
    """The orchestrator's status document, or None when absent or unreadable."""
    path = settings.storage.pipeline_status
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def models_dir(settings: TvApiSettings) -> Path:
    # MODELS_DIR is owned by the model lifecycle (summarize_scene / vv_core.models).
    return Path(getattr(settings, "models_dir", Path("models")))


def model_check(settings: TvApiSettings) -> dict[str, Any]:
    """The LLM pointer and its weights file. The sha256 is verified by whoever loads the model;
    hashing 250 MB on every /status call would make the probe itself a load problem."""
    directory = models_dir(settings)
    try:
        info = current_model(directory, "llm")
    except ModelIntegrityError:
        return _check(DEGRADED, "model pointer is unreadable", model_status="corrupt")
    if info is None:
        return _check(DEGRADED, "no model installed (run: vv model install)", model_status="missing")
    try:
        name, version, weights = info["name"], info["version"], Path(info["path"])
    except (KeyError, TypeError):
        return _check(DEGRADED, "model pointer is incomplete", model_status="corrupt")
    if not (directory / weights).is_file():  # an absolute path in the pointer wins over the join
        return _check(DEGRADED, f"{name} {version}: weights file missing", model_status="missing")
    return _check(OK, f"{name} {version}", model_status="installed", name=name, version=version)


def storage_check(settings: TvApiSettings) -> dict[str, Any]:
    root = settings.storage.root
    try:
        usage = shutil.disk_usage(root)
    except OSError:
        return _check(FAILED, "storage root is not available", free_bytes=0)
    free_gb = usage.free / GB
    status = OK
    if free_gb < settings.tv_api_critical_free_gb:
        status = FAILED
    elif free_gb < settings.tv_api_min_free_gb:
        status = DEGRADED
    return _check(status, f"{free_gb:.1f} GB free of {usage.total / GB:.1f} GB",
                  free_bytes=usage.free, total_bytes=usage.total)


def tcp_reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def cameras_configured(settings: TvApiSettings) -> bool:
    """Does this box record any camera? agent_dvr's rule, read without importing agent_dvr: the
    cameras file's enabled entries, or (no file) the default DVR camera. A file that cannot be
    read counts as configured, so a broken camera setup shows as a fault, never as "not used"."""
    path = Path(settings.dvr_cameras_file)
    if not path.is_absolute() and not path.exists():
        path = REPO_ROOT / path
    if not path.is_file():
        return True
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        cameras = document.get("cameras") or []
        return any(isinstance(c, dict) and c.get("enabled", True) is not False for c in cameras)
    except (OSError, yaml.YAMLError, AttributeError):
        log.warning("cameras file unreadable; reporting cameras as configured")
        return True


def dvr_check(settings: TvApiSettings, now: float, cameras: bool = True) -> dict[str, Any]:
    if not cameras:
        return _check(NOT_CONFIGURED, "no camera configured", snapshot_fresh=None)
    snapshots = settings.storage.camera_snapshots
    newest = _newest_mtime(snapshots.glob("*.jpg")) if snapshots.is_dir() else None
    fresh = newest is not None and now - newest <= settings.tv_api_snapshot_stale_seconds
    if tcp_reachable(settings.dvr_ip, settings.tv_api_dvr_port):
        return _check(OK, f"DVR answers on port {settings.tv_api_dvr_port}", snapshot_fresh=fresh)
    if fresh:
        return _check(OK, "DVR port closed but camera snapshots are fresh", snapshot_fresh=True)
    return _check(FAILED, "DVR unreachable and no fresh snapshot", snapshot_fresh=False)


def _component(status: str, last_activity: float | None, detail: str) -> dict[str, Any]:
    return {"status": status, "detail": detail,
            "last_activity": utc_timestamp(last_activity) if last_activity else None}


def read_heartbeat(settings: TvApiSettings) -> dict[str, Any] | None:
    """tv_scheduler's last successful build ({"built_at_unix", "built_at", "tvs"}), or None."""
    try:
        document = json.loads((settings.storage.scheduler_heartbeat).read_text(encoding="utf-8"))
        float(document["built_at_unix"])
        if not isinstance(document.get("tvs"), list):
            return None
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return document


def scheduler_component(settings: TvApiSettings, now: float) -> dict[str, Any]:
    # Playlists are rewritten only when their content changes: an idle box has old playlist files
    # and a healthy scheduler. Freshness is the scheduler's last successful build.
    heartbeat = read_heartbeat(settings)
    if heartbeat is None:
        return _component(DEGRADED, None, "no playlist build yet (is `vv schedule` running?)")
    built = float(heartbeat["built_at_unix"])
    stale = now - built > settings.tv_api_playlist_stale_seconds
    return _component(DEGRADED if stale else OK, built,
                      "no playlist build for a while" if stale else f"playlists built for {len(heartbeat['tvs'])} TVs")


def pipeline_components(settings: TvApiSettings, now: float, cameras: bool = True) -> dict[str, dict[str, Any]]:
    components: dict[str, dict[str, Any]] = {}
    status_doc = read_pipeline_status(settings)
    path = settings.storage.pipeline_status
    if status_doc is None:
        components["orchestrator"] = _component(DEGRADED, None, "no pipeline status yet")
    else:
        updated = path.stat().st_mtime
        stale = now - updated > PIPELINE_STALE_SECONDS
        queue = status_doc.get("queue_length", 0)
        components["orchestrator"] = _component(
            DEGRADED if stale else OK, updated, f"queue {queue}" + (", status is stale" if stale else "")
        )
        for stage, data in sorted((status_doc.get("stages") or {}).items()):
            runs, errors = data.get("runs", 0), data.get("errors", 0)
            last = data.get("last_success_at")
            components[f"stage_{stage}"] = {
                "status": DEGRADED if runs and errors == runs else OK,
                "detail": f"{runs} runs, {errors} errors", "last_activity": last,
            }
    components["tv_scheduler"] = scheduler_component(settings, now)
    snapshots = settings.storage.camera_snapshots
    newest = _newest_mtime(snapshots.glob("*.jpg")) if snapshots.is_dir() else None
    fresh = newest is not None and now - newest <= settings.tv_api_snapshot_stale_seconds
    if not cameras:
        components["agent_dvr"] = _component(NOT_CONFIGURED, newest, "no camera configured")
    else:
        components["agent_dvr"] = _component(
            OK if fresh else DEGRADED, newest, "snapshots fresh" if fresh else "no fresh snapshot"
        )
    return components


def container_components() -> dict[str, dict[str, Any]]:
    """Health of the compose containers, only when this process can see a Docker socket."""
    if not DOCKER_SOCKET.exists():
        return {}
    try:
        import docker

        client = docker.DockerClient(base_url=f"unix://{DOCKER_SOCKET}", timeout=2)
        containers = client.containers.list(all=True)
    except Exception:  # the SDK raises many types; any of them means "cannot see containers"
        return {"docker": _component(DEGRADED, None, "Docker socket present but not answering")}
    result = {}
    for container in containers:
        state = container.attrs.get("State", {})
        health = (state.get("Health") or {}).get("Status")
        running = state.get("Status") == "running"
        good = running and health in (None, "healthy")
        detail = state.get("Status", "unknown") + (f", {health}" if health else "")
        result[f"container_{container.name}"] = {"status": OK if good else DEGRADED, "detail": detail,
                                                 "last_activity": state.get("StartedAt")}
    return result


def overall(checks: dict[str, dict[str, Any]], components: dict[str, dict[str, Any]]) -> str:
    if checks["video_storage_status"]["status"] == FAILED:
        return "UNHEALTHY"
    statuses = [c["status"] for c in checks.values()] + [c["status"] for c in components.values()]
    return "HEALTHY" if all(s in (OK, NOT_CONFIGURED) for s in statuses) else "DEGRADED"


def build_status(settings: TvApiSettings, started_at: float, api_last_activity: float | None = None) -> dict:
    now = time.time()
    cameras = cameras_configured(settings)
    llm = model_check(settings)
    checks = {
        "dvr_connectivity": dvr_check(settings, now, cameras),
        "video_storage_status": storage_check(settings),
        "llm_model_status": llm,
        # The blueprint's name, kept for dashboards and scripts that read it: the same check
        # (whatever LLM is in use, not only BitNet). Counted once in overall_status.
        "bitnet_model_status": llm,
    }
    components = {"tv_api": _component(OK, api_last_activity or now, "serving")}
    components.update(pipeline_components(settings, now, cameras))
    components.update(container_components())
    return {
        "overall_status": overall(checks, components),
        "system_version": __version__,
        "uptime_seconds": round(now - started_at, 3),
        "timestamp_utc": utc_timestamp(now),
        "components": components,
        "checks": checks,
    }
