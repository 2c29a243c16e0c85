"""The LogLine chain contract: how a record is sealed, stored and checked.

Shared by the writer (logline_generator), the auditor (scripts/logline_verifier.py) and the reader
(tv_scheduler), so all three agree byte for byte on what "a valid LogLine" means.

On disk a LogLine is its canonical JSON plus one newline. That choice buys two things:
- every single-byte edit is detectable, even one that keeps the JSON meaning (a space turned into a
  tab), because the MAC covers the exact bytes the writer produced;
- checking is cheap: the signed bytes are the file minus the ``"signature"`` member, and the chain
  link (sha256 of the record's canonical JSON) is the sha256 of the file minus its newline, so a
  verifier never has to re-serialize a record.

Chain: ``seq`` counts from 0; ``prev_hash`` is the link hash of record ``seq - 1`` (64 zeros for
seq 0). The HMAC covers ``seq``, ``prev_hash`` and ``key_id``, so deleting, reordering, inserting
or editing a record shows up. The durable head (``.chain_head.json``, HMAC-signed too) records the
last seq and its hash, which is what reveals a deleted tail.
"""

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from vv_core.canonical import canonical_json
from vv_core.errors import SchemaValidationError
from vv_core.keystore import KeyStore
from vv_core.schema import fast_validator
from vv_core.signing import sign_payload, verify_signature

GENESIS_HASH = "0" * 64
LOGLINE_SUFFIX = ".logline.json"
MARKDOWN_SUFFIX = ".md"
HEAD_FILE = ".chain_head.json"
LOCK_FILE = ".chain.lock"
SCHEMA_VERSION = "1.0"
HEAD_FORMAT = "vv.logline-chain-head/1"

# Problem reasons, shared by the verifier's report and the scheduler's log lines.
UNREADABLE = "unreadable"
SCHEMA = "schema"
UNKNOWN_KEY = "unknown_key"
BAD_SIGNATURE = "bad_signature"
NOT_CANONICAL = "not_canonical"       # content authentic, but the file's bytes were rewritten
ID_MISMATCH = "id_mismatch"           # <id>.logline.json holds another record (files swapped)
MISSING_SEQ = "missing_seq"
DUPLICATE_SEQ = "duplicate_seq"
REORDERED = "reordered"
BROKEN_PREV_HASH = "broken_prev_hash"
TRUNCATED = "truncated"               # the signed head names records that are gone
BAD_HEAD = "bad_head"
MISSING_HEAD = "missing_head"


def logline_filename(logline_id: str) -> str:
    return f"{logline_id}{LOGLINE_SUFFIX}"


def id_from_filename(name: str) -> str:
    return name[: -len(LOGLINE_SUFFIX)] if name.endswith(LOGLINE_SUFFIX) else name


def encode_logline(record: Mapping[str, Any]) -> bytes:
    """The exact bytes of a LogLine file."""
    return canonical_json(record) + b"\n"


def link_hash(record: Mapping[str, Any]) -> str:
    """sha256 of the record's canonical JSON: what the next record's ``prev_hash`` must be."""
    return hashlib.sha256(canonical_json(record)).hexdigest()


def seal_logline(fields: Mapping[str, Any], *, seq: int, prev_hash: str, key_store: KeyStore) -> dict:
    """Add the chain position and the active key's signature to a LogLine's content."""
    record = {k: v for k, v in fields.items() if k not in ("seq", "prev_hash", "key_id", "signature")}
    record.update(seq=seq, prev_hash=prev_hash, key_id=key_store.active_key_id)
    record["signature"] = sign_payload(record, key_store.active_secret)
    return record


@dataclass(slots=True)
class CheckedLogLine:
    """What one file says and whether it can be trusted on its own (chain checks come later)."""

    record: dict | None          # parsed document (None when unreadable)
    seq: int | None              # set when the schema holds
    prev_hash: str | None
    link_hash: str | None        # sha256 of its canonical JSON (set when the schema holds)
    reason: str | None = None    # first problem found, one of the reasons above
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None


def _validate_logline(record: Any) -> None:
    global _validate_logline
    _validate_logline = fast_validator("logline")  # compiled on first use, then called directly
    _validate_logline(record)


