"""The production nginx front: `nginx -t` passes, and a live nginx in front of a live tv_api enforces
auth through auth_request, serves playlists and media itself, and sends the security headers."""

import shutil
import subprocess

import httpx
import pytest

from tests.tv_api.support import MEDIA_URLS, ApiProcess, NginxProcess, item, write_playlist

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed (setup_env.sh)")


def test_nginx_config_passes_nginx_t(tmp_path):
    nginx = NginxProcess(tmp_path / "nginx", tmp_path / "storage", "127.0.0.1:8000")
    (tmp_path / "storage").mkdir()
    result = nginx.test_config()
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_render_refuses_a_missing_value(tmp_path):
    import sys

    from tests.helpers import REPO_ROOT

    result = subprocess.run([sys.executable, str(REPO_ROOT / "nginx" / "render_config.py"), str(tmp_path)],
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=30)
    assert result.returncode == 1 and "VV_STORAGE_ROOT" in result.stderr


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
