"""Canonical JSON: one byte sequence per value, so a signature means the same thing everywhere.

Rules: keys sorted, no insignificant whitespace, UTF-8 without escaping non-ASCII, no NaN or
Infinity (not JSON), and integers stay integers. Floats use Python's shortest repr, which is stable
across platforms for the same double.
"""

import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Serialize ``value`` to canonical JSON bytes (the input of every HMAC)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def pretty_json(value: Any) -> bytes:
    """Human-readable JSON for files on disk; key order is stable so diffs stay small."""
    return (
        json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    ).encode("utf-8")
