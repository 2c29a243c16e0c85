"""The LogLines' Merkle tree and signed checkpoint, kept in step with the chain (under its lock).

The chain head is the commit point of an append; the tree (vv_core.tlog) follows it: after the
head names a new record its leaf is appended (a buffered write, no fsync), and once per run of
appends the node file is synced and a checkpoint over the new size is signed and written atomically
(``sign_checkpoint``). The LogLine files are durable before their leaves are appended, and the
nodes before the checkpoint names them, so a checkpoint never names a leaf or node that a power cut
can take back. The nodes past the last checkpoint are not trusted after a crash: ``recover_tree`` —
run first by every append — cuts them and recomputes them from the LogLine files (the head's file
alone when it is one leaf, every file otherwise), then signs the checkpoint the crash cost. Before signing,
the stored tree is checked against the last checkpoint this box signed: the box never signs a
checkpoint inconsistent with its previous one (tlog-checkpoint: "a log MUST not"), so LogLines
edited, removed or inserted behind its back stop the writer with one clear line instead of a fork.
"""

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from vv_core.errors import VVError
from vv_core.keystore import load_key_store
from vv_core.loglines import ChainHead, logline_filename
from vv_core.merkle import leaf_hash
from vv_core.notes import Checkpoint, NoteError, NoteSigner, sign_note, signers_from_key_store, split_note
from vv_core.tlog import TreeStore, chain_order, logline_paths, read_checkpoint, read_leaf, write_checkpoint

logger = logging.getLogger("vv.logline_generator.transparency")
# Tests set this to stop the writer at a named point (crash tests SIGKILL it there); never in production.
CRASH_HOOK_ENV = "VV_TEST_CRASH_AT"


class TransparencyError(VVError):
    """The tree cannot be brought in line with the chain and the last signed checkpoint."""


@dataclass(frozen=True)
class CheckpointSigning:
    origin: str           # checkpoint origin line, also the signing key's note name
    signer: NoteSigner


def load_signing(key_store_path: Path, origin: str) -> CheckpointSigning | None:
    """The active checkpoint key, or None (with a warning) when there is no key store yet."""
    if not Path(key_store_path).exists():
        logger.warning("no checkpoint key store: checkpoints are not signed; run `vv bootstrap`",
                       extra={"path": str(key_store_path)})
        return None
    active, _all = signers_from_key_store(load_key_store(key_store_path), origin)
    return CheckpointSigning(origin, active)


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_HOOK_ENV) == name:
        os.kill(os.getpid(), 9)


def last_checkpoint(directory: Path) -> Checkpoint | None:
    note = read_checkpoint(directory)
    if note is None:
        return None
    try:
        return Checkpoint.parse(split_note(note)[0])
    except NoteError as exc:
        raise TransparencyError(f"{directory}/.tlog/checkpoint is unreadable ({exc})") from None


def recover_tree(directory: Path, head: ChainHead, signing: CheckpointSigning | None) -> None:
    """Make the tree hold exactly the committed chain (call under the chain lock, after
    recover_head), check it against the last checkpoint, and sign one if it is behind."""
    target = head.seq + 1
    checkpoint = last_checkpoint(directory)
    if checkpoint is not None and checkpoint.size > target:
        raise TransparencyError(f"the chain ends at seq {head.seq} but checkpoint {checkpoint.size} was "
                                f"signed: LogLines were removed; run `vv verify {directory}`")
    with TreeStore(directory) as store:
        size = min(store.size(), target)
        if signing is not None:
            # nodes past the checkpoint were never synced: a power cut may have torn or zeroed any
            # of them (not only the tail), so recompute them from the LogLine files before signing
            size = min(size, checkpoint.size if checkpoint is not None else 0)
        store.truncate(size)                    # a torn tail, or leaves of a rolled-back append
        if size == target - 1 and head.id is not None:
            store.append([read_leaf(str(directory / logline_filename(head.id))).hash])
        elif size != target:
            rebuild_tree(directory, store, target)
        if target and not _tail_matches(directory, store, head):
            rebuild_tree(directory, store, target)
        if checkpoint is not None and store.root(checkpoint.size) != checkpoint.root:
            rebuild_tree(directory, store, target)  # the index may be stale; the files decide
            if store.root(checkpoint.size) != checkpoint.root:
                raise TransparencyError(
                    f"the LogLines no longer hash to checkpoint {checkpoint.size} this box signed: "
                    f"some were edited, inserted or reordered; run `vv verify {directory}`")
        if signing is not None and target and (checkpoint is None or checkpoint.size < target):
            sign_checkpoint(directory, store, signing)


def append_leaf(store: TreeStore, raw: bytes, seq: int) -> None:
    """Append the just-committed LogLine ``raw`` as leaf ``seq`` (buffered: no fsync)."""
    if store.size() != seq:
        raise TransparencyError(f"tree holds {store.size()} leaves, expected {seq}; run the writer again")
    store.append([leaf_hash(raw)])


def extend_tree(directory: Path, raw: bytes, seq: int, signing: CheckpointSigning | None) -> None:
    """Append one LogLine's leaf and sign the new checkpoint (a run of one append)."""
    with TreeStore(directory) as store:
        append_leaf(store, raw, seq)
        crash_point("after-tree-append")
        if signing is not None:
            sign_checkpoint(directory, store, signing)


def sign_checkpoint(directory: Path, store: TreeStore, signing: CheckpointSigning) -> None:
    """Sync the nodes, then sign and atomically write the checkpoint over the whole stored tree."""
    size = store.size()
    store.sync()            # every node the checkpoint names is durable before the checkpoint
    crash_point("after-tree-sync")
    checkpoint = Checkpoint(signing.origin, size, store.root(size))
    write_checkpoint(directory, sign_note(checkpoint.text(), signing.signer))


def _tail_matches(directory: Path, store: TreeStore, head: ChainHead) -> bool:
    if head.id is None:
        return True
    try:
        tail = read_leaf(str(directory / logline_filename(head.id)))
    except FileNotFoundError:
        raise TransparencyError(f"the chain head names {head.id} but its file is gone; "
                                f"run `vv verify {directory}`") from None
    return store.leaf(head.seq) == tail.hash


def rebuild_tree(directory: Path, store: TreeStore, size: int) -> None:
    """Recompute the tree from the LogLine files with seq < ``size`` (they must be 0..size-1)."""
    leaves = [leaf for leaf in map(read_leaf, logline_paths(directory))
              if leaf.seq is None or leaf.seq < size]
    ordered, problems = chain_order(leaves)
    if not problems and len(ordered) != size:
        problems = [f"{size - len(ordered)} LogLine(s) missing"]
    if problems:
        raise TransparencyError(f"cannot rebuild the Merkle tree of {directory}: {problems[0]}; "
                                f"run `vv verify {directory}`")
    store.rewrite([leaf.hash for leaf in ordered])
    logger.warning("Merkle tree rebuilt from the LogLine files", extra={"tree_size": size})
