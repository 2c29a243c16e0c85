"""Issue 19, the TV in a real headless Chromium against a real tv_api on loopback: what is written
over the video (caption, clock, box time), the idle screen, the offline service worker (reload while
tv_api is down, recovery without a reload), an unknown TV, and the mirror's stale picture.

Screenshots go to test-artifacts/tv_api/ (git-ignored); two of them are in docs/images/.
http://127.0.0.1 is a secure context for Chromium, so the service worker runs as behind HTTPS.
"""

import os
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.tv_api.browser import (
    ARTIFACTS,
    BRIGHTNESS_JS,
    BROWSER_MARKS,
    assert_shows_video,
    open_tv,
    wait_for,
)
from tests.tv_api.support import MEDIA_URLS, item, write_playlist

pytestmark = BROWSER_MARKS

SCREEN_JS = """
const t = (id) => document.getElementById(id);
const s = window.vvTv;
return {mode: s.mode, current: s.current && s.current.url, apiOk: s.apiOk, offline: s.offline,
  worker: s.worker, problem: s.problem, zone: window.vvScreen.clock.zone, known: window.vvScreen.clock.known,
  overlay: !t('overlay').hidden, alert: t('overlay').classList.contains('alert'),
  title: t('overlay-title').textContent, summary: t('overlay-summary').textContent,
  place: t('overlay-place').textContent, when: t('overlay-when').textContent,
  clock: t('clock').textContent, clockShown: !t('clock').hidden, dot: !t('status-dot').hidden,
  idle: !t('idle').hidden, idleName: t('idle-name').textContent, idleClock: t('idle-clock').textContent,
  idleDate: t('idle-date').textContent, idleMessage: t('idle-message').textContent,
  logo: !t('idle-logo').hidden && t('idle-logo').naturalWidth,
  notice: t('notice').hidden ? '' : t('notice').textContent};
"""
CACHED_JS = """
const done = arguments[arguments.length - 1];
caches.open('vv-tv-v1').then(c => c.keys()).then(ks => done(ks.map(k => new URL(k.url).pathname)),
                                                 () => done([]));
"""


def screen(driver):
    return driver.execute_script(SCREEN_JS)


def spoken(moment: datetime, now: datetime) -> str:
    """What the page must say for ``moment`` (box zone UTC): "Today 14:02" / "Yesterday 23:10"."""
    day = {now.date(): "Today", (now - timedelta(days=1)).date(): "Yesterday"}[moment.date()]
    return f"{day} {moment:%H:%M}"


