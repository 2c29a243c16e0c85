"""tv_api's persistent auth state, in TV_API_SECRETS_DIR (0700), every file 0600, written atomically.

- ``tv_api_jwt.key``: the JWT signing key, generated on first start unless the environment or a
  Docker secret provides one.
- ``tv_api_users.json``: user name → PBKDF2 hash and role (`vv users add|list|remove`).
- ``tv_api_tokens.json``: the device-token registry (`vv tokens issue|revoke`) and the revocation
  list of session tokens (logout, refresh rotation). The running server re-reads it when its mtime
  changes, so a revocation by the CLI takes effect without a restart.

Read-modify-write cycles hold a file lock, because the CLI and the server both write the tokens file.
"""

import json
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from tv_api.auth.passwords import hash_password
from tv_api.settings import TvApiSettings
from vv_core.atomic import atomic_write_json, atomic_write_text
from vv_core.errors import VVError
from vv_core.jsonlog import utc_timestamp

ROLES = ("admin", "display")
DOCKER_SECRET = Path("/run/secrets/tv_api_jwt_secret")
MIN_SECRET_CHARS = 32
USERS_FILE = "tv_api_users.json"
TOKENS_FILE = "tv_api_tokens.json"
KEY_FILE = "tv_api_jwt.key"


class AuthStoreError(VVError):
    """A users/tokens/key file is missing, malformed or too open; the message names the file."""


