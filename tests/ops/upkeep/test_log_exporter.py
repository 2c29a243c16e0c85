import gzip
import json
import subprocess
import sys
import tarfile
from datetime import UTC, datetime

from ops.upkeep.log_exporter import export_logs, main, verify_archive
from vv_core.hashing import compute_sha256


def make_logs(settings):
    logs = settings.storage.logs
    (logs / "old").mkdir(parents=True)
    (logs / "app.log").write_text('{"message": "hello"}\n' * 100)
    (logs / "old/app.log.1").write_text("rotated\n")
    (logs / ".hidden").write_text("skip")
    return logs


def test_export_writes_archive_and_manifest_that_verify(settings):
    logs = make_logs(settings)
    result = export_logs(logs, logs / "archive", now=datetime(2026, 11, 21, 23, 0, tzinfo=UTC))
    assert result.archive.name == "logs-20261121T230000Z.tar.gz" and result.files == 2
    manifest = json.loads(result.manifest.read_text())
    entries = {e["file"]: e for e in manifest["files"]}
    assert set(entries) == {"app.log", "old/app.log.1"}
    assert entries["app.log"]["sha256"] == compute_sha256(logs / "app.log")
    assert entries["app.log"]["size"] == (logs / "app.log").stat().st_size
    with tarfile.open(result.archive) as tar:
        assert sorted(tar.getnames()) == ["MANIFEST.json", "app.log", "old/app.log.1"]
    assert verify_archive(result.archive) == []
    assert not list((logs / "archive").glob(".*.tmp"))
    # A second export does not swallow the first archive.
    second = export_logs(logs, logs / "archive", now=datetime(2026, 11, 22, tzinfo=UTC))
    assert second.files == 2


def test_verify_detects_tampering_and_missing_manifest(settings, tmp_path):
    logs = make_logs(settings)
    result = export_logs(logs, tmp_path / "out")
    manifest = json.loads(result.manifest.read_text())
    manifest["files"][0]["sha256"] = "0" * 64
    manifest["files"].append({"file": "gone.log", "size": 1, "sha256": "1" * 64})
    result.manifest.write_text(json.dumps(manifest))
    problems = verify_archive(result.archive)
    assert "content differs from manifest: app.log" in problems
    assert "missing from archive: gone.log" in problems
    assert "embedded MANIFEST.json differs from the sidecar manifest" in problems
    result.manifest.unlink()
    assert verify_archive(result.archive) == []          # falls back to the embedded manifest
    corrupt = tmp_path / "corrupt.tar.gz"
    corrupt.write_bytes(gzip.compress(b"not a tar")[:20])
    assert verify_archive(corrupt)[0].startswith("cannot read corrupt.tar.gz")
    bare = tmp_path / "bare.tar.gz"
    with tarfile.open(bare, "w:gz") as tar:
        tar.add(logs / "app.log", arcname="app.log")
    assert verify_archive(bare) == ["no manifest for bare.tar.gz"]


def test_cli_export_and_verify(settings, cli_env, capsys):
    make_logs(settings)
    assert main([], settings=settings) == 0
    archive, _manifest = capsys.readouterr().out.split()
    result = subprocess.run([sys.executable, "-m", "vv_cli.main", "export-logs", "--verify", archive],
                            capture_output=True, text=True, env=cli_env, check=False)
    assert result.returncode == 0 and result.stdout.startswith("ok ")
    with open(archive, "r+b") as handle:  # flip a byte inside the gzip stream
        handle.seek(60)
        byte = handle.read(1)
        handle.seek(60)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert main(["--verify", archive], settings=settings) == 1
    assert "error:" in capsys.readouterr().err
    assert main(["--verify", "/nonexistent.tar.gz"], settings=settings) == 1


def test_cli_without_logs_dir(settings, capsys):
    assert main([], settings=settings) == 1
    assert "no logs directory" in capsys.readouterr().err
