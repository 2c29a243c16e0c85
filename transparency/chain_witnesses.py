"""Other records on the box of how far the LogLine chain has grown, for `vv verify`.

The signed head (``loglines/.chain_head.json``) reveals a deleted tail, unless the head itself is
rolled back: restore an older genuine head, delete the LogLines after it, and the chain alone looks
whole. What the chain cannot prove about itself, other records may show: the orchestrator's state
DB (the newest seq it recorded, and every LogLine file it recorded), state/pipeline_status.json,
the scheduler's signed cache, the playlists, and the JSON logs (logs/app.log*, and the newest log
export in logs/archive/). Any of them naming a newer seq, or a recorded LogLine file that is gone,
means LogLines are missing.

They all live on the same box: someone who can roll back the head can roll these back too. Only a
checkpoint kept off the box (a witness's copy of a signed Merkle checkpoint, an off-box backup or
log export) proves that nothing was removed (docs/disaster-recovery.md).
"""

import contextlib
import gzip
import hmac
import json
import sqlite3
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vv_core.keystore import KeyStore
from vv_core.loglines import Problem

TAIL_MISSING = "tail_missing"
RECORDED_LOGLINE_MISSING = "recorded_logline_missing"
_LOGGED_SEQ = b'"logline_seq"'
_MAX_ARCHIVE_MEMBER = 512 << 20   # never inflate more than this much of one archived log


@dataclass(frozen=True)
class Witness:
    source: str            # the file it came from
    what: str              # what it is, in words
    newest_seq: int | None


def gather(root: Path, key_store: KeyStore) -> tuple[list[Witness], list[str]]:
    """Witnesses found under the storage ``root``, and the LogLine files the state DB recorded."""
    witnesses: list[Witness] = []
    recorded: list[str] = []
    state = root / "state"
    db = state / "orchestrator.sqlite3"
    if db.is_file():
        seq, recorded = _from_state_db(db)
        witnesses.append(Witness(str(db), "the orchestrator's state DB", seq))
    status = state / "pipeline_status.json"
    with contextlib.suppress(OSError, ValueError, AttributeError):
        seq = json.loads(status.read_bytes()).get("newest_logline_seq")
        witnesses.append(Witness(str(status), "pipeline_status.json", seq if isinstance(seq, int) else None))
    cache = state / "tv_scheduler_cache.json"
    if cache.is_file():
        witnesses.append(Witness(str(cache), "the scheduler's signed cache", _from_scheduler_cache(cache, key_store)))
    playlists = sorted((root / "playlists").glob("*.json"))
    if playlists:
        witnesses.append(Witness(str(root / "playlists"), "the playlists", _from_playlists(playlists)))
    logs = root / "logs"
    rotated = sorted(logs.glob("app.log?*")) if logs.is_dir() else []   # logrotate's dateext sorts by time
    for path in [logs / "app.log", *rotated[-1:]]:                       # the current log and the last rotated
        if path.is_file():
            witnesses.append(Witness(str(path), "the JSON log", _newest_in_lines(_log_lines(path))))
    archives = sorted((logs / "archive").glob("logs-*.tar.gz")) if logs.is_dir() else []
    if archives:
        witnesses.append(Witness(str(archives[-1]), "the newest log export", _from_archive(archives[-1])))
    return witnesses, recorded


def cross_check(root: Path, loglines: Path, key_store: KeyStore, chain_newest: int,
                chain_files: set[str]) -> tuple[list[Problem], list[Witness]]:
    """Problems where another record shows more LogLines than the chain holds."""
    witnesses, recorded = gather(root, key_store)
    problems = []
    for witness in witnesses:
        if witness.newest_seq is not None and witness.newest_seq > chain_newest:
            missing = witness.newest_seq - chain_newest
            problems.append(Problem(
                witness.source, TAIL_MISSING,
                f"{witness.what} recorded LogLine seq {witness.newest_seq}, but the chain ends at seq "
                f"{chain_newest}: at least {missing} LogLine(s) are missing (a rolled-back chain head "
                "hides a deleted tail); restore loglines/ from an off-box backup",
                witness.newest_seq))
    for relative in recorded:
        name = Path(relative).name
        if Path(relative).parent == Path(loglines.name) and name not in chain_files:
            problems.append(Problem(str(root / relative), RECORDED_LOGLINE_MISSING,
                                    "recorded by the orchestrator as this video's LogLine, not in the chain"))
    return problems, witnesses


def _from_state_db(db: Path) -> tuple[int | None, list[str]]:
    try:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error:
        return None, []
    try:
        row = connection.execute("SELECT value FROM meta WHERE key = 'newest_logline_seq'").fetchone()
        paths = [r[0] for r in connection.execute("SELECT logline_path FROM videos WHERE logline_path IS NOT NULL")]
    except sqlite3.Error:  # an older DB without these tables: nothing to compare
        return None, []
    finally:
        connection.close()
    return (int(row[0]) if row else None), paths


def _from_scheduler_cache(path: Path, key_store: KeyStore) -> int | None:
    """Newest seq among the records the scheduler verified, if the cache's MAC is genuine."""
    try:
        mac, payload = path.read_bytes().split(b"\n", 1)
        expected = hmac.digest(key_store.active_secret, payload, "sha256").hex().encode()
        if not hmac.compare_digest(mac, expected):
            return None
        rows = json.loads(payload)["rows"]
        return max((row[6] for row in rows if row[5] is None and isinstance(row[6], int)), default=None)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def _from_playlists(paths: Iterable[Path]) -> int | None:
    newest = None
    for path in paths:
        with contextlib.suppress(OSError, ValueError, AttributeError, TypeError):
            for item in json.loads(path.read_bytes()).get("items", []):
                seq = item.get("seq")
                if isinstance(seq, int) and (newest is None or seq > newest):
                    newest = seq
    return newest


def _log_lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            yield from handle
    except (OSError, EOFError):
        return


def _from_archive(archive: Path) -> int | None:
    newest = None
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if not member.isfile() or member.size > _MAX_ARCHIVE_MEMBER or "app.log" not in member.name:
                    continue
                handle = tar.extractfile(member)
                if handle is not None:
                    newest = _max(newest, _newest_in_lines(handle))
    except (OSError, tarfile.TarError, EOFError):
        return newest
    return newest


def _newest_in_lines(lines: Iterable[bytes]) -> int | None:
    """Newest ``logline_seq`` the orchestrator logged ("LogLine recorded" lines)."""
    newest = None
    for line in lines:
        if _LOGGED_SEQ not in line:
            continue
        with contextlib.suppress(ValueError, AttributeError):
            newest = _max(newest, json.loads(line).get("logline_seq"))
    return newest


def _max(current: int | None, value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and (current is None or value > current):
        return value
    return current
