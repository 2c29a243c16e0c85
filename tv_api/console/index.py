"""The console's search index: SQLite FTS5 + sentence vectors, in state/console_search.sqlite3.

The LogLine files stay the truth; this is a cache of them that can be thrown away and rebuilt
(``vv search --rebuild``). It keeps up incrementally and cheaply: the writer adds LogLines by
renaming files into loglines/, which changes the directory's mtime, so a check is one ``stat``;
only when it moved are the directory's names listed and the new ones read. Files are keyed by
name + mtime + size, so a periodic full pass (``refresh(full=True)``) also catches in-place edits.

Vectors are stored per distinct text (int8, 384 bytes each) so identical titles/summaries are
embedded once; a query scores all of them with numpy and maps the best back to LogLines in SQL,
where the review filters apply.

The FTS5 table is external-content (``content='events'``): it holds only the token index and reads
the words from ``events`` itself, kept in step by triggers, so no text is stored twice. (labels and
persons are stored with ``_`` for spaces; unicode61 splits on ``_`` as on a space, so the tokens are
the same.) An index built before, with its own copy of the text, is converted when opened.
"""

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tv_api.console.embedder import Embedder
from tv_api.console.index_schema import SCHEMA, SELECT, Filters, fts_query
from tv_api.console.records import EventRecord, read_event
from vv_core.loglines import LOGLINE_SUFFIX

INDEX_FILE = "console_search.sqlite3"
EMBED_BATCH = 64
# Queries are built only from index_schema's constant names and Filters.sql()'s fixed clauses; values
# always travel as parameters (hence the S608 waivers).


def _text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _quantise(vectors: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(vectors * 127.0), -127, 127).astype(np.int8)


