"""Appending to the LogLine chain: one writer at a time, no gap and no fork, even across crashes.

Protocol (all under the cross-process lock ``loglines/.chain.lock``):

1. recover: read the signed head; if it carries a ``pending`` append, look at the file it names —
   a complete, authentic record at exactly that seq linking to the head means the crash came after
   the record was written: roll forward (head := that record, rewrite a missing .md); anything
   else means the record never landed: roll back (drop ``pending``). No head at all: rebuild it
   from the files, refusing a broken chain.
2. idempotency: ``<id>.logline.json`` already there for the same ``source_hash`` → return it.
3. write the head with ``pending`` (intent), then the record, then its .md, then the head without
   ``pending``. Every write is atomic and fsynced, so each crash point lands in case 1.
4. the Merkle tree and the signed checkpoint follow the head (transparency.py): each leaf is
   appended (buffered) after its head commits, and one checkpoint is signed per run of appends
   (``append_loglines`` takes a batch: one lock, one node-file sync, one checkpoint); step 1 also
   brings a tree left behind by a crash up to the head before anything else is written.
"""

import logging
import os
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from logline_generator.content import render_markdown
from logline_generator.transparency import CheckpointSigning, append_leaf, crash_point, recover_tree, sign_checkpoint
from vv_core.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from vv_core.errors import VVError
from vv_core.keystore import KeyStore
from vv_core.loglines import (
    HEAD_FILE,
    LOCK_FILE,
    LOGLINE_SUFFIX,
    MARKDOWN_SUFFIX,
    ChainHead,
    CheckedLogLine,
    HeadError,
    analyze_chain,
    check_logline_bytes,
    encode_logline,
    head_document,
    link_hash,
    logline_filename,
    read_head,
    seal_logline,
)
from vv_core.schema import validate_schema
from vv_core.tlog import TreeStore

logger = logging.getLogger("vv.logline_generator")
LOCK_TIMEOUT_S = 60.0


class ChainError(VVError):
    """The chain on disk cannot be appended to safely (an operator must look: run `vv verify`)."""


def append_logline(directory: Path, fields: dict[str, Any], key_store: KeyStore,
                   lock_timeout_s: float = LOCK_TIMEOUT_S,
                   signing: CheckpointSigning | None = None) -> Path:
    """Seal ``fields`` as the next LogLine in ``directory``; return its path (idempotent).

    With ``signing``, a checkpoint over the new tree is signed after the append."""
    return append_loglines(directory, [fields], key_store, lock_timeout_s, signing)[0]


