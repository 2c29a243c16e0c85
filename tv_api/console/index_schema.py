"""The console search index's SQL: the schema (events + FTS5 external-content table kept by
triggers, vectors per distinct text, extra persons), its column list, and the review filters.

Queries are built only from these constant names and Filters.sql()'s fixed clauses; values always
travel as parameters.
"""

from dataclasses import dataclass
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, file TEXT NOT NULL UNIQUE, mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL, seq INTEGER, camera TEXT NOT NULL, status TEXT NOT NULL, when_utc TEXT NOT NULL,
    when_ts REAL NOT NULL, title TEXT NOT NULL, summary TEXT NOT NULL, did TEXT NOT NULL, this TEXT NOT NULL,
    video TEXT NOT NULL, source_hash TEXT NOT NULL, summary_path TEXT NOT NULL, analytic_path TEXT NOT NULL,
    labels TEXT NOT NULL, persons TEXT NOT NULL, start_s REAL NOT NULL, snapshot_times TEXT NOT NULL,
    text_sha TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_when ON events(when_ts DESC);
CREATE INDEX IF NOT EXISTS events_seq ON events(seq);
CREATE INDEX IF NOT EXISTS events_camera_when ON events(camera, when_ts DESC);
CREATE INDEX IF NOT EXISTS events_status_when ON events(status, when_ts DESC);
CREATE INDEX IF NOT EXISTS events_camera_status_when ON events(camera, status, when_ts DESC);
CREATE INDEX IF NOT EXISTS events_text_when ON events(text_sha, when_ts DESC);
CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(
    title, summary, labels, persons, camera, content = 'events', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS events_fts_insert AFTER INSERT ON events BEGIN
    INSERT INTO events_fts (rowid, title, summary, labels, persons, camera)
    VALUES (new.rowid, new.title, new.summary, new.labels, new.persons, new.camera);
END;
CREATE TRIGGER IF NOT EXISTS events_fts_delete AFTER DELETE ON events BEGIN
    INSERT INTO events_fts (events_fts, rowid, title, summary, labels, persons, camera)
    VALUES ('delete', old.rowid, old.title, old.summary, old.labels, old.persons, old.camera);
END;
CREATE TRIGGER IF NOT EXISTS events_fts_update AFTER UPDATE ON events BEGIN
    INSERT INTO events_fts (events_fts, rowid, title, summary, labels, persons, camera)
    VALUES ('delete', old.rowid, old.title, old.summary, old.labels, old.persons, old.camera);
    INSERT INTO events_fts (rowid, title, summary, labels, persons, camera)
    VALUES (new.rowid, new.title, new.summary, new.labels, new.persons, new.camera);
END;
CREATE TABLE IF NOT EXISTS vectors (text_sha TEXT PRIMARY KEY, model TEXT NOT NULL, vec BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS extra_persons (id TEXT NOT NULL, person TEXT NOT NULL, PRIMARY KEY (id, person));
"""
COLUMNS = ("id", "file", "seq", "camera", "status", "when_utc", "when_ts", "title", "summary", "did", "this",
           "video", "source_hash", "summary_path", "analytic_path", "labels", "persons", "start_s",
           "snapshot_times")
SELECT = "SELECT " + ", ".join(f"e.{c}" for c in COLUMNS)


@dataclass(frozen=True)
class Filters:
    camera: str = ""
    label: str = ""
    person: str = ""
    status: str = ""
    since_ts: float | None = None
    until_ts: float | None = None

    def sql(self) -> tuple[str, list[Any]]:
        clauses, args = [], []
        for column, value in (("camera", self.camera), ("status", self.status)):
            if value:
                clauses.append(f"e.{column} = ?")
                args.append(value)
        for column, value in (("labels", self.label), ("persons", self.person)):
            if value:
                clauses.append(f"(' ' || e.{column} || ' ') LIKE ?")
                args.append(f"% {value.replace(' ', '_')} %")
        if self.since_ts is not None:
            clauses.append("e.when_ts >= ?")
            args.append(self.since_ts)
        if self.until_ts is not None:
            clauses.append("e.when_ts < ?")
            args.append(self.until_ts)
        return (" AND ".join(clauses) or "1"), args


def fts_query(text: str) -> str:
    """User words → an FTS5 query: every word must match (as a prefix); no operators get through."""
    words = ["".join(c for c in word if c.isalnum()) for word in text.split()]
    return " ".join(f'"{word}"*' for word in words if word)
