"""`vv verify --public-key …`: check LogLines against a signed checkpoint without the HMAC secret.

What it proves, with only the log's public key(s):
- the checkpoint was signed by the box (Ed25519, C2SP signed-note), and by at least
  ``--min-witnesses`` of the ``--witness`` keys (C2SP cosignatures);
- the LogLine files, in seq order, are exactly the leaves of that checkpoint's tree (RFC 6962): one
  byte edited, a record inserted, removed or reordered, or the tail cut off changes the root;
- with ``--since OLD`` (a checkpoint the auditor kept): the new tree extends the old one — from the
  files themselves, or from a consistency proof (``--consistency-proof``) when the auditor has only
  the two checkpoints. Two signed checkpoints of one size with different roots, or an old one the
  new tree does not contain, are a split view: the box showed two histories.
The HMAC key holder can re-sign an edited chain so that `vv verify` passes; it cannot make the
edited files hash to a root it already signed and gave away.
"""

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from vv_core.cli_support import EXIT_FAILURE, EXIT_INTERNAL, fail
from vv_core.errors import VVError
from vv_core.loglines import GENESIS_HASH
from vv_core.merkle import ProofError, root_of, verify_consistency
from vv_core.notes import Checkpoint, NoteError, VerifierKey, open_checkpoint, witnesses_of
from vv_core.tlog import Leaf, chain_order, logline_paths, read_leaf
from vv_core.workers import map_in_workers

PARALLEL_MIN_FILES = 4000
CHUNK_FILES = 4000


@dataclass
class AuditReport:
    checked: int = 0
    tree_size: int | None = None
    witnesses: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        return {"ok": self.ok, "checked": self.checked, "tree_size": self.tree_size,
                "witnesses": self.witnesses, "problems": self.problems, "notes": self.notes}

    def render(self) -> str:
        lines = [f"problem: {p}" for p in self.problems] + [f"note: {n}" for n in self.notes]
        if self.ok:
            lines.append(f"OK: {self.checked} LogLine(s) match checkpoint {self.tree_size}"
                         + (f", cosigned by {', '.join(self.witnesses)}" if self.witnesses else ""))
        else:
            lines.append(f"FAILED: {len(self.problems)} problem(s)")
        return "\n".join(lines)


def _read_chunk(paths: list[str]) -> list[tuple]:
    # Plain tuples cross the process pipe: pickling 50,000 dataclasses costs more than reading them.
    return [(leaf.name, leaf.seq, leaf.id, leaf.prev_hash, leaf.link_hash, leaf.hash)
            for leaf in map(read_leaf, paths)]


