"""The scheduler's view of loglines/: which LogLines are trusted, kept current incrementally.

A LogLine reaches a TV only when it verifies on its own (schema, known key, HMAC over its exact
bytes, file name = id) AND is linked into the chain: its seq is unique and its prev_hash is the
hash of the one record at seq - 1 (or genesis). The link rule is local on purpose: one damaged
record keeps itself and its successor off the TVs (and raises an alert) without blanking every TV.

Verification results are cached per file by (inode, size, mtime_ns, ctime_ns) — ctime cannot be set
from user space, so an in-place edit that restores the mtime is still noticed — in memory for the
daemon and in a signed cache file for ``--once`` runs, so only new or changed files are re-checked.
"""

import bisect
import hmac
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from vv_core.atomic import atomic_write_bytes
from vv_core.canonical import canonical_json
from vv_core.keystore import KeyStore
from vv_core.loglines import (
    GENESIS_HASH,
    ID_MISMATCH,
    LOGLINE_SUFFIX,
    CheckedLogLine,
    check_logline_bytes,
    id_from_filename,
)

logger = logging.getLogger("vv.tv_scheduler")
CACHE_FORMAT = "vv.tv-scheduler-cache/2"   # /2: carries media hashes (tv_scheduler.media)
Stamp = tuple[int, int, int, int]


@dataclass(slots=True)
class Entry:
    stamp: Stamp
    reason: str | None       # None = verifies on its own
    seq: int | None
    prev_hash: str | None
    link_hash: str | None
    when_epoch: float
    when: str
    status: str
    item: dict[str, Any] | None = None   # what a playlist item needs; None until read (cache load)

    @property
    def key(self) -> tuple[float, int]:
        return (self.when_epoch, self.seq or 0)


def stamp_of(stat: os.stat_result) -> Stamp:
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def item_fields(record: dict[str, Any]) -> dict[str, Any]:
    source = record["source"]
    return {"logline_id": record["id"], "seq": record["seq"], "title": record.get("title") or record["this"],
            "summary": record.get("summary", ""), "duration_s": source.get("duration_s"),
            "status": record["status"], "when": record["when"], "who": record["who"],
            "video": source["video"], "source_hash": record["source_hash"]}


def epoch_of(when: str) -> float:
    return datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()


def check_entry(name: str, raw: bytes, stamp: Stamp, key_store: KeyStore) -> Entry:
    checked: CheckedLogLine = check_logline_bytes(raw, key_store)
    record = checked.record
    if checked.reason is None and record["id"] != id_from_filename(name):  # type: ignore[index]
        checked.reason = ID_MISMATCH
    if checked.link_hash is None:  # not even schema-valid: can never be shown
        return Entry(stamp, checked.reason or "schema", None, None, None, 0.0, "", "")
    assert record is not None
    return Entry(stamp, checked.reason, checked.seq, checked.prev_hash, checked.link_hash,
                 epoch_of(record["when"]), record["when"], record["status"],
                 item_fields(record) if checked.reason is None else None)


