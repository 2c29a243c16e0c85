"""The Merkle tree of a LogLine directory on disk: ``loglines/.tlog/``.

Leaf ``seq`` is ``SHA-256(0x00 ‖ the exact bytes of the LogLine file with that seq)``. Files:

- ``nodes``: every complete subtree hash, 32 bytes each, in the order they complete (post-order: a
  leaf, then each parent it completes). Appending a LogLine is one buffered ``write`` of its leaf
  and the parents it completes; node (level k, index j) sits at a position computed in O(1), so a
  proof is O(log n) reads at any size. The file is an index derived from the LogLines, so it is not
  made durable per append: ``sync`` (one ``fdatasync``) runs once before each checkpoint is written,
  so every node a checkpoint names is on disk before the checkpoint. The file only grows: a reader
  reads below the size of the latest checkpoint, so it never sees a torn node. Nodes past the last
  checkpoint may be torn or lost by a crash: the writer's recovery cuts them and recomputes them
  from the LogLine files (``truncate``, ``rewrite``), then checks the tree against the checkpoint.
- ``checkpoint``: the latest signed checkpoint (C2SP note), written atomically after each run of
  appends (one per ``vv logline`` run, whatever the number of LogLines).
- ``checkpoint.witnessed``: the latest checkpoint with the witness cosignatures it collected.
- ``witnesses.json``: per witness, the last size it cosigned and the last failure.
"""

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from vv_core.atomic import atomic_write_bytes
from vv_core.loglines import LOGLINE_SUFFIX, id_from_filename, read_bytes
from vv_core.merkle import (
    HASH_SIZE,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    subtree_root,
)

TLOG_DIR = ".tlog"
NODES_FILE = "nodes"
CHECKPOINT_FILE = "checkpoint"
WITNESSED_FILE = "checkpoint.witnessed"
WITNESS_STATE_FILE = "witnesses.json"


def nodes_for(size: int) -> int:
    """Number of complete subtrees (stored nodes) in a tree of ``size`` leaves."""
    return 2 * size - size.bit_count()


def node_position(level: int, index: int) -> int:
    """Where node (level, index) sits in ``nodes``: right after the leaf that completes it."""
    last_leaf = ((index + 1) << level) - 1
    return nodes_for(last_leaf) + level


def size_for_nodes(count: int) -> int:
    """The largest tree size whose nodes fit in ``count`` stored nodes."""
    size = count // 2
    while nodes_for(size + 1) <= count:
        size += 1
    while size and nodes_for(size) > count:
        size -= 1
    return size


class TreeStore:
    """The ``nodes`` file of one LogLine directory (open it with ``with``)."""

    def __init__(self, loglines_dir: str | os.PathLike[str]) -> None:
        self.directory = Path(loglines_dir) / TLOG_DIR
        self.path = self.directory / NODES_FILE
        self._fd: int | None = None

    def __enter__(self) -> "TreeStore":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _reader(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        return self._fd

    def size(self) -> int:
        """Leaves whose nodes are all stored (0 when there is no file)."""
        try:
            return size_for_nodes(self.path.stat().st_size // HASH_SIZE)
        except FileNotFoundError:
            return 0

    def node(self, level: int, index: int) -> bytes:
        digest = os.pread(self._reader(), HASH_SIZE, node_position(level, index) * HASH_SIZE)
        if len(digest) != HASH_SIZE:
            raise ProofError(f"node ({level}, {index}) is not stored")
        return digest

    def leaf(self, index: int) -> bytes:
        return self.node(0, index)

    def root(self, size: int) -> bytes:
        return subtree_root(self.node, 0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return inclusion_proof(self.node, index, size)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return consistency_proof(self.node, old_size, new_size)

    def _peaks(self, size: int) -> list[tuple[int, bytes]]:
        """(level, hash) of the complete subtrees that make up a tree of ``size``, left first."""
        peaks, start = [], 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                peaks.append((level, self.node(level, start >> level)))
                start += 1 << level
        return peaks

    def append(self, leaf_hashes: Iterable[bytes], *, durable: bool = False) -> int:
        """Add leaves after the stored ones (one buffered write; ``durable`` adds an fdatasync);
        return the new size. Call ``sync`` before a checkpoint names the new size."""
        size = self.size()
        self.truncate(size)
        leaves = list(leaf_hashes)
        out = post_order(leaves, self._peaks(size) if size else ())
        size += len(leaves)
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, b"".join(out))
            if durable:
                os.fdatasync(fd)
        finally:
            os.close(fd)
        return size

    def sync(self) -> None:
        """Make every stored node durable (one fdatasync): before a checkpoint that names them."""
        try:
            fd = os.open(self.path, os.O_WRONLY)
        except FileNotFoundError:
            return
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)

    def truncate(self, size: int) -> None:
        """Drop every node beyond a tree of ``size`` (a torn tail, or leaves never checkpointed)."""
        try:
            if self.path.stat().st_size > nodes_for(size) * HASH_SIZE:
                os.truncate(self.path, nodes_for(size) * HASH_SIZE)
        except FileNotFoundError:
            pass

    def rewrite(self, leaf_hashes: Sequence[bytes]) -> None:
        """Replace the whole file atomically with the tree over ``leaf_hashes``."""
        self.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.path, b"".join(post_order(leaf_hashes)))


