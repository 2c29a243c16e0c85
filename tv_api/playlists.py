"""Playlists as served to TVs: the scheduler's file bytes, validated once per change, with an ETag.

TVs poll every few seconds, so the hot path is one ``stat``: the bytes and their ETag are cached
per TV and rebuilt only when the file's mtime or size changes (the scheduler replaces the file
atomically, so a changed file is a complete new one).
"""

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from vv_core.errors import SchemaValidationError
from vv_core.schema import validate_schema

log = logging.getLogger("tv_api.playlists")
TV_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class UnknownTV(Exception):
    pass


class InvalidPlaylist(Exception):
    pass


@dataclass(frozen=True)
class CachedPlaylist:
    body: bytes
    etag: str
    mtime: float
    key: tuple[int, int]


class PlaylistStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[str, CachedPlaylist] = {}

    def path_for(self, tv: str) -> Path:
        if not TV_NAME.match(tv):
            raise UnknownTV(tv)
        return self.directory / f"{tv}.json"

    def get(self, tv: str) -> CachedPlaylist:
        path = self.path_for(tv)
        try:
            info = os.stat(path)
        except OSError:
            self._cache.pop(tv, None)
            raise UnknownTV(tv) from None
        key = (info.st_mtime_ns, info.st_size)
        cached = self._cache.get(tv)
        if cached is not None and cached.key == key:
            return cached
        body = path.read_bytes()
        try:
            document = json.loads(body)
            validate_schema(document, "playlist")
        except (ValueError, SchemaValidationError) as exc:
            raise InvalidPlaylist(str(exc)) from None
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        cached = CachedPlaylist(body, etag, info.st_mtime, key)
        self._cache[tv] = cached
        return cached

    def ages(self, now: float) -> dict[str, float]:
        """Seconds since each playlist file was last written, by TV name."""
        ages = {}
        for path in sorted(self.directory.glob("*.json")):
            if TV_NAME.match(path.stem):
                try:
                    ages[path.stem] = max(0.0, now - path.stat().st_mtime)
                except OSError:
                    continue
        return ages


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [c.strip() for c in if_none_match.split(",")]
    weak = etag.removeprefix("W/")
    return "*" in candidates or any(c.removeprefix("W/") == weak for c in candidates)


# A TV page shows "unknown TV" on screen: the reason must differ from a generic 404.
UNKNOWN_TV_BODY = b'{"detail":"unknown TV"}'
UNAVAILABLE_BODY = b'{"detail":"playlist temporarily unavailable"}'


def playlist_answer(store: PlaylistStore, tv: str, if_none_match: str | None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) for GET /api/playlists/<tv>; shared by the route and the fast path."""
    try:
        cached = store.get(tv)
    except UnknownTV:
        return 404, {"Content-Type": "application/json", "Cache-Control": "no-store"}, UNKNOWN_TV_BODY
    except InvalidPlaylist as exc:
        log.error("playlist breaks its contract; TVs keep their last good one", extra={"tv": tv, "error": str(exc)})
        return 503, {"Content-Type": "application/json"}, UNAVAILABLE_BODY
    headers = {"ETag": cached.etag, "Cache-Control": "no-cache"}
    if etag_matches(if_none_match, cached.etag):
        return 304, headers, b""
    return 200, {**headers, "Content-Type": "application/json"}, cached.body
