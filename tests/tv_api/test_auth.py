"""Authentication and authorization: logins, forged tokens, roles, throttling, refresh, logout,
device tokens and their revocation, and the secrets' files."""

import json
import time

import jwt
import pytest

from tests.tv_api.support import ADMIN_PASSWORD, ADMIN_USER, DISPLAY_PASSWORD, DISPLAY_USER, write_playlist
from tv_api.auth.passwords import ITERATIONS, hash_password, verify_password
from tv_api.auth.proxies import TrustedProxies
from tv_api.auth.ratelimit import LoginRateLimiter
from tv_api.auth.store import TokenRegistry, UserStore, load_jwt_secret


def login(client, user=ADMIN_USER, password=ADMIN_PASSWORD, **kwargs):
    return client.post("/api/auth/login", json={"username": user, "password": password}, **kwargs)


def test_password_hash_is_pbkdf2_with_600k_iterations_and_salted():
    first, second = hash_password("s3cret-password"), hash_password("s3cret-password")
    assert first.startswith(f"pbkdf2_sha256${ITERATIONS}$") and ITERATIONS >= 600_000
    assert first != second  # salted
    assert verify_password("s3cret-password", first)
    assert not verify_password("s3cret-passworD", first)
    assert not verify_password("x", "pbkdf2_sha256$1000$AAAA$AAAA")  # too few iterations refused
    assert not verify_password("x", "garbage")
    with pytest.raises(ValueError):
        hash_password("x", iterations=1000)


def test_login_sets_httponly_cookies_and_the_session_works(client):
    response = login(client)
    assert response.status_code == 200
    body = response.json()
    assert body["role"] == "admin" and body["token_type"] == "bearer"
    cookies = response.headers.get_list("set-cookie")
    assert any(c.startswith("vv_access=") and "HttpOnly" in c and "SameSite=strict" in c for c in cookies)
    assert any(c.startswith("vv_refresh=") and "Path=/api/auth" in c for c in cookies)
    client.cookies.set("vv_access", body["access_token"])
    assert client.get("/status").status_code == 200
    me = client.get("/api/auth/me").json()
    assert me["subject"] == ADMIN_USER and me["role"] == "admin"


def test_wrong_password_and_unknown_user_get_the_same_answer(client):
    wrong = login(client, password="not the password")
    unknown = login(client, user="mallory", password="whatever123")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_brute_force_is_throttled_per_client_ip(app, client):
    limit = app.state.services.settings.tv_api_login_max_failures
    for _ in range(limit):
        assert login(client, password="guess guess").status_code == 401
    throttled = login(client)  # even the right password waits now
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    # Another client address (seen through the trusted proxy header) is not affected.
    app.state.services.trusted_proxies = TrustedProxies("testclient")
    other = login(client, headers={"X-Real-IP": "192.0.2.7"})
    assert other.status_code == 200


def test_rate_limiter_window_slides_and_success_resets():
    now = [1000.0]
    limiter = LoginRateLimiter(max_failures=2, window_seconds=60, clock=lambda: now[0])
    limiter.record_failure("a")
    limiter.record_failure("a")
    assert limiter.retry_after("a") == 61
    now[0] += 61
    assert limiter.retry_after("a") == 0
    limiter.record_failure("a")
    limiter.record_success("a")
    assert limiter.retry_after("a") == 0
    limiter.MAX_CLIENTS = 3
    for client in "wxyz":
        limiter.record_failure(client)
    assert "w" not in limiter._failures  # bounded table: the oldest client is forgotten


def _forge(claims: dict, key: bytes | str = b"wrong key wrong key wrong key 123", alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)


