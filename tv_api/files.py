"""Safe mapping of URL paths to files under the storage root.

Only media-bearing top-level directories and media extensions are served. Dot segments, hidden
names, NUL bytes, and anything whose resolved path (symlinks followed) leaves the root answer the
same 404 as a missing file, so a probe learns nothing about the filesystem.
"""

from pathlib import Path

# snapshots: the scanner's event pictures (playlist thumbnails), as sensitive as the videos they show.
MEDIA_DIRS = frozenset({"processed", "tv_curado", "fallback", "input", "raw", "snapshots"})
MEDIA_SUFFIXES = frozenset({".mp4", ".m4v", ".webm", ".mkv", ".mov", ".jpg", ".jpeg", ".png", ".webp"})
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".webm", ".mkv", ".mov"})


class NotServable(Exception):
    """The path is not a servable file (the reason stays in the server's logs)."""


def resolve_media(storage_root: Path, relative: str) -> Path:
    """The real file behind ``/media/<relative>``, or NotServable."""
    if "\x00" in relative or "\\" in relative:
        raise NotServable("bad characters")
    parts = relative.split("/")
    if len(parts) < 2 or parts[0] not in MEDIA_DIRS:
        raise NotServable("not a media directory")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        raise NotServable("dot or empty segment")
    if Path(parts[-1]).suffix.lower() not in MEDIA_SUFFIXES:
        raise NotServable("not a media file")
    root = storage_root.resolve()
    try:
        resolved = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):
        raise NotServable("missing") from None
    # A symlink may point elsewhere inside the storage root, never outside it.
    if not resolved.is_relative_to(root) or not resolved.is_file():
        raise NotServable("outside the root or not a file")
    target = resolved.relative_to(root).parts
    if target[0] not in MEDIA_DIRS or resolved.suffix.lower() not in MEDIA_SUFFIXES:
        raise NotServable("symlink to a non-media file")
    return resolved
