"""The production nginx front: `nginx -t` passes, and a live nginx in front of a live tv_api enforces
auth through auth_request, serves playlists and media itself, and sends the security headers."""

import http.server
import shutil
import subprocess
import sys
import threading

import httpx
import pytest

from tests.helpers import REPO_ROOT
from tests.tv_api.fronts import DeployNginx, raw_request
from tests.tv_api.support import MEDIA_URLS, ApiProcess, NginxProcess, item, write_playlist

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed (setup_env.sh)")


def test_nginx_config_passes_nginx_t(tmp_path):
    nginx = NginxProcess(tmp_path / "nginx", tmp_path / "storage", "127.0.0.1:8000")
    (tmp_path / "storage").mkdir()
    result = nginx.test_config()
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_render_refuses_a_missing_value(tmp_path):
    result = subprocess.run([sys.executable, str(REPO_ROOT / "nginx" / "render_config.py"), str(tmp_path)],
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=30)
    assert result.returncode == 1 and "VV_STORAGE_ROOT" in result.stderr


def test_render_refuses_an_unknown_transport(tmp_path):
    result = subprocess.run([sys.executable, str(REPO_ROOT / "nginx" / "render_config.py"), str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=30,
                            env={"PATH": "/usr/bin:/bin", "VV_TLS": "yes", "VV_STORAGE_ROOT": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr == "error: VV_TLS must be on or off, not 'yes'\n"
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_compose_rendering_passes_nginx_t(tmp_path):
    (tmp_path / "storage").mkdir()
    nginx = DeployNginx(tmp_path / "nginx", tmp_path / "storage", 8000)
    result = nginx.test_config()
    assert result.returncode == 0, result.stderr
    server = (tmp_path / "nginx" / "conf" / "conf.d" / "vv_server").read_text()
    assert "ssl" not in server and "return 301" not in server  # plain HTTP, no redirect


@pytest.mark.slow
def test_compose_front_serves_media_from_disk_and_streams_the_mirror_from_its_own_upstream(
        tmp_path, api_settings, app):
    """The compose front is the box's front over plain HTTP: media from the storage root after
    auth_request, the same headers, and /mirror/ to the mirror service (a recording server here)."""
    root = api_settings.storage.root
    write_playlist(root, "tv1", [item("cam1_a", MEDIA_URLS["clip_a"])])
    token, _ = app.state.services.tokens.issue_device_token("tv-front", 3600)
    tv = {"Authorization": f"Bearer {token}"}
    api = ApiProcess({"VIDEO_STORAGE_ROOT": str(root), "TV_API_SECRETS_DIR": str(api_settings.tv_api_secrets_dir)},
                     tmp_path / "api.log").start()
    seen: list[str] = []

    class Mirror(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    mirror = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Mirror)
    threading.Thread(target=mirror.serve_forever, daemon=True).start()
    nginx = None
    try:
        nginx = DeployNginx(tmp_path / "nginx", root, api.port, mirror.server_address[1]).start()
        media = raw_request(nginx.port, MEDIA_URLS["clip_a"], {**tv, "Range": "bytes=0-99"})
        assert media.status == 206 and len(media.body) == 100
        clip = root / "processed/cam1/20261121T101500Z.mp4"
        assert media.body == clip.read_bytes()[:100]
        # nginx's own ETag (mtime-size in hex): the file came from disk here, not through tv_api.
        assert media.headers["etag"] == f'"{int(clip.stat().st_mtime):x}-{clip.stat().st_size:x}"'
        assert media.headers["cache-control"] == "private, max-age=3600"
        assert "content-security-policy" in media.headers
        assert raw_request(nginx.port, MEDIA_URLS["clip_a"]).status == 401
        page = raw_request(nginx.port, "/tv.html")
        assert page.status == 200  # served, not redirected: the stack's front has no TLS port
        assert page.headers["x-frame-options"] == "DENY"
        assert raw_request(nginx.port, "/mirror/cam1", tv).status == 200
        assert raw_request(nginx.port, "/api/playlists/tv1", tv).status == 200
        assert seen == ["/mirror/cam1"]  # the mirror only, with its path; the API stays with tv_api
    finally:
        if nginx is not None:
            nginx.stop()
        mirror.shutdown()
        mirror.server_close()
        api.stop()


@pytest.mark.slow
def test_live_front_enforces_auth_and_serves_files(tmp_path, api_settings, app):
    root = api_settings.storage.root
    write_playlist(root, "tv1", [item("cam1_a", MEDIA_URLS["clip_a"])])
    token, _ = app.state.services.tokens.issue_device_token("tv-front", 3600)
    api = ApiProcess({"VIDEO_STORAGE_ROOT": str(root), "TV_API_SECRETS_DIR": str(api_settings.tv_api_secrets_dir),
                      "TV_API_COOKIE_SECURE": "true"}, tmp_path / "api.log").start()
    nginx = None
    try:
        nginx = NginxProcess(tmp_path / "nginx", root, f"127.0.0.1:{api.port}").start()
        with httpx.Client(base_url=nginx.base_url, verify=False) as front:  # noqa: S501 - self-signed test cert
            tv = {"Authorization": f"Bearer {token}"}
            assert front.get("/api/playlists/tv1").status_code == 401
            assert front.get("/api/playlists/tv1", headers={"Authorization": "Bearer forged"}).status_code == 401
            playlist = front.get("/api/playlists/tv1", headers=tv)
            assert playlist.status_code == 200
            assert playlist.json()["items"][0]["logline_id"] == "cam1_a"
            assert playlist.headers["content-type"] == "application/json"
            for header in ("strict-transport-security", "x-content-type-options", "content-security-policy",
                           "x-frame-options"):
                assert header in playlist.headers, header
            etag = playlist.headers["etag"]
            assert front.get("/api/playlists/tv1", headers={**tv, "If-None-Match": etag}).status_code == 304
            assert front.get("/api/playlists/nope", headers=tv).status_code == 404

            media = front.get(MEDIA_URLS["clip_a"], headers={**tv, "Range": "bytes=0-99"})
            assert media.status_code == 206 and len(media.content) == 100
            assert front.get(MEDIA_URLS["clip_a"]).status_code == 401
            assert front.get("/media/fallback/loop_silencioso.mp4").status_code == 200
            assert front.get("/media/state/pipeline_status.json", headers=tv).status_code == 404
            assert front.get("/media/processed/%2e%2e/%2e%2e/etc/passwd", headers=tv).status_code in (400, 404)

            # Proxied to tv_api, which applies the same policy.
            assert front.get("/status", headers=tv).status_code == 403
            health = front.get("/healthz")
            assert health.json() == {"status": "ok"}
            assert health.headers.get_list("x-frame-options") == ["DENY"]  # once, not twice
            assert front.get("/tv.html").status_code == 200
            plain = httpx.get(f"http://127.0.0.1:{nginx.http_port}/tv.html")
            assert plain.status_code == 301 and plain.headers["location"].startswith("https://")
    finally:
        if nginx is not None:
            nginx.stop()
        api.stop()
