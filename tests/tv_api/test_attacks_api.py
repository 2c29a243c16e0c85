"""The outside probe's attacks on tv_api alone (issue 23), against a real `python -m tv_api` on
loopback: traversal through public prefixes (directly and through /api/auth/check, which nginx
asks), the login throttle raced and dodged, a removed admin, and clients that do not play fair."""

import asyncio
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.tv_api.fronts import TRAVERSALS, Answer, closed_by_server, raw_request
from tests.tv_api.support import ADMIN_PASSWORD, ADMIN_USER, ApiProcess, write_playlist
from tv_api.auth.proxies import TrustedProxies
from tv_api.auth.store import UserStore
from tv_api.http_limits import MAX_HEAD_BYTES, MAX_HEADERS

pytestmark = pytest.mark.slow


@pytest.fixture
def start_api(api_settings, tmp_path):
    started = []

    def start(**env: str) -> ApiProcess:
        api = ApiProcess({"VIDEO_STORAGE_ROOT": str(api_settings.storage.root),
                          "TV_API_SECRETS_DIR": str(api_settings.tv_api_secrets_dir),
                          "TV_API_COOKIE_SECURE": "false", **env}, tmp_path / f"api{len(started)}.log").start()
        started.append(api)
        return api

    yield start
    for api in started:
        api.stop()


def _login(port: int, password: str, *, source: str | None = None, headers: dict | None = None) -> Answer:
    body = json.dumps({"username": ADMIN_USER, "password": password}).encode()
    return raw_request(port, "/api/auth/login", {"Content-Type": "application/json", **(headers or {})},
                       method="POST", body=body, source=source, timeout=120)


def test_auth_check_decides_on_the_normalised_path(start_api, app, display_headers, admin_headers):
    api = start_api()

    def check(uri: str, headers: dict | None = None) -> int:
        return raw_request(api.port, "/api/auth/check", {"X-Original-URI": uri, **(headers or {})}).status

    # The probe's exact request: a protected file named through the public fallback prefix.
    assert check("/media/fallback/../processed/good.mp4") == 401
    for uri in TRAVERSALS:
        assert check(uri) in (401, 403), uri
    # Decided on what nginx serves: a TV may fetch the normalised media path, never an admin page.
    assert check("/media/fallback/../processed/cam1/a.mp4", display_headers) == 200
    assert check("/ui/x/../../api/playlists/tv1", display_headers) == 200
    assert check("/ui/x/../../status", display_headers) == 403
    assert check("/ui/x/../../status", admin_headers) == 200
    # Paths no server should act on are refused whoever asks.
    for uri in ("/media/fallback/..%2fprocessed/a.mp4", "/media/%00/a.mp4", "/media/fallback/..\\x.mp4",
                "/ui/../../etc/passwd", "/media/fallback/%252e%252e/x.mp4"):
        assert check(uri, admin_headers) == 403, uri
    assert check("/media/fallback/loop_silencioso.mp4") == 200  # the public loop stays public


def test_traversal_forms_never_serve_a_protected_file_directly(start_api, api_settings, display_headers):
    write_playlist(api_settings.storage.root, "tv1", [])
    api = start_api()
    for path in TRAVERSALS:
        for headers in ({}, display_headers):
            answer = raw_request(api.port, path, headers)
            assert answer.status in (400, 401, 403, 404), (path, answer.status)
    assert raw_request(api.port, "/api/playlists/tv1").status == 401
    assert raw_request(api.port, "/api/playlists/tv1", display_headers).status == 200


def test_sixty_concurrent_wrong_passwords_are_throttled_before_hashing(start_api, api_settings):
    api = start_api()
    limit = api_settings.tv_api_login_max_failures
    started = time.monotonic()
    with ThreadPoolExecutor(60) as pool:
        answers = list(pool.map(lambda i: _login(api.port, f"wrong guess {i}"), range(60)))
    elapsed = time.monotonic() - started
    statuses = sorted(a.status for a in answers)
    # Exactly `limit` guesses were evaluated (each a 0.5 s PBKDF2 hash); every other one waited.
    assert statuses.count(401) == limit, statuses
    assert statuses.count(429) == 60 - limit, statuses
    assert all(int(a.headers["retry-after"]) > 0 for a in answers if a.status == 429)
    print(f"60 concurrent wrong logins: {statuses.count(401)} evaluated, {statuses.count(429)} throttled "
          f"in {elapsed:.2f} s")
    assert _login(api.port, ADMIN_PASSWORD).status == 429  # the right password waits too


