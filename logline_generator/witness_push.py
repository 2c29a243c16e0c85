"""Push the latest checkpoint to the configured witnesses (C2SP tlog-witness) and keep their cosignatures.

Never in the pipeline's way: each push has a short timeout, a witness that failed is skipped for a
while, every failure is one log line, and the next checkpoint is pushed again (a witness only needs
the latest one, with a consistency proof from the last size it cosigned, kept in
``.tlog/witnesses.json``). Cosignatures that verify are stored with the checkpoint in
``.tlog/checkpoint.witnessed``. A witness that refuses a consistent-looking push (409 with a bigger
size than ours, or 422) has seen another view of this log: that is logged as a possible split view.
"""

import base64
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from filelock import FileLock, Timeout

from vv_core.atomic import atomic_write_json
from vv_core.errors import VVError
from vv_core.notes import COSIGNATURE_V1, Checkpoint, NoteError, VerifierKey, split_note, witnesses_of
from vv_core.tlog import TLOG_DIR, WITNESS_STATE_FILE, WITNESSED_FILE, TreeStore, read_checkpoint, write_checkpoint

logger = logging.getLogger("vv.logline_generator.witness")
SIZE_CONTENT_TYPE = "text/x.tlog.size"


class SplitViewSuspected(VVError):
    """A witness holds a view of this log that the checkpoint does not extend."""


@dataclass(frozen=True)
class Witness:
    url: str
    key: VerifierKey


def parse_witnesses(setting: str) -> list[Witness]:
    """``URL VERIFIER_KEY, URL VERIFIER_KEY`` → witnesses (VVError naming the bad entry)."""
    witnesses = []
    for entry in filter(None, (part.strip() for part in setting.split(","))):
        url, _, key = entry.partition(" ")
        try:
            parsed = VerifierKey.parse(key)
        except NoteError as exc:
            raise VVError(f"TRANSPARENCY_WITNESSES entry {url!r}: {exc}") from None
        if parsed.kind != COSIGNATURE_V1 or not url.startswith(("http://", "https://")):
            raise VVError(f"TRANSPARENCY_WITNESSES entry {url!r} needs an http(s) URL and a witness "
                          f"(cosignature, type 4) verifier key")
        witnesses.append(Witness(url.rstrip("/"), parsed))
    return witnesses


def push_checkpoint(directory: Path, witnesses: list[Witness], timeout_s: float, retry_s: float,
                    clock: Callable[[], float] = time.time) -> list[str]:
    """Ask each witness to cosign the latest checkpoint; return the names that cosigned it now."""
    note = read_checkpoint(directory)
    if note is None or not witnesses:
        return []
    tlog = Path(directory) / TLOG_DIR
    try:
        with FileLock(tlog / "witness.lock", timeout=0):
            return _push_locked(directory, note, witnesses, timeout_s, retry_s, clock)
    except Timeout:
        return []  # another writer is pushing right now; the next checkpoint goes out anyway


def _push_locked(directory: Path, note: str, witnesses: list[Witness], timeout_s: float, retry_s: float,
                 clock: Callable[[], float]) -> list[str]:
    text, _ = split_note(note)
    checkpoint = Checkpoint.parse(text)
    state_path = Path(directory) / TLOG_DIR / WITNESS_STATE_FILE
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        state = {}
    witnessed = read_checkpoint(directory, WITNESSED_FILE)
    cosignatures: list[str] = []
    if witnessed is not None and split_note(witnessed)[0] == text:
        cosignatures = [s.line for s in split_note(witnessed)[1] if s.line not in note]
    have = witnesses_of(note + "".join(cosignatures), [w.key for w in witnesses]) if cosignatures else []
    cosigned_now = []
    for witness in witnesses:
        entry = state.setdefault(str(witness.key), {})
        if witness.key in have or clock() - entry.get("failed_at", float("-inf")) < retry_s:
            continue
        try:
            lines = _add_checkpoint(directory, witness, note, checkpoint, entry, timeout_s)
        except (requests.RequestException, VVError, NoteError, ValueError, OSError) as exc:
            entry.update(failed_at=clock(), error=str(exc)[:300])
            if isinstance(exc, SplitViewSuspected):
                logger.error("witness refused the checkpoint: possible split view (it cosigned another "
                             "history of this log)", extra={"witness": witness.key.name, "reason": str(exc)})
            else:
                logger.warning("witness push failed; retried with a later checkpoint",
                               extra={"witness": witness.key.name, "reason": str(exc)[:300]})
            continue
        entry.pop("failed_at", None)
        entry.pop("error", None)
        entry["size"] = checkpoint.size
        cosignatures.extend(lines)
        cosigned_now.append(witness.key.name)
    atomic_write_json(state_path, state)
    if cosigned_now:
        write_checkpoint(directory, note + "".join(cosignatures), WITNESSED_FILE)
    return cosigned_now


def _add_checkpoint(directory: Path, witness: Witness, note: str, checkpoint: Checkpoint, entry: dict,
                    timeout_s: float) -> list[str]:
    """One add-checkpoint exchange (plus one retry when the witness tells us its size)."""
    old = int(entry.get("size", 0))
    for _attempt in range(2):
        if old > checkpoint.size:
            raise SplitViewSuspected(f"witness has cosigned size {old}, beyond this log's {checkpoint.size}")
        with TreeStore(directory) as store:
            proof = store.consistency_proof(old, checkpoint.size) if old else []
        body = f"old {old}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in proof) + "\n" + note
        response = requests.post(f"{witness.url}/add-checkpoint", data=body.encode(), timeout=timeout_s,
                                 headers={"Content-Type": "text/plain; charset=utf-8"})
        if response.status_code == 409 and response.headers.get("content-type", "").startswith(SIZE_CONTENT_TYPE):
            old = int(response.text.strip())
            entry["size"] = old
            continue
        if response.status_code in (409, 422):
            raise SplitViewSuspected(f"witness refused checkpoint {checkpoint.size} "
                                     f"(HTTP {response.status_code}): {response.text.strip()[:200]}")
        if response.status_code != 200:
            raise VVError(f"witness answered HTTP {response.status_code}")
        lines = [line + "\n" for line in response.text.splitlines() if line]
        if witness.key not in witnesses_of(note + "".join(lines), [witness.key]):
            raise VVError("witness answered without a valid cosignature from its key")
        return [line for line in lines if line.split(" ")[1:2] == [witness.key.name]]
    raise VVError("witness kept answering 409")