def test_every_item_shows_title_summary_camera_and_the_box_time(browser, stack):
    now = datetime.now(UTC)
    moment = now - timedelta(minutes=3)
    write_playlist(stack["root"], "tvinfo", [
        item("cam1_a", MEDIA_URLS["clip_a"], seq=1, title="Delivery at the back door",
             summary="A courier leaves two boxes by the back door.", when=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
             who="backdoor"),
    ])
    open_tv(browser, stack, "tvinfo")
    shown = wait_for(lambda: (s := screen(browser))["overlay"] and s["known"] and s, what="a caption")
    assert shown["title"] == "Delivery at the back door"
    assert shown["summary"] == "A courier leaves two boxes by the back door."
    assert shown["place"] == "backdoor"
    assert shown["when"] == spoken(moment, now)   # not "2026-…T…Z"
    assert shown["zone"] == "UTC"                  # from GET /api/clock: the box's zone
    box_now = datetime.now(UTC)
    assert shown["clock"] in {f"{box_now - timedelta(minutes=1):%H:%M}", f"{box_now:%H:%M}"}
    assert shown["clockShown"] and not shown["dot"] and not shown["idle"] and not shown["alert"]
    assert_shows_video(browser, "tv_caption")
    # The same moment in another box zone is formatted in that zone, not the TV's.
    tokyo = browser.execute_script("window.vvScreen.clock.zone = 'Asia/Tokyo';"
                                   "return window.vvScreen.spokenTime(arguments[0]);", moment.isoformat())
    assert tokyo.endswith(moment.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M"))
    browser.execute_script("window.vvScreen.clock.zone = 'UTC';")


def test_captions_follow_the_tvs_display_setting(browser, stack):
    items = [item("cam1_a", MEDIA_URLS["clip_a"], seq=1, status="confirmado", title="Calm"),
             item("cam1_b", MEDIA_URLS["clip_b"], seq=2, status="alerta", title="Alarm")]
    write_playlist(stack["root"], "tvalerts", items, display={"captions": "alerts"})
    open_tv(browser, stack, "tvalerts")
    wait_for(lambda: (s := screen(browser))["current"] == MEDIA_URLS["clip_a"] and s, what="clip a")
    assert not screen(browser)["overlay"]   # not an alert: no caption on this TV
    alarm = wait_for(lambda: (s := screen(browser))["current"] == MEDIA_URLS["clip_b"] and s, what="clip b")
    assert alarm["overlay"] and alarm["alert"] and alarm["title"] == "Alarm"
    write_playlist(stack["root"], "tvnone", items, display={"captions": "none"})
    open_tv(browser, stack, "tvnone")
    wait_for(lambda: screen(browser)["current"] == MEDIA_URLS["clip_b"], what="both played")
    assert not screen(browser)["overlay"]


def test_the_idle_screen_shows_clock_date_name_logo_and_message_over_the_loop(browser, stack):
    shutil.copyfile(stack["root"] / "fallback" / "placeholder.png", stack["root"] / "fallback" / "logo.png")
    write_playlist(stack["root"], "tvidle", [], fallback={
        "name": "Bakery Ruiz", "logo_url": "/media/fallback/logo.png", "message": "Fresh bread every morning"})
    open_tv(browser, stack, "tvidle")
    idle = wait_for(lambda: (s := screen(browser))["mode"] == "fallback" and s["idle"] and s["logo"] and s,
                    what="the idle screen")
    assert idle["current"] == "/media/fallback/loop_silencioso.mp4"   # the silent loop behind it
    assert idle["idleName"] == "Bakery Ruiz" and idle["idleMessage"] == "Fresh bread every morning"
    box_now = datetime.now(UTC)
    assert idle["idleClock"] in {f"{box_now - timedelta(minutes=1):%H:%M}", f"{box_now:%H:%M}"}
    assert str(box_now.year) in idle["idleDate"] or str((box_now - timedelta(days=1)).year) in idle["idleDate"]
    assert not idle["overlay"] and not idle["clockShown"] and not idle["notice"]
    assert_shows_video(browser, "tv_idle_screen")
    # content arriving replaces the idle screen at once
    write_playlist(stack["root"], "tvidle", [item("cam1_b", MEDIA_URLS["clip_b"])])
    back = wait_for(lambda: (s := screen(browser))["current"] == MEDIA_URLS["clip_b"] and s, what="content")
    assert not back["idle"] and back["overlay"]


def test_an_unknown_tv_says_so_on_screen(browser, stack):
    open_tv(browser, stack, "tv9")
    shown = wait_for(lambda: (s := screen(browser))["notice"] and s, what="a notice")
    assert shown["notice"] == 'Unknown TV "tv9": check ?tv= in this page\'s address'
    assert shown["problem"] == "unknown_tv"
    calm = wait_for(lambda: (s := screen(browser))["mode"] == "fallback" and s, what="the idle screen")
    assert calm["idle"] and not calm["dot"]   # the box answers: it is the address that is wrong
    browser.save_screenshot(str(ARTIFACTS / "tv_unknown_tv.png"))


def test_a_reload_during_an_outage_plays_the_last_playlist_and_recovers_by_itself(browser, stack):
    api = stack["api"]
    write_playlist(stack["root"], "tvoffline", [item("cam1_a", MEDIA_URLS["clip_a"], seq=1, title="Kept A"),
                                               item("cam1_b", MEDIA_URLS["clip_b"], seq=2, title="Kept B")])
    open_tv(browser, stack, "tvoffline")
    wait_for(lambda: screen(browser)["worker"] == "ready", what="the service worker")
    # the worker keeps the shell, the playlist and every medium it names
    wanted = {"/tv.html", "/ui/tv/tv.js", "/ui/tv/tv_screen.js", "/ui/tv/tv.css", "/api/playlists/tvoffline",
              MEDIA_URLS["clip_a"], MEDIA_URLS["clip_b"], "/media/fallback/loop_silencioso.mp4"}
    wait_for(lambda: wanted <= set(browser.execute_async_script(CACHED_JS)), timeout=30, what="the cache")
    api.stop()
    try:
        browser.refresh()   # without the worker: "This site can't be reached", until someone reloads
        offline = wait_for(lambda: browser.execute_script("return !!window.vvTv") and (s := screen(browser))["offline"]
                           and s, what="the page from the cache")
        assert offline["dot"]
        playing = wait_for(lambda: (s := screen(browser))["current"] in (MEDIA_URLS["clip_a"], MEDIA_URLS["clip_b"])
                           and s, what="the kept playlist playing")
        assert playing["mode"] == "playlist" and playing["title"] in ("Kept A", "Kept B")
        assert browser.execute_script(BRIGHTNESS_JS) > -1
        assert_shows_video(browser, "tv_offline_reload")
        assert screen(browser)["dot"]
        write_playlist(stack["root"], "tvoffline", [item("curated", MEDIA_URLS["clip_c"], title="Back")])
    finally:
        api.start()   # same port; nobody touches the TV
    back = wait_for(lambda: (s := screen(browser))["current"] == MEDIA_URLS["clip_c"] and s, timeout=40,
                    what="the new playlist after recovery")
    assert back["apiOk"] and not back["offline"] and not back["dot"] and back["title"] == "Back"
    assert_shows_video(browser, "tv_recovered")


def _snapshot(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi", "-i",
                    "testsrc=size=640x360", "-frames:v", "1", "-y", str(path)], check=True, timeout=60)


