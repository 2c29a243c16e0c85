"""The ASGI layer in front of every route: authentication, authorization and request metrics.

Pure ASGI (no BaseHTTPMiddleware) because it runs on every playlist poll and media range request.
Paths are judged in normal form: a request whose path has dot segments, empty segments, encoded
slashes, NUL or double encoding gets the same 404 as a missing file, before any route sees it, so
no route or prefix rule ever has to reason about ``..``.
Credentials, in order: ``Authorization: Bearer``, then the ``vv_access`` cookie (admin sessions),
then the ``vv_display`` cookie (paired TVs: <video> and <img> cannot send headers).
"""

import json
import logging
import time
from http.cookies import SimpleCookie
from urllib.parse import quote

from tv_api.auth.policy import BadPath, normalise_path, required_role, role_allows
from tv_api.auth.tokens import Principal, TokenError, TokenService
from tv_api.metrics import ApiMetrics
from tv_api.playlists import PlaylistStore, playlist_answer

log = logging.getLogger("tv_api.guard")

ACCESS_COOKIE = "vv_access"
REFRESH_COOKIE = "vv_refresh"
DISPLAY_COOKIE = "vv_display"


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def cookies_of(scope) -> dict[str, str]:
    raw = _header(scope, b"cookie")
    if not raw:
        return {}
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed cookie header is treated as no cookies
        return {}
    return {key: morsel.value for key, morsel in jar.items()}


def authenticate(scope, tokens: TokenService) -> Principal | None:
    """The principal behind the request's credentials, or None (bad credentials count as none)."""
    authorization = _header(scope, b"authorization")
    candidates: list[tuple[str, tuple[str, ...]]] = []
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            candidates.append((value.strip(), ("access", "display")))
    else:
        cookies = cookies_of(scope)
        if cookies.get(ACCESS_COOKIE):
            candidates.append((cookies[ACCESS_COOKIE], ("access",)))
        if cookies.get(DISPLAY_COOKIE):
            candidates.append((cookies[DISPLAY_COOKIE], ("display",)))
    for token, types in candidates:
        try:
            return tokens.verify(token, expected_types=types)
        except TokenError as exc:
            log.info("token refused", extra={"reason": str(exc), "path": scope.get("path")})
    return None


async def _deny(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store")]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _is_normal(scope) -> bool:
    raw = scope.get("raw_path")
    try:
        normal = normalise_path(raw.decode("utf-8") if raw else quote(scope["path"]))
    except (BadPath, UnicodeDecodeError):
        return False
    return normal.canonical and normal.path == scope["path"]


# tv_api must be safe without nginx too (nginx adds HSTS and the CSP on top).
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
PLAYLIST_PREFIX = "/api/playlists/"
PLAYLIST_ROUTE = PLAYLIST_PREFIX + "{tv}"
CONSOLE_PREFIX = "/console/"


def playlist_tv(path: str) -> str | None:
    """The TV named by a playlist path (``/api/playlists/<tv>``), else None."""
    if path.startswith(PLAYLIST_PREFIX) and "/" not in path[len(PLAYLIST_PREFIX):]:
        return path[len(PLAYLIST_PREFIX):]
    return None


async def _send_bytes(send, status: int, headers: dict[str, str], body: bytes) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    def __init__(self, app, *, tokens: TokenService, metrics: ApiMetrics, playlists: PlaylistStore) -> None:
        self.app = app
        self.tokens = tokens
        self.metrics = metrics
        self.playlists = playlists

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = [500]
        fast_route = None

        async def send_and_record(message):
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
            await send(message)

        try:
            if not _is_normal(scope):
                await _deny(send_and_record, 404, "not found")
                return
            needed = required_role(scope["path"])
            if needed is not None:
                principal = authenticate(scope, self.tokens)
                if principal is None:
                    if scope["method"] == "GET" and (scope["path"] == "/" or scope["path"].startswith(CONSOLE_PREFIX)):
                        await _send_bytes(send_and_record, 303, {"Location": "/login", "Cache-Control": "no-store"},
                                          b"")
                        return  # a person with a browser: to the login page, not a JSON error
                    await _deny(send_and_record, 401, "authentication required")
                    return
                if not role_allows(principal.role, needed):
                    await _deny(send_and_record, 403, "not allowed for this role")
                    return
                scope.setdefault("state", {})["principal"] = principal
            tv = playlist_tv(scope["path"])
            if scope["method"] == "GET" and tv is not None:
                # The hot path (every TV polls it): same answer as the FastAPI route, without the
                # framework's routing and parameter machinery. The route stays for the OpenAPI spec.
                fast_route = PLAYLIST_ROUTE
                principal = scope["state"]["principal"]
                if not principal.may_read_playlist(tv):
                    await _deny(send_and_record, 403, "this device token is paired with another TV")
                    return
                answer = playlist_answer(self.playlists, tv, _header(scope, b"if-none-match"))
                await _send_bytes(send_and_record, *answer)
                return
            await self.app(scope, receive, send_and_record)
        finally:
            route = scope.get("route")
            label = fast_route or getattr(route, "path", None) or (
                "denied" if status_holder[0] in (401, 403) else "unmatched")
            self.metrics.observe(scope["method"], label, status_holder[0], time.perf_counter() - started)
