"""Proofs from a LogLine directory's tree, as plain data (`vv proof` and tv_api's /transparency).

Every proof is made against a size some signed checkpoint covers, never against leaves that are
still being written: ``latest_checkpoint`` is the bound.
"""

import base64
import os
import re
from pathlib import Path

from vv_core.errors import VVError
from vv_core.loglines import logline_filename
from vv_core.merkle import ProofError, verify_consistency, verify_inclusion
from vv_core.notes import Checkpoint, NoteError, split_note
from vv_core.tlog import TreeStore, read_checkpoint, read_leaf

LOGLINE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


class ProofRequestError(VVError):
    """The proof asked for does not exist (unknown LogLine, size beyond the checkpoint, …)."""


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def latest_checkpoint(directory: Path) -> tuple[str, Checkpoint]:
    note = read_checkpoint(directory)
    if note is None:
        raise ProofRequestError(f"{directory} has no signed checkpoint yet")
    try:
        return note, Checkpoint.parse(split_note(note)[0])
    except NoteError as exc:
        raise VVError(f"the checkpoint of {directory} is unreadable: {exc}") from None


def inclusion(directory: Path, logline_id: str) -> dict:
    """Inclusion proof of LogLine ``logline_id`` against the latest checkpoint (checked here too)."""
    if not LOGLINE_ID.fullmatch(logline_id):
        raise ProofRequestError(f"{logline_id!r} is not a LogLine id")
    note, checkpoint = latest_checkpoint(directory)
    try:
        leaf = read_leaf(os.path.join(directory, logline_filename(logline_id)))
    except FileNotFoundError:
        raise ProofRequestError(f"no LogLine {logline_id!r} in {directory}") from None
    if leaf.seq is None or leaf.seq >= checkpoint.size:
        raise ProofRequestError(f"LogLine {logline_id!r} is not covered by checkpoint {checkpoint.size} yet")
    with TreeStore(directory) as store:
        if store.leaf(leaf.seq) != leaf.hash:
            raise VVError(f"{logline_filename(logline_id)} is not the leaf {leaf.seq} the tree holds: "
                          f"the file was changed; run `vv verify {directory}`")
        proof = store.inclusion_proof(leaf.seq, checkpoint.size)
    try:
        verify_inclusion(leaf.seq, checkpoint.size, leaf.hash, proof, checkpoint.root)
    except ProofError as exc:
        raise VVError(f"the tree of {directory} does not match its checkpoint ({exc})") from None
    return {"id": logline_id, "leaf_index": leaf.seq, "tree_size": checkpoint.size, "leaf_hash": b64(leaf.hash),
            "proof": [b64(h) for h in proof], "checkpoint": note}


def inclusion_by_index(directory: Path, index: int, size: int | None = None) -> dict:
    _note, checkpoint = latest_checkpoint(directory)
    size = checkpoint.size if size is None else size
    if not 0 <= index < size <= checkpoint.size:
        raise ProofRequestError(f"need 0 <= index < size <= {checkpoint.size} (the latest checkpoint)")
    with TreeStore(directory) as store:
        return {"leaf_index": index, "tree_size": size, "leaf_hash": b64(store.leaf(index)),
                "proof": [b64(h) for h in store.inclusion_proof(index, size)]}


def consistency(directory: Path, old_size: int, new_size: int | None = None) -> dict:
    """Consistency proof between two sizes the latest checkpoint covers (checked here too)."""
    _note, checkpoint = latest_checkpoint(directory)
    new_size = checkpoint.size if new_size is None else new_size
    if not 0 <= old_size <= new_size <= checkpoint.size:
        raise ProofRequestError(f"need 0 <= old <= new <= {checkpoint.size} (the latest checkpoint)")
    with TreeStore(directory) as store:
        proof = store.consistency_proof(old_size, new_size)
        old_root, new_root = store.root(old_size), store.root(new_size)
    verify_consistency(old_size, new_size, old_root, new_root, proof)
    return {"old_size": old_size, "new_size": new_size, "old_root": b64(old_root), "new_root": b64(new_root),
            "proof": [b64(h) for h in proof]}
