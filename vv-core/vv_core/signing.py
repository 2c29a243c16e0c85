"""HMAC-SHA256 over canonical JSON, compared in constant time.

A signed document carries its MAC in ``signature``; the MAC covers every other field, so adding,
removing or editing any field (including ``key_id``, ``seq`` and ``prev_hash``) breaks it.
"""

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from vv_core.canonical import canonical_json

SIGNATURE_FIELD = "signature"
ALGORITHM = "HMAC-SHA256"


def signing_input(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes that are MACed: the canonical JSON of the payload without its signature."""
    return canonical_json({k: v for k, v in payload.items() if k != SIGNATURE_FIELD})


def sign_bytes(data: bytes, secret: bytes) -> str:
    """Return the hex HMAC-SHA256 of ``data`` under ``secret``."""
    if not secret:
        raise ValueError("empty HMAC secret")
    return hmac.new(secret, data, hashlib.sha256).hexdigest()


def verify_bytes(data: bytes, signature: str, secret: bytes) -> bool:
    """True when ``signature`` is the HMAC of ``data`` under ``secret`` (constant-time compare)."""
    if not isinstance(signature, str):
        return False
    return hmac.compare_digest(sign_bytes(data, secret).encode("ascii"), signature.encode("ascii", "replace"))


def sign_payload(payload: Mapping[str, Any], secret: bytes) -> str:
    """Return the hex HMAC-SHA256 of ``payload`` (its ``signature`` field, if any, excluded)."""
    return sign_bytes(signing_input(payload), secret)


def verify_signature(payload: Mapping[str, Any], signature: str, secret: bytes) -> bool:
    """True when ``signature`` is the HMAC of ``payload`` under ``secret`` (constant-time compare)."""
    return verify_bytes(signing_input(payload), signature, secret)
