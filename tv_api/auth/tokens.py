"""JWTs (HS256, PyJWT): short access tokens, rotating refresh tokens, long-lived device tokens.

Claims: ``sub`` (user or device name), ``role`` (admin | display), ``typ`` (access | refresh |
display), ``jti`` (random id, for revocation), ``iat``, ``exp``, ``iss``, and on device tokens
bound to one TV ``tv`` (that TV's name: the token reads only that TV's playlist). Only HS256 is accepted,
so ``alg: none`` and algorithm-confusion tokens fail; ``exp`` and ``iat`` are required.
A device token is valid only while the registry knows its ``jti`` and has not revoked it; an
access or refresh token is valid unless its ``jti`` is on the revocation list (logout, rotation)
and only while its user still exists with the role the token names.
"""

import secrets
import time
from dataclasses import dataclass

import jwt

from tv_api.auth.store import ROLES, TokenRegistry, UserStore
from tv_api.playlists import TV_NAME

ALGORITHM = "HS256"
ISSUER = "vv-tv-api"
TOKEN_TYPES = ("access", "refresh", "display")


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    token_type: str
    jti: str
    expires_at: float
    tv: str | None = None  # a display token bound to one TV; None: any TV (tokens issued before binding)

    def may_read_playlist(self, tv: str) -> bool:
        return self.role == "admin" or self.tv is None or self.tv == tv


class TokenError(Exception):
    """Why a token was refused (for logs only: clients just get 401)."""


class TokenService:
    # TVs present the same token on every poll and media request: remember the signature check
    # (not the revocation check, which runs every time) for tokens seen recently.
    VERIFIED_CACHE_SIZE = 4096

    def __init__(self, secret: bytes, registry: TokenRegistry, users: UserStore | None = None) -> None:
        self._secret = secret
        self.registry = registry
        self.users = users
        self._verified: dict[str, Principal] = {}

    def issue(self, subject: str, role: str, token_type: str, ttl_seconds: float,
              tv: str | None = None) -> tuple[str, Principal]:
        if role not in ROLES or token_type not in TOKEN_TYPES:
            raise ValueError("bad role or token type")
        if tv is not None and not TV_NAME.match(tv):
            raise ValueError("a TV name is 1-32 characters: letters, digits, _ -")
        now = int(time.time())
        jti = secrets.token_urlsafe(16)
        claims = {"sub": subject, "role": role, "typ": token_type, "jti": jti, "iat": now,
                  "exp": now + int(ttl_seconds), "iss": ISSUER}
        if tv is not None:
            claims["tv"] = tv
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return token, Principal(subject, role, token_type, jti, claims["exp"], tv)

    def issue_device_token(self, name: str, ttl_seconds: float, role: str = "display",
                           tv: str | None = None) -> tuple[str, Principal]:
        """A device token; a display token is bound to ``tv`` (an admin token never is)."""
        bound = tv if role == "display" else None
        token, principal = self.issue(name, role, "display", ttl_seconds, tv=bound)
        self.registry.register_device(principal.jti, name, role, time.time(), principal.expires_at, tv=bound)
        return token, principal

    def _decode(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None and cached.expires_at > time.time():
            return cached
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "jti", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenError(type(exc).__name__) from None
        role, token_type, jti, tv = claims.get("role"), claims.get("typ"), claims["jti"], claims.get("tv")
        if role not in ROLES or token_type not in TOKEN_TYPES or not isinstance(jti, str):
            raise TokenError("wrong token type or role")
        if tv is not None and not (isinstance(tv, str) and TV_NAME.match(tv)):
            raise TokenError("bad tv claim")
        principal = Principal(str(claims["sub"]), role, token_type, jti, float(claims["exp"]), tv)
        if len(self._verified) >= self.VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = principal
        return principal

    def verify(self, token: str, *, expected_types: tuple[str, ...]) -> Principal:
        principal = self._decode(token)
        if principal.token_type not in expected_types:
            raise TokenError("wrong token type")
        if principal.token_type == "display":  # noqa: S105 - a token kind, not a secret
            device = self.registry.device(principal.jti)
            if device is None or device.get("revoked_at") or device.get("role") != principal.role:
                raise TokenError("unknown or revoked device token")
            if device.get("tv") != principal.tv:  # the registry and the signed claim must agree
                raise TokenError("device token TV binding does not match the registry")
        elif self.registry.is_revoked(principal.jti):
            raise TokenError("revoked token")
        elif self.users is not None:
            # A session belongs to a user: removed or given another role, the session ends now,
            # not when its access token expires (the users file is read each time; it is tiny).
            user = self.users.get(principal.subject)
            if user is None or user.role != principal.role:
                raise TokenError("user removed or role changed")
        return principal
