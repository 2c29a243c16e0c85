"""Issue 19: the first run after `make demo` shows a playing item on a TV. The whole `make demo`
(bootstrap and .env, both model installs, the sample video through the pipeline, then tools/demo_box.sh
starting `vv up` with the sample camera), run by make in a scratch copy of this checkout with this
test's venv (`-o setup`: no reinstall), then a headless Chromium paired with the token the demo
issued opens the TV page the demo printed and must show a video item, not the idle screen.

The scratch copy links every file of the checkout, so .env, storage/, models/, secrets/ and .demo/
land in the scratch dir and nothing of the checkout is written; HOME is empty, ports are free ones.
One departure from a newcomer's run: summarize gets a longer generation deadline (the shared test box
runs at a high load; on an idle one the sample's summary takes ~10 s).
Screenshot: test-artifacts/tv_api/demo_first_run.png.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.helpers import REPO_ROOT, repo_env
from tests.orchestrator.test_e2e_real_stages import patient_summarize_config
from tests.tv_api.browser import BROWSER_MARKS, PLAYER, assert_shows_video, start_browser, state, wait_for

# slow (Chromium, models, ~1.5 min on the shared box); real_clock: the running box compares segment file
# times (the kernel's) with its clock to decide when a recording is stable, and the whole-box run is the
# most expensive test to repeat in the clock-ahead run, which it would add nothing to (it reads no date).
pytestmark = [*BROWSER_MARKS, pytest.mark.real_clock]
# What `make demo` writes into the checkout: the scratch copy gets its own.
WRITTEN_BY_THE_DEMO = {".env", ".demo", "storage", "models", "secrets", ".venv", "test-artifacts", ".git"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scratch_checkout(target: Path) -> Path:
    """This checkout as links (the code under test), with its own models/ holding the manifest."""
    target.mkdir()
    for entry in REPO_ROOT.iterdir():
        if entry.name not in WRITTEN_BY_THE_DEMO:
            (target / entry.name).symlink_to(entry)
    (target / "models").mkdir()
    (target / "models" / "model_manifest.json").symlink_to(REPO_ROOT / "models" / "model_manifest.json")
    return target


def playlist(base: str, token: str, tv: str) -> list[dict]:
    request = urllib.request.Request(f"{base}/api/playlists/{tv}",  # noqa: S310 (http on loopback)
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (http on loopback)
        return json.load(response)["items"]


def stop(pid: int) -> None:
    """SIGINT to `vv up` (it stops its children), then make sure its process group is gone."""
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(pid, signal.SIGKILL)


def test_the_first_run_after_make_demo_plays_an_item_on_a_tv(tmp_path):
    checkout = scratch_checkout(tmp_path / "checkout")
    (tmp_path / "home").mkdir()
    port = free_port()
    venv = Path(sys.executable).parent.parent
    env = repo_env(HOME=str(tmp_path / "home"), TV_API_HOST="127.0.0.1", TV_API_PORT=str(port),
                   DVR_HTTP_PORT="0", DEMO_FOREGROUND="0",
                   STAGE_ARGS_SUMMARIZE=f"--config {patient_summarize_config(tmp_path)}")
    env.pop("MAKEFLAGS", None)
    started = time.monotonic()
    demo = subprocess.run(["make", "--no-print-directory", "-o", "setup", "demo", f"VENV={venv}"], cwd=checkout,
                          env=env, capture_output=True, text=True, timeout=420, check=False)
    demo_s = time.monotonic() - started
    pid_file = checkout / ".demo" / "up.pid"
    try:
        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
        base, token = f"http://127.0.0.1:{port}", (checkout / ".demo" / "tv.token").read_text().strip()
        # The TV page the demo tells the newcomer to open: the TV that already has the sample's item.
        printed = re.search(rf"TV page +{re.escape(base)}/tv\.html\?tv=(\w+)#token=", demo.stdout)
        assert "vv demo ready" in demo.stdout and printed, demo.stdout[-2000:]
        tv = printed.group(1)
        urls = {item["media_url"] for item in playlist(base, token, tv)}
        assert urls, f"the demo points at {tv}, whose playlist is empty"

        driver = start_browser({"api": SimpleNamespace(base_url=base), "token": token}, _Factory(tmp_path))
        try:
            driver.get(f"{base}/tv.html?tv={tv}&{PLAYER}")
            playing = wait_for(lambda: (s := state(driver))["mode"] == "playlist" and s["current"] in urls and s,
                               timeout=30, what=f"{tv} playing an item of its playlist")
            assert playing["apiOk"]      # read through the api with the cookie pairing left
            assert_shows_video(driver, "demo_first_run")
            assert wait_for(lambda: state(driver)["time"] > 0.5, what="the item's video advancing")
        finally:
            driver.quit()
    finally:
        if pid_file.exists():
            stop(int(pid_file.read_text()))
    print(f"make demo (without setup) took {demo_s:.1f} s")


class _Factory:
    """The little of pytest's tmp_path_factory that start_browser uses (a Chromium profile dir)."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def mktemp(self, name: str) -> Path:
        path = self.base / name
        path.mkdir()
        return path