class LogLineIndex:
    """Trusted LogLines of one directory, per status, sorted by (when, seq)."""

    def __init__(self, directory: Path, key_store: KeyStore) -> None:
        self.directory = Path(directory)
        self.key_store = key_store
        self.entries: dict[str, Entry] = {}
        self.names_at: dict[int, set[str]] = {}           # seq -> files claiming it
        self.trusted: set[str] = set()
        self.by_status: dict[str, list[tuple[float, int, str]]] = {}
        self.verified_files = 0                           # files (re)checked, for logs and tests
        self._touched: set[int] = set()                   # seqs whose trust must be re-decided
        self.dirty = False                                # differs from the saved cache

    # --- refreshing ------------------------------------------------------------------------------
    def refresh_all(self) -> bool:
        """Rescan the directory (the safety net); return True when anything changed."""
        seen: set[str] = set()
        changed: set[str] = set()
        try:
            listing = os.scandir(self.directory)
        except FileNotFoundError:
            listing = None
        if listing is not None:
            with listing:
                for entry in listing:
                    if not entry.name.endswith(LOGLINE_SUFFIX):
                        continue
                    seen.add(entry.name)
                    try:
                        stamp = stamp_of(entry.stat())
                    except FileNotFoundError:
                        seen.discard(entry.name)
                        continue
                    if self._update(entry.name, stamp):
                        changed.add(entry.name)
        for gone in set(self.entries) - seen:
            self._remove(gone)
            changed.add(gone)
        self._retrust(changed)
        return bool(changed)

    def refresh_names(self, names: set[str]) -> bool:
        """Re-check only these files (from filesystem events); return True when anything changed."""
        changed: set[str] = set()
        for name in names:
            if not name.endswith(LOGLINE_SUFFIX):
                continue
            try:
                stamp = stamp_of(os.stat(self.directory / name))
            except FileNotFoundError:
                if name in self.entries:
                    self._remove(name)
                    changed.add(name)
                continue
            if self._update(name, stamp):
                changed.add(name)
        self._retrust(changed)
        return bool(changed)

    def _update(self, name: str, stamp: Stamp) -> bool:
        current = self.entries.get(name)
        if current is not None and current.stamp == stamp:
            return False
        try:
            with open(self.directory / name, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            return False
        if current is not None:
            self._remove(name)
        self._add(name, check_entry(name, raw, stamp, self.key_store))
        self.verified_files += 1
        return True

    def _add(self, name: str, entry: Entry) -> None:
        self.entries[name] = entry
        self._touch(entry.seq)
        # Only records that verify on their own hold a seq: a forged file claiming seq 7 must
        # not be able to push the genuine seq 7 off the TVs by making it look like a fork.
        if entry.seq is not None and entry.reason is None:
            self.names_at.setdefault(entry.seq, set()).add(name)
        self.dirty = True

    def _remove(self, name: str) -> None:
        entry = self.entries.pop(name)
        self._distrust(name, entry)
        self._touch(entry.seq)
        if entry.seq is not None:
            holders = self.names_at.get(entry.seq, set())
            holders.discard(name)
            if not holders:
                self.names_at.pop(entry.seq, None)
        self.dirty = True

    # --- trust -----------------------------------------------------------------------------------
    def _retrust(self, changed: set[str]) -> None:
        """Re-decide trust where it can have changed: holders of every touched seq (see _touch)."""
        for name in changed:
            if name not in self.entries:
                self.trusted.discard(name)
        affected = {n for s in self._touched for n in self.names_at.get(s, ())} | (changed & self.trusted)
        self._touched.clear()
        newly: dict[str, list[tuple[float, int, str]]] = {}
        for name in affected:
            entry = self.entries[name]
            should = self._is_linked(entry)
            if should and name not in self.trusted:
                self.trusted.add(name)
                newly.setdefault(entry.status, []).append((*entry.key, name))
            elif not should and name in self.trusted:
                self._distrust(name, entry)
        for status, keys in newly.items():
            ordered = self.by_status.setdefault(status, [])
            if len(keys) > 64:   # a first scan or a cache load: one sort beats 10⁵ insertions
                ordered.extend(keys)
                ordered.sort()
            else:
                for key in keys:
                    bisect.insort(ordered, key)

    def _touch(self, seq: int | None) -> None:
        # Trust of seq s depends on the holders of s (uniqueness) and of s - 1 (the link).
        if seq is not None:
            self._touched.update((seq, seq + 1))

    def _is_linked(self, entry: Entry) -> bool:
        if entry.reason is not None or entry.seq is None or len(self.names_at.get(entry.seq, ())) != 1:
            return False
        if entry.seq == 0:
            return entry.prev_hash == GENESIS_HASH
        before = self.names_at.get(entry.seq - 1, ())
        if len(before) != 1:
            return False
        return self.entries[next(iter(before))].link_hash == entry.prev_hash

    def _distrust(self, name: str, entry: Entry) -> None:
        if name not in self.trusted:
            return
        self.trusted.discard(name)
        ordered = self.by_status.get(entry.status, [])
        position = bisect.bisect_left(ordered, (*entry.key, name))
        if position < len(ordered) and ordered[position][2] == name:
            del ordered[position]

    def untrusted(self) -> dict[str, str]:
        """Files kept off the TVs and why (for logs and alerts)."""
        return {name: (e.reason or "not linked into the chain") for name, e in self.entries.items()
                if name not in self.trusted}

    def item(self, name: str) -> dict[str, Any] | None:
        """Playlist fields of a trusted file, re-read and re-verified if only cached by stamp."""
        entry = self.entries[name]
        if entry.item is None:
            try:
                stat = os.stat(self.directory / name)
                with open(self.directory / name, "rb") as handle:
                    raw = handle.read()
            except FileNotFoundError:
                return None
            fresh = check_entry(name, raw, stamp_of(stat), self.key_store)
            if fresh.link_hash != entry.link_hash or fresh.reason is not None:
                return None  # changed under us: the next refresh decides
            entry.item = fresh.item
        return entry.item

    # --- the signed cache file -------------------------------------------------------------------
    def save_cache(self, path: Path, media: list[list] | None = None) -> None:
        """Write the signed cache; ``media``: rows the scheduler's media resolver keeps with it."""
        rows = [[name, *e.stamp, e.reason, e.seq, e.prev_hash, e.link_hash, e.when_epoch, e.when, e.status]
                for name, e in self.entries.items()]
        payload = canonical_json({"format": CACHE_FORMAT, "directory": str(self.directory.absolute()),
                                  "keys": sorted(self.key_store.keys), "rows": rows, "media": media or []})
        mac = hmac.digest(self.key_store.active_secret, payload, "sha256").hex().encode()
        atomic_write_bytes(path, mac + b"\n" + payload)
        self.dirty = False

    def load_cache(self, path: Path) -> list[list] | None:
        """Adopt a cache written by an earlier run with the same key store; return its media rows,
        None if unusable."""
        try:
            mac, payload = path.read_bytes().split(b"\n", 1)
        except (FileNotFoundError, ValueError):
            return None
        expected = hmac.digest(self.key_store.active_secret, payload, "sha256").hex().encode()
        if not hmac.compare_digest(mac, expected):
            logger.warning("scheduler cache ignored: signature does not match", extra={"cache": str(path)})
            return None
        document = json.loads(payload)
        if (document.get("format") != CACHE_FORMAT or document.get("keys") != sorted(self.key_store.keys)
                or document.get("directory") != str(self.directory.absolute())):
            return None
        for name, ino, size, mtime, ctime, reason, seq, prev, link, epoch, when, status in document["rows"]:
            self._add(name, Entry((ino, size, mtime, ctime), reason, seq, prev, link, epoch, when, status))
        self._retrust(set(self.entries))
        self.dirty = False
        return document.get("media", [])
