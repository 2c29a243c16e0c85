"""Playlists (ETag), media (Range), thumbnails, the MJPEG mirror, and path safety."""

import os
import time

import pytest

from tests.tv_api.support import MEDIA_URLS, item, write_playlist


def test_playlist_is_served_with_an_etag_and_revalidates_to_304(client, api_settings, display_headers):
    write_playlist(api_settings.storage.root, "tv1", [item("cam1_a", MEDIA_URLS["clip_a"])])
    first = client.get("/api/playlists/tv1", headers=display_headers)
    assert first.status_code == 200
    assert first.json()["items"][0]["logline_id"] == "cam1_a"
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = client.get("/api/playlists/tv1", headers={**display_headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    # The scheduler replaces the file: the ETag changes and the new content is served.
    time.sleep(0.01)
    write_playlist(api_settings.storage.root, "tv1", [item("cam1_b", MEDIA_URLS["clip_b"])])
    changed = client.get("/api/playlists/tv1", headers={**display_headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["items"][0]["logline_id"] == "cam1_b"


@pytest.mark.parametrize(("tv", "detail"), [("tv9", "unknown TV"), ("a" * 40, "unknown TV"),
                                            ("tv1.json", "unknown TV"), ("..%2Fsecrets", "not found"),
                                            ("%00", "not found")])
def test_unknown_or_malformed_tv_is_a_404_that_says_unknown_tv(client, api_settings, display_headers, tv, detail):
    """The TV page shows "unknown TV" on screen: the API says so distinctly (a bad path stays a plain 404)."""
    write_playlist(api_settings.storage.root, "tv1", [])
    response = client.get(f"/api/playlists/{tv}", headers=display_headers)
    assert response.status_code == 404
    assert response.json() == {"detail": detail}
    assert str(api_settings.storage.root) not in response.text


def test_a_playlist_breaking_its_contract_is_503_not_served(client, api_settings, display_headers):
    (api_settings.storage.playlists / "tv2.json").write_text('{"tv": "tv2", "items": "oops"}')
    response = client.get("/api/playlists/tv2", headers=display_headers)
    assert response.status_code == 503
    assert "oops" not in response.text


def test_media_supports_http_range(client, api_settings, display_headers):
    path = api_settings.storage.root / "processed/cam1/20261121T101500Z.mp4"
    whole = client.get(MEDIA_URLS["clip_a"], headers=display_headers)
    assert whole.status_code == 200 and whole.content == path.read_bytes()
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get(MEDIA_URLS["clip_a"], headers={**display_headers, "Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == path.read_bytes()[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{path.stat().st_size}"
    tail = client.get(MEDIA_URLS["clip_a"], headers={**display_headers, "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == path.read_bytes()[-10:]
    beyond = client.get(MEDIA_URLS["clip_a"], headers={**display_headers, "Range": "bytes=999999999-"})
    assert beyond.status_code == 416


@pytest.mark.parametrize("relative", [
    "../secrets/tv_api_users.json", "processed/../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd",
    "state/pipeline_status.json", "processed/cam1/.hidden.mp4", "processed/cam1/missing.mp4",
    "processed/cam1/20261121T101500Z.mp4.part", "processed", "processed//x.mp4", "loglines/x.jpg",
])
def test_media_path_tricks_are_404_without_leaking_paths(client, api_settings, admin_headers, display_headers,
                                                        relative):
    response = client.get(f"/media/{relative}", headers=admin_headers)
    assert response.status_code == 404
    assert response.json() == {"detail": "not found"}
    assert str(api_settings.storage.root) not in response.text
    # A TV token gets nothing either (403 where the client already normalized the path away from /media).
    as_tv = client.get(f"/media/{relative}", headers=display_headers)
    assert as_tv.status_code in (403, 404) and "tv_api_users" not in as_tv.text


def test_symlink_escaping_the_storage_root_is_404(client, api_settings, display_headers, tmp_path):
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(b"secret video")
    link = api_settings.storage.processed / "cam1" / "escape.mp4"
    link.symlink_to(outside)
    (api_settings.storage.state / "notes.mp4").write_bytes(b"state data")
    (api_settings.storage.processed / "cam1" / "to_state.mp4").symlink_to(api_settings.storage.state / "notes.mp4")
    inside = api_settings.storage.processed / "cam1" / "alias.mp4"
    inside.symlink_to(api_settings.storage.root / "processed/cam1/20261121T101500Z.mp4")
    assert client.get("/media/processed/cam1/escape.mp4", headers=display_headers).status_code == 404
    assert client.get("/media/processed/cam1/to_state.mp4", headers=display_headers).status_code == 404
    # A link to other media inside the root is fine.
    assert client.get("/media/processed/cam1/alias.mp4", headers=display_headers).status_code == 200


def test_fallback_assets_are_public(client):
    assert client.get("/media/fallback/loop_silencioso.mp4").status_code == 200
    assert client.get("/media/fallback/placeholder.png").headers["content-type"] == "image/png"
    assert client.get(MEDIA_URLS["clip_a"]).status_code == 401


def test_thumbnail_is_a_jpeg_cached_in_state(client, api_settings, display_headers):
    response = client.get("/thumbnails/processed/cam1/20261121T101500Z.mp4", headers=display_headers)
    assert response.status_code == 200
    assert response.content[:2] == b"\xff\xd8"
    cached = list((api_settings.storage.state / "thumbnails").glob("*.jpg"))
    assert len(cached) == 1
    again = client.get("/thumbnails/processed/cam1/20261121T101500Z.mp4", headers=display_headers)
    assert again.content == response.content
    image = client.get("/thumbnails/fallback/placeholder.png", headers=display_headers)
    assert image.status_code == 200 and image.content[:4] == b"\x89PNG"


def test_an_event_snapshot_is_served_as_a_thumbnail_to_displays_only(client, api_settings, display_headers):
    cover = api_settings.storage.snapshots / "cam1_20261121T101500Z" / "cover.jpg"
    cover.parent.mkdir(parents=True)
    cover.write_bytes(b"\xff\xd8 a scanner snapshot \xff\xd9")
    url = "/thumbnails/snapshots/cam1_20261121T101500Z/cover.jpg"
    response = client.get(url, headers=display_headers)
    assert response.status_code == 200 and response.content == cover.read_bytes()
    assert client.get(url).status_code == 401
    assert client.get("/media/snapshots/cam1_20261121T101500Z/../../analytic/x.jpg",
                      headers=display_headers).status_code == 404


def test_thumbnail_of_an_undecodable_video_is_404(client, api_settings, display_headers):
    (api_settings.storage.processed / "cam1" / "broken.mp4").write_bytes(b"not a video at all")
    response = client.get("/thumbnails/processed/cam1/broken.mp4", headers=display_headers)
    assert response.status_code == 404
    assert client.get("/thumbnails/%2e%2e/x.mp4", headers=display_headers).status_code == 404


def _frames(client, headers, camera, count):
    """Read ``count`` JPEG parts from the MJPEG stream."""
    frames = []
    with client.stream("GET", f"/mirror/{camera}", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("multipart/x-mixed-replace; boundary=vvframe")
        buffer = b""
        for chunk in response.iter_bytes():
            buffer += chunk
            while True:
                start = buffer.find(b"\xff\xd8")
                end = buffer.find(b"\r\n--vvframe", start + 2) if start >= 0 else -1
                if start < 0 or end < 0:
                    break
                frames.append(buffer[start:end])
                buffer = buffer[end + 2:]
            if len(frames) >= count:
                break
    return frames


@pytest.mark.real_clock  # file ages: kernel mtimes against the wall clock
def test_mirror_streams_the_fresh_snapshot_and_the_placeholder_when_stale(app, client, api_settings,
                                                                           display_headers, clips):
    placeholder = app.state.services.placeholder_frame
    snapshots = api_settings.storage.state / "snapshots"
    snapshots.mkdir(parents=True)
    import subprocess

    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(clips["placeholder"]), "-y",
                    str(snapshots / "cam1.jpg")], check=True)
    live = (snapshots / "cam1.jpg").read_bytes()
    frames = _frames(client, display_headers, "cam1", 2)
    assert frames[0] == live and frames[1] == live
    old = time.time() - 3600
    os.utime(snapshots / "cam1.jpg", (old, old))
    assert _frames(client, display_headers, "cam1", 1)[0] == placeholder
    assert _frames(client, display_headers, "nocamera", 1)[0] == placeholder
    (snapshots / "garbage.jpg").write_bytes(b"not a jpeg")
    assert _frames(client, display_headers, "garbage", 1)[0] == placeholder
    assert client.get("/mirror/..%2Fx", headers=display_headers).status_code == 404


def test_the_clock_gives_the_box_zone_to_any_tv_page(client):
    """Public (an unpaired TV's idle screen shows the time too); the zone is the box's setting."""
    before = time.time()
    doc = client.get("/api/clock").json()
    assert doc["timezone"] == "UTC"   # no BOX_TIMEZONE setting yet: the safe default
    assert before * 1000 - 1 <= doc["now_ms"] <= time.time() * 1000 + 1 and doc["now"].endswith("Z")


@pytest.mark.parametrize(("configured", "shown"), [("Europe/Madrid", "Europe/Madrid"), (None, "UTC"),
                                                   ("Mars/Olympus", "UTC"), ("../etc/passwd", "UTC")])
def test_box_timezone_reads_the_setting_and_falls_back_to_utc(configured, shown):
    from types import SimpleNamespace

    from tv_api.boxclock import box_timezone

    assert box_timezone(SimpleNamespace(box_timezone=configured)) == shown


@pytest.mark.real_clock  # the snapshot's kernel mtime against the wall clock
def test_mirror_info_says_when_the_frame_was_taken_and_if_it_is_stale(client, api_settings, display_headers):
    snapshots = api_settings.storage.state / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    assert client.get("/mirror/cam1/info", headers=display_headers).json() == {
        "camera": "cam1", "taken_at": None, "age_seconds": None, "stale": True,
        "stale_after_seconds": api_settings.tv_api_snapshot_stale_seconds}
    (snapshots / "cam1.jpg").write_bytes(b"\xff\xd8fake")
    live = client.get("/mirror/cam1/info", headers=display_headers).json()
    assert live["stale"] is False and live["taken_at"].endswith("Z") and live["age_seconds"] < 5
    old = time.time() - 600
    os.utime(snapshots / "cam1.jpg", (old, old))
    stale = client.get("/mirror/cam1/info", headers=display_headers).json()
    assert stale["stale"] is True and 599 <= stale["age_seconds"] < 700
    assert client.get("/mirror/cam1/info").status_code == 401
    assert client.get("/mirror/bad.name/info", headers=display_headers).status_code == 404
