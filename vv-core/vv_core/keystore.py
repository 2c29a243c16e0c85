"""HMAC key store: key_id → secret, one active key for signing, old keys kept for verification.

File format (JSON, mode 0600 or stricter)::

    {"active_key_id": "2026-11-a", "keys": {"2026-11-a": "<hex, >= 32 bytes>", "2026-05-a": "..."}}

Rotation = add a key, make it active; old LogLines still verify with their own key_id. Files
mounted under ``/run/secrets`` (Docker secrets, a private tmpfs inside the container) are accepted
whatever their mode; anywhere else a file readable or writable by "other" is refused, because a key
that other users can read can forge the audit trail.
"""

import json
import os
import re
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vv_core.atomic import atomic_write_json
from vv_core.errors import KeyStoreError

# A key id is named in every signature and checkpoint line: no spaces, no separators.
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")

DOCKER_SECRETS_DIR = Path("/run/secrets")
MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class KeyStore:
    active_key_id: str
    keys: Mapping[str, bytes] = field(repr=False)  # never print secrets

    def secret_for(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise KeyStoreError(f"unknown key_id {key_id!r}") from None

    @property
    def active_secret(self) -> bytes:
        return self.secret_for(self.active_key_id)


def require_private_file(path: Path, label: str, error: type[Exception] = KeyStoreError) -> None:
    """A secret file (key store, restic password) must not be open to other users; Docker secrets
    under /run/secrets are exempt (their mode is the engine's). ``label`` names it in the error."""
    resolved = path.resolve()
    if resolved.is_relative_to(DOCKER_SECRETS_DIR):
        return
    mode = resolved.stat().st_mode
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        raise error(
            f"{label} {path} is accessible by other users (mode {stat.S_IMODE(mode):04o}); "
            f"run: chmod 600 {path}"
        )


def load_key_store(path: str | os.PathLike[str]) -> KeyStore:
    """Load and check a key store file; errors name the problem, never a secret."""
    store_path = Path(path)
    if not store_path.is_file():
        raise KeyStoreError(f"key store not found: {store_path}")
    require_private_file(store_path, "key store")
    try:
        document = json.loads(store_path.read_text(encoding="utf-8"))
    except OSError as exc:  # e.g. a Docker secret the stage's uid may not read: name the key store
        raise KeyStoreError(f"key store {store_path} cannot be read: {exc.strerror or type(exc).__name__}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", "?")
        raise KeyStoreError(f"key store {store_path} is not valid JSON (line {line})") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), dict):
        raise KeyStoreError(f"key store {store_path} needs an object with a 'keys' object")
    keys: dict[str, bytes] = {}
    for key_id, encoded in document["keys"].items():
        try:
            secret = bytes.fromhex(encoded)
        except (TypeError, ValueError):
            raise KeyStoreError(f"key {key_id!r} in {store_path} is not hex") from None
        if len(secret) < MIN_SECRET_BYTES:
            raise KeyStoreError(f"key {key_id!r} in {store_path} is shorter than {MIN_SECRET_BYTES} bytes")
        keys[key_id] = secret
    active = document.get("active_key_id")
    if active not in keys:
        raise KeyStoreError(f"key store {store_path}: active_key_id {active!r} is not among its keys")
    return KeyStore(active_key_id=active, keys=keys)


def create_key_store(path: str | os.PathLike[str], key_id: str) -> KeyStore:
    """Write a new key store with one fresh random key (mode 0600); refuses to overwrite."""
    store_path = Path(path)
    if store_path.exists():
        raise KeyStoreError(f"key store already exists: {store_path}")
    secret = secrets.token_bytes(MIN_SECRET_BYTES)
    atomic_write_json(store_path, {"active_key_id": key_id, "keys": {key_id: secret.hex()}}, mode=0o600)
    return KeyStore(active_key_id=key_id, keys={key_id: secret})


def rotate_key_store(path: str | os.PathLike[str], new_key_id: str) -> KeyStore:
    """Add a fresh key and make it active; old keys stay so old signatures still verify."""
    if not KEY_ID_PATTERN.fullmatch(new_key_id):
        raise KeyStoreError(f"key id {new_key_id!r} must match [A-Za-z0-9._-]{{1,64}}")
    store = load_key_store(path)
    if new_key_id in store.keys:
        raise KeyStoreError(f"key_id {new_key_id!r} already exists")
    keys = dict(store.keys)
    keys[new_key_id] = secrets.token_bytes(MIN_SECRET_BYTES)
    document = {"active_key_id": new_key_id, "keys": {k: v.hex() for k, v in keys.items()}}
    atomic_write_json(path, document, mode=0o600)
    return KeyStore(active_key_id=new_key_id, keys=keys)
