"""tv.html and tv_mirror.html in a real headless Chromium against a real tv_api on loopback.

Screenshots go to test-artifacts/tv_api/ (git-ignored). "Shows video" is measured, not assumed:
the visible <video> is drawn into a canvas and its mean brightness must be well above black.
"""

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT
from tests.tv_api.support import MEDIA_URLS, ApiProcess, install_media, item, write_playlist
from tv_api.auth.store import TokenRegistry, load_jwt_secret
from tv_api.auth.tokens import TokenService
from vv_core.settings import Settings
from vv_core.storage import StorageLayout

webdriver = pytest.importorskip("selenium.webdriver")
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [pytest.mark.slow,
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


@pytest.fixture(scope="module")
def stack(tmp_path_factory, clips, session_secrets):
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
    yield {"api": api, "root": layout.root, "token": token}
    api.stop()


@pytest.fixture(scope="module")
def browser(stack, tmp_path_factory):
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
    yield driver
    driver.quit()


def state(driver):
    return driver.execute_script(STATE_JS)


def open_tv(driver, stack, tv, player=PLAYER):
    driver.get(f"{stack['api'].base_url}/tv.html?tv={tv}&{player}")
    driver.execute_script("localStorage.clear();")


def assert_shows_video(driver, name):
    brightness = wait_for(lambda: (b := driver.execute_script(BRIGHTNESS_JS)) > 20 and b, what="a bright frame")
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    return brightness


def test_plays_in_order_with_a_real_cross_fade_and_alert_overlay(browser, stack):
    write_playlist(stack["root"], "tv1", [
        item("cam1_a", MEDIA_URLS["clip_a"], seq=1, status="alerta", title="Person at the gate at night"),
        item("cam1_b", MEDIA_URLS["clip_b"], seq=2),
    ])
    open_tv(browser, stack, "tv1", PLAYER.replace("fade=400", "fade=1500"))  # a long fade: easy to sample
    # Record the deepest overlap of the two players' opacity: a cut would stay at 0, a fade rises.
    browser.execute_script("""
      window.vvOverlap = 0;
      (function sample() {
        const [a, b] = document.querySelectorAll('video');
        const oa = parseFloat(getComputedStyle(a).opacity), ob = parseFloat(getComputedStyle(b).opacity);
        window.vvOverlap = Math.max(window.vvOverlap, Math.min(oa, ob));
        requestAnimationFrame(sample);
      })();""")
    first = wait_for(lambda: (s := state(browser))["current"] == MEDIA_URLS["clip_a"] and s, what="clip a")
    assert first["mode"] == "playlist"
    assert first["overlay"] and first["title"] == "Person at the gate at night"
    assert_shows_video(browser, "tv_playing_alert")
    wait_for(lambda: state(browser)["current"] == MEDIA_URLS["clip_b"], what="clip b after clip a")
    # every item has its caption (display.captions defaults to "all"); only alerts are styled as such
    assert state(browser)["overlay"] and state(browser)["title"] == "Person at the gate"
    assert not browser.execute_script("return document.getElementById('overlay').classList.contains('alert')")
    # With a cut the smaller opacity is always 0; during a cross-fade both players are partly visible.
    wait_for(lambda: browser.execute_script("return window.vvOverlap") > 0.2, timeout=5, what="both players visible")
    # ... and it loops back to the first item.
    wait_for(lambda: state(browser)["played"][-3:] == [MEDIA_URLS["clip_a"], MEDIA_URLS["clip_b"],
                                                       MEDIA_URLS["clip_a"]], what="loop to clip a")
    playing = state(browser)
    assert not playing["paused"] and playing["time"] >= 0


def test_playlist_change_is_picked_up_without_cutting_the_current_item(browser, stack):
    write_playlist(stack["root"], "tv2", [item("cam1_a", MEDIA_URLS["clip_a"])])
    open_tv(browser, stack, "tv2")
    wait_for(lambda: state(browser)["current"] == MEDIA_URLS["clip_a"], what="clip a")
    before = state(browser)
    write_playlist(stack["root"], "tv2", [item("curated", MEDIA_URLS["clip_c"])])
    changed = wait_for(lambda: (s := state(browser))["etag"] != before["etag"] and s, what="new etag")
    # The new playlist arrived mid-item: the same item is still on screen and was not restarted.
    assert changed["current"] == MEDIA_URLS["clip_a"] and changed["fades"] == before["fades"]
    wait_for(lambda: state(browser)["current"] == MEDIA_URLS["clip_c"], what="the new item next")


def test_empty_playlist_plays_the_fallback_loop(browser, stack):
    write_playlist(stack["root"], "tvempty", [])
    open_tv(browser, stack, "tvempty")
    fallback = wait_for(lambda: (s := state(browser))["mode"] == "fallback" and s, what="fallback mode")
    assert fallback["current"] == "/media/fallback/loop_silencioso.mp4"
    assert_shows_video(browser, "tv_fallback")
    wait_for(lambda: state(browser)["fades"] >= 2, what="the loop to repeat")
    # Content arriving replaces the loop at once.
    write_playlist(stack["root"], "tvempty", [item("cam1_b", MEDIA_URLS["clip_b"])])
    wait_for(lambda: state(browser)["current"] == MEDIA_URLS["clip_b"], what="content replacing the loop")


def test_broken_items_are_skipped_and_the_screen_never_goes_black(browser, stack):
    write_playlist(stack["root"], "tvbroken", [
        item("good_a", MEDIA_URLS["clip_a"], seq=1),
        item("missing", "/media/processed/cam1/missing.mp4", seq=2),
        item("corrupt", "/media/processed/cam1/corrupt.mp4", seq=3),
        item("good_b", MEDIA_URLS["clip_b"], seq=4),
    ])
    open_tv(browser, stack, "tvbroken")
    wait_for(lambda: MEDIA_URLS["clip_b"] in state(browser)["played"], what="clip b after the broken ones")
    final = state(browser)
    assert "/media/processed/cam1/missing.mp4" in final["skipped"]
    assert "/media/processed/cam1/corrupt.mp4" in final["skipped"]
    assert "/media/processed/cam1/missing.mp4" not in final["played"]
    assert final["played"][:2] == [MEDIA_URLS["clip_a"], MEDIA_URLS["clip_b"]]
    assert_shows_video(browser, "tv_after_broken_items")


def test_mirror_shows_the_stream_and_the_placeholder(browser, stack):
    snapshots = stack["root"] / "state" / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    browser.get(f"{stack['api'].base_url}/tv_mirror.html?camera=cam1")
    wait_for(lambda: browser.execute_script("return window.vvMirror.frames > 0"), what="a mirror frame")
    # No snapshot yet: tv_api streams its "camera offline" frame (640x360).
    assert browser.execute_script("return document.getElementById('stream').naturalWidth") == 640
    browser.save_screenshot(str(ARTIFACTS / "mirror_placeholder.png"))


def test_survives_the_api_going_down_and_coming_back(browser, stack):
    api = stack["api"]
    write_playlist(stack["root"], "tvdown", [item("cam1_a", MEDIA_URLS["clip_a"]),
                                            item("cam1_b", MEDIA_URLS["clip_b"])])
    open_tv(browser, stack, "tvdown")
    wait_for(lambda: state(browser)["fades"] >= 2, what="two items played")
    api.stop()
    try:
        down = wait_for(lambda: (s := state(browser))["apiOk"] is False and s, what="the page noticing")
        time.sleep(3.0)  # several polls and at least one item change while down
        during = state(browser)
        assert during["mode"] in ("playlist", "fallback")
        assert during["fades"] + during["replays"] > down["fades"] + down["replays"] or not during["paused"]
        assert_shows_video(browser, "tv_api_down")
        write_playlist(stack["root"], "tvdown", [item("curated", MEDIA_URLS["clip_c"])])
    finally:
        api.start()  # same port
    wait_for(lambda: state(browser)["current"] == MEDIA_URLS["clip_c"], timeout=30, what="new item after recovery")
    assert state(browser)["apiOk"] is True
    assert_shows_video(browser, "tv_api_back")


def test_mirror_reconnects_after_the_api_comes_back(browser, stack):
    api = stack["api"]
    browser.get(f"{api.base_url}/tv_mirror.html?camera=cam1&probe=700")
    wait_for(lambda: browser.execute_script("return window.vvMirror.frames > 0"), what="a mirror frame")
    api.stop()
    try:
        wait_for(lambda: browser.execute_script("return !document.getElementById('offline').hidden"),
                 what="the offline card")
        browser.save_screenshot(str(ARTIFACTS / "mirror_offline.png"))
    finally:
        api.start()
    wait_for(lambda: browser.execute_script("return window.vvMirror.online && window.vvMirror.connects > 1"),
             timeout=30, what="reconnection")
    assert os.path.exists(ARTIFACTS / "mirror_offline.png")
    assert Path(ARTIFACTS / "tv_playing_alert.png").stat().st_size > 1000
