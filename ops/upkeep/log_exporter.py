"""`vv export-logs [--output-dir DIR] [--verify ARCHIVE]`: logs/* → dated tar.gz + JSON manifest.

The archive ``logs-<YYYYmmddTHHMMSSZ>.tar.gz`` holds every regular file under logs/ (except the
archive directory itself) plus ``MANIFEST.json``; the same manifest is written next to it as
``<archive>.manifest.json``: ``{"created_at", "source", "files": [{"file", "size", "sha256"}]}``.
Both are written to a temp name, fsynced and renamed, so a reader never sees a partial archive.
A log still being appended to is archived up to its size when the export started (hash and tar
entry agree). ``--verify`` re-reads an archive and checks every entry against the manifest (sizes,
hashes, nothing missing or extra); exit 1 on any mismatch.
"""

import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated

import typer

from vv_core.atomic import atomic_write_json, fsync_directory
from vv_core.canonical import pretty_json
from vv_core.cli_support import run_command
from vv_core.jsonlog import utc_timestamp
from vv_core.settings import CoreSettings

MANIFEST_MEMBER = "MANIFEST.json"
ARCHIVE_DIR_NAME = "archive"


class _HashingReader(io.RawIOBase):
    """Reads at most ``limit`` bytes of a file while hashing them (the tar entry size is fixed)."""

    def __init__(self, handle: IO[bytes], limit: int) -> None:
        self.handle, self.remaining, self.digest = handle, limit, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self.remaining <= 0:
            return 0
        data = self.handle.read(min(len(buffer), self.remaining))
        self.digest.update(data)
        self.remaining -= len(data)
        buffer[: len(data)] = data
        return len(data)


@dataclass(frozen=True)
class ExportResult:
    archive: Path
    manifest: Path
    files: int


def log_files(logs_dir: Path, exclude: Path) -> list[Path]:
    files = []
    for current, subdirs, names in os.walk(logs_dir, followlinks=False):
        base = Path(current)
        subdirs[:] = sorted(d for d in subdirs if (base / d).resolve() != exclude.resolve())
        for name in sorted(names):
            path = base / name
            if path.is_file() and not path.is_symlink() and not name.startswith("."):
                files.append(path)
    return files


def export_logs(logs_dir: Path, output_dir: Path, now: datetime | None = None) -> ExportResult:
    moment = now or datetime.now(UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    output_dir.mkdir(parents=True, exist_ok=True)
    archive = output_dir / f"logs-{stamp}.tar.gz"
    entries = []
    fd, temp_name = tempfile.mkstemp(dir=output_dir, prefix=f".{archive.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for path in log_files(logs_dir, output_dir):
                relative = path.relative_to(logs_dir).as_posix()
                with path.open("rb") as handle:
                    size = os.fstat(handle.fileno()).st_size
                    info = tarfile.TarInfo(relative)
                    info.size, info.mtime, info.mode = size, int(path.stat().st_mtime), 0o644
                    reader = _HashingReader(handle, size)
                    tar.addfile(info, io.BufferedReader(reader))
                entries.append({"file": relative, "size": size, "sha256": reader.digest.hexdigest()})
            manifest = {"created_at": utc_timestamp(moment.timestamp()), "source": str(logs_dir),
                        "files": entries}
            body = pretty_json(manifest)
            info = tarfile.TarInfo(MANIFEST_MEMBER)
            info.size, info.mtime, info.mode = len(body), int(moment.timestamp()), 0o644
            tar.addfile(info, io.BytesIO(body))
            tar.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temp_name, archive)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    fsync_directory(output_dir)
    manifest_path = atomic_write_json(output_dir / f"{archive.name}.manifest.json", manifest)
    return ExportResult(archive, manifest_path, len(entries))


def verify_archive(archive: Path) -> list[str]:
    """Problems found (empty list: the archive matches its manifest)."""
    sidecar = archive.with_name(archive.name + ".manifest.json")
    problems: list[str] = []
    actual: dict[str, tuple[int, str]] = {}
    embedded = None
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    problems.append(f"unexpected non-file entry {member.name}")
                    continue
                handle = tar.extractfile(member)
                assert handle is not None
                data_hash, size = hashlib.sha256(), 0
                for chunk in iter(lambda h=handle: h.read(1 << 20), b""):
                    data_hash.update(chunk)
                    size += len(chunk)
                if member.name == MANIFEST_MEMBER:
                    handle.seek(0)
                    embedded = json.loads(handle.read())
                    continue
                actual[member.name] = (size, data_hash.hexdigest())
    except (OSError, tarfile.TarError, EOFError, json.JSONDecodeError) as exc:
        return [f"cannot read {archive.name}: {type(exc).__name__}: {exc}"]
    manifest = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else embedded
    if manifest is None:
        return [f"no manifest for {archive.name}"]
    if embedded is not None and sidecar.is_file() and embedded != manifest:
        problems.append("embedded MANIFEST.json differs from the sidecar manifest")
    expected = {e["file"]: (e["size"], e["sha256"]) for e in manifest.get("files", [])}
    for name, (size, digest) in sorted(expected.items()):
        if name not in actual:
            problems.append(f"missing from archive: {name}")
        elif actual[name] != (size, digest):
            problems.append(f"content differs from manifest: {name}")
    problems += [f"not in manifest: {name}" for name in sorted(set(actual) - set(expected))]
    return problems


def export_logs_command(
    ctx: typer.Context,
    output_dir: Annotated[Path | None, typer.Option(
        help="Where the archive and its manifest go (default: logs/archive).")] = None,
    verify: Annotated[Path | None, typer.Option(
        metavar="ARCHIVE", help="Check an archive against its manifest instead of exporting.")] = None,
) -> None:
    """Archive logs/* into a dated tar.gz plus a JSON manifest, or check one (--verify ARCHIVE).

    Prints the archive and manifest written; exit 1 when there is no logs/ directory or a verified
    archive does not match its manifest (sizes, hashes, nothing missing or extra).
    """
    raise typer.Exit(run_export(output_dir=output_dir, verify=verify, **(ctx.obj or {})))


def main(argv: list[str] | None = None, settings: CoreSettings | None = None) -> int:
    return run_command(export_logs_command, argv, "vv export-logs", settings=settings)


def run_export(*, output_dir: Path | None = None, verify: Path | None = None,
               settings: CoreSettings | None = None) -> int:
    """What `vv export-logs` does once its arguments are parsed; returns the exit code."""
    settings = settings or CoreSettings()
    logs_dir = settings.storage.logs
    if verify:
        if not verify.is_file():
            print(f"error: no such archive: {verify}", file=sys.stderr)
            return 1
        problems = verify_archive(verify)
        if problems:
            print(f"error: {verify.name}: {'; '.join(problems)}", file=sys.stderr)
            return 1
        print(f"ok {verify}")
        return 0
    if not logs_dir.is_dir():
        print(f"error: no logs directory at {logs_dir}", file=sys.stderr)
        return 1
    result = export_logs(logs_dir, output_dir or logs_dir / ARCHIVE_DIR_NAME)
    print(result.archive)
    print(result.manifest)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
