"""One LogLine checked the way `vv verify` checks it: signature, canonical bytes, id, chain links.

The per-file checks and the chain rules are vv_core.loglines' (the verifier's own code); the chain
position is checked against the neighbours the index knows by seq, then confirmed from their files.
"""

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from vv_core.keystore import KeyStore
from vv_core.loglines import GENESIS_HASH, check_logline_bytes, id_from_filename, logline_filename, read_bytes


@dataclass
class AuditResult:
    logline_id: str
    found: bool
    raw: str = ""
    document: dict[str, Any] | None = None
    signature_ok: bool = False
    problem: str = ""
    chain: list[str] = field(default_factory=list)   # what is wrong with its chain position
    chain_ok: bool = False
    link_hash: str = ""

    @property
    def ok(self) -> bool:
        return self.found and self.signature_ok and self.chain_ok


def _link_of(path: Path, key_store: KeyStore) -> tuple[str | None, str | None]:
    """(link hash, prev_hash) of another LogLine file, from its bytes."""
    try:
        checked = check_logline_bytes(read_bytes(os.fspath(path)), key_store)
    except OSError:
        return None, None
    return checked.link_hash, checked.prev_hash


def audit_logline(loglines: Path, logline_id: str, key_store: KeyStore,
                  neighbours: dict[int, list[str]]) -> AuditResult:
    """``neighbours``: file names of the records with seq-1 and seq+1, as the index has them."""
    path = loglines / logline_filename(logline_id)
    result = AuditResult(logline_id, path.is_file())
    if not result.found:
        return result
    raw = path.read_bytes()
    result.raw = raw.decode("utf-8", errors="replace")
    try:
        result.document = orjson.loads(raw)
    except ValueError:
        result.document = None
    checked = check_logline_bytes(raw, key_store)
    result.signature_ok = checked.ok
    result.problem = f"{checked.reason}: {checked.detail}" if checked.reason else ""
    if checked.ok and checked.record and checked.record.get("id") != id_from_filename(path.name):
        result.signature_ok, result.problem = False, "id_mismatch: the file holds another LogLine"
    result.link_hash = checked.link_hash or hashlib.sha256(raw.rstrip(b"\n")).hexdigest()
    seq = checked.seq
    if seq is None:
        result.chain.append("no readable seq: its chain position cannot be checked")
        return result
    if seq == 0:
        if checked.prev_hash != GENESIS_HASH:
            result.chain.append("the first record must have prev_hash of 64 zeros")
    else:
        before = [_link_of(loglines / name, key_store)[0] for name in neighbours.get(seq - 1, [])]
        if not before:
            result.chain.append(f"record seq {seq - 1} is missing")
        elif checked.prev_hash not in before:
            result.chain.append(f"prev_hash does not match the record at seq {seq - 1}")
    after = [_link_of(loglines / name, key_store)[1] for name in neighbours.get(seq + 1, [])]
    if after and result.link_hash not in after:
        result.chain.append(f"the record at seq {seq + 1} does not point at this one (prev_hash differs)")
    result.chain_ok = not result.chain
    return result


def verify_whole_chain(loglines: Path, key_store: KeyStore) -> dict[str, Any]:
    """The full `vv verify` over loglines/ (its report as JSON)."""
    from transparency.verifier import verify_directory  # the verifier itself, not a copy of it

    return verify_directory(loglines, key_store, jobs=1).to_json()
