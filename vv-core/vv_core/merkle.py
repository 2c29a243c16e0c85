"""RFC 6962 / RFC 9162 Merkle tree hashing and proofs: pure functions over 32-byte hashes.

Leaf hash ``SHA-256(0x00 ‖ data)``, interior node ``SHA-256(0x01 ‖ left ‖ right)``, the empty tree
hashes to ``SHA-256("")``; a tree of n leaves splits at the largest power of two below n. These are
the rules Certificate Transparency, Sigstore and every C2SP tlog use, so a proof made here checks
with their tools and theirs with ours.

Proof *generation* takes ``node(level, index)``: the hash of the complete subtree of ``2**level``
leaves starting at leaf ``index << level`` (a stored tree answers it with one read). Proof
*verification* needs only the proof, the sizes and the roots (RFC 9162 §2.1.3.2 and §2.1.4.2).
"""

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeSource = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof does not verify, or its request is impossible (sizes out of range)."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two strictly below ``size`` (size ≥ 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    """Root of the tree over ``leaf_hashes`` in one pass, keeping only the O(log n) frontier."""
    stack: list[tuple[int, bytes]] = []   # (height, hash) of complete subtrees, left to right
    for digest in leaf_hashes:
        height = 0
        while stack and stack[-1][0] == height:
            digest = node_hash(stack.pop()[1], digest)
            height += 1
        stack.append((height, digest))
    if not stack:
        return EMPTY_ROOT
    root = stack.pop()[1]
    while stack:  # the ragged right edge: fold the smaller subtrees into the larger ones
        root = node_hash(stack.pop()[1], root)
    return root


def levels_of(leaf_hashes: Sequence[bytes]) -> list[list[bytes]]:
    """Every complete subtree hash: ``levels[k][j]`` is ``node(k, j)`` (for building a store)."""
    levels = [list(leaf_hashes)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


def subtree_root(node: NodeSource, start: int, end: int) -> bytes:
    """MTH of leaves ``[start, end)``; ``start`` must be a multiple of the range's split point."""
    size = end - start
    if size == 0:
        return EMPTY_ROOT
    lefts: list[bytes] = []
    while size & (size - 1):  # not a power of two: the left part is complete, go right
        level = split_point(size).bit_length() - 1
        lefts.append(node(level, start >> level))
        start += 1 << level
        size -= 1 << level
    level = size.bit_length() - 1
    digest = node(level, start >> level)
    for left in reversed(lefts):
        digest = node_hash(left, digest)
    return digest


def inclusion_proof(node: NodeSource, index: int, size: int) -> list[bytes]:
    """RFC 6962 PATH(index, D[0:size]), the sibling hashes from the leaf up."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            path.append(subtree_root(node, start + k, end))
            end = start + k
        else:
            path.append(subtree_root(node, start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(node: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """RFC 6962 PROOF(old_size, D[0:new_size]); empty when old_size is 0 or equal to new_size."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    path: list[bytes] = []
    start, end, whole = 0, new_size, True
    m = old_size
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            path.append(subtree_root(node, start + k, end))
            end = start + k
        else:
            path.append(subtree_root(node, start, start + k))
            start += k
            m -= k
            whole = False
    if not whole:
        path.append(subtree_root(node, start, end))
    path.reverse()
    return path


def _check_hashes(proof: Sequence[bytes], *roots: bytes) -> None:
    if any(len(h) != HASH_SIZE for h in (*proof, *roots)):
        raise ProofError("hashes must be 32 bytes")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 §2.1.3.2); ProofError if it is malformed."""
    _check_hashes(proof, leaf)
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    fn, sn, digest = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            digest = node_hash(sibling, digest)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            digest = node_hash(digest, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    return digest


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ProofError unless ``proof`` shows leaf ``index`` in the tree of ``size`` with ``root``."""
    _check_hashes((), root)
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError(f"inclusion proof of leaf {index} does not lead to the root of size {size}")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """Raise ProofError unless the tree (new_size, new_root) extends (old_size, old_root)."""
    _check_hashes(proof, old_root, new_root)
    if not 0 <= old_size <= new_size:
        raise ProofError(f"size {new_size} is smaller than size {old_size}: the log went backwards")
    if old_size == new_size:
        if proof or old_root != new_root:
            raise ProofError(f"two different roots for the same size {old_size}")
        return
    if old_size == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    old_digest = new_digest = path[0]
    for sibling in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            old_digest = node_hash(sibling, old_digest)
            new_digest = node_hash(sibling, new_digest)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            new_digest = node_hash(new_digest, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if old_digest != old_root:
        raise ProofError(f"the tree of size {new_size} does not contain the tree of size {old_size}")
    if new_digest != new_root:
        raise ProofError(f"consistency proof does not lead to the root of size {new_size}")
