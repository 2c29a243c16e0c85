"""The vv-core API as the blueprint (§7) names it, for code written against the blueprint:

    from vv_core.utils import (compute_sha256, load_schema, validate_schema, sign_payload,
                               verify_signature, load_key_store)

Thin adapters over the kernel modules that the stages use (``hashing``, ``schema``, ``signing``,
``keystore``). The blueprint signs raw bytes: ``sign_payload(payload, secret)`` is the hex
HMAC-SHA256 of ``payload``, so signing ``vv_core.signing.signing_input(document)`` gives the very
signature a LogLine carries.
"""

from vv_core.hashing import compute_sha256
from vv_core.keystore import load_key_store
from vv_core.schema import load_schema, validate_schema
from vv_core.signing import sign_bytes, verify_bytes

__all__ = ["compute_sha256", "load_key_store", "load_schema", "sign_payload", "validate_schema",
           "verify_signature"]


def sign_payload(payload: bytes, secret: bytes) -> str:
    """Hex HMAC-SHA256 of ``payload`` under ``secret`` (an empty secret is refused)."""
    return sign_bytes(payload, secret)


def verify_signature(payload: bytes, secret: bytes, signature: str) -> bool:
    """True when ``signature`` is the HMAC-SHA256 of ``payload`` under ``secret``; constant-time."""
    return verify_bytes(payload, signature, secret)