def _private_dir(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory


def _refuse_if_open(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and not path.resolve().is_relative_to(DOCKER_SECRET.parent):
        raise AuthStoreError(f"{path} is accessible by other users; run: chmod 600 {path}")


def load_jwt_secret(settings: TvApiSettings) -> bytes:
    """Env → Docker secret → key file → a new key file (0600). Never logged."""
    from_env = settings.tv_api_jwt_secret.get_secret_value() if settings.tv_api_jwt_secret else ""
    if from_env:
        if len(from_env) < MIN_SECRET_CHARS:
            raise AuthStoreError(f"TV_API_JWT_SECRET must have at least {MIN_SECRET_CHARS} characters")
        return from_env.encode("utf-8")
    if DOCKER_SECRET.is_file():
        return DOCKER_SECRET.read_text(encoding="utf-8").strip().encode("utf-8")
    directory = _private_dir(settings.tv_api_secrets_dir)
    key_file = directory / KEY_FILE
    with FileLock(str(key_file) + ".lock"):
        if not key_file.exists():
            atomic_write_text(key_file, secrets.token_hex(32) + "\n", mode=0o600)
    _refuse_if_open(key_file)
    secret = key_file.read_text(encoding="utf-8").strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise AuthStoreError(f"{key_file} holds a key shorter than {MIN_SECRET_CHARS} characters")
    return secret.encode("utf-8")


def _read_json(path: Path, default: dict[str, Any]) -> dict[str, Any]:
    if not path.exists():
        return default
    _refuse_if_open(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise AuthStoreError(f"{path} is not valid JSON") from None
    if not isinstance(document, dict):
        raise AuthStoreError(f"{path} must hold a JSON object")
    return document


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str
    created_at: str


class UserStore:
    def __init__(self, directory: Path) -> None:
        self.path = directory / USERS_FILE
        self.directory = directory

    def _load(self) -> dict[str, Any]:
        document = _read_json(self.path, {"schema_version": "1.0", "users": {}})
        if not isinstance(document.get("users"), dict):
            raise AuthStoreError(f"{self.path} needs a 'users' object")
        return document

    def get(self, name: str) -> User | None:
        entry = self._load()["users"].get(name)
        if not isinstance(entry, dict):
            return None
        return User(name, entry.get("role", ""), entry.get("password_hash", ""), entry.get("created_at", ""))

    def list(self) -> list[User]:
        users = self._load()["users"]
        return [self.get(name) for name in sorted(users)]  # type: ignore[misc]

    def add(self, name: str, password: str, role: str, *, replace: bool = False) -> User:
        if role not in ROLES:
            raise AuthStoreError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
        if not name or len(name) > 64 or not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise AuthStoreError("user names are 1-64 characters: letters, digits, . _ -")
        from tv_api.auth.passwords import MIN_PASSWORD_LENGTH

        if len(password) < MIN_PASSWORD_LENGTH:
            raise AuthStoreError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
        password_hash = hash_password(password)  # slow: outside the lock
        with FileLock(str(_private_dir(self.directory) / (USERS_FILE + ".lock"))):
            document = self._load()
            if name in document["users"] and not replace:
                raise AuthStoreError(f"user {name!r} already exists")
            entry = {"password_hash": password_hash, "role": role, "created_at": utc_timestamp()}
            document["users"][name] = entry
            atomic_write_json(self.path, document, mode=0o600)
        return User(name, role, password_hash, entry["created_at"])

    def remove(self, name: str) -> None:
        with FileLock(str(_private_dir(self.directory) / (USERS_FILE + ".lock"))):
            document = self._load()
            if document["users"].pop(name, None) is None:
                raise AuthStoreError(f"no user {name!r}")
            atomic_write_json(self.path, document, mode=0o600)


class TokenRegistry:
    """Device tokens and revoked session-token ids, cached in memory and re-read on change."""

    RELOAD_INTERVAL_S = 1.0

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / TOKENS_FILE
        self._cache: dict[str, Any] | None = None
        self._cache_key: tuple[int, int] | None = None
        self._checked_at = 0.0

    def _empty(self) -> dict[str, Any]:
        return {"schema_version": "1.0", "devices": {}, "revoked": {}}

    def _load(self) -> dict[str, Any]:
        document = _read_json(self.path, self._empty())
        for key in ("devices", "revoked"):
            if not isinstance(document.get(key), dict):
                raise AuthStoreError(f"{self.path} needs a {key!r} object")
        return document

    def snapshot(self) -> dict[str, Any]:
        """The current registry; stats the file at most once per RELOAD_INTERVAL_S."""
        now = time.monotonic()
        if self._cache is not None and now - self._checked_at < self.RELOAD_INTERVAL_S:
            return self._cache
        self._checked_at = now
        try:
            info = os.stat(self.path)
            key = (info.st_mtime_ns, info.st_size)
        except FileNotFoundError:
            key = (0, 0)
        if self._cache is None or key != self._cache_key:
            self._cache = self._load()
            self._cache_key = key
        return self._cache

    def _update(self, change) -> dict[str, Any]:
        with FileLock(str(_private_dir(self.directory) / (TOKENS_FILE + ".lock"))):
            document = self._load()
            result = change(document)
            now = time.time()
            # Revoked session ids are only needed until their token would have expired anyway.
            document["revoked"] = {j: exp for j, exp in document["revoked"].items() if exp > now}
            atomic_write_json(self.path, document, mode=0o600)
        self._cache = None
        return result

    def is_revoked(self, jti: str) -> bool:
        return jti in self.snapshot()["revoked"]

    def device(self, jti: str) -> dict[str, Any] | None:
        return self.snapshot()["devices"].get(jti)

    def revoke_session(self, jti: str, expires_at: float) -> None:
        self._update(lambda doc: doc["revoked"].__setitem__(jti, expires_at))

    def register_device(self, jti: str, name: str, role: str, issued_at: float, expires_at: float,
                        tv: str | None = None) -> None:
        entry = {"name": name, "role": role, "issued_at": utc_timestamp(issued_at),
                 "expires_at": utc_timestamp(expires_at), "revoked_at": None}
        if tv is not None:  # entries without "tv" are tokens issued before TV binding: any TV
            entry["tv"] = tv
        self._update(lambda doc: doc["devices"].__setitem__(jti, entry))

    def revoke_device(self, name_or_jti: str) -> list[str]:
        """Revoke the device token with this id, or every live token of the device with this name."""

        def change(document: dict[str, Any]) -> list[str]:
            hits = [jti for jti, entry in document["devices"].items()
                    if (jti == name_or_jti or entry.get("name") == name_or_jti) and not entry.get("revoked_at")]
            for jti in hits:
                document["devices"][jti]["revoked_at"] = utc_timestamp()
            return hits

        revoked = self._update(change)
        if not revoked:
            raise AuthStoreError(f"no live device token {name_or_jti!r}")
        return revoked

    def devices(self) -> list[dict[str, Any]]:
        return [{"jti": jti, **entry} for jti, entry in sorted(self._load()["devices"].items())]
