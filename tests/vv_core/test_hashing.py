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


@pytest.mark.parametrize("windows", [1, 2, 3])
def test_compute_sha256_across_mapped_window_boundaries(tmp_path, monkeypatch, windows):
    import mmap

    from vv_core import hashing

    monkeypatch.setattr(hashing, "_WINDOW", mmap.ALLOCATIONGRANULARITY)
    for size in (windows * mmap.ALLOCATIONGRANULARITY - 1, windows * mmap.ALLOCATIONGRANULARITY,
                 windows * mmap.ALLOCATIONGRANULARITY + 7):
        data = os.urandom(size)
        path = tmp_path / f"blob-{size}.bin"
        path.write_bytes(data)
        assert compute_sha256(path) == hashlib.sha256(data).hexdigest()


def test_compute_sha256_streams_a_pipe(tmp_path):
    import threading

    fifo = tmp_path / "stream.fifo"
    os.mkfifo(fifo)
    data = os.urandom(3 * (1 << 20) + 5)
    writer = threading.Thread(target=fifo.write_bytes, args=(data,))
    writer.start()
    try:
        assert compute_sha256(fifo) == hashlib.sha256(data).hexdigest()
    finally:
        writer.join(timeout=10)


def test_compute_sha256_falls_back_to_reads_when_mapping_fails(tmp_path, monkeypatch):
    from vv_core import hashing

    data = os.urandom(1 << 16)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)

    def refuse(*_args, **_kwargs):
        raise OSError(19, "No such device")

    monkeypatch.setattr(hashing.mmap, "mmap", refuse)
    assert compute_sha256(path) == hashlib.sha256(data).hexdigest()
