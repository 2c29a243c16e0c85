"""Claiming what discovery found: a new video gets its row (and a safe name), an identical file
dropped again is set aside next to the original, and what can never be taken is recorded once.

A name that is not safe (:mod:`.names`) is replaced here: the row records the original (printable)
and the safe path *before* the rename, so a crash in between is finished by the next run.
"""

import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from orchestrator.discovery import Ignored, StableFile
from orchestrator.moves import complete_move, destination_for, write_error_record
from orchestrator.names import printable, safe_relative
from orchestrator.stages import TERMINAL_STATES
from orchestrator.state import StateStore
from vv_core.naming import artifact_id, camera_of, sanitize_id


class Orchestrator(Protocol):
    """What claiming needs of the engine (orchestrator.engine.Orchestrator is one)."""

    root: Path
    store: StateStore
    clock: Callable[[], float]


class RunReport(Protocol):
    duplicates: list[str]

logger = logging.getLogger("vv.orchestrator")


def claim(orchestrator: "Orchestrator", found: StableFile, report: "RunReport") -> None:
    """Take a stable file: a new video gets its row (under a safe name); a known one is resumed,
    its interrupted rename finished, or, once the original is finished, set aside as a duplicate."""
    root, store = orchestrator.root, orchestrator.store
    original = printable(found.relative)
    known = store.get(found.sha256)
    if known is None:
        target = safe_relative(found.relative, found.sha256)
        if target != found.relative and os.path.lexists(root / target):
            raise FileExistsError(f"safe name {target} for {original} is taken")
        video_id = artifact_id(root / target, root)
        if store.video_id_taken(video_id):  # same name, different content: keep ids unique
            video_id = sanitize_id(f"{video_id[:190]}-{found.sha256[:8]}")
        store.add_video(sha256=found.sha256, video_id=video_id, camera=camera_of(root / target, root),
                        name=printable(found.path.name), path=original, current_path=target,
                        size=found.size, now=orchestrator.clock())
        if target != found.relative:
            rename_unsafe(root, found.relative, target, video_id)
        logger.info("claimed %s", original, extra={"video_id": video_id, "sha256": found.sha256})
        return
    if known["current_path"] == found.relative:
        return  # resuming a video already claimed
    if known["state"] not in TERMINAL_STATES:
        if known["input_path"] == original and not os.path.lexists(root / known["current_path"]):
            rename_unsafe(root, found.relative, known["current_path"], known["video_id"])  # finish it
        return  # else identical content still in progress under another name: decide when it ends
    set_aside_duplicate(orchestrator, found, known, report)


def rename_unsafe(root: Path, relative: str, target: str, video_id: str) -> None:
    complete_move(root, relative, target)
    logger.warning("unsafe name %s replaced by %s", printable(relative), target,
                   extra={"video_id": video_id, "original_name": printable(relative)})


def set_aside_duplicate(orchestrator: "Orchestrator", found: StableFile, known: sqlite3.Row,
                        report: "RunReport") -> None:
    """A re-dropped identical file: never processed again, never deleted; moved next to the original."""
    root = orchestrator.root
    target_dir = "processed" if known["state"] == "done" else "corrupted"
    final = destination_for(root, found.relative, target_dir, found.sha256)
    if target_dir == "corrupted":
        write_error_record(root, final, known, stage=known["last_error_stage"] or "discovery",
                           error=f"duplicate of {known['input_path']}: {known['last_error']}",
                           kind="duplicate", attempts=0,
                           extra={"duplicate_of": known["final_path"], "duplicate_path": printable(found.relative)})
    complete_move(root, found.relative, final)
    orchestrator.store.update(known["sha256"], duplicates=known["duplicates"] + 1)
    report.duplicates.append(printable(found.relative))
    logger.warning("duplicate of an already %s video set aside: %s → %s", known["state"],
                   printable(found.relative), final, extra={"video_id": known["video_id"]})


def record_ignored(orchestrator: "Orchestrator", ignored: list[Ignored]) -> None:
    """Log what input/ holds that can never be taken: once per entry, not on every run."""
    entries = {printable(entry.relative): entry.kind for entry in ignored}
    for path, kind in orchestrator.store.note_ignored(entries, orchestrator.clock()):
        logger.warning("ignored in input/ (%s): %s", kind, path, extra={"path": path, "kind": kind})
