"""C2SP signed notes, checkpoints and cosignatures with Ed25519 (``cryptography``).

- signed-note: text ending in a newline, a blank line, then lines ``— <name> base64(keyID ‖ sig)``.
  keyID = first 4 bytes of SHA-256(name ‖ 0x0A ‖ type ‖ public key); type 0x01 is a plain Ed25519
  signature over the text, 0x04 a tlog-cosignature/v1 (timestamp ‖ Ed25519 signature over
  ``cosignature/v1\\ntime <t>\\n`` ‖ text) made by a witness.
- verifier key (what an auditor keeps): ``<name>+<hex keyID>+<base64(type ‖ public key)>``.
- tlog-checkpoint: the text is ``<origin>\\n<tree size>\\n<base64 root hash>\\n``.

Ed25519 private keys are 32-byte seeds kept in a key store of the same format as the HMAC one
(vv_core.keystore): rotation adds a key, old public keys keep verifying old checkpoints.
"""

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from vv_core.keystore import KeyStore
from vv_core.merkle import HASH_SIZE

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
SIGNATURE_PREFIX = "\u2014 "       # em dash, space
MAX_SIGNATURES = 100
MAX_NOTE_BYTES = 1 << 16
_NAME = re.compile(r"[^\s+]+")


class NoteError(ValueError):
    """A note, key or checkpoint is malformed, or its signature does not verify."""


def key_id(name: str, kind: int, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public_key).digest()[:4]


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


@dataclass(frozen=True)
class VerifierKey:
    name: str
    kind: int              # ED25519 (a log) or COSIGNATURE_V1 (a witness)
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.kind, self.public_key)

    def __str__(self) -> str:
        material = base64.b64encode(bytes([self.kind]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    @classmethod
    def parse(cls, text: str) -> "VerifierKey":
        name, sep, rest = text.strip().partition("+")
        hex_id, sep2, material = rest.partition("+")
        if not (sep and sep2):
            raise NoteError("a verifier key reads <name>+<hex key id>+<base64 key>")
        try:
            raw = base64.b64decode(material, validate=True)
            wanted = bytes.fromhex(hex_id)
        except (binascii.Error, ValueError):
            raise NoteError("verifier key is not valid hex/base64") from None
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1) or len(wanted) != 4:
            raise NoteError("verifier key is not an Ed25519 (type 1) or cosignature (type 4) key")
        key = cls(_check_name(name), raw[0], raw[1:])
        if key.key_id != wanted:
            raise NoteError(f"verifier key {name!r}: key id {hex_id} does not match the key")
        return key


@dataclass(frozen=True)
class NoteSigner:
    """An Ed25519 signing key with its note name (a log's key or a witness's cosigning key)."""

    name: str
    private_key: Ed25519PrivateKey
    kind: int = ED25519

    @classmethod
    def from_seed(cls, name: str, seed: bytes, kind: int = ED25519) -> "NoteSigner":
        if len(seed) != 32:
            raise NoteError("an Ed25519 key is a 32-byte seed")
        return cls(_check_name(name), Ed25519PrivateKey.from_private_bytes(seed), kind)

    @property
    def verifier_key(self) -> VerifierKey:
        public = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return VerifierKey(self.name, self.kind, public)

    def signature_line(self, text: str, timestamp: int | None = None) -> str:
        """One ``— name base64`` line over ``text`` (a cosignature needs ``timestamp``)."""
        key = self.verifier_key
        if self.kind == COSIGNATURE_V1:
            if timestamp is None or not 0 <= timestamp < 1 << 63:
                raise NoteError("a cosignature needs a timestamp")
            body = struct.pack(">Q", timestamp) + self.private_key.sign(_cosigned_message(text, timestamp))
        else:
            body = self.private_key.sign(text.encode())
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(key.key_id + body).decode()}\n"


def signers_from_key_store(store: KeyStore, name: str, kind: int = ED25519) -> tuple[NoteSigner, list[NoteSigner]]:
    """(active signer, every signer) of an Ed25519 key store; the seeds never leave this process."""
    signers = {key: NoteSigner.from_seed(name, seed, kind) for key, seed in store.keys.items()}
    return signers[store.active_key_id], list(signers.values())


def _cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()


