"""Backup and restore off a terminal (cron, `vv up`, containers): JSON progress lines for each long
phase (vv_core.progress), their `done` rising to `total` and a final line (issue 19)."""

import logging
import os

import pytest

from ops.backup.backup import run_backup
from ops.backup.restore import restore_in_place

MIB = 2**20


@pytest.fixture
def progress_lines(caplog, monkeypatch):
    monkeypatch.setattr("vv_core.progress.INTERVAL_S", 0)   # every update becomes a line
    caplog.set_level(logging.INFO, logger="vv.progress")

    def lines(task: str) -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "vv.progress" and r.task == task]

    return lines


def assert_rises_to_total(lines: list[logging.LogRecord], unit: str, total: float) -> None:
    done = [line.done for line in lines]
    assert lines, "no progress line"
    assert done == sorted(done) and all(line.unit == unit for line in lines)
    assert lines[-1].finished is True and lines[-1].total == pytest.approx(total, abs=1e-3)
    assert done[-1] == lines[-1].total and lines[-1].percent == 100.0


def test_a_media_backup_then_a_restore_log_progress_lines(box, progress_lines):
    (box.storage.root / "tv_curado" / "big.mp4").write_bytes(os.urandom(6 * MIB))
    result = run_backup(box, media=True, apply_retention=False)
    assert_rises_to_total(progress_lines("backup media: hash"), "MiB", result["bytes"] / MIB)
    upload = progress_lines("backup media: upload")
    assert_rises_to_total(upload, "MiB", result["bytes"] / MIB)
    assert len(upload) >= 3      # restic's own status messages reached us before the end

    (box.storage.root / "tv_curado" / "big.mp4").unlink()
    report = restore_in_place(box, media=True)
    assert report["restored"] == 1
    assert_rises_to_total(progress_lines("restore: verify"), "MiB", result["bytes"] / MIB)
    assert_rises_to_total(progress_lines("restore: place"), "files", result["files"])
    assert [line.done for line in progress_lines("restore: place")][:-1] == list(range(1, result["files"] + 1))
