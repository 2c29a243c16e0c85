"""The end of `make demo` (tools/demo_box.sh with DEMO_FOREGROUND=0): the sample camera (a looping
file) recorded by `vv up`, its segments through the real pipeline into a TV's playlist, read with
the TV token the demo issued; the last lines name the storage, console, TV page and PATH step."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.helpers import REPO_ROOT, repo_env
from tests.orchestrator.test_box_up import process_groups


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg missing")
def test_demo_box_starts_a_live_box_with_a_sample_camera(tmp_path):
    from tests.orchestrator.test_e2e_real_stages import install_models

    port = free_port()
    wrapper = tmp_path / "vv"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m vv_cli.main "$@"\n')
    wrapper.chmod(0o755)
    demo_dir = tmp_path / ".demo"
    env = repo_env(VIDEO_STORAGE_ROOT=str(tmp_path / "storage"), KEY_STORE_PATH=str(tmp_path / "secrets/keys.json"),
                   TV_API_SECRETS_DIR=str(tmp_path / "secrets"), MODELS_DIR=str(install_models(
                       tmp_path / "models", with_llm=False)), STABLE_WAIT_S="0", RETRY_BACKOFF_S="0",
                   TV_API_HOST="127.0.0.1", TV_API_PORT=str(port), DVR_SEGMENT_SECONDS="3", DVR_HTTP_PORT="0",
                   DVR_MIN_FREE_MB="0", ORCHESTRATOR_INTERVAL="2", VV=str(wrapper), PYTHON=sys.executable,
                   DEMO_DIR=str(demo_dir), DEMO_FOREGROUND="0")
    subprocess.run([str(wrapper), "bootstrap"], env=env, cwd=REPO_ROOT, check=True, capture_output=True, timeout=300)
    result = subprocess.run(["bash", "tools/demo_box.sh"], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    pid = int((demo_dir / "up.pid").read_text())
    try:
        out = result.stdout
        assert f"storage   {tmp_path / 'storage'}" in out
        assert f"http://127.0.0.1:{port}/console/" in out and f"http://127.0.0.1:{port}/tv.html?tv=tv1" in out
        assert ". .venv/bin/activate" in out and "vv status" in out
        token = (demo_dir / "tv.token").read_text().strip()
        assert token not in out                           # the secret stays in its 0600 file
        assert (demo_dir / "tv.token").stat().st_mode & 0o077 == 0

        deadline = time.monotonic() + 240
        items: list[dict] = []
        while time.monotonic() < deadline and not items:
            for tv in ("tv1", "tv2", "tv3"):    # which TV depends on the hour (day: tv1, night: tv2)
                request = urllib.request.Request(f"http://127.0.0.1:{port}/api/playlists/{tv}",
                                                 headers={"Authorization": f"Bearer {token}"})
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (http on loopback)
                        items += [item for item in json.load(response)["items"] if "demo" in json.dumps(item)]
                except urllib.error.HTTPError as exc:  # 404 until vv up's scheduler writes its first playlists
                    if exc.code != 404:
                        raise
            time.sleep(2)
        log = (demo_dir / "up.log").read_text()
        assert items, "no item from the demo camera on any TV in 240 s:\n" + log[-4000:]
        assert "[capture] " in log and "camera outage" not in log
    finally:
        groups_before = {p for p, g in process_groups().items() if g == pid}
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and pid in process_groups():
            time.sleep(0.2)
    assert pid not in process_groups()
    assert (demo_dir / "up.log").read_text().rstrip().endswith("[up] stopped")
    assert groups_before  # vv up was its own process group
