import hashlib
import os

import pytest

from vv_core.hashing import compute_sha256, sha256_bytes


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 12345])
def test_compute_sha256_matches_hashlib_across_chunk_boundaries(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert compute_sha256(path) == hashlib.sha256(data).hexdigest()


def test_compute_sha256_detects_a_single_flipped_bit(tmp_path):
    data = bytearray(os.urandom(200_000))
    path = tmp_path / "video.mp4"
    path.write_bytes(data)
    before = compute_sha256(path)
    data[123_456] ^= 0x01
    path.write_bytes(data)
    assert compute_sha256(path) != before


def test_compute_sha256_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        compute_sha256(tmp_path / "nope.mp4")


def test_sha256_bytes():
    assert sha256_bytes(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
