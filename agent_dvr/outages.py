"""Outage records per camera in SQLite (state/agent_dvr.sqlite3, WAL): when a camera went away and
when it came back. A row is written when the outage starts, so an agent restart mid-outage keeps it;
the same open row is closed when data flows again."""

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from vv_core.jsonlog import utc_timestamp

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    camera      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    started_ts  REAL NOT NULL,
    ended_at    TEXT,
    duration_s  REAL,
    reason      TEXT NOT NULL,
    alerted     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outages_open ON outages (camera, ended_at);
"""


@dataclass(frozen=True)
class Outage:
    id: int
    camera: str
    started_at: str
    started_ts: float
    ended_at: str | None
    duration_s: float | None
    reason: str
    alerted: bool


class OutageStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10.0)
        db.row_factory = sqlite3.Row
        return db

    @staticmethod
    def _row(row: sqlite3.Row) -> Outage:
        return Outage(row["id"], row["camera"], row["started_at"], row["started_ts"], row["ended_at"],
                      row["duration_s"], row["reason"], bool(row["alerted"]))

    def open_outage(self, camera: str, started_ts: float, reason: str) -> Outage:
        """Start an outage (or return the one already open for this camera)."""
        with closing(self._connect()) as db, db:
            current = db.execute("SELECT * FROM outages WHERE camera=? AND ended_at IS NULL", (camera,)).fetchone()
            if current is not None:
                return self._row(current)
            cursor = db.execute(
                "INSERT INTO outages (camera, started_at, started_ts, reason) VALUES (?, ?, ?, ?)",
                (camera, utc_timestamp(started_ts), started_ts, reason),
            )
            row = db.execute("SELECT * FROM outages WHERE id=?", (cursor.lastrowid,)).fetchone()
            return self._row(row)

    def current(self, camera: str) -> Outage | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM outages WHERE camera=? AND ended_at IS NULL", (camera,)).fetchone()
            return self._row(row) if row else None

    def mark_alerted(self, outage_id: int) -> None:
        with closing(self._connect()) as db, db:
            db.execute("UPDATE outages SET alerted=1 WHERE id=?", (outage_id,))

    def close_outage(self, camera: str, ended_ts: float) -> Outage | None:
        """End the camera's open outage, if any; return the closed record."""
        with closing(self._connect()) as db, db:
            row = db.execute("SELECT * FROM outages WHERE camera=? AND ended_at IS NULL", (camera,)).fetchone()
            if row is None:
                return None
            duration = max(0.0, ended_ts - row["started_ts"])
            db.execute("UPDATE outages SET ended_at=?, duration_s=? WHERE id=?",
                       (utc_timestamp(ended_ts), duration, row["id"]))
            return self._row(db.execute("SELECT * FROM outages WHERE id=?", (row["id"],)).fetchone())

    def all(self, camera: str | None = None) -> list[Outage]:
        with closing(self._connect()) as db:
            if camera is None:
                rows = db.execute("SELECT * FROM outages ORDER BY id").fetchall()
            else:
                rows = db.execute("SELECT * FROM outages WHERE camera=? ORDER BY id", (camera,)).fetchall()
            return [self._row(row) for row in rows]
