"""Audit LogLines: signature, key, schema and chain continuity; every problem with its file and reason.

    python scripts/logline_verifier.py [PATH ...] [--json]
    vv verify [PATH ...] [--json]

A PATH that is a file is checked on its own (schema, key, signature, canonical bytes, file name);
a directory is checked as a chain (plus its signed head, which reveals a deleted tail). Without a
PATH the storage root's loglines/ is checked; that chain is also compared with the box's other
records of the newest LogLine (:mod:`transparency.chain_witnesses`), which reveal a tail deleted
together with a rolled-back head. Exit 0 when everything verifies, 1 when anything does not (or a
PATH is missing), 2 on an internal error.
"""

import argparse
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from transparency.chain_witnesses import Witness, cross_check
from vv_core.cli_support import EXIT_FAILURE, EXIT_INTERNAL, fail
from vv_core.errors import VVError
from vv_core.keystore import KeyStore, load_key_store
from vv_core.loglines import (
    HEAD_FILE,
    ID_MISMATCH,
    LOGLINE_SUFFIX,
    UNREADABLE,
    CheckedLogLine,
    HeadError,
    Problem,
    analyze_chain,
    check_logline_bytes,
    id_from_filename,
    read_bytes,
    read_head,
)
from vv_core.workers import map_in_workers


@dataclass
class VerifyReport:
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    witnesses: list[Witness] | None = None    # None: the chain was not cross-checked

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        document = {"ok": self.ok, "checked": self.checked, "problem_count": len(self.problems),
                    "problems": [asdict(p) for p in self.problems]}
        if self.witnesses is not None:
            document["witnesses"] = [asdict(w) for w in self.witnesses]
        return document


def check_file(path: str | Path, key_store: KeyStore) -> tuple[CheckedLogLine, list[Problem]]:
    """One LogLine file on its own: its own problems (chain checks need its neighbours)."""
    name = os.fspath(path)
    try:
        checked = check_logline_bytes(read_bytes(name), key_store)
    except OSError as exc:
        checked = CheckedLogLine(None, None, None, None, UNREADABLE, f"cannot read: {exc.strerror}")
    if checked.reason is None:
        expected_id = id_from_filename(os.path.basename(name))
        if checked.record["id"] != expected_id:  # type: ignore[index]
            return checked, [Problem(name, ID_MISMATCH, f"holds LogLine {checked.record['id']!r}, "  # type: ignore[index]
                                                        f"not {expected_id!r}", checked.seq)]
        return checked, []
    return checked, [Problem(name, checked.reason, checked.detail, checked.seq)]


def check_files(paths: list[str], key_store: KeyStore) -> list[tuple[str, CheckedLogLine, list[Problem]]]:
    """Check files one by one; parsed records are dropped (only what the chain checks need stays)."""
    results = []
    for path in paths:
        checked, problems = check_file(path, key_store)
        checked.record = None
        results.append((path, checked, problems))
    return results


def _check_chunk(paths: list[str]) -> list[tuple[str, CheckedLogLine, list[Problem]]]:
    return check_files(paths, _WORKER_KEY_STORE)  # type: ignore[arg-type]


_WORKER_KEY_STORE: KeyStore | None = None
PARALLEL_MIN_FILES = 4000   # below this, starting workers costs more than it saves
CHUNK_FILES = 2000


def _set_worker_key_store(key_store: KeyStore) -> None:
    global _WORKER_KEY_STORE
    _WORKER_KEY_STORE = key_store