def post_order(leaf_hashes: Iterable[bytes], peaks: Sequence[tuple[int, bytes]] = ()) -> list[bytes]:
    """Every node of the tree in the order of the ``nodes`` file; with ``peaks`` (the complete subtrees
    of a stored tree, as ``(level, hash)``), only the nodes that appending the leaves adds."""
    stack = list(peaks)
    out: list[bytes] = []
    for digest in leaf_hashes:
        out.append(digest)
        level = 0
        while stack and stack[-1][0] == level:
            digest = node_hash(stack.pop()[1], digest)
            level += 1
            out.append(digest)
        stack.append((level, digest))
    return out


# --- reading the LogLines as leaves --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Leaf:
    """What the tree (and an auditor without the HMAC key) needs of one LogLine file."""

    name: str
    seq: int | None        # None when the file is not a LogLine at all
    id: str | None
    prev_hash: str | None
    link_hash: str         # sha256 of the file minus its newline (what the next prev_hash names)
    hash: bytes            # RFC 6962 leaf hash of the exact file bytes


def read_leaf(path: str) -> Leaf:
    raw = read_bytes(path)
    name = os.path.basename(path)
    body = raw[:-1] if raw.endswith(b"\n") else raw
    try:
        record = orjson.loads(raw)
        seq, record_id, prev = record["seq"], record["id"], record["prev_hash"]
        if type(seq) is not int or not isinstance(record_id, str) or not isinstance(prev, str):
            raise TypeError
    except (ValueError, TypeError, KeyError):
        seq, record_id, prev = None, None, None
    return Leaf(name, seq, record_id, prev, hashlib.sha256(body).hexdigest(), leaf_hash(raw))


def logline_paths(directory: str | os.PathLike[str]) -> list[str]:
    base = os.fspath(directory)
    with os.scandir(base) as listing:
        return sorted(os.path.join(base, e.name) for e in listing if e.name.endswith(LOGLINE_SUFFIX))


def chain_order(leaves: Iterable[Leaf]) -> tuple[list[Leaf], list[str]]:
    """Leaves sorted by seq, and the problems that stop them forming leaves 0..n-1 of one log."""
    ordered = sorted((leaf for leaf in leaves), key=lambda leaf: (leaf.seq is None, leaf.seq or 0, leaf.name))
    problems = [f"{leaf.name}: not a LogLine (no seq/id/prev_hash)" for leaf in ordered if leaf.seq is None]
    ordered = [leaf for leaf in ordered if leaf.seq is not None]
    for position, leaf in enumerate(ordered):
        if leaf.id is not None and id_from_filename(leaf.name) != leaf.id:
            problems.append(f"{leaf.name}: holds LogLine {leaf.id!r}")
        if leaf.seq != position:
            what = "duplicate" if position and ordered[position - 1].seq == leaf.seq else "missing"
            problems.append(f"{leaf.name}: seq {leaf.seq} where seq {position} was expected ({what} seq)")
            break
    return ordered, problems


def write_checkpoint(loglines_dir: str | os.PathLike[str], note: str, name: str = CHECKPOINT_FILE) -> Path:
    return atomic_write_bytes(Path(loglines_dir) / TLOG_DIR / name, note.encode())


def read_checkpoint(loglines_dir: str | os.PathLike[str], name: str = CHECKPOINT_FILE) -> str | None:
    try:
        return (Path(loglines_dir) / TLOG_DIR / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None

