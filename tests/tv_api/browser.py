"""Shared by the real-browser tests (test_browser*.py): a storage tree with media and a tv_api process
(fixture ``stack``), a headless Chromium paired as a TV (fixture ``browser``, in conftest.py), and
helpers to read the player's state. Screenshots go to test-artifacts/tv_api/ (git-ignored).
"""

import shutil
import time

import pytest

from tests.helpers import REPO_ROOT
from tests.tv_api.support import ApiProcess, install_media
from tv_api.auth.store import TokenRegistry, load_jwt_secret
from tv_api.auth.tokens import TokenService
from vv_cli.settings import Settings
from vv_core.storage import StorageLayout

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
BROWSER_MARKS = [pytest.mark.slow,
                 pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium + chromium-driver needed")]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "tv_api"
PLAYER = "poll=700&fade=400&retry=2500"

BRIGHTNESS_JS = """
const v = document.querySelector('video.on');
if (!v || v.readyState < 2) { return -1; }
const c = document.createElement('canvas'); c.width = 64; c.height = 36;
const g = c.getContext('2d'); g.drawImage(v, 0, 0, 64, 36);
const d = g.getImageData(0, 0, 64, 36).data; let s = 0;
for (let i = 0; i < d.length; i += 4) { s += d[i] + d[i + 1] + d[i + 2]; }
return s / (d.length / 4 * 3);
"""
STATE_JS = """
const s = window.vvTv; const v = document.querySelector('video.on');
return s && {mode: s.mode, played: s.played.slice(), skipped: s.skipped.slice(), fades: s.fades,
  etag: s.etag, apiOk: s.apiOk, paired: s.paired, replays: s.replays,
  current: s.current && s.current.url, time: v ? v.currentTime : -1, paused: v ? v.paused : true,
  src: v ? v.dataset.url : null, overlay: !document.getElementById('overlay').hidden,
  title: document.getElementById('overlay-title').textContent};
"""


def wait_for(predicate, timeout=25.0, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value {last!r}")


def start_stack(tmp_path_factory, clips, session_secrets):
    """A storage tree with media, a tv_api process, and a device token for the TVs."""
    base = tmp_path_factory.mktemp("browser")
    layout = StorageLayout(base / "storage")
    layout.ensure()
    install_media(layout.root, clips)
    (layout.processed / "cam1" / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    secrets_dir = base / "secrets"
    shutil.copytree(session_secrets, secrets_dir)
    settings = Settings(video_storage_root=layout.root, tv_api_secrets_dir=secrets_dir)
    token, _ = TokenService(load_jwt_secret(settings), TokenRegistry(secrets_dir)).issue_device_token("tv", 86400)
    api = ApiProcess({"VIDEO_STORAGE_ROOT": str(layout.root), "TV_API_SECRETS_DIR": str(secrets_dir),
                      "TV_API_COOKIE_SECURE": "false", "TV_API_MIRROR_FPS": "5"}, base / "api.log").start()
    return {"api": api, "root": layout.root, "token": token}


def start_browser(stack, tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--autoplay-policy=no-user-gesture-required", "--window-size=640,360",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    # Pair once: the token in the fragment becomes an httponly cookie for the whole module.
    driver.get(f"{stack['api'].base_url}/tv.html?tv=pairing&{PLAYER}#token={stack['token']}")
    wait_for(lambda: driver.execute_script("return window.vvTv && window.vvTv.paired"), what="pairing")
    assert "token" not in driver.current_url  # the token left the address bar
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return driver


def state(driver):
    return driver.execute_script(STATE_JS)


def open_tv(driver, stack, tv, player=PLAYER):
    driver.get(f"{stack['api'].base_url}/tv.html?tv={tv}&{player}")
    driver.execute_script("localStorage.clear();")


def assert_shows_video(driver, name):
    brightness = wait_for(lambda: (b := driver.execute_script(BRIGHTNESS_JS)) > 20 and b, what="a bright frame")
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    return brightness


