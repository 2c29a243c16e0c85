"""The outside probe's attacks through a real nginx (issue 23), for both renderings of the one
config in nginx/ (auth_request + a cached decision, media from disk): the box's TLS front and the
compose stack's plain front (deploy/nginx/compose.env), each in front of a live tv_api on loopback.
Traversal through public prefixes with un-normalised paths (`curl --path-as-is`), the cache
poisoning that followed, the same under concurrency, broken playlists, the login throttle per
client behind the proxy, and oversized heads."""

import http.client
import json
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tests.tv_api.fronts import CLIP, SUCCESS, TRAVERSALS, DeployNginx, nginx_available, raw_request
from tests.tv_api.support import ADMIN_PASSWORD, ADMIN_USER, MEDIA_URLS, ApiProcess, NginxProcess, item, write_playlist

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not nginx_available(), reason="nginx not installed")]


@dataclass
class Front:
    name: str
    port: int
    tls: bool

    def get(self, path: str, headers: dict | None = None, **kwargs):
        return raw_request(self.port, path, headers, tls=self.tls, **kwargs)


@pytest.fixture(params=["production", "compose"])
def front(request, tmp_path, api_settings, app):
    """tv_api trusting nginx's address (127.0.0.1 here, the service name `nginx` in compose)."""
    root = api_settings.storage.root
    write_playlist(root, "tv1", [item("cam1_a", MEDIA_URLS["clip_a"])])
    api = ApiProcess({"VIDEO_STORAGE_ROOT": str(root), "TV_API_SECRETS_DIR": str(api_settings.tv_api_secrets_dir),
                      "TV_API_COOKIE_SECURE": "true", "TV_API_TRUSTED_PROXIES": "127.0.0.1"},
                     tmp_path / "api.log").start()
    nginx = None
    try:
        if request.param == "production":
            nginx = NginxProcess(tmp_path / "nginx", root, f"127.0.0.1:{api.port}").start()
            yield Front("production", nginx.https_port, tls=True)
        else:
            nginx = DeployNginx(tmp_path / "nginx", root, api.port).start()
            yield Front("compose", nginx.port, tls=False)
    finally:
        if nginx is not None:
            nginx.stop()
        api.stop()


@pytest.fixture
def tv(app) -> dict[str, str]:
    token, _ = app.state.services.tokens.issue_device_token("tv-front", 3600)
    return {"Authorization": f"Bearer {token}"}


def test_traversal_then_a_plain_request_without_a_token_is_refused(front, tv):
    for path in TRAVERSALS:
        answer = front.get(path)
        assert answer.status not in SUCCESS, (front.name, path, answer.status)
        assert b"ftypisom" not in answer.body[:64] and b'"items"' not in answer.body
    # The probe's follow-up: no token at all, right after (the old cached "yes" lived 10 s).
    assert front.get("/api/playlists/tv1").status == 401
    assert front.get("/" + "media/" + CLIP).status == 401
    # A TV's own answers are cached for it only: tokenless, forged or other cookies get nothing.
    assert front.get("/api/playlists/tv1", tv).status == 200
    assert front.get("/media/" + CLIP, {**tv, "Range": "bytes=0-99"}).status == 206
    assert front.get("/media/" + CLIP).status == 401
    assert front.get("/media/" + CLIP, {"Authorization": "Bearer forged"}).status == 401
    assert front.get("/media/" + CLIP, {"Cookie": "vv_display=forged"}).status == 401
    cookie = {"Cookie": "vv_display=" + tv["Authorization"].removeprefix("Bearer ")}
    assert front.get("/media/" + CLIP, cookie).status == 200
    assert front.get("/media/" + CLIP, {"Cookie": "other=1"}).status == 401
    assert front.get("/media/fallback/loop_silencioso.mp4").status == 200  # public stays public


def test_concurrent_traversal_and_legitimate_requests(front, tv):
    """Attackers and TVs at once: no tokenless request ever gets a protected answer, no TV is refused."""
    failures: list[str] = []
    lock = threading.Lock()

    # Each thread is its own client address, as on a LAN (nginx rate-limits per address).
    def attacker(round_: int) -> None:
        for path in (*TRAVERSALS, "/api/playlists/tv1", "/media/" + CLIP):
            status = front.get(path, source=f"127.0.1.{round_}").status
            if status in SUCCESS:
                with lock:
                    failures.append(f"tokenless {path} -> {status} (round {round_})")

    def television(round_: int) -> None:
        for path in ("/api/playlists/tv1", "/media/" + CLIP) * 6:
            status = front.get(path, tv, source=f"127.0.1.{round_}").status
            if status not in SUCCESS:
                with lock:
                    failures.append(f"TV {path} -> {status} (round {round_})")

    with ThreadPoolExecutor(12) as pool:
        jobs = [pool.submit(attacker if i % 2 else television, i) for i in range(24)]
        for job in jobs:
            job.result()
    assert failures == []


def test_front_and_tv_api_agree_on_a_broken_playlist(front, tv, api_settings):
    (api_settings.storage.root / "playlists" / "tv1.json").write_text('{"tv": "tv1", "items": "not a list"}')
    answer = front.get("/api/playlists/tv1", tv)
    assert answer.status == 503, answer.status
    assert json.loads(answer.body) == {"detail": "playlist temporarily unavailable"}


def _login(front: Front, source: str, headers: dict | None = None):
    body = json.dumps({"username": ADMIN_USER, "password": "wrong guess"}).encode()
    return front.get("/api/auth/login", {"Content-Type": "application/json", **(headers or {})},
                     method="POST", body=body, source=source, timeout=60)


def test_login_throttle_counts_each_client_behind_the_proxy(front, api_settings):
    limit = api_settings.tv_api_login_max_failures
    # One client rotating X-Forwarded-For: nginx replaces it with the real address.
    first = [_login(front, "127.0.0.2", {"X-Forwarded-For": f"198.51.100.{i}", "X-Real-IP": f"198.51.100.{i}"})
             for i in range(limit + 1)]
    assert [a.status for a in first] == [401] * limit + [429]
    assert json.loads(first[-1].body)["detail"].startswith("too many failed attempts")  # tv_api's, not nginx's
    # Another client through the same nginx has its own count.
    assert _login(front, "127.0.0.3").status == 401
    right = json.dumps({"username": ADMIN_USER, "password": ADMIN_PASSWORD}).encode()
    assert front.get("/api/auth/login", {"Content-Type": "application/json"}, method="POST", body=right,
                     source="127.0.0.4", timeout=60).status == 200


def test_oversized_request_heads_are_refused_by_nginx(front):
    assert front.get("/healthz", {"X-Filler": "a" * 9000}).status in (400, 431)
    assert front.get("/healthz", {f"X-F{i}": "b" * 1000 for i in range(40)}).status in (400, 431)
    assert front.get("/healthz", {"X-Filler": "a" * 4000}).status == 200


def test_the_mirror_stream_reaches_tv_api_with_its_path(front, tv):
    """The compose front used to strip /mirror/, so the mirror got /cam1 and refused it."""
    if front.tls:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", front.port, timeout=20, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=20)
    try:
        conn.request("GET", "/mirror/cam1", headers=tv)
        response = conn.getresponse()  # headers only: the body is an endless MJPEG stream
        assert response.status == 200
        assert response.getheader("content-type").startswith("multipart/x-mixed-replace")
    finally:
        conn.close()
