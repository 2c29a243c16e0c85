"""Password hashing: PBKDF2-HMAC-SHA256 from the standard library, 600,000 iterations (OWASP 2023).

Stored form: ``pbkdf2_sha256$<iterations>$<salt b64>$<digest b64>``: self-describing, so the
iteration count can be raised later and old hashes still verify (and get re-hashed on login).
"""

import base64
import hashlib
import hmac
import secrets

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 600_000
MIN_ITERATIONS = 600_000
SALT_BYTES = 16
MIN_PASSWORD_LENGTH = 10


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, iterations: int = ITERATIONS) -> str:
    if iterations < MIN_ITERATIONS:
        raise ValueError(f"PBKDF2 needs at least {MIN_ITERATIONS} iterations")
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{ALGORITHM}${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time check of ``password`` against a stored hash; False for malformed hashes."""
    try:
        algorithm, iterations_text, salt_b64, digest_b64 = encoded.split("$")
        iterations = int(iterations_text)
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(digest_b64, validate=True)
    except (ValueError, TypeError):
        return False
    if algorithm != ALGORITHM or iterations < MIN_ITERATIONS:
        return False
    actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(actual, expected)


# Verified against when the user does not exist, so "no such user" costs the same time as
# "wrong password" and the answer time does not reveal which user names exist.
_DUMMY_HASH = f"{ALGORITHM}${ITERATIONS}${_b64(b'0' * SALT_BYTES)}${_b64(b'0' * 32)}"


def burn_equal_time(password: str) -> None:
    verify_password(password, _DUMMY_HASH)
