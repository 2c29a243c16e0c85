"""Login, refresh, logout, TV pairing, and the auth_request check nginx calls."""

import logging
import time
from typing import Annotated

from fastapi import APIRouter, Body, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tv_api.auth.passwords import burn_equal_time, verify_password
from tv_api.auth.policy import BadPath, normalise_path, required_role, role_allows
from tv_api.auth.tokens import Principal, TokenError
from tv_api.guard import ACCESS_COOKIE, DISPLAY_COOKIE, REFRESH_COOKIE, authenticate, cookies_of, playlist_tv
from tv_api.services import Services, client_ip, services

log = logging.getLogger("tv_api.auth")
router = APIRouter(tags=["auth"])


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(BaseModel):
    refresh_token: str | None = Field(None, max_length=4096)


class DeviceRequest(BaseModel):
    token: str = Field(min_length=1, max_length=4096)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token kind, not a secret
    expires_in: int
    role: str


class PrincipalInfo(BaseModel):
    subject: str
    role: str
    token_type: str
    expires_at: float


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _set_cookie(response: Response, svc: Services, name: str, value: str, max_age: int, path: str = "/") -> None:
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="strict",
                        secure=svc.settings.tv_api_cookie_secure)


def _issue_session(svc: Services, subject: str, role: str) -> tuple[TokenPair, Response]:
    access_ttl = svc.settings.tv_api_access_token_minutes * 60
    refresh_ttl = svc.settings.tv_api_refresh_token_hours * 3600
    access, _ = svc.tokens.issue(subject, role, "access", access_ttl)
    refresh, _ = svc.tokens.issue(subject, role, "refresh", refresh_ttl)
    pair = TokenPair(access_token=access, refresh_token=refresh, expires_in=access_ttl, role=role)
    response = JSONResponse(pair.model_dump(), headers={"Cache-Control": "no-store"})
    _set_cookie(response, svc, ACCESS_COOKIE, access, access_ttl)
    _set_cookie(response, svc, REFRESH_COOKIE, refresh, refresh_ttl, path="/api/auth")
    return pair, response


def _throttled(svc: Services, ip: str) -> JSONResponse | None:
    """429 if this client used up its attempts; else the attempt is counted (before any hashing,
    with no await in between, so concurrent guesses cannot overtake the count)."""
    wait = svc.login_limiter.acquire(ip)
    if wait:
        return _error(429, "too many failed attempts; try later", {"Retry-After": str(wait)})
    return None


@router.post("/api/auth/login", response_model=TokenPair,
             responses={401: {"description": "bad credentials"}, 429: {"description": "throttled"}})
async def login(request: Request, credentials: LoginRequest):
    svc = services(request)
    ip = await client_ip(request)
    if (throttled := _throttled(svc, ip)) is not None:
        return throttled
    user = svc.users.get(credentials.username)
    if user is None:
        await run_in_threadpool(burn_equal_time, credentials.password)
        valid = False
    else:
        valid = await run_in_threadpool(verify_password, credentials.password, user.password_hash)
    if not valid or user is None:
        return _error(401, "invalid user name or password")  # the attempt stays counted
    svc.login_limiter.record_success(ip)
    return _issue_session(svc, user.name, user.role)[1]


@router.post("/api/auth/refresh", response_model=TokenPair, responses={401: {"description": "bad token"}})
async def refresh(request: Request, body: Annotated[RefreshRequest | None, Body()] = None):
    svc = services(request)
    token = (body.refresh_token if body else None) or cookies_of(request.scope).get(REFRESH_COOKIE)
    if not token:
        return _error(401, "refresh token required")
    try:
        old = svc.tokens.verify(token, expected_types=("refresh",))
    except TokenError:
        return _error(401, "invalid refresh token")
    user = svc.users.get(old.subject)
    if user is None or user.role != old.role:
        return _error(401, "user no longer exists or changed role")
    # Rotation: the used refresh token dies, so a stolen copy works at most once.
    svc.tokens.registry.revoke_session(old.jti, old.expires_at)
    return _issue_session(svc, user.name, user.role)[1]


@router.post("/api/auth/logout")
async def logout(request: Request, body: Annotated[RefreshRequest | None, Body()] = None) -> JSONResponse:
    svc = services(request)
    principal = authenticate(request.scope, svc.tokens)
    if principal is not None and principal.token_type == "access":  # noqa: S105 - a token kind
        svc.tokens.registry.revoke_session(principal.jti, principal.expires_at)
    refresh_token = (body.refresh_token if body else None) or cookies_of(request.scope).get(REFRESH_COOKIE)
    if refresh_token:
        try:
            old = svc.tokens.verify(refresh_token, expected_types=("refresh",))
            svc.tokens.registry.revoke_session(old.jti, old.expires_at)
        except TokenError:
            pass
    response = JSONResponse({"detail": "logged out"}, headers={"Cache-Control": "no-store"})
    for name, path in ((ACCESS_COOKIE, "/"), (REFRESH_COOKIE, "/api/auth"), (DISPLAY_COOKIE, "/")):
        response.delete_cookie(name, path=path)
    return response


@router.post("/api/auth/device", responses={401: {"description": "bad device token"}})
async def pair_device(request: Request, body: DeviceRequest) -> JSONResponse:
    """A TV trades the device token from its pairing URL for an httponly cookie."""
    svc = services(request)
    ip = await client_ip(request)
    if (throttled := _throttled(svc, ip)) is not None:
        return throttled
    try:
        principal = svc.tokens.verify(body.token, expected_types=("display",))
    except TokenError:
        return _error(401, "invalid device token")
    svc.login_limiter.release(ip)  # a good token is no failure, but does not wipe earlier ones
    response = JSONResponse({"subject": principal.subject, "role": principal.role},
                            headers={"Cache-Control": "no-store"})
    _set_cookie(response, svc, DISPLAY_COOKIE, body.token, max(1, int(principal.expires_at - time.time())))
    return response


@router.get("/api/auth/check", status_code=200, responses={401: {}, 403: {}})
async def check(request: Request, x_original_uri: Annotated[str | None, Header()] = None) -> Response:
    """For nginx auth_request: may these credentials fetch X-Original-URI? (200 / 401 / 403).

    nginx sends the raw request URI and serves its normalised form, so the decision is made on
    the normalised path; a path no server should act on (encoded slash, NUL, ``..`` above the
    root...) is refused outright.
    """
    try:
        path = normalise_path(x_original_uri or "/").path
    except BadPath as exc:
        log.info("auth check refused a path", extra={"reason": str(exc)})
        return Response(status_code=403)
    needed = required_role(path)
    if needed is None:
        return Response(status_code=200)
    principal = authenticate(request.scope, services(request).tokens)
    if principal is None:
        return Response(status_code=401)
    tv = playlist_tv(path)
    allowed = role_allows(principal.role, needed) and (tv is None or principal.may_read_playlist(tv))
    return Response(status_code=200 if allowed else 403)


@router.get("/api/auth/me", response_model=PrincipalInfo)
async def me(request: Request) -> PrincipalInfo:
    principal: Principal = request.scope["state"]["principal"]
    return PrincipalInfo(subject=principal.subject, role=principal.role, token_type=principal.token_type,
                         expires_at=principal.expires_at)