class SearchIndex:
    def __init__(self, storage_root: Path, state_dir: Path, loglines_dir: Path,
                 embedder: Callable[[], Embedder | None] | None = None) -> None:
        self.root = storage_root
        self.loglines = loglines_dir
        self.path = state_dir / INDEX_FILE
        self._embedder = embedder or (lambda: None)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._dir_key: int | None = None
        self._known: dict[str, tuple[int, int]] | None = None
        self._matrix: tuple[str, int, np.ndarray, list[str]] | None = None  # (model, count, int8, shas)
        self._generation = 0          # bumped on every change: caches below are keyed by it
        self._choices: tuple[int, dict[str, list[str]]] | None = None
        self._embedded_generation = -1  # texts of this generation all have vectors
        state_dir.mkdir(parents=True, exist_ok=True)
        with self._write_lock:
            self._drop_fts_with_its_own_copy()
            self.db.executescript(SCHEMA)
            if self._fts_was_dropped:
                self.db.execute("INSERT INTO events_fts (events_fts) VALUES ('rebuild')")
                self.db.execute("VACUUM")

    def _drop_fts_with_its_own_copy(self) -> None:
        row = self.db.execute("SELECT sql FROM sqlite_master WHERE name = 'events_fts'").fetchone()
        self._fts_was_dropped = row is not None and "content" not in row[0]
        if self._fts_was_dropped:
            self.db.execute("DROP TABLE events_fts")

    @property
    def db(self) -> sqlite3.Connection:
        connection = getattr(self._local, "db", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.db = connection
        return connection

    # --- keeping up with loglines/ ------------------------------------------------------------
    def refresh(self, *, full: bool = False, embed_limit: int | None = EMBED_BATCH) -> int:
        """Index new, changed and removed LogLine files; returns how many rows changed.

        Embeds at most ``embed_limit`` new texts (a request must not wait for a backlog: the
        console's background thread and `vv search` embed the rest)."""
        try:
            dir_key = os.stat(self.loglines).st_mtime_ns
        except FileNotFoundError:
            return 0
        if not full and dir_key == self._dir_key:
            return 0
        with self._write_lock:
            if self._known is None:
                self._known = {r[0]: (r[1], r[2]) for r in self.db.execute("SELECT file, mtime_ns, size FROM events")}
            changed = self._sync(full)
            self._dir_key = dir_key
            if changed:
                self._generation += 1
        self.embed_pending(embed_limit)
        return changed

    def _sync(self, full: bool) -> int:
        assert self._known is not None
        present: dict[str, tuple[int, int] | None] = {}
        with os.scandir(self.loglines) as listing:
            for entry in listing:
                if entry.name.endswith(LOGLINE_SUFFIX) and not entry.name.startswith("."):
                    present[entry.name] = None
        todo = []
        for name in present:
            if name not in self._known or full:
                try:
                    info = os.stat(self.loglines / name)
                except FileNotFoundError:
                    continue
                key = (info.st_mtime_ns, info.st_size)
                if self._known.get(name) != key:
                    todo.append((name, key))
        gone = [name for name in self._known if name not in present]
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for name in gone:
                self._delete(name)
            for name, key in todo:
                self._delete(name)
                event = read_event(self.root, self.loglines / name)
                if event is not None:
                    self._insert(event, key)
                self._known[name] = key
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._known = None
            raise
        return len(gone) + len(todo)

    def _delete(self, name: str) -> None:
        row = self.db.execute("SELECT rowid FROM events WHERE file = ?", (name,)).fetchone()
        if row is not None:
            self.db.execute("DELETE FROM events WHERE rowid = ?", (row[0],))  # a trigger updates events_fts
        self._known.pop(name, None)  # type: ignore[union-attr]

    def _insert(self, event: EventRecord, key: tuple[int, int]) -> None:
        db = self.db
        extra = [r[0] for r in db.execute("SELECT person FROM extra_persons WHERE id = ?", (event.id,))]
        persons = sorted(set(event.persons) | set(extra))
        db.execute("DELETE FROM events WHERE id = ?", (event.id,))  # the same id under another file name
        db.execute(  # the events_fts_insert trigger indexes the words
            "INSERT INTO events (id, file, mtime_ns, size, seq, camera, status, when_utc, when_ts, title, summary,"
            " did, this, video, source_hash, summary_path, analytic_path, labels, persons, start_s,"
            " snapshot_times, text_sha) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (event.id, event.file, key[0], key[1], event.seq, event.camera, event.status, event.when_utc,
             event.when_ts, event.title, event.summary, event.did, event.this, event.video, event.source_hash,
             event.summary_path, event.analytic_path, " ".join(label.replace(" ", "_") for label in event.labels),
             " ".join(p.replace(" ", "_") for p in persons), event.start_s,
             " ".join(f"{t:.2f}" for t in event.snapshot_times), _text_sha(event.search_text)))

    def add_person(self, logline_id: str, person: str) -> None:
        """Name a person seen in this event (the face library does this); survives a rebuild."""
        with self._write_lock:
            self.db.execute("INSERT OR IGNORE INTO extra_persons (id, person) VALUES (?, ?)", (logline_id, person))
            name = self.db.execute("SELECT file FROM events WHERE id = ?", (logline_id,)).fetchone()
            if name is not None and self._known is not None:
                self._known.pop(name[0], None)  # re-read on the next refresh
        self.refresh(full=True)

    def rebuild(self) -> int:
        """Forget every indexed row (vectors stay: they are keyed by text) and read all files again."""
        with self._write_lock:
            self.db.execute("DELETE FROM events")
            self.db.execute("INSERT INTO events_fts (events_fts) VALUES ('rebuild')")
            self._known, self._dir_key = {}, None
        return self.refresh(full=True)

    # --- vectors ------------------------------------------------------------------------------------
    def embed_pending(self, limit: int | None = None) -> int:
        """Embed the texts that have no vector yet (newest first); 0 without an embedder."""
        if self._embedded_generation == self._generation:
            return 0  # nothing new since the last pass found every text embedded
        embedder = self._embedder()
        if embedder is None:
            return 0
        generation, done = self._generation, 0
        while limit is None or done < limit:
            rows = self.db.execute(
                "SELECT e.text_sha, e.title, e.summary, e.labels, e.this FROM events e LEFT JOIN vectors v"
                " ON v.text_sha = e.text_sha AND v.model = ? WHERE v.text_sha IS NULL GROUP BY e.text_sha"
                " ORDER BY max(e.when_ts) DESC LIMIT ?", (embedder.name, EMBED_BATCH)).fetchall()
            if not rows:
                self._embedded_generation = generation
                break
            texts = [EventRecord(id="", file="", seq=None, camera="", status="", when_utc="", when_ts=0, title=r[1],
                                 summary=r[2], did="", this=r[4], video="", source_hash="",
                                 labels=r[3].replace("_", " ").split()).search_text for r in rows]
            vectors = _quantise(embedder.embed(texts))
            with self._write_lock:
                self.db.executemany("INSERT OR REPLACE INTO vectors (text_sha, model, vec) VALUES (?, ?, ?)",
                                    [(r[0], embedder.name, v.tobytes()) for r, v in zip(rows, vectors, strict=True)])
            done += len(rows)
        return done

    def _vectors(self, model: str) -> tuple[np.ndarray, list[str]]:
        count = self.db.execute("SELECT count(*) FROM vectors WHERE model = ?", (model,)).fetchone()[0]
        cached = self._matrix
        if cached is not None and cached[0] == model and cached[1] == count:
            return cached[2], cached[3]
        rows = self.db.execute("SELECT text_sha, vec FROM vectors WHERE model = ?", (model,)).fetchall()
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.int8).reshape(len(rows), -1) if rows \
            else np.zeros((0, 384), dtype=np.int8)
        shas = [r[0] for r in rows]
        self._matrix = (model, count, matrix, shas)
        return matrix, shas

    # --- queries ------------------------------------------------------------------------------------
    def _rows(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        return [dict(row) for row in self.db.execute(sql, args)]

    def review(self, filters: Filters, limit: int = 50, before_ts: float | None = None) -> list[dict[str, Any]]:
        where, args = filters.sql()
        if before_ts is not None:
            where += " AND e.when_ts < ?"
            args.append(before_ts)
        sql = f"{SELECT} FROM events e WHERE {where} ORDER BY e.when_ts DESC LIMIT ?"
        return self._rows(sql, [*args, limit])

    def search_text(self, query: str, filters: Filters, limit: int = 50) -> list[dict[str, Any]]:
        match = fts_query(query)
        if not match:
            return []
        where, args = filters.sql()
        sql = (f"{SELECT} FROM events_fts f JOIN events e ON e.rowid = f.rowid"
               f" WHERE events_fts MATCH ? AND {where} ORDER BY f.rank, e.when_ts DESC LIMIT ?")
        return self._rows(sql, [match, *args, limit])

    def search_semantic(self, query: str, filters: Filters, embedder: Embedder,
                        limit: int = 50) -> list[dict[str, Any]]:
        matrix, shas = self._vectors(embedder.name)
        if not shas or not query.strip():
            return []
        probe = embedder.embed([query])[0] / np.float32(127.0)  # undo the int8 scale: scores are cosines
        scores = np.empty(len(shas), dtype=np.float32)
        for start in range(0, len(shas), 16384):  # int8 → float32 a block at a time: bounded memory
            scores[start:start + 16384] = matrix[start:start + 16384].astype(np.float32) @ probe
        where, args = filters.sql()
        sql = f"{SELECT} FROM events e WHERE e.text_sha = ? AND {where} ORDER BY e.when_ts DESC LIMIT ?"
        rows: list[dict[str, Any]] = []
        for position in np.argsort(-scores)[:max(limit * 20, 1000)]:  # best texts first
            for row in self._rows(sql, [shas[position], *args, limit - len(rows)]):
                row["score"] = float(scores[position])
                rows.append(row)
            if len(rows) >= limit:
                break
        return rows

    def get(self, logline_id: str) -> dict[str, Any] | None:
        rows = self._rows(f"{SELECT} FROM events e WHERE e.id = ?", [logline_id])
        return rows[0] if rows else None

    def by_seq(self, seq: int) -> list[dict[str, Any]]:
        return self._rows(f"{SELECT} FROM events e WHERE e.seq = ?", [seq])

    def choices(self) -> dict[str, list[str]]:
        """Values for the filter menus (distinct cameras, labels, persons), recomputed after changes."""
        if self._choices is not None and self._choices[0] == self._generation:
            return self._choices[1]
        generation = self._generation
        cameras = [r[0] for r in self.db.execute("SELECT DISTINCT camera FROM events ORDER BY camera")]
        labels: set[str] = set()
        persons: set[str] = set()
        for row in self.db.execute("SELECT DISTINCT labels, persons FROM events"):
            labels.update(row[0].split())
            persons.update(row[1].split())
        self._choices = (generation, {"cameras": cameras, "labels": sorted(labels), "persons": sorted(persons)})
        return self._choices[1]

    def stats(self) -> dict[str, int]:
        events = self.db.execute("SELECT count(*) FROM events").fetchone()[0]
        vectors = self.db.execute("SELECT count(*) FROM vectors").fetchone()[0]
        size = sum(p.stat().st_size for p in self.path.parent.glob(INDEX_FILE + "*") if p.is_file())
        return {"events": events, "vectors": vectors, "bytes": size}