def _claims(**overrides) -> dict:
    now = int(time.time())
    base = {"sub": ADMIN_USER, "role": "admin", "typ": "access", "jti": "x" * 22, "iat": now,
            "exp": now + 600, "iss": "vv-tv-api"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def _alg_none(claims: dict) -> str:
    import base64

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_forged_tokens_are_rejected(app, client):
    secret = load_jwt_secret(app.state.services.settings)
    forged = {
        "alg none": _alg_none(_claims()),
        "wrong key": _forge(_claims()),
        "expired": _forge(_claims(exp=int(time.time()) - 5, iat=int(time.time()) - 700), key=secret),
        "no exp": _forge(_claims(exp=None), key=secret),
        "wrong issuer": _forge(_claims(iss="someone"), key=secret),
        "unknown role": _forge(_claims(role="root"), key=secret),
        "refresh used as access": _forge(_claims(typ="refresh"), key=secret),
        "hs512 confusion": _forge(_claims(), key=secret + b"-" * 40, alg="HS512"),
        "garbage": "not.a.token",
        "unregistered device token": _forge(_claims(typ="display", role="admin"), key=secret),
    }
    for name, token in forged.items():
        response = client.get("/status", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        client.cookies.set("vv_access", token)
        assert client.get("/status").status_code == 401, name
        client.cookies.clear()
    # The genuine article works, so the failures above are about the forgery.
    good = _forge(_claims(), key=secret)
    assert client.get("/status", headers={"Authorization": f"Bearer {good}"}).status_code == 200


def test_display_role_cannot_reach_admin_routes(client, api_settings, display_headers):
    write_playlist(api_settings.storage.root, "tv1", [])
    assert client.get("/api/playlists/tv1", headers=display_headers).status_code == 200
    for path in ("/status", "/metrics", "/api/admin/devices"):
        assert client.get(path, headers=display_headers).status_code == 403, path
    display_login = login(client, DISPLAY_USER, DISPLAY_PASSWORD).json()
    as_display_user = {"Authorization": f"Bearer {display_login['access_token']}"}
    assert client.get("/metrics", headers=as_display_user).status_code == 403
    assert client.get("/api/playlists/tv1", headers=as_display_user).status_code == 200


def test_every_route_is_protected_unless_listed_public(app, client):
    public = {"/healthz", "/api/auth/login", "/api/auth/refresh", "/api/auth/logout", "/api/auth/device",
              "/api/auth/check", "/api/clock"}
    public |= {"/transparency/checkpoint", "/transparency/checkpoint/witnessed",   # hashes only (issue 20)
               "/transparency/proof/inclusion", "/transparency/proof/consistency"}
    for path, methods in app.openapi()["paths"].items():
        concrete = path.replace("{tv}", "tv1").replace("{relative}", "processed/x.mp4").replace(
            "{camera}", "cam1").replace("{name_or_jti}", "x")
        for method in methods:
            response = client.request(method.upper(), concrete)
            guarded = response.status_code == 401 and b"authentication required" in response.content
            assert guarded == (path not in public), (method, path)
    health = client.get("/healthz")
    assert health.json() == {"status": "ok"}
    assert health.headers["x-content-type-options"] == "nosniff" and health.headers["x-frame-options"] == "DENY"
    for page in ("/tv.html", "/tv_mirror.html", "/login", "/ui/tv/tv.js", "/ui/mirror/tv_mirror.js",
                 "/ui/login/login.js", "/tv_sw.js"):
        assert client.get(page).status_code == 200, page
    assert client.get("/ui/tv/../app.py").status_code in (401, 404)
    assert client.get("/ui/tv/missing.js").status_code == 404
    assert client.get("/ui/nope/tv.js").status_code == 404


def test_refresh_rotates_and_the_old_refresh_token_dies(client):
    first = login(client).json()
    client.cookies.clear()
    refreshed = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 200
    assert refreshed.json()["access_token"] != first["access_token"]
    client.cookies.clear()
    replay = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert client.post("/api/auth/refresh", json={"refresh_token": first["access_token"]}).status_code == 401
    assert client.post("/api/auth/refresh").status_code == 401


def test_refresh_fails_once_the_user_is_removed(client, api_settings):
    tokens = login(client, DISPLAY_USER, DISPLAY_PASSWORD).json()
    UserStore(api_settings.tv_api_secrets_dir).remove(DISPLAY_USER)
    client.cookies.clear()
    assert client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_logout_revokes_access_and_refresh_tokens(client):
    tokens = login(client).json()
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/status", headers=bearer).status_code == 200
    out = client.post("/api/auth/logout", headers=bearer, json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 200
    assert any(c.startswith('vv_access=""') or "Max-Age=0" in c for c in out.headers.get_list("set-cookie"))
    assert client.get("/status", headers=bearer).status_code == 401
    assert client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    # Logging out without credentials is harmless.
    assert client.post("/api/auth/logout").status_code == 200


def test_device_pairing_sets_a_cookie_and_revocation_takes_effect_without_restart(app, client, api_settings):
    write_playlist(api_settings.storage.root, "tv1", [])
    token, _principal = app.state.services.tokens.issue_device_token("tv-lobby", 86400)
    assert client.post("/api/auth/device", json={"token": "forged"}).status_code == 401
    paired = client.post("/api/auth/device", json={"token": token})
    assert paired.status_code == 200 and paired.json()["subject"] == "tv-lobby"
    assert any(c.startswith("vv_display=") and "HttpOnly" in c for c in paired.headers.get_list("set-cookie"))
    assert client.get("/api/playlists/tv1").status_code == 200  # by cookie
    # Revoked from another process (the CLI writes the same registry file).
    TokenRegistry(api_settings.tv_api_secrets_dir).revoke_device("tv-lobby")
    app.state.services.tokens.registry._checked_at = 0  # skip the 1 s re-stat interval
    assert client.get("/api/playlists/tv1").status_code == 401
    assert client.post("/api/auth/device", json={"token": token}).status_code == 401


def test_admin_manages_device_tokens_over_http(client, admin_headers, api_settings):
    write_playlist(api_settings.storage.root, "tv1", [])
    write_playlist(api_settings.storage.root, "tv2", [])
    issued = client.post("/api/admin/devices", json={"name": "tv-kitchen", "days": 2, "tv": "tv1"},
                         headers=admin_headers)
    assert issued.status_code == 201 and issued.json()["tv"] == "tv1"
    token = issued.json()["token"]
    tv = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/playlists/tv1", headers=tv).status_code == 200
    assert client.get("/api/playlists/tv2", headers=tv).status_code == 403   # bound to tv1
    listed = client.get("/api/admin/devices", headers=admin_headers).json()
    assert [d["name"] for d in listed] == ["tv-kitchen"] and "token" not in listed[0]
    assert client.delete("/api/admin/devices/tv-kitchen", headers=admin_headers).status_code == 200
    assert client.delete("/api/admin/devices/tv-kitchen", headers=admin_headers).status_code == 404
    client.app.state.services.tokens.registry._checked_at = 0
    assert client.get("/api/playlists/tv1", headers=tv).status_code == 401
    bad = client.post("/api/admin/devices", json={"name": "../x"}, headers=admin_headers)
    assert bad.status_code == 422
    # without "tv" the token is bound to the device name; a name that is no TV name needs "tv"
    assert client.post("/api/admin/devices", json={"name": "tv2"}, headers=admin_headers).json()["tv"] == "tv2"
    dotted = client.post("/api/admin/devices", json={"name": "lobby.screen"}, headers=admin_headers)
    assert dotted.status_code == 422 and dotted.json() == {"detail": "the device name is not a TV name: give tv"}
    assert client.post("/api/admin/devices", json={"name": "wall", "any_tv": True},
                       headers=admin_headers).json()["tv"] is None


def test_auth_check_for_nginx_follows_the_policy(client, display_headers):
    def check(uri, headers=None):
        return client.get("/api/auth/check", headers={"X-Original-URI": uri, **(headers or {})}).status_code

    assert check("/api/playlists/tv1") == 401
    assert check("/api/playlists/tv1?x=1", display_headers) == 200
    assert check("/media/processed/a.mp4", display_headers) == 200
    assert check("/metrics", display_headers) == 403
    assert check("/healthz") == 200
    assert client.get("/api/auth/check").status_code == 401  # no URI means "/", which is admin-only


def test_a_device_token_reads_only_the_playlist_of_its_tv(app, client, api_settings):
    """Issue 19: a token paired for one TV must not read another TV's playlist (header, cookie, nginx)."""
    for tv in ("tv1", "tv2"):
        write_playlist(api_settings.storage.root, tv, [])
    token, principal = app.state.services.tokens.issue_device_token("lobby", 3600, tv="tv1")
    assert principal.tv == "tv1"
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/playlists/tv1", headers=bearer).status_code == 200
    refused = client.get("/api/playlists/tv2", headers=bearer)
    assert refused.status_code == 403 and refused.json() == {"detail": "this device token is paired with another TV"}
    assert client.get("/api/playlists/playlist", headers=bearer).status_code == 403  # the combined one too
    assert client.get("/api/playlists/tv9", headers=bearer).status_code == 403      # no probing for TV names
    # paired through the page: the cookie carries the same binding
    assert client.post("/api/auth/device", json={"token": token}).status_code == 200
    assert client.get("/api/playlists/tv1").status_code == 200
    assert client.get("/api/playlists/tv2").status_code == 403
    client.cookies.clear()
    # nginx's auth_request asks the same question
    check = {"X-Original-URI": "/api/playlists/tv2", **bearer}
    assert client.get("/api/auth/check", headers=check).status_code == 403
    assert client.get("/api/auth/check", headers={**check, "X-Original-URI": "/api/playlists/tv1"}).status_code == 200
    # media and the mirror are shared by every TV: not bound
    assert client.get("/api/auth/check", headers={**check, "X-Original-URI": "/mirror/cam1"}).status_code == 200


def test_unbound_and_admin_tokens_keep_reading_every_playlist(app, client, api_settings):
    """Tokens issued before TV binding carry no ``tv``: they keep the old behaviour (any TV)."""
    for tv in ("tv1", "tv2"):
        write_playlist(api_settings.storage.root, tv, [])
    legacy, principal = app.state.services.tokens.issue_device_token("old-tv", 3600)
    assert principal.tv is None and "tv" not in app.state.services.tokens.registry.device(principal.jti)
    scraper, _ = app.state.services.tokens.issue_device_token("prometheus", 3600, role="admin", tv="tv1")
    for token in (legacy, scraper):
        for tv in ("tv1", "tv2"):
            assert client.get(f"/api/playlists/{tv}", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_tv_claim_the_registry_does_not_know_is_refused(app, client, api_settings):
    """The binding is in the signed token and in the registry: both must agree."""
    write_playlist(api_settings.storage.root, "tv2", [])
    tokens = app.state.services.tokens
    token, principal = tokens.issue_device_token("lobby", 3600, tv="tv1")
    registry = tokens.registry
    registry._update(lambda doc: doc["devices"][principal.jti].pop("tv"))  # an edited registry file
    registry._checked_at = 0
    assert client.get("/api/playlists/tv1", headers={"Authorization": f"Bearer {token}"}).status_code == 401
