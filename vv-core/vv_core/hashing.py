"""Content hashing: every artifact carries the sha256 of the video it came from."""

import hashlib
import os
from pathlib import Path

# 1 MiB reads: large enough that Python overhead vanishes next to the hash itself (~2 GB/s),
# small enough to stay cache-friendly; hashlib releases the GIL while hashing.
_CHUNK = 1 << 20


def compute_sha256(path: str | os.PathLike[str]) -> str:
    """Return the hex sha256 of a file, streaming it in fixed memory (fine for multi-GB videos)."""
    digest = hashlib.sha256()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    with Path(path).open("rb", buffering=0) as handle:
        while True:
            read = handle.readinto(buffer)
            if not read:
                break
            digest.update(view[:read])
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of in-memory bytes (LogLine chain links, manifests)."""
    return hashlib.sha256(data).hexdigest()
