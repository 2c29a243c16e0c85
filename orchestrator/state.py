"""The orchestrator's memory: SQLite (WAL) at state/orchestrator.sqlite3.

One row per distinct video content (keyed by sha256, so a re-dropped identical file is recognised),
with the state machine of DESIGN.md: discovered → scanned → summarized → logged → done | failed.
Every transition is its own committed transaction, so a SIGKILL at any point leaves the last
completed step recorded and a restart resumes from there. Paths are stored relative to the
storage root (the same tree is mounted elsewhere inside containers).

Tables: ``videos`` (progress), ``stage_runs`` (one row per stage execution: metrics and audit),
``sightings`` (size/mtime of files seen in input/, for the stability check across runs and as a
sha256 cache), ``runs`` (one row per orchestrator run), ``meta`` (flags such as a pending
playlist rebuild, the newest LogLine seq recorded), ``ignored`` (what input/ holds that can never
be taken, recorded once). Paths that came from input/ are stored as
:func:`orchestrator.names.printable` text (a name need not be valid UTF-8).
"""

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.stages import TERMINAL_STATES

SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (
    sha256            TEXT PRIMARY KEY,
    video_id          TEXT NOT NULL UNIQUE,
    camera            TEXT,
    name              TEXT NOT NULL,
    input_path        TEXT NOT NULL,
    current_path      TEXT NOT NULL,
    size              INTEGER NOT NULL,
    state             TEXT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    total_attempts    INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    last_error_stage  TEXT,
    last_failure_kind TEXT,
    next_attempt_at   REAL NOT NULL DEFAULT 0,
    discovered_at     REAL NOT NULL,
    updated_at        REAL NOT NULL,
    finished_at       REAL,
    analytic_path     TEXT,
    summary_path      TEXT,
    logline_path      TEXT,
    outcome           TEXT,
    final_path        TEXT,
    duplicates        INTEGER NOT NULL DEFAULT 0,
    max_time_alerted  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS videos_state ON videos(state, next_attempt_at);
CREATE TABLE IF NOT EXISTS stage_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256      TEXT NOT NULL,
    stage       TEXT NOT NULL,
    started_at  REAL NOT NULL,
    finished_at REAL NOT NULL,
    duration_s  REAL NOT NULL,
    exit_code   INTEGER,
    outcome     TEXT NOT NULL,
    error       TEXT
);
CREATE INDEX IF NOT EXISTS stage_runs_stage ON stage_runs(stage);
CREATE TABLE IF NOT EXISTS sightings (
    path       TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    mtime_ns   INTEGER NOT NULL,
    first_seen REAL NOT NULL,
    sha256     TEXT
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ignored (
    path       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    first_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at    REAL NOT NULL,
    finished_at   REAL,
    videos_seen   INTEGER NOT NULL DEFAULT 0,
    videos_done   INTEGER NOT NULL DEFAULT 0,
    videos_failed INTEGER NOT NULL DEFAULT 0
);
"""

VIDEO_FIELDS = (
    "camera", "name", "input_path", "current_path", "size", "state", "attempts", "total_attempts",
    "last_error", "last_error_stage", "last_failure_kind", "next_attempt_at", "discovered_at",
    "updated_at", "finished_at", "analytic_path", "summary_path", "logline_path", "outcome",
    "final_path", "duplicates", "max_time_alerted",
)


@dataclass(frozen=True)
class Sighting:
    path: str
    size: int
    mtime_ns: int
    first_seen: float
    sha256: str | None


class StateStore:
    """Thin, explicit access to the state DB; one connection per process."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed transition survives power loss too, not only a process crash.
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- videos -------------------------------------------------------------------------------------
    def get(self, sha256: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM videos WHERE sha256 = ?", (sha256,)).fetchone()

    def get_by_path(self, current_path: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM videos WHERE current_path = ?", (current_path,)).fetchone()

    def video_id_taken(self, video_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM videos WHERE video_id = ?", (video_id,)).fetchone() is not None

    def add_video(self, *, sha256: str, video_id: str, camera: str | None, name: str, path: str,
                  size: int, now: float, current_path: str | None = None) -> sqlite3.Row:
        """``name``/``path``: where the video was found (printable text); ``current_path``: where it
        is taken from (its safe name, when the found name had to be replaced; default ``path``)."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO videos (sha256, video_id, camera, name, input_path, current_path, size, state,"
                " discovered_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'discovered', ?, ?)",
                (sha256, video_id, camera, name, path, current_path or path, size, now, now),
            )
        row = self.get(sha256)
        assert row is not None
        return row

    def update(self, sha256: str, **fields: Any) -> sqlite3.Row:
        unknown = set(fields) - set(VIDEO_FIELDS)
        if unknown:
            raise ValueError(f"unknown video fields: {sorted(unknown)}")
        fields.setdefault("updated_at", time.time())
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.transaction() as db:
            db.execute(f"UPDATE videos SET {assignments} WHERE sha256 = ?",  # noqa: S608 (names checked)
                       (*fields.values(), sha256))
        row = self.get(sha256)
        assert row is not None
        return row

    def due_videos(self, now: float) -> list[sqlite3.Row]:
        """Unfinished videos whose retry time has come, oldest first."""
        return self.db.execute(
            "SELECT * FROM videos WHERE state NOT IN (?, ?) AND next_attempt_at <= ?"
            " ORDER BY discovered_at, sha256", (*TERMINAL_STATES, now),
        ).fetchall()

    def unfinished_videos(self) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT * FROM videos WHERE state NOT IN (?, ?) ORDER BY discovered_at", TERMINAL_STATES
        ).fetchall()

    def all_videos(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM videos ORDER BY discovered_at, sha256").fetchall()

    def counts_by_state(self) -> dict[str, int]:
        rows = self.db.execute("SELECT state, COUNT(*) AS n FROM videos GROUP BY state").fetchall()
        return {row["state"]: row["n"] for row in rows}

    # --- stage runs (metrics) ---------------------------------------------------------------------
    def record_stage_run(self, *, sha256: str, stage: str, started_at: float, finished_at: float,
                         exit_code: int | None, outcome: str, error: str | None) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO stage_runs (sha256, stage, started_at, finished_at, duration_s, exit_code,"
                " outcome, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (sha256, stage, started_at, finished_at, max(0.0, finished_at - started_at), exit_code,
                 outcome, error),
            )

    def stage_durations(self, stage: str) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT duration_s, outcome, finished_at FROM stage_runs WHERE stage = ? ORDER BY id", (stage,)
        ).fetchall()

    # --- sightings (stability + sha cache) ----------------------------------------------------------
    def sighting(self, path: str) -> Sighting | None:
        row = self.db.execute("SELECT * FROM sightings WHERE path = ?", (path,)).fetchone()
        return Sighting(**dict(row)) if row else None

    def put_sighting(self, sighting: Sighting) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO sightings (path, size, mtime_ns, first_seen, sha256)"
                " VALUES (?, ?, ?, ?, ?)",
                (sighting.path, sighting.size, sighting.mtime_ns, sighting.first_seen, sighting.sha256),
            )

    def forget_sightings(self, keep: set[str]) -> None:
        paths = [row["path"] for row in self.db.execute("SELECT path FROM sightings").fetchall()]
        gone = [p for p in paths if p not in keep]
        if gone:
            with self.transaction() as db:
                db.executemany("DELETE FROM sightings WHERE path = ?", [(p,) for p in gone])

    # --- ignored entries in input/ ------------------------------------------------------------------
    def note_ignored(self, entries: dict[str, str], now: float) -> list[tuple[str, str]]:
        """Make the table hold exactly ``entries`` (path → kind); return the ones not recorded before
        (or recorded with another kind), so each is reported once, not on every run."""
        known = {row["path"]: row["kind"] for row in self.db.execute("SELECT path, kind FROM ignored")}
        fresh = [(path, kind) for path, kind in sorted(entries.items()) if known.get(path) != kind]
        gone = [path for path in known if path not in entries]
        if fresh or gone:
            with self.transaction() as db:
                db.executemany("DELETE FROM ignored WHERE path = ?", [(p,) for p in gone])
                db.executemany("INSERT OR REPLACE INTO ignored (path, kind, first_seen) VALUES (?, ?, ?)",
                               [(path, kind, now) for path, kind in fresh])
        return fresh

    def ignored_entries(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM ignored ORDER BY path").fetchall()

    # --- meta flags ----------------------------------------------------------------------------------
    def get_flag(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def set_flag(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # --- runs ----------------------------------------------------------------------------------------
    def start_run(self, now: float) -> int:
        with self.transaction() as db:
            cursor = db.execute("INSERT INTO runs (started_at) VALUES (?)", (now,))
        return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, *, now: float, seen: int, done: int, failed: int) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, videos_seen = ?, videos_done = ?, videos_failed = ?"
                " WHERE id = ?", (now, seen, done, failed, run_id),
            )

    def last_finished_run(self) -> sqlite3.Row | None:
        return self.db.execute(
            "SELECT * FROM runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