@pytest.mark.real_clock  # the snapshot's kernel mtime against tv_api's wall clock
def test_the_mirror_names_the_camera_and_says_when_the_picture_is_stale(browser, stack):
    snapshot = stack["root"] / "state" / "snapshots" / "gate.jpg"
    _snapshot(snapshot)
    browser.get(f"{stack['api'].base_url}/tv_mirror.html?camera=gate&info=500")
    mirror = "return {name: document.getElementById('camera-name').textContent, " \
             "time: document.getElementById('frame-time').textContent, " \
             "stale: !document.getElementById('stale').hidden, banner: document.getElementById('stale').textContent," \
             "frames: window.vvMirror.frames, known: window.vvMirror.stale};"
    live = wait_for(lambda: (s := browser.execute_script(mirror))["frames"] > 0 and s["known"] is False and s,
                    what="a live frame")
    taken = datetime.fromtimestamp(snapshot.stat().st_mtime, UTC)
    assert live["name"] == "gate" and live["time"] == f"{taken:%H:%M:%S}" and not live["stale"]
    browser.save_screenshot(str(ARTIFACTS / "mirror_live.png"))
    old = time.time() - 300
    os.utime(snapshot, (old, old))
    stale = wait_for(lambda: (s := browser.execute_script(mirror))["stale"] and s, what="the stale banner")
    when = datetime.fromtimestamp(old, UTC)
    assert stale["banner"] == f"Not live: the last picture is from {when:%H:%M} (5 min ago)"
    assert stale["time"] == f"{when:%H:%M:%S}"
    browser.save_screenshot(str(ARTIFACTS / "mirror_stale.png"))
    os.utime(snapshot)   # fresh again: the banner goes by itself
    wait_for(lambda: not browser.execute_script(mirror)["stale"], what="live again")