def read_bytes(path: str) -> bytes:
    """A whole (small) file with the fewest system calls: no buffered file object per LogLine."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = [os.read(fd, 1 << 16)]
        while len(chunks[-1]) == 1 << 16:
            chunks.append(os.read(fd, 1 << 16))
    finally:
        os.close(fd)
    return b"".join(chunks)


def check_logline_bytes(raw: bytes, key_store: KeyStore) -> CheckedLogLine:
    """Parse, schema-check and authenticate one LogLine file's bytes.

    Fast path: MAC over the file's own bytes minus the signature member (valid for every file the
    writer produced). Slow path, only when that fails: re-serialize to tell a bad signature from a
    file whose bytes were reformatted around authentic content.
    """
    try:
        # orjson: 3-4× faster than json.loads and stricter (UTF-8 only, no NaN, 64-bit ints), which
        # only turns more malformed files into "unreadable"; signing still uses vv_core.canonical.
        record = orjson.loads(raw)
    except (ValueError, RecursionError) as exc:
        return CheckedLogLine(None, None, None, None, UNREADABLE, f"not JSON: {exc}")
    try:
        _validate_logline(record)
    except SchemaValidationError as exc:
        seq = record.get("seq") if isinstance(record, dict) else None
        return CheckedLogLine(record if isinstance(record, dict) else None,
                              seq if type(seq) is int else None, None, None, SCHEMA, str(exc))
    seq, prev, key_id, signature = record["seq"], record["prev_hash"], record["key_id"], record["signature"]
    secret = key_store.keys.get(key_id)
    body = raw[:-1] if raw.endswith(b"\n") else raw
    if secret is None:
        return CheckedLogLine(record, seq, prev, hashlib.sha256(canonical_json(record)).hexdigest(),
                              UNKNOWN_KEY, f"key_id {key_id!r} is not in the key store")
    needle = b',"signature":"' + signature.encode("ascii") + b'"'
    if raw.endswith(b"\n") and body.count(needle) == 1:
        expected = hmac.digest(secret, body.replace(needle, b"", 1), "sha256").hex()
        if hmac.compare_digest(expected, signature):
            return CheckedLogLine(record, seq, prev, hashlib.sha256(body).hexdigest())
    canonical = canonical_json(record)
    digest = hashlib.sha256(canonical).hexdigest()
    if not verify_signature(record, signature, secret):
        return CheckedLogLine(record, seq, prev, digest, BAD_SIGNATURE,
                              f"HMAC does not match (key_id {key_id!r})")
    return CheckedLogLine(record, seq, prev, digest, NOT_CANONICAL,
                          "content verifies but the file is not the canonical bytes the writer wrote")


# --- the durable chain head ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ChainHead:
    seq: int                       # -1 for an empty chain
    hash: str                      # link hash of record ``seq`` (GENESIS_HASH when empty)
    id: str | None = None
    pending: dict | None = None    # {"seq", "id", "prev_hash"} while an append is in flight

    @classmethod
    def empty(cls) -> "ChainHead":
        return cls(-1, GENESIS_HASH)


def head_document(head: ChainHead, key_store: KeyStore) -> dict:
    document = {"format": HEAD_FORMAT, "seq": head.seq, "hash": head.hash, "id": head.id,
                "pending": head.pending, "key_id": key_store.active_key_id}
    document["signature"] = sign_payload(document, key_store.active_secret)
    return document


class HeadError(ValueError):
    """The head file exists but cannot be trusted (malformed, unknown key, bad signature)."""


def parse_head(raw: bytes, key_store: KeyStore) -> ChainHead:
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise HeadError(f"chain head is not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != HEAD_FORMAT:
        raise HeadError("chain head has an unknown format")
    secret = key_store.keys.get(document.get("key_id"))  # type: ignore[arg-type]
    if secret is None:
        raise HeadError(f"chain head signed with unknown key_id {document.get('key_id')!r}")
    if not verify_signature(document, document.get("signature"), secret):  # type: ignore[arg-type]
        raise HeadError("chain head signature does not match")
    seq, digest, pending = document.get("seq"), document.get("hash"), document.get("pending")
    if type(seq) is not int or seq < -1 or not isinstance(digest, str) or len(digest) != 64:
        raise HeadError("chain head has no valid seq/hash")
    if pending is not None and not (isinstance(pending, dict) and type(pending.get("seq")) is int
                                    and isinstance(pending.get("id"), str)):
        raise HeadError("chain head has a malformed pending entry")
    return ChainHead(seq, digest, document.get("id"), pending)


def read_head(directory: str | os.PathLike[str], key_store: KeyStore) -> ChainHead | None:
    """The signed head of the chain in ``directory``; None when there is none yet."""
    try:
        raw = (Path(directory) / HEAD_FILE).read_bytes()
    except FileNotFoundError:
        return None
    return parse_head(raw, key_store)


# --- chain continuity --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    reason: str
    detail: str
    seq: int | None = None


def analyze_chain(entries: list[tuple[str, CheckedLogLine]], head: "ChainHead | HeadError | None",
                  head_file: str = HEAD_FILE) -> list[Problem]:
    """Continuity problems of a set of LogLines (already checked one by one).

    Records that parsed far enough to have a seq and a hash take part even when their signature
    failed, so one edited record also shows as a broken link for its successor. Records newer than
    the head are accepted when they link up: an append may land while a verifier is reading.
    """
    by_seq: dict[int, list[tuple[str, CheckedLogLine]]] = {}
    for name, checked in entries:
        if checked.seq is not None and checked.link_hash is not None:
            by_seq.setdefault(checked.seq, []).append((name, checked))
    seq_of_hash = {c.link_hash: seq for seq, group in by_seq.items() for _, c in group}
    problems: list[Problem] = []
    expected = 0
    for seq in sorted(by_seq):
        group = sorted(by_seq[seq], key=lambda item: item[0])
        if seq > expected:
            gap = f"seq {expected}" if seq == expected + 1 else f"seq {expected}..{seq - 1}"
            problems.append(Problem(group[0][0], MISSING_SEQ, f"{gap} missing before this record", seq))
        problems.extend(Problem(name, DUPLICATE_SEQ, f"seq {seq} is also held by {group[0][0]}", seq)
                        for name, _ in group[1:])
        predecessors = {c.link_hash for _, c in by_seq.get(seq - 1, ())} if seq else {GENESIS_HASH}
        for name, checked in group:
            if checked.prev_hash in predecessors or (seq and not predecessors and
                                                      checked.prev_hash not in seq_of_hash):
                continue  # linked, or its predecessor is missing (already reported as a gap)
            linked_to = seq_of_hash.get(checked.prev_hash)
            if linked_to is not None:
                problems.append(Problem(name, REORDERED,
                                        f"prev_hash points at seq {linked_to}, not seq {seq - 1}", seq))
            else:
                problems.append(Problem(name, BROKEN_PREV_HASH,
                                        f"prev_hash matches no record (expected the hash of seq {seq - 1})"
                                        if seq else "genesis record must have prev_hash of 64 zeros", seq))
        expected = seq + 1
    problems.extend(_head_problems(by_seq, head, head_file))
    return problems


def _head_problems(by_seq: dict[int, list[tuple[str, CheckedLogLine]]],
                   head: "ChainHead | HeadError | None", head_file: str) -> list[Problem]:
    if isinstance(head, HeadError):
        return [Problem(head_file, BAD_HEAD, str(head))]
    if head is None:
        if by_seq:
            return [Problem(head_file, MISSING_HEAD, "no chain head: a deleted tail could not be noticed")]
        return []
    last = max(by_seq, default=-1)
    if head.seq > last:
        gap = f"seq {last + 1}" if head.seq == last + 1 else f"seq {last + 1}..{head.seq}"
        return [Problem(head_file, TRUNCATED, f"head names seq {head.seq} but the chain ends at {last}: "
                                              f"{gap} deleted", head.seq)]
    if head.seq >= 0 and head.hash not in {c.link_hash for _, c in by_seq.get(head.seq, ())}:
        return [Problem(head_file, BAD_HEAD, f"head hash does not match the record at seq {head.seq}",
                        head.seq)]
    return []