def test_loopback_cannot_rotate_forwarded_headers_by_default(start_api, api_settings):
    api = start_api()  # TV_API_TRUSTED_PROXIES unset: nobody is a trusted proxy, not even loopback
    limit = api_settings.tv_api_login_max_failures
    statuses = [_login(api.port, "wrong guess", headers={"X-Forwarded-For": f"198.51.100.{i}",
                                                         "X-Real-IP": f"198.51.100.{i}"}).status
                for i in range(limit + 2)]
    assert statuses == [401] * limit + [429, 429]


def test_forwarded_address_is_trusted_only_from_a_configured_proxy(start_api, api_settings):
    api = start_api(TV_API_TRUSTED_PROXIES="127.0.0.1")  # the proxy; 127.0.0.2 is a client
    limit = api_settings.tv_api_login_max_failures
    rotating = [_login(api.port, "wrong guess", source="127.0.0.2", headers={"X-Real-IP": f"198.51.100.{i}"}).status
                for i in range(limit + 1)]
    assert rotating == [401] * limit + [429]
    # Through the proxy, each client it names has its own count.
    named = [_login(api.port, "wrong guess", headers={"X-Real-IP": "192.0.2.1"}).status for _ in range(limit + 1)]
    assert named == [401] * limit + [429]
    assert _login(api.port, ADMIN_PASSWORD, headers={"X-Real-IP": "192.0.2.2"}).status == 200


def test_trusted_proxies_accept_networks_and_host_names():
    proxies = TrustedProxies("10.1.0.0/16, localhost")
    assert asyncio.run(proxies.trusts("10.1.200.3"))
    assert asyncio.run(proxies.trusts("127.0.0.1"))  # localhost, resolved
    assert not asyncio.run(proxies.trusts("10.2.0.1"))
    assert not asyncio.run(proxies.trusts("127.0.0.2"))
    assert not TrustedProxies("") and not asyncio.run(TrustedProxies("").trusts("127.0.0.1"))


def test_a_removed_or_downgraded_admin_loses_admin_rights_at_once(client, api_settings):
    session = client.post("/api/auth/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD}).json()
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    assert client.get("/status", headers=bearer).status_code == 200
    users = UserStore(api_settings.tv_api_secrets_dir)
    users.add(ADMIN_USER, ADMIN_PASSWORD, "display", replace=True)  # downgraded by another process
    assert client.get("/status", headers=bearer).status_code == 401
    check = client.get("/api/auth/check", headers={**bearer, "X-Original-URI": "/status"})
    assert check.status_code == 401
    users.add(ADMIN_USER, ADMIN_PASSWORD, "admin", replace=True)
    assert client.get("/status", headers=bearer).status_code == 200
    users.remove(ADMIN_USER)
    assert client.get("/status", headers=bearer).status_code == 401
    assert client.get("/api/admin/devices", headers=bearer).status_code == 401


def test_request_heads_are_capped(start_api):
    api = start_api()
    big = raw_request(api.port, "/healthz", {"X-Filler": "a" * (MAX_HEAD_BYTES + 1)})
    assert big.status == 431 and big.headers["connection"] == "close"
    many = raw_request(api.port, "/healthz", {f"X-F{i}": "1" for i in range(MAX_HEADERS + 1)})
    assert many.status == 431
    fine = raw_request(api.port, "/healthz", {"X-Filler": "a" * 8000, **{f"X-F{i}": "1" for i in range(50)}})
    assert fine.status == 200


def test_half_open_and_silent_connections_are_dropped(start_api):
    api = start_api(TV_API_REQUEST_TIMEOUT_S="1", TV_API_MAX_CONNECTIONS="40")
    silent = [socket.create_connection(("127.0.0.1", api.port)) for _ in range(20)]
    half = [socket.create_connection(("127.0.0.1", api.port)) for _ in range(25)]
    try:
        for sock in half:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        # 45 connections held open: over the limit, the next request is refused at once.
        assert httpx.get(api.base_url + "/healthz", timeout=5).status_code == 503
        started = time.monotonic()
        assert all(closed_by_server(sock, within=4) for sock in silent + half)
        dropped_after = time.monotonic() - started
        print(f"45 silent/half-open connections dropped within {dropped_after:.2f} s of the check")
        assert httpx.get(api.base_url + "/healthz", timeout=5).status_code == 200
    finally:
        for sock in silent + half:
            sock.close()
    # A request that is slow to send its body is dropped as well.
    with socket.create_connection(("127.0.0.1", api.port)) as slow_body:
        slow_body.sendall(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 100\r\n\r\n{\"user")
        assert closed_by_server(slow_body, within=4)