def sign_note(text: str, signer: NoteSigner) -> str:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    return text + "\n" + signer.signature_line(text)


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    body: bytes
    line: str


def split_note(note: str) -> tuple[str, list[Signature]]:
    """(text, signature lines) of a note; NoteError when it is not a well-formed signed note."""
    if len(note.encode()) > MAX_NOTE_BYTES:
        raise NoteError("note is too large")
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise NoteError("note contains control characters")
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("note has no signature block")
    text, block = note[: cut + 1], note[cut + 2:]
    signatures = []
    for line in block.splitlines():
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("malformed signature line")
        name, _, encoded = line[len(SIGNATURE_PREFIX):].partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise NoteError("signature is not base64") from None
        if not _NAME.fullmatch(name) or len(raw) < 5:
            raise NoteError("malformed signature line")
        signatures.append(Signature(name, raw[:4], raw[4:], line + "\n"))
    if not signatures or len(signatures) > MAX_SIGNATURES:
        raise NoteError("a note needs between 1 and 100 signatures")
    return text, signatures


def _verifies(key: VerifierKey, text: str, signature: Signature) -> bool:
    public = Ed25519PublicKey.from_public_bytes(key.public_key)
    try:
        if key.kind == COSIGNATURE_V1:
            if len(signature.body) != 72:
                return False
            (timestamp,) = struct.unpack(">Q", signature.body[:8])
            public.verify(signature.body[8:], _cosigned_message(text, timestamp))
        else:
            public.verify(signature.body, text.encode())
    except InvalidSignature:
        return False
    return True


def verify_note(note: str, keys: Iterable[VerifierKey]) -> tuple[str, list[VerifierKey]]:
    """(text, keys whose signature verified). Unknown signatures are ignored; a known key whose
    signature fails rejects the whole note (signed-note: clients SHOULD), and so does a note that
    no known key signed."""
    text, signatures = split_note(note)
    known = {(k.name, k.key_id): k for k in keys}
    verified: list[VerifierKey] = []
    for signature in signatures:
        key = known.get((signature.name, signature.key_id))
        if key is None:
            continue
        if not _verifies(key, text, signature):
            raise NoteError(f"signature of {key.name}+{key.key_id.hex()} does not verify")
        if key not in verified:
            verified.append(key)
    if not verified:
        raise NoteError("no signature from a trusted key")
    return text, verified


def cosignature_time(note: str, key: VerifierKey) -> int | None:
    """When ``key`` cosigned ``note`` (POSIX seconds), or None if it did not."""
    for signature in split_note(note)[1]:
        if (signature.name, signature.key_id) == (key.name, key.key_id) and len(signature.body) == 72:
            return struct.unpack(">Q", signature.body[:8])[0]
    return None


# --- tlog-checkpoint ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> "Checkpoint":
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
            raise NoteError("a checkpoint is origin, size and root hash, one per line")
        origin, size, encoded = lines[0], lines[1], lines[2]
        if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size):
            raise NoteError(f"checkpoint tree size {size!r} is not a decimal")
        try:
            root = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            root = b""
        if len(root) != HASH_SIZE:
            raise NoteError("checkpoint root hash is not 32 bytes of base64")
        return cls(origin, int(size), root)


def open_checkpoint(note: str, log_keys: Iterable[VerifierKey]) -> tuple[Checkpoint, list[VerifierKey]]:
    """Verify a signed checkpoint against the log's keys; (checkpoint, log keys that signed)."""
    keys = [k for k in log_keys if k.kind == ED25519]
    text, verified = verify_note(note, keys)
    checkpoint = Checkpoint.parse(text)
    if any(key.name != checkpoint.origin for key in verified):
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not its signer's name")
    return checkpoint, verified


def witnesses_of(note: str, witness_keys: Iterable[VerifierKey]) -> list[VerifierKey]:
    """The witness keys with a valid cosignature on ``note`` (a bad one counts as none)."""
    found = []
    text, signatures = split_note(note)
    for key in witness_keys:
        if key.kind != COSIGNATURE_V1:
            continue
        for signature in signatures:
            if (signature.name, signature.key_id) == (key.name, key.key_id) and _verifies(key, text, signature):
                found.append(key)
                break
    return found