def read_leaves(directory: Path, jobs: int | None = None) -> list[Leaf]:
    """Every LogLine file of ``directory`` as a leaf (spread over processes for big logs)."""
    paths = logline_paths(directory)
    jobs = min(os.cpu_count() or 1, 4) if jobs is None else jobs
    if jobs < 2 or len(paths) < PARALLEL_MIN_FILES:
        return [read_leaf(path) for path in paths]
    count = jobs * -(-len(paths) // (jobs * CHUNK_FILES))   # as many chunks for every worker
    size = -(-len(paths) // count)
    chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
    return [Leaf(*fields) for chunk in map_in_workers(_read_chunk, chunks, jobs) for fields in chunk]


def _open(label: str, note: str, keys: list[VerifierKey], report: AuditReport) -> Checkpoint | None:
    try:
        return open_checkpoint(note, keys)[0]
    except NoteError as exc:
        report.problems.append(f"{label}: not signed by the given public key(s) ({exc})")
        return None


def audit(directory: Path | None, checkpoint_note: str, log_keys: list[VerifierKey], *,
          since_note: str | None = None, consistency_proof: list[bytes] | None = None,
          witness_keys: list[VerifierKey] | None = None, min_witnesses: int = 0,
          jobs: int | None = None) -> AuditReport:
    """Check ``directory``'s LogLines (None: only the checkpoints) against ``checkpoint_note``."""
    report = AuditReport()
    checkpoint = _open("checkpoint", checkpoint_note, log_keys, report)
    if checkpoint is None:
        return report
    report.tree_size = checkpoint.size
    report.witnesses = [k.name for k in witnesses_of(checkpoint_note, witness_keys or [])]
    if len(report.witnesses) < min_witnesses:
        report.problems.append(f"checkpoint has {len(report.witnesses)} valid witness cosignature(s), "
                               f"{min_witnesses} required")
    since = _open("older checkpoint", since_note, log_keys, report) if since_note is not None else None
    if since is not None:
        _compare_checkpoints(since, checkpoint, consistency_proof, report)
    if directory is not None:
        _check_files(directory, checkpoint, since, report, jobs)
    return report


def _compare_checkpoints(since: Checkpoint, checkpoint: Checkpoint, proof: list[bytes] | None,
                         report: AuditReport) -> None:
    if since.origin != checkpoint.origin:
        report.problems.append(f"the checkpoints are of two logs ({since.origin!r}, {checkpoint.origin!r})")
    elif since.size > checkpoint.size:
        report.problems.append(f"rollback: the log shrank from {since.size} to {checkpoint.size} LogLines")
    elif since.size == checkpoint.size and since.root != checkpoint.root:
        report.problems.append(f"split view: two signed checkpoints of size {since.size} with different "
                               f"roots — the box showed two different histories")
    elif proof is not None:
        try:
            verify_consistency(since.size, checkpoint.size, since.root, checkpoint.root, proof)
        except ProofError as exc:
            report.problems.append(f"split view: checkpoint {checkpoint.size} does not extend checkpoint "
                                   f"{since.size} ({exc})")


def _check_files(directory: Path, checkpoint: Checkpoint, since: Checkpoint | None, report: AuditReport,
                 jobs: int | None) -> None:
    ordered, problems = chain_order(read_leaves(directory, jobs))
    report.checked = len(ordered)
    report.problems.extend(problems)
    for previous, leaf in zip([None, *ordered], ordered, strict=False):
        expected = GENESIS_HASH if previous is None else previous.link_hash
        if leaf.prev_hash != expected:
            report.problems.append(f"{leaf.name}: prev_hash does not name the LogLine before it (seq {leaf.seq})")
            break
    hashes = [leaf.hash for leaf in ordered]
    for label, point in (("older checkpoint", since), ("checkpoint", checkpoint)):
        if point is None:
            continue
        if len(hashes) < point.size:
            report.problems.append(f"truncated: {label} {point.size} covers {point.size} LogLines, "
                                   f"only {len(hashes)} are here")
        elif root_of(hashes[: point.size]) != point.root:
            what = ("history was rewritten after the older checkpoint (split view)" if point is since
                    else "a LogLine was edited, inserted, removed or reordered")
            report.problems.append(f"the first {point.size} LogLines do not hash to the root of {label} "
                                   f"{point.size}: {what}")
    if len(hashes) > checkpoint.size:
        report.notes.append(f"{len(hashes) - checkpoint.size} LogLine(s) newer than the checkpoint are "
                            f"not covered by it")


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VVError(f"cannot read the {what} {path}: {exc}") from None


def load_proof(path: Path) -> list[bytes]:
    """The ``proof`` list of a `vv proof --consistency` JSON document (base64 hashes)."""
    try:
        return [base64.b64decode(h, validate=True) for h in json.loads(_read_text(path, "proof"))["proof"]]
    except (ValueError, KeyError, TypeError):
        raise VVError(f"{path} is not a consistency proof printed by `vv proof --consistency`") from None


def run_audit(paths: list[Path], as_json: bool, *, public_keys: list[str], checkpoint: Path,
              since: Path | None, consistency_proof: Path | None, witness_keys: list[str],
              min_witnesses: int, default_dir: Path, jobs: int | None = None) -> int:
    """The CLI body of `vv verify --public-key`; returns the exit code."""
    try:
        keys = [VerifierKey.parse(k) for k in public_keys]
        witnesses = [VerifierKey.parse(k) for k in witness_keys]
        if len(paths) > 1:
            raise VVError("give one LogLine directory to check against a checkpoint")
        directory = None if consistency_proof is not None and not paths else (paths or [default_dir])[0]
        if directory is not None and not directory.is_dir():
            raise VVError(f"{directory} is not a directory of LogLines")
        report = audit(directory, _read_text(checkpoint, "checkpoint"), keys,
                       since_note=_read_text(since, "older checkpoint") if since else None,
                       consistency_proof=load_proof(consistency_proof) if consistency_proof else None,
                       witness_keys=witnesses, min_witnesses=min_witnesses, jobs=jobs)
    except (VVError, NoteError) as exc:
        fail(str(exc), EXIT_FAILURE)
    except Exception as exc:  # never a traceback as the only message
        fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_INTERNAL)
    print(json.dumps(report.to_json(), indent=2) if as_json else report.render())
    return 0 if report.ok else EXIT_FAILURE
