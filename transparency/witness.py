"""`vv witness serve`: a C2SP tlog-witness that cosigns a log's checkpoints on a second box.

For each log it knows (by origin, with the log's verifier keys) it keeps the last checkpoint it
cosigned, written atomically under ``WITNESS_STATE_DIR``. ``POST /add-checkpoint`` (body: ``old N``,
the consistency proof lines, a blank line, the checkpoint note) is answered per the spec:
404 unknown origin, 403 no trusted log signature, 400 malformed or old > size, 409 with
``text/x.tlog.size`` when ``old`` is not the size it last cosigned (or a same-size checkpoint with
another root), 422 when the consistency proof fails, else 200 and its cosignature line. Check and
update happen under one lock, so two requests can never roll its view back. A refusal that shows the
log signed two histories (same size, other root; or a failing proof) is logged as a split view and
the evidence kept in ``evidence/``.
"""

import base64
import binascii
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from vv_core.atomic import atomic_write_text
from vv_core.merkle import ProofError, verify_consistency
from vv_core.notes import (
    MAX_NOTE_BYTES,
    Checkpoint,
    NoteError,
    NoteSigner,
    VerifierKey,
    open_checkpoint,
    split_note,
)

logger = logging.getLogger("vv.witness")
SIZE_CONTENT_TYPE = "text/x.tlog.size"
MAX_PROOF_LINES = 63


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


class Witness:
    def __init__(self, signer: NoteSigner, log_keys: list[VerifierKey], state_dir: Path,
                 clock: Callable[[], float] = time.time) -> None:
        self.signer = signer
        self.logs: dict[str, list[VerifierKey]] = {}
        for key in log_keys:
            self.logs.setdefault(key.name, []).append(key)
        self.state_dir = Path(state_dir)
        self.clock = clock
        self._lock = threading.Lock()

    def _state_path(self, origin: str) -> Path:
        return self.state_dir / f"{hashlib.sha256(origin.encode()).hexdigest()[:32]}.checkpoint"

    def latest(self, origin: str) -> Checkpoint | None:
        try:
            note = self._state_path(origin).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return Checkpoint.parse(split_note(note)[0])

    def add_checkpoint(self, body: bytes) -> Answer:
        try:
            old, proof, note = parse_request(body)
            checkpoint = Checkpoint.parse(split_note(note)[0])
        except (NoteError, ValueError) as exc:
            return Answer(400, f"malformed request: {exc}\n")
        keys = self.logs.get(checkpoint.origin)
        if keys is None:
            return Answer(404, "unknown log origin\n")
        try:
            open_checkpoint(note, keys)
        except NoteError:
            return Answer(403, "no valid signature from the log's key\n")
        if old > checkpoint.size:
            return Answer(400, "old size is beyond the checkpoint size\n")
        with self._lock:
            latest = self.latest(checkpoint.origin)
            latest_size = latest.size if latest else 0
            if old != latest_size:
                return Answer(409, f"{latest_size}\n", SIZE_CONTENT_TYPE)
            if latest is not None and checkpoint.size == latest.size and checkpoint.root != latest.root:
                self._evidence(checkpoint.origin, note, "same size, different root")
                return Answer(409, f"{latest_size}\n", SIZE_CONTENT_TYPE)
            try:
                if old and old != checkpoint.size:
                    verify_consistency(old, checkpoint.size, latest.root, checkpoint.root, proof)  # type: ignore[union-attr]
                elif proof:
                    raise ProofError("the proof must be empty")
            except ProofError as exc:
                self._evidence(checkpoint.origin, note, str(exc))
                return Answer(422, f"consistency proof does not verify: {exc}\n")
            atomic_write_text(self._state_path(checkpoint.origin), note)
        text = checkpoint.text()
        logger.info("checkpoint cosigned", extra={"origin": checkpoint.origin, "tree_size": checkpoint.size})
        return Answer(200, self.signer.signature_line(text, int(self.clock())))

    def _evidence(self, origin: str, note: str, reason: str) -> None:
        """Keep the refused checkpoint beside the one cosigned before: proof the log equivocated."""
        logger.error("split view: the log signed a checkpoint inconsistent with the one this witness "
                     "cosigned", extra={"origin": origin, "reason": reason})
        stamp = f"{int(self.clock())}-{hashlib.sha256(note.encode()).hexdigest()[:12]}"
        previous = self._state_path(origin).read_text(encoding="utf-8")
        atomic_write_text(self.state_dir / "evidence" / f"{stamp}.txt",
                          f"reason: {reason}\n\n# cosigned before\n{previous}\n# refused\n{note}")


def parse_request(body: bytes) -> tuple[int, list[bytes], str]:
    """(old size, consistency proof, checkpoint note) of an add-checkpoint body."""
    if len(body) > MAX_NOTE_BYTES + 64 * (MAX_PROOF_LINES + 1):
        raise ValueError("request too large")
    text = body.decode("utf-8")
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines[0].startswith("old ") or len(lines) - 1 > MAX_PROOF_LINES:
        raise ValueError("expected 'old N', proof lines, a blank line, the checkpoint")
    size = lines[0][4:]
    if not (size == "0" or (size.isdigit() and not size.startswith("0"))):
        raise ValueError("old size is not a decimal")
    try:
        proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
    except binascii.Error:
        raise ValueError("proof line is not base64") from None
    return int(size), proof, note


class _Handler(BaseHTTPRequestHandler):
    witness: Witness
    server_version = "vv-witness"

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/add-checkpoint":
            return self._send(Answer(404, "not found\n"))
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._send(Answer(411, "length required\n"))
        if not 0 <= length <= MAX_NOTE_BYTES * 2:
            return self._send(Answer(413, "request too large\n"))
        self._send(self.witness.add_checkpoint(self.rfile.read(length)))

    def do_GET(self) -> None:
        self._send(Answer(200, "ok\n") if self.path == "/healthz" else Answer(404, "not found\n"))

    def _send(self, answer: Answer) -> None:
        body = answer.body.encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("witness request", extra={"line": format % args})


def make_server(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("WitnessHandler", (_Handler,), {"witness": witness})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
