"""tv.html and tv_mirror.html in a real headless Chromium against a real tv_api on loopback.

Screenshots go to test-artifacts/tv_api/ (git-ignored). "Shows video" is measured, not assumed:
the visible <video> is drawn into a canvas and its mean brightness must be well above black.
"""

import os
import time
from pathlib import Path

from tests.tv_api.browser import (
    ARTIFACTS,
    BROWSER_MARKS,
    PLAYER,
    assert_shows_video,
    open_tv,
    state,
    wait_for,
)
from tests.tv_api.support import MEDIA_URLS, item, write_playlist

pytestmark = BROWSER_MARKS


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
