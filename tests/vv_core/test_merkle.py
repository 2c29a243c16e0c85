"""RFC 6962 hashing and proofs: the published reference vectors, a property test, the stored tree."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vv_core.merkle import (
    EMPTY_ROOT,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    levels_of,
    root_from_inclusion_proof,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from vv_core.tlog import TreeStore, node_position, nodes_for, post_order, size_for_nodes

# Certificate Transparency / transparency-dev/merkle reference data (proof/verify_test.go), used as
# data: the 8 leaves, the root of every size 1..8, and proofs with 1-based leaf numbers.
LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f")]
ROOTS = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")]
H = {name: bytes.fromhex(h) for name, h in {
    "a": "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "b": "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "c": "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    "d": "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "e": "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "f": "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "g": "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "h": "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "i": "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "j": "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
}.items()}
INCLUSION = [(1, 8, "abc"), (6, 8, "def"), (3, 3, "g"), (2, 5, "hbd")]     # (leaf, size, proof)
CONSISTENCY = [(1, 8, "abc"), (6, 8, "ief"), (2, 5, "bd"), (6, 7, "ijf")]  # (size1, size2, proof)

HASHES = [leaf_hash(data) for data in LEAVES]
LEVELS = levels_of(HASHES)


def node(level, index):
    return LEVELS[level][index]


def test_roots_match_the_reference_for_every_size():
    assert root_of([]) == EMPTY_ROOT == bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert [root_of(HASHES[:n]) for n in range(1, 9)] == ROOTS


@pytest.mark.parametrize(("leaf", "size", "names"), INCLUSION)
def test_inclusion_proofs_match_the_reference(leaf, size, names):
    proof = [H[n] for n in names]
    assert inclusion_proof(node, leaf - 1, size) == proof
    verify_inclusion(leaf - 1, size, HASHES[leaf - 1], proof, ROOTS[size - 1])
    for bad_index, bad_size in ((leaf, size), (leaf - 2, size), (leaf - 1, size * 2), (leaf - 1, size // 2)):
        if bad_index < bad_size:
            with pytest.raises(ProofError):
                verify_inclusion(bad_index, bad_size, HASHES[leaf - 1], proof, ROOTS[size - 1])
    for position in range(len(proof)):  # one flipped bit anywhere
        tampered = [bytes([h[0] ^ 8]) + h[1:] if i == position else h for i, h in enumerate(proof)]
        with pytest.raises(ProofError):
            verify_inclusion(leaf - 1, size, HASHES[leaf - 1], tampered, ROOTS[size - 1])
    with pytest.raises(ProofError):
        verify_inclusion(leaf - 1, size, HASHES[leaf - 1], [*proof, ROOTS[size - 1]], ROOTS[size - 1])


@pytest.mark.parametrize(("size1", "size2", "names"), CONSISTENCY)
def test_consistency_proofs_match_the_reference(size1, size2, names):
    proof = [H[n] for n in names]
    assert consistency_proof(node, size1, size2) == proof
    verify_consistency(size1, size2, ROOTS[size1 - 1], ROOTS[size2 - 1], proof)
    probes = [(size1 - 1, size2, proof), (size1 + 1, size2, proof), (size1, size2 * 2, proof),
              (size1, size2, []), (size1, size2, proof[:-1]), (size1, size2, [*proof, proof[0]]),
              (size1, size2, [proof[0], *proof])]
    for bad1, bad2, bad_proof in probes:
        if 0 < bad1 <= bad2 <= 16:
            with pytest.raises(ProofError):
                verify_consistency(bad1, bad2, ROOTS[size1 - 1], ROOTS[size2 - 1], bad_proof)
    with pytest.raises(ProofError):  # swapped roots
        verify_consistency(size1, size2, ROOTS[size2 - 1], ROOTS[size1 - 1], proof)


def test_trivial_consistency_cases():
    verify_consistency(0, 5, EMPTY_ROOT, ROOTS[4], [])
    verify_consistency(3, 3, ROOTS[2], ROOTS[2], [])
    with pytest.raises(ProofError, match="same size"):
        verify_consistency(3, 3, ROOTS[2], ROOTS[3], [])
    with pytest.raises(ProofError, match="backwards"):
        verify_consistency(4, 3, ROOTS[3], ROOTS[2], [])


def tree(size):
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    levels = levels_of(leaves)
    return leaves, (lambda level, index: levels[level][index])


def flip(proof, position):
    return [bytes([h[0] ^ 1]) + h[1:] if i == position else h for i, h in enumerate(proof)]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_every_proof_verifies_and_every_tampered_one_fails(data):
    size = data.draw(st.integers(1, 600), label="size")
    leaves, source = tree(size)
    root = root_of(leaves)
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = inclusion_proof(source, index, size)
    assert root_from_inclusion_proof(index, size, leaves[index], proof) == root
    if proof:
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaves[index], flip(proof, data.draw(st.integers(0, len(proof) - 1))), root)
    other = data.draw(st.integers(0, size - 1), label="other")
    if leaves[other] != leaves[index]:
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaves[other], proof, root)
    old = data.draw(st.integers(1, size), label="old")
    old_root = root_of(leaves[:old])
    consistency = consistency_proof(source, old, size)
    verify_consistency(old, size, old_root, root, consistency)
    if consistency:
        with pytest.raises(ProofError):
            verify_consistency(old, size, old_root, root,
                               flip(consistency, data.draw(st.integers(0, len(consistency) - 1))))
        forked = root_of([*leaves[: old - 1], leaf_hash(b"forged")])   # same size, another history
        with pytest.raises(ProofError):
            verify_consistency(old, size, forked, root, consistency)


def test_every_pair_of_sizes_is_consistent_up_to_40():
    leaves, source = tree(40)
    for new in range(1, 41):
        for old in range(0, new + 1):
            verify_consistency(old, new, root_of(leaves[:old]), root_of(leaves[:new]),
                               consistency_proof(source, old, new))


def test_node_positions_follow_the_post_order_file():
    leaves, _ = tree(77)
    order, levels = post_order(leaves), levels_of(leaves)
    assert len(order) == nodes_for(77)
    for level, hashes in enumerate(levels):
        for index, digest in enumerate(hashes):
            assert order[node_position(level, index)] == digest
    assert all(nodes_for(size_for_nodes(c)) <= c < nodes_for(size_for_nodes(c) + 1) for c in range(400))


def test_store_appended_one_by_one_equals_a_rebuild_and_proves(tmp_path):
    leaves, source = tree(37)
    one, batch = TreeStore(tmp_path / "a"), TreeStore(tmp_path / "b")
    for digest in leaves:
        one.append([digest], durable=False)
    batch.rewrite(leaves)
    assert one.path.read_bytes() == batch.path.read_bytes()
    assert [one.root(n) for n in range(38)] == [root_of(leaves[:n]) for n in range(38)]
    assert one.inclusion_proof(5, 30) == inclusion_proof(source, 5, 30)
    assert one.consistency_proof(7, 37) == consistency_proof(source, 7, 37)
    with one.path.open("ab") as torn:   # a crash mid-append leaves a torn tail: size ignores it
        torn.write(b"\x00" * 45)
    assert one.size() == 37
    one.truncate(37)
    assert one.path.read_bytes() == batch.path.read_bytes()
