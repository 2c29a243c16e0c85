"""Moving a video to its final place (processed/ or corrupted/) crash-safely.

The destination is chosen and recorded in the state DB *before* the rename; the rename is one
``os.replace`` on the same filesystem (atomic), followed by an fsync of both directories. After a
crash, :func:`complete_move` sees which side of the rename the file is on and finishes the job.
The layout under input/ (``<camera>/<name>``) is kept under the destination. Where a done video
went is recorded for the scheduler in ``state/media/<sha256>.json`` (:mod:`vv_core.placement`).
"""

import logging
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from orchestrator.names import safe_relative
from vv_core.atomic import atomic_write_json, fsync_directory
from vv_core.hashing import compute_sha256
from vv_core.jsonlog import utc_timestamp
from vv_core.placement import read_placement, write_placement

logger = logging.getLogger("vv.orchestrator")


class VideoVanished(RuntimeError):
    """Neither the source nor the destination of a recorded move exists."""


def destination_for(root: Path, relative_input: str, target_dir: str, sha256: str) -> str:
    """Free destination path (relative to root) for a video from input/ in ``target_dir``.

    The name is made safe first (:func:`safe_relative`), so ``<name>.<hash>`` and
    ``<name>.error.json`` always fit, whatever name the video arrived with.
    """
    parts = Path(relative_input).parts
    inner = Path(*parts[1:]) if parts and parts[0] == "input" and len(parts) > 1 else Path(parts[-1])
    inner = Path(safe_relative(inner.as_posix(), sha256))
    candidate = Path(target_dir) / inner
    if not (root / candidate).exists() and not (root / f"{candidate}.error.json").exists():
        return candidate.as_posix()
    # Same name already there (a different recording, or a duplicate): keep both, tag with the hash.
    stem, suffix = inner.name.split(".", 1) if "." in inner.name else (inner.name, "")
    for counter in range(1000):
        tag = sha256[:12] if counter == 0 else f"{sha256[:12]}-{counter}"
        name = f"{stem}.{tag}" + (f".{suffix}" if suffix else "")
        candidate = Path(target_dir) / inner.parent / name
        if not (root / candidate).exists():
            return candidate.as_posix()
    raise RuntimeError(f"no free destination for {relative_input} in {target_dir}")  # pragma: no cover


def complete_move(root: Path, current: str, final: str) -> None:
    """Finish the rename current → final, whichever side of it a crash left us on."""
    source, target = root / current, root / final
    if source == target:
        return
    if source.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            raise FileExistsError(f"destination already exists: {final}")
        os.replace(source, target)
        fsync_directory(target.parent)
        fsync_directory(source.parent)
        return
    if target.exists():
        return  # the rename happened before the crash
    raise VideoVanished(f"video missing from {current} and {final}")


def error_record_path(root: Path, final: str) -> Path:
    return root / f"{final}.error.json"


def write_error_record(root: Path, final: str, row: sqlite3.Row, *, stage: str, error: str, kind: str,
                       attempts: int, exit_code: int | None = None, log_excerpt: str = "",
                       extra: dict[str, Any] | None = None) -> Path:
    """``corrupted/<name>.error.json``: why this video was quarantined (written before the move)."""
    record = {
        "video": final,
        "original_path": row["input_path"],
        "name": row["name"],
        "video_id": row["video_id"],
        "sha256": row["sha256"],
        "stage": stage,
        "error": error,
        "kind": kind,
        "attempts": attempts,
        "exit_code": exit_code,
        "log_excerpt": log_excerpt,
        "timestamps": {
            "discovered_at": utc_timestamp(row["discovered_at"]),
            "last_attempt_at": utc_timestamp(row["updated_at"]),
            "quarantined_at": utc_timestamp(),
        },
    }
    record.update(extra or {})
    return atomic_write_json(error_record_path(root, final), record)


def record_placement(root: Path, state_dir: Path, row: sqlite3.Row) -> bool:
    """state/media/<sha256>.json for a done video, so the scheduler never guesses its place from the
    name (a second video dropped under a taken name is placed as ``<stem>.<sha12>.<ext>``).
    The file is hashed again as placed: the record vouches for the bytes at that path."""
    final = root / row["final_path"]
    if not final.is_file():
        return False
    placed_sha = compute_sha256(final)
    if placed_sha != row["sha256"]:
        logger.error("the video at %s is not the one processed (sha256 %s…, expected %s…): not recorded, "
                     "so it never reaches a TV", row["final_path"], placed_sha[:12], row["sha256"][:12],
                     extra={"video_id": row["video_id"]})
        return False
    write_placement(state_dir, root, row["final_path"], row["sha256"])
    return True


def backfill_placements(root: Path, state_dir: Path, rows: Iterable[sqlite3.Row]) -> int:
    """For videos done before placement records existed (run once): the place comes from the state
    DB (where the orchestrator itself moved them), checked by size, not hashed again."""
    written = 0
    for row in rows:
        if row["state"] != "done" or not row["final_path"] or read_placement(state_dir, row["sha256"]):
            continue
        try:
            if (root / row["final_path"]).stat().st_size != row["size"]:
                continue
            write_placement(state_dir, root, row["final_path"], row["sha256"])
        except (OSError, ValueError):
            continue
        written += 1
    if written:
        logger.info("recorded the placement of %d videos done before placement records existed", written)
    return written
