"""`vv up` end to end: the real box (tv_api, scheduler watch, orchestrator loop with the real scan,
template summaries, signed LogLines) in one foreground process; a real 1 s clip dropped into input/
reaches a playlist served by tv_api; SIGINT stops everything, exit 0, no process left behind.
Plus the supervisor's restart budget on a service that keeps dying."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.box import Box, Service
from tests.helpers import REPO_ROOT, repo_env


def process_groups() -> dict[int, int]:
    """pid -> process group of every live process (from /proc)."""
    groups = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            groups[int(stat.parent.name)] = int(fields[2])
    return groups


class Stream:
    """The merged log stream of `vv up`, read on a thread."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self.thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            time.sleep(0.2)
        raise AssertionError(f"no line matching {pattern!r} in {timeout} s:\n" + "\n".join(self.lines[-60:]))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg missing")
def test_vv_up_runs_the_box_and_stops_cleanly_on_sigint(tmp_path):
    from tests.orchestrator.test_e2e_real_stages import install_models

    root = tmp_path / "storage"
    env = repo_env(VIDEO_STORAGE_ROOT=str(root), KEY_STORE_PATH=str(tmp_path / "secrets/keys.json"),
                   MODELS_DIR=str(install_models(tmp_path / "models", with_llm=False)),
                   STABLE_WAIT_S="0", RETRY_BACKOFF_S="0", ORCHESTRATOR_INTERVAL="1",
                   TV_API_HOST="127.0.0.1", TV_API_PORT="0", DVR_CAMERAS_FILE=str(tmp_path / "no-cameras.yaml"),
                   LOG_LEVEL="INFO")
    subprocess.run([sys.executable, "-m", "vv_cli.main", "bootstrap"], env=env, cwd=REPO_ROOT, check=True,
                   capture_output=True, timeout=300)
    process = subprocess.Popen([sys.executable, "-m", "vv_cli.main", "up"], env=env, cwd=REPO_ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    stream = Stream(process)
    try:
        port = int(stream.wait_for(r'^\[tv_api\] .*"listening".*"port": (\d+)', 120).group(1))
        pids = {name: int(pid) for name, pid in
                (stream.wait_for(rf"^\[up\] started ({name}) \(pid (\d+)\)", 10).groups()
                 for name in ("tv_api", "scheduler", "orchestrator"))}
        assert not any("capture" in line for line in stream.lines if line.startswith("[up] started"))

        clip = root / "input" / "cam1" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ.mp4")
        clip.parent.mkdir(parents=True, exist_ok=True)
        part = clip.with_name(clip.name + ".part")
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10",
                        "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4", str(part)],
                       check=True, timeout=60)
        os.replace(part, clip)

        deadline = time.monotonic() + 300
        items: list[dict] = []
        while time.monotonic() < deadline and not items:
            for playlist in (root / "playlists").glob("*.json"):
                items += json.loads(playlist.read_text()).get("items", [])
            time.sleep(1)
        assert items, "no playlist item within 300 s:\n" + "\n".join(stream.lines[-80:])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert json.load(response) == {"status": "ok"}
        assert any(line.startswith("[orchestrator] ") for line in stream.lines)
        assert any(line.startswith("[scheduler] ") for line in stream.lines)
        assert any(line.startswith("[orchestrator] ") and '"message": "progress"' in line
                   and '"task": "orchestrate"' in line for line in stream.lines)   # JSON progress off a terminal
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
        stream.thread.join(timeout=10)
    assert code == 0, "\n".join(stream.lines[-40:])
    assert stream.lines[-1] == "[up] stopped"
    assert not any("Traceback" in line for line in stream.lines), "\n".join(stream.lines)
    left = {pid: group for pid, group in process_groups().items() if group in pids.values()}
    assert left == {}, f"processes left behind: {left}"


def test_a_dying_service_is_restarted_within_its_budget_then_the_box_stops(tmp_path):
    marker = tmp_path / "starts"
    dying = Service("flaky", [sys.executable, "-c",
                              f"open({str(marker)!r}, 'a').write('x'); print('bye'); raise SystemExit(3)"])
    steady = Service("steady", [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"])
    lines: list[str] = []

    class Out:
        def write(self, text: str) -> None:
            lines.append(text)

        def flush(self) -> None:
            pass

    box = Box([steady, dying], out=Out(), budget=2, window_s=60, backoff_s=0.05, grace_s=5)
    started = time.monotonic()
    assert box.run(poll_s=0.05) == 1
    assert time.monotonic() - started < 30
    assert marker.read_text() == "xxx"          # first start + 2 restarts, then the budget is spent
    text = "".join(lines)
    assert "[flaky] bye" in text and "[steady] up" in text
    assert "flaky exited with code 3 and its restart budget is spent (2 restarts in 60 s)" in text
    steady_pid = int(re.search(r"started steady \(pid (\d+)\)", text).group(1))
    assert steady_pid not in process_groups()   # the healthy service was stopped with the box


def test_sigterm_stops_every_service_and_exits_zero(tmp_path):
    steady = [Service(name, [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"])
              for name in ("a", "b")]
    with open(os.devnull, "w") as devnull:
        box = Box(steady, out=devnull, grace_s=5)
        threading.Timer(1.0, box.request_stop).start()
        started = time.monotonic()
        assert box.run(poll_s=0.05) == 0
    assert time.monotonic() - started < 15
    assert all(item.process is None for item in box.running)
