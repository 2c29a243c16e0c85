"""Backup and restore-drill timings on a synthetic box (real restic, real SQLite, real LogLines).

    python benchmarks/bench_backup.py [--loglines N] [--media-mb M]

Prints one table: the first metadata backup is the baseline; the second (nothing changed: hard
links keep inodes, restic finds no new data) and the media backups are given as ratios to it, and
the restore drill's RTO is what a recovery of this metadata would take on this machine.
"""

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "vv-core")]

from ops.backup.backup import run_backup  # noqa: E402
from ops.backup.restore_drill import run_drill  # noqa: E402
from tests.logline_fixtures import fast_chain, make_key_store  # noqa: E402
from vv_cli.settings import Settings  # noqa: E402


def build_box(base: Path, loglines: int, media_mb: int) -> Settings:
    password = base / "restic-password"
    password.write_text("bench password\n")
    password.chmod(0o600)
    settings = Settings(video_storage_root=base / "storage", key_store_path=base / "secrets" / "keys.json",
                        restic_repository=str(base / "repo"), restic_password_file=password,
                        backup_config_root=base / "app", models_dir=base / "models")
    settings.storage.ensure()
    (base / "app").mkdir()
    key_store = make_key_store(settings.key_store_path)
    fast_chain(settings.storage.loglines, loglines, key_store)
    for index in range(loglines):
        (settings.storage.analytic / f"cam1_{index:07d}.analytic.json").write_text('{"objects": []}\n' * 20)
    connection = sqlite3.connect(settings.storage.state / "orchestrator.sqlite3")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE videos (id INTEGER PRIMARY KEY, sha TEXT)")
    connection.executemany("INSERT INTO videos (sha) VALUES (?)", [(f"{i:064x}",) for i in range(loglines)])
    connection.commit()
    connection.close()
    media = settings.storage.processed / "cam1"
    media.mkdir(parents=True)
    for index in range(max(1, media_mb // 50)):
        with (media / f"clip{index:03d}.mp4").open("wb") as handle:
            handle.write(subprocess.run(["head", "-c", str(50 << 20), "/dev/urandom"], capture_output=True,
                                        check=True).stdout)
    subprocess.run(["restic", "init", "--quiet"], check=True, capture_output=True,
                   env={"RESTIC_REPOSITORY": settings.restic_repository, "RESTIC_PASSWORD_FILE": str(password),
                        "RESTIC_CACHE_DIR": str(base / "cache"), "PATH": "/usr/bin:/bin"})
    return settings


def timed(action):
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loglines", type=int, default=2000)
    parser.add_argument("--media-mb", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        settings = build_box(Path(scratch), args.loglines, args.media_mb)
        rows = []
        first_s, first = timed(lambda: run_backup(settings, apply_retention=False))
        rows.append(("metadata backup, first", first_s, first["files"], first["bytes"]))
        second_s, second = timed(lambda: run_backup(settings, apply_retention=False))
        rows.append(("metadata backup, unchanged", second_s, second["files"], second["bytes"]))
        media_s, media = timed(lambda: run_backup(settings, media=True, apply_retention=False))
        rows.append(("media backup, first", media_s, media["files"], media["bytes"]))
        media2_s, media2 = timed(lambda: run_backup(settings, media=True, apply_retention=False))
        rows.append((f"media backup, unchanged ({media2['hashes_reused']} hashes reused)", media2_s,
                     media2["files"], media2["bytes"]))
        drill_s, drill = timed(lambda: run_drill(settings, check_data=False))
        rows.append((f"restore drill ({drill['status']}, RTO {drill['rto_seconds']:.2f} s)", drill_s,
                     drill["manifest"]["verified"], first["bytes"]))
    print(f"\nbackup benchmark: {args.loglines} LogLines + {args.loglines} analytics + state DB; "
          f"{args.media_mb} MB media\n")
    print(f"| {'step':<48} | {'seconds':>8} | {'vs first metadata':>17} | {'files':>6} | {'MB':>7} |")
    print(f"|{'-' * 50}|{'-' * 10}|{'-' * 19}|{'-' * 8}|{'-' * 9}|")
    for name, seconds, files, size in rows:
        print(f"| {name:<48} | {seconds:8.2f} | {seconds / first_s:16.2f}x | {files:6d} | {size / 1e6:7.1f} |")


if __name__ == "__main__":
    main()
