"""corrupted/: what is quarantined and why; retry (back to input/) or delete.

The orchestrator owns corrupted/ (it writes each ``.error.json``); the console and `vv diagnose --fix`
(re-queue files quarantined by a transient fault) both act through this module.

A retry puts the video back where the orchestrator first found it and resets the orchestrator's
record of it (its own state store, through its own API), otherwise the orchestrator would treat the
file as a duplicate of a failed video and set it aside again. The ``.error.json`` leaves with it:
its content goes into the JSON log line that records who asked for the retry.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from vv_core.atomic import fsync_directory
from vv_core.errors import VVError

ERROR_SUFFIX = ".error.json"


class QuarantineError(VVError):
    """The file is not in corrupted/ or cannot be moved (the message is safe to show)."""


@dataclass(frozen=True)
class QuarantinedFile:
    path: str            # relative to the storage root, e.g. corrupted/cam1/x.mp4
    size: int
    reason: str
    stage: str
    attempts: int | None
    kind: str
    original_path: str
    quarantined_at: str
    record: dict[str, Any]


def _record(error_file: Path) -> dict[str, Any]:
    try:
        document = orjson.loads(error_file.read_bytes())
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def list_quarantined(root: Path) -> list[QuarantinedFile]:
    corrupted = root / "corrupted"
    found = []
    for path in sorted(corrupted.rglob("*")) if corrupted.is_dir() else []:
        if not path.is_file() or path.name.endswith(ERROR_SUFFIX) or path.name.startswith("."):
            continue
        record = _record(path.with_name(path.name + ERROR_SUFFIX))
        timestamps = record.get("timestamps") if isinstance(record.get("timestamps"), dict) else {}
        attempts = record.get("attempts")
        found.append(QuarantinedFile(
            path=path.relative_to(root).as_posix(), size=path.stat().st_size,
            reason=str(record.get("error") or "no error record"), stage=str(record.get("stage", "")),
            attempts=attempts if isinstance(attempts, int) else None, kind=str(record.get("kind", "")),
            original_path=str(record.get("original_path", "")),
            quarantined_at=str(timestamps.get("quarantined_at", "")), record=record))
    return found


def resolve_quarantined(root: Path, relative: str) -> Path:
    """The real file behind a corrupted/… path from a form; anything else is refused."""
    parts = relative.split("/")
    if len(parts) < 2 or parts[0] != "corrupted" or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise QuarantineError("not a quarantined file")
    path = root.joinpath(*parts)
    if path.name.endswith(ERROR_SUFFIX) or not path.is_file() or path.is_symlink():
        raise QuarantineError("not a quarantined file")
    if not path.resolve().is_relative_to((root / "corrupted").resolve()):
        raise QuarantineError("not a quarantined file")
    return path


def _free_input_path(root: Path, wanted: str, name: str) -> Path:
    parts = wanted.split("/") if wanted else []
    if len(parts) >= 2 and parts[0] == "input" and not any(p in ("", ".", "..") for p in parts):
        candidate = root.joinpath(*parts)
    else:
        candidate = root / "input" / name
    stem, dot, suffix = candidate.name.partition(".")
    counter = 1
    while candidate.exists():
        candidate = candidate.with_name(f"{stem}-retry{counter}{dot}{suffix}")
        counter += 1
    return candidate


def _reset_orchestrator(root: Path, record: dict[str, Any], new_relative: str) -> bool:
    """Make the orchestrator take the file up again from the start (False when it never saw it)."""
    sha256, db = record.get("sha256"), root / "state" / "orchestrator.sqlite3"
    if not isinstance(sha256, str) or not db.is_file():
        return False
    from orchestrator.state import StateStore  # the orchestrator's own store API

    store = StateStore(db)
    try:
        if store.get(sha256) is None:
            return False
        store.update(sha256, state="discovered", current_path=new_relative, attempts=0, next_attempt_at=0,
                     last_error=None, last_error_stage=None, last_failure_kind=None, outcome=None,
                     final_path=None, finished_at=None)
        return True
    finally:
        store.close()


def retry(root: Path, relative: str) -> dict[str, Any]:
    """Move a quarantined video back into input/ for the orchestrator; returns what was done."""
    path = resolve_quarantined(root, relative)
    error_file = path.with_name(path.name + ERROR_SUFFIX)
    record = _record(error_file)
    target = _free_input_path(root, str(record.get("original_path", "")), path.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)  # same filesystem: atomic; the orchestrator sees a whole file or none
    fsync_directory(target.parent)
    new_relative = target.relative_to(root).as_posix()
    reset = _reset_orchestrator(root, record, new_relative)
    error_file.unlink(missing_ok=True)
    return {"file": relative, "moved_to": new_relative, "orchestrator_reset": reset, "error_record": record}


def delete(root: Path, relative: str) -> dict[str, Any]:
    path = resolve_quarantined(root, relative)
    error_file = path.with_name(path.name + ERROR_SUFFIX)
    record = _record(error_file)
    path.unlink()
    error_file.unlink(missing_ok=True)
    return {"file": relative, "error_record": record}