def append_loglines(directory: Path, batch: list[dict[str, Any]], key_store: KeyStore,
                    lock_timeout_s: float = LOCK_TIMEOUT_S,
                    signing: CheckpointSigning | None = None) -> list[Path]:
    """Seal each of ``batch`` as the next LogLine, in order; return their paths (idempotent).

    Each LogLine is committed on its own (a crash keeps the ones before it); with ``signing`` one
    checkpoint over the whole batch is signed at the end, so its cost is shared by the batch."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    try:
        with FileLock(directory / LOCK_FILE, timeout=lock_timeout_s):
            head = recover_head(directory, key_store)
            recover_tree(directory, head, signing)
            appended = 0
            with TreeStore(directory) as store:
                for fields in batch:
                    path, raw, head = _append_one(directory, fields, head, key_store)
                    paths.append(path)
                    if raw is not None:
                        append_leaf(store, raw, head.seq)
                        appended += 1
                        crash_point("after-tree-append")
                if appended and signing is not None:
                    crash_point("before-checkpoint")
                    sign_checkpoint(directory, store, signing)
    except Timeout:
        raise ChainError(f"chain lock {directory / LOCK_FILE} busy for {lock_timeout_s:g} s") from None
    return paths


def _append_one(directory: Path, fields: dict[str, Any], head: ChainHead,
                key_store: KeyStore) -> tuple[Path, bytes | None, ChainHead]:
    """Commit one LogLine after ``head`` (or find it already there); return its path, its bytes
    (None when it already existed) and the new head."""
    target = directory / logline_filename(fields["id"])
    if target.exists():
        return _existing_record(target, fields, head, key_store), None, head
    record = seal_logline(fields, seq=head.seq + 1, prev_hash=head.hash, key_store=key_store)
    validate_schema(record, "logline")
    raw = encode_logline(record)
    pending = {"seq": record["seq"], "id": record["id"], "prev_hash": head.hash}
    write_head(directory, ChainHead(head.seq, head.hash, head.id, pending), key_store)
    atomic_write_bytes(target, raw)
    crash_point("after-record")
    atomic_write_text(target.with_name(record["id"] + MARKDOWN_SUFFIX), render_markdown(record))
    committed = ChainHead(record["seq"], link_hash(record), record["id"])
    write_head(directory, committed, key_store)
    crash_point("after-head")
    logger.info("LogLine appended", extra={"video_id": record["id"], "seq": record["seq"]})
    return target, raw, committed


def write_head(directory: Path, head: ChainHead, key_store: KeyStore) -> None:
    atomic_write_json(directory / HEAD_FILE, head_document(head, key_store))


def recover_head(directory: Path, key_store: KeyStore) -> ChainHead:
    """The committed head, after finishing or undoing an interrupted append (call under the lock)."""
    try:
        head = read_head(directory, key_store)
    except HeadError as exc:
        raise ChainError(f"{directory / HEAD_FILE}: {exc}; run `vv verify {directory}`") from None
    if head is None:
        head = rebuild_head(directory, key_store)
        write_head(directory, head, key_store)
        return head
    if head.pending is None:
        return head
    pending = head.pending
    target = directory / logline_filename(pending["id"])
    checked = _check_file(target, key_store)
    if (checked is not None and checked.ok and checked.seq == pending["seq"] == head.seq + 1
            and checked.prev_hash == head.hash):
        recovered = ChainHead(checked.seq, checked.link_hash, pending["id"])
        markdown = target.with_name(pending["id"] + MARKDOWN_SUFFIX)
        if not markdown.exists():
            atomic_write_text(markdown, render_markdown(checked.record))  # type: ignore[arg-type]
        logger.warning("rolled an interrupted append forward", extra={"video_id": pending["id"]})
    else:
        recovered = ChainHead(head.seq, head.hash, head.id)
        logger.warning("rolled an interrupted append back", extra={"video_id": pending["id"]})
    write_head(directory, recovered, key_store)
    return recovered


def rebuild_head(directory: Path, key_store: KeyStore) -> ChainHead:
    """Head from the records themselves (first run, or a lost head); a broken chain is refused."""
    with os.scandir(directory) as listing:
        paths = [Path(entry.path) for entry in listing if entry.name.endswith(LOGLINE_SUFFIX)]
    entries = [(path.name, check_logline_bytes(path.read_bytes(), key_store)) for path in paths]
    if not entries:
        return ChainHead.empty()
    problems = [f"{e[0]}: {e[1].reason}" for e in entries if not e[1].ok]
    problems += [f"{p.file}: {p.reason}" for p in analyze_chain(entries, None) if p.reason != "missing_head"]
    if problems:
        raise ChainError(f"cannot rebuild the chain head of {directory}: {len(problems)} problem(s), "
                         f"first {problems[0]}; run `vv verify {directory}`")
    _name, last = max(entries, key=lambda item: item[1].seq)  # type: ignore[arg-type,return-value]
    logger.warning("chain head rebuilt from the records", extra={"seq": last.seq})
    return ChainHead(last.seq, last.link_hash, last.record["id"])  # type: ignore[arg-type,index]


def _existing_record(target: Path, fields: dict[str, Any], head: ChainHead, key_store: KeyStore) -> Path:
    checked = _check_file(target, key_store)
    if checked is None or not checked.ok or checked.seq > head.seq:  # type: ignore[operator]
        reason = "unreadable" if checked is None else (checked.reason or "beyond the chain head")
        raise ChainError(f"{target} exists but is not a valid chained LogLine ({reason}); "
                         f"run `vv verify {target.parent}`")
    record = checked.record
    assert record is not None
    if record["source_hash"] != fields["source_hash"]:
        raise ChainError(f"{target.name} is already chained for another video (source_hash "
                         f"{record['source_hash'][:12]}…); a LogLine is never rewritten")
    markdown = target.with_name(record["id"] + MARKDOWN_SUFFIX)
    if not markdown.exists():
        atomic_write_text(markdown, render_markdown(record))
    return target


def _check_file(path: Path, key_store: KeyStore) -> CheckedLogLine | None:
    try:
        return check_logline_bytes(path.read_bytes(), key_store)
    except FileNotFoundError:
        return None
