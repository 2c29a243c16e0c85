"""Everything a request handler needs, built once per app from the settings."""

import time
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request

from tv_api.auth.proxies import TrustedProxies
from tv_api.auth.ratelimit import LoginRateLimiter
from tv_api.auth.store import TokenRegistry, UserStore, load_jwt_secret
from tv_api.auth.tokens import TokenService
from tv_api.boxclock import box_timezone
from tv_api.metrics import ApiMetrics
from tv_api.mirror import PLACEHOLDER
from tv_api.playlists import PlaylistStore
from tv_api.settings import TvApiSettings


@dataclass
class Services:
    settings: TvApiSettings
    tokens: TokenService
    users: UserStore
    login_limiter: LoginRateLimiter
    playlists: PlaylistStore
    metrics: ApiMetrics
    placeholder_frame: bytes
    trusted_proxies: TrustedProxies
    box_timezone: str
    started_at: float = field(default_factory=time.time)

    @classmethod
    def from_settings(cls, settings: TvApiSettings) -> "Services":
        secrets_dir = Path(settings.tv_api_secrets_dir)
        registry = TokenRegistry(secrets_dir)
        users = UserStore(secrets_dir)
        playlists = PlaylistStore(settings.storage.playlists)
        return cls(
            settings=settings,
            tokens=TokenService(load_jwt_secret(settings), registry, users),
            users=users,
            login_limiter=LoginRateLimiter(settings.tv_api_login_max_failures,
                                           settings.tv_api_login_window_seconds),
            playlists=playlists,
            metrics=ApiMetrics(settings, playlists),
            placeholder_frame=PLACEHOLDER.read_bytes(),
            trusted_proxies=TrustedProxies(settings.tv_api_trusted_proxies),
            box_timezone=box_timezone(settings),
        )


def services(request: Request) -> Services:
    return request.app.state.services


async def client_ip(request: Request) -> str:
    """The caller's address; X-Real-IP / X-Forwarded-For only when the peer is a trusted proxy
    (the last X-Forwarded-For entry: the one that proxy added itself)."""
    peer = request.client.host if request.client else "unknown"
    if await services(request).trusted_proxies.trusts(peer):
        forwarded = request.headers.get("x-real-ip") or request.headers.get("x-forwarded-for", "")
        candidate = forwarded.split(",")[-1].strip()
        if candidate:
            return candidate
    return peer
