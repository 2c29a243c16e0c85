"""Per-TV selection (rules → items) and writing playlists only when their content changed."""

import bisect
import hashlib
import heapq
import json
import random
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from tv_scheduler.config import SchedulerConfig, TvRules
from tv_scheduler.index import LogLineIndex
from tv_scheduler.media import MediaResolver
from vv_core.atomic import atomic_write_json
from vv_core.canonical import canonical_json
from vv_core.jsonlog import utc_timestamp
from vv_core.schema import validate_schema_fast

COMBINED_NAME = "playlist"
COMBINED_TV = "all"


def _newest_first(ordered: list[tuple[float, int, str]], start: float) -> Iterator[tuple[float, int, str]]:
    low = bisect.bisect_left(ordered, (start,))
    for position in range(len(ordered) - 1, low - 1, -1):
        yield ordered[position]


def select_names(index: LogLineIndex, tv: str, rules: TvRules, config: SchedulerConfig,
                 now: float, media: MediaResolver) -> list[tuple[str, str]]:
    """(file name, media path) of the items this TV plays now, in play order."""
    start = now - 3600 * (rules.window_hours or config.window_hours)
    limit = rules.max_items or config.max_items
    lists = [index.by_status.get(status, []) for status in dict.fromkeys(rules.statuses)]
    chosen: list[tuple[str, str]] = []
    if rules.order == "shuffle":
        pool = [key for ordered in lists for key in ordered[bisect.bisect_left(ordered, (start,)):]]
        period = int(now // (3600 * rules.shuffle_period_hours))
        # A string seed is hashed with sha512: the same order in every process, every run.
        shuffler = random.Random(f"{tv}:{period}")  # noqa: S311 (an order, not a secret)
        picks = shuffler.sample(pool, min(len(pool), limit))
        candidates: Iterator[tuple[float, int, str]] = iter(picks)
    else:
        candidates = heapq.merge(*(_newest_first(o, start) for o in lists), reverse=True)
    for _when, _seq, name in candidates:
        item = index.item(name)
        # Where the video is comes from a record, and its sha256 must be the LogLine's source_hash.
        where = media.locate(item["video"], item["source_hash"]) if item else None
        if where is not None:
            chosen.append((name, where))
            if len(chosen) == limit:
                break
    if rules.order == "chronological":
        chosen.reverse()
    return chosen


def cover_url(logline_id: str, storage_root: Path) -> str | None:
    """The scanner's picture of the video (``snapshots/<id>/cover.jpg``) as a thumbnail URL, if any."""
    cover = PurePosixPath("snapshots", logline_id, "cover.jpg")
    return "/thumbnails/" + quote(str(cover)) if (storage_root / cover).is_file() else None


def playlist_item(fields: dict[str, Any], where: str, thumbnail_url: str | None = None) -> dict[str, Any]:
    return {"logline_id": fields["logline_id"], "seq": fields["seq"], "media_url": "/media/" + quote(where),
            "thumbnail_url": thumbnail_url, "title": fields["title"], "summary": fields["summary"],
            "duration_s": fields["duration_s"], "status": fields["status"], "when": fields["when"],
            "who": fields["who"]}


def build_playlists(index: LogLineIndex, config: SchedulerConfig, media: MediaResolver,
                    now: float) -> dict[str, dict[str, Any]]:
    """Every TV's playlist plus the combined one, keyed by file stem."""
    media.begin_build()
    generated_at = utc_timestamp(now)
    fallback = config.fallback.model_dump(exclude_none=True)
    documents: dict[str, dict[str, Any]] = {}
    combined: dict[str, dict[str, Any]] = {}
    for tv, rules in config.tvs.items():
        items = []
        for name, where in select_names(index, tv, rules, config, now, media):
            fields = index.item(name)
            item = playlist_item(fields, where, cover_url(fields["logline_id"], media.root))  # type: ignore[index]
            items.append(item)
            combined[item["logline_id"]] = item
        documents[tv] = {"schema_version": "1.0", "tv": tv, "generated_at": generated_at,
                         "rules": rules_summary(rules, config), "fallback": fallback,
                         "display": rules.display.model_dump(), "items": items}
    documents[COMBINED_NAME] = {
        "schema_version": "1.0", "tv": COMBINED_TV, "generated_at": generated_at,
        "rules": {"tvs": {tv: rules_summary(rules, config) for tv, rules in config.tvs.items()}},
        "fallback": fallback,
        "items": sorted(combined.values(), key=lambda item: (item["when"], item["seq"])),
    }
    return documents


def rules_summary(rules: TvRules, config: SchedulerConfig) -> dict[str, Any]:
    summary = {"statuses": list(rules.statuses), "order": rules.order,
               "window_hours": rules.window_hours or config.window_hours,
               "max_items": rules.max_items or config.max_items}
    if rules.order == "shuffle":
        summary["shuffle_period_hours"] = rules.shuffle_period_hours
    return summary


def content_hash(document: dict[str, Any]) -> str:
    """Hash of what a TV would see: everything but the time it was generated."""
    visible = {k: v for k, v in document.items() if k != "generated_at"}
    return hashlib.sha256(canonical_json(visible)).hexdigest()


class PlaylistWriter:
    """Writes playlists/<name>.json atomically, and only when its content changed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.known: dict[str, str] = {}      # name -> content hash of the file on disk

    def write_changed(self, documents: dict[str, dict[str, Any]]) -> list[Path]:
        written = []
        for name, document in documents.items():
            digest = content_hash(document)
            path = self.directory / f"{name}.json"
            known = self.known.get(name) or self._hash_on_disk(path)
            if known == digest and path.exists():
                self.known[name] = digest
                continue
            validate_schema_fast(document, "playlist")
            atomic_write_json(path, document)
            self.known[name] = digest
            written.append(path)
        return written

    @staticmethod
    def _hash_on_disk(path: Path) -> str | None:
        try:
            return content_hash(json.loads(path.read_bytes()))
        except (FileNotFoundError, ValueError, AttributeError):
            return None