def _check_in_parallel(paths: list[str], key_store: KeyStore, jobs: int):
    """Per-file checks are independent (the chain is checked afterwards): spread them over cores."""
    # As many chunks per worker for every worker: an odd last chunk would leave one core idle.
    count = -(-len(paths) // CHUNK_FILES)
    count = -(-count // jobs) * jobs
    size = -(-len(paths) // count)
    chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
    parts = map_in_workers(_check_chunk, chunks, jobs, _set_worker_key_store, (key_store,))
    return [item for part in parts for item in part]


def verify_directory(directory: Path, key_store: KeyStore, jobs: int | None = None,
                     storage_root: Path | None = None) -> VerifyReport:
    """Every LogLine in ``directory`` as one chain, checked against the directory's signed head
    and, with ``storage_root``, against the box's other records of the newest LogLine."""
    report = VerifyReport()
    try:  # head first: records appended while we read are newer than it and still must link up
        head: object = read_head(directory, key_store)
    except HeadError as exc:
        head = exc
    with os.scandir(directory) as listing:
        names = sorted(entry.name for entry in listing if entry.name.endswith(LOGLINE_SUFFIX))
    base = os.fspath(directory)
    paths = [os.path.join(base, name) for name in names]
    jobs = min(os.cpu_count() or 1, 4) if jobs is None else jobs
    if jobs > 1 and len(paths) >= PARALLEL_MIN_FILES:
        results = _check_in_parallel(paths, key_store, jobs)
    else:
        results = check_files(paths, key_store)
    entries: list[tuple[str, CheckedLogLine]] = []
    for path, checked, problems in results:
        entries.append((path, checked))
        report.problems.extend(problems)
    report.checked = len(entries)
    report.problems.extend(analyze_chain(entries, head, str(directory / HEAD_FILE)))  # type: ignore[arg-type]
    if storage_root is not None:
        newest = max((c.seq for _, c in entries if c.reason is None and c.seq is not None), default=-1)
        problems, report.witnesses = cross_check(storage_root, directory, key_store, newest,
                                                 {os.path.basename(path) for path, _ in entries})
        report.problems.extend(problems)
    return report


def verify_paths(paths: list[Path], key_store: KeyStore, jobs: int | None = None,
                 storage_loglines: Path | None = None) -> VerifyReport:
    """Verify each path (file or chain directory); one combined report. The storage root's own
    ``storage_loglines`` directory is also cross-checked with the box's other records."""
    report = VerifyReport()
    for path in paths:
        if path.is_dir():
            own = storage_loglines is not None and path.resolve() == storage_loglines.resolve()
            part = verify_directory(path, key_store, jobs, storage_loglines.parent if own else None)
        elif path.is_file():
            part = VerifyReport(1, check_file(path, key_store)[1])
        else:
            part = VerifyReport(0, [Problem(str(path), UNREADABLE, "no such file or directory")])
        report.checked += part.checked
        report.problems.extend(part.problems)
        if part.witnesses is not None:
            report.witnesses = (report.witnesses or []) + part.witnesses
    return report


def render_text(report: VerifyReport) -> str:
    lines = [f"{p.file}: {p.reason}: {p.detail}" for p in report.problems]
    if report.witnesses is not None:
        seen = [f"{w.what} (seq {w.newest_seq})" for w in report.witnesses if w.newest_seq is not None]
        lines.append("cross-checked with " + ", ".join(seen) if seen else
                     "warning: no other record of the newest LogLine on this box: a deleted tail with a "
                     "rolled-back head could not be noticed")
        lines.append("note: records on this box can be rolled back too; only a checkpoint kept off the box "
                     "proves nothing was removed (docs/disaster-recovery.md)")
    if report.ok:
        lines.append(f"OK: {report.checked} LogLine(s) verified")
    else:
        lines.append(f"FAILED: {len(report.problems)} problem(s) in {report.checked} LogLine(s)")
    return "\n".join(lines)


def run_verify(paths: list[Path], as_json: bool, key_store_path: Path, default_dir: Path,
               jobs: int | None = None) -> int:
    """The CLI body shared by ``vv verify`` and this script; returns the exit code."""
    try:
        key_store = load_key_store(key_store_path)
        report = verify_paths(paths or [default_dir], key_store, jobs, storage_loglines=default_dir)
    except VVError as exc:
        fail(str(exc), EXIT_FAILURE)
    except Exception as exc:  # never a traceback as the only message
        fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_INTERNAL)
    print(json.dumps(report.to_json(), indent=2) if as_json else render_text(report))
    return 0 if report.ok else EXIT_FAILURE


def main(argv: list[str] | None = None) -> None:
    from vv_core.settings import CoreSettings

    parser = argparse.ArgumentParser(description="Verify LogLine files, directories or the whole chain.")
    parser.add_argument("paths", nargs="*", type=Path, help="files or directories (default: loglines/)")
    parser.add_argument("--json", action="store_true", help="machine-readable report")
    parser.add_argument("--jobs", type=int, default=None, help="processes for big chains (default: cores)")
    args = parser.parse_args(argv)
    settings = CoreSettings()  # the key store and the storage root: the kernel's
    raise SystemExit(run_verify(args.paths, args.json, settings.key_store_path, settings.storage.loglines,
                                args.jobs))


if __name__ == "__main__":
    main()
