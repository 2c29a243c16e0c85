"""Error types shared by every stage. Each carries a one-line, secret-free message for operators."""


class VVError(Exception):
    """Base for errors a stage reports as one line on stderr (exit code 1)."""


class SchemaValidationError(VVError):
    """A document does not match its contract in schemas/; the message names the failing field."""

    def __init__(self, message: str, *, field: str, schema: str) -> None:
        super().__init__(message)
        self.field = field
        self.schema = schema


class KeyStoreError(VVError):
    """The HMAC key store is missing, malformed, or readable by other users."""


class SignatureError(VVError):
    """A signature does not verify (tampered payload, wrong key, unknown key_id)."""
