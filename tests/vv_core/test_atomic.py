import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.helpers import repo_env
from vv_core import atomic
from vv_core.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text


def test_atomic_write_json_round_trips_and_leaves_no_temp(tmp_path):
    target = tmp_path / "deep" / "dir" / "out.json"
    written = atomic_write_json(target, {"b": 1, "a": "ção"})
    assert written == target
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": "ção", "b": 1}
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]


def test_atomic_write_sets_mode(tmp_path):
    target = atomic_write_text(tmp_path / "secret.txt", "x", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_failure_before_rename_keeps_old_file_and_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "playlist.json"
    atomic_write_bytes(target, b"old")

    def exploding_replace(src, dst):
        raise OSError("disk full during rename")

    monkeypatch.setattr(atomic.os, "replace", exploding_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["playlist.json"]


def test_process_killed_between_temp_write_and_rename_leaves_old_file(tmp_path):
    """A real crash: the child dies (os._exit, no cleanup) right after the temp file is durable."""
    target = tmp_path / "analytic.json"
    atomic_write_json(target, {"version": "old"})
    child = textwrap.dedent(
        f"""
        import os
        from vv_core import atomic
        atomic.os.replace = lambda src, dst: os._exit(9)   # power cut at the worst moment
        atomic.atomic_write_json({str(target)!r}, {{"version": "new"}})
        """
    )
    result = subprocess.run([sys.executable, "-c", child], check=False, env=repo_env())
    assert result.returncode == 9
    assert json.loads(target.read_text()) == {"version": "old"}
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "analytic.json"]
    # The orphan is a hidden temp file, never mistaken for an artifact by a reader.
    assert all(name.startswith(".analytic.json.") and name.endswith(".tmp") for name in leftovers)


def test_nan_is_refused_before_anything_is_written(tmp_path):
    target = tmp_path / "x.json"
    with pytest.raises(ValueError):
        atomic_write_json(target, {"v": float("nan")})
    assert not target.exists()


def start_writer(target, tmp_path):
    """A real writer process paused inside atomic_output (its temp file written, not renamed)."""
    ready = tmp_path / f"{target.name}.ready"
    child = textwrap.dedent(
        f"""
        import pathlib, time
        from vv_core.atomic import atomic_output
        with atomic_output({str(target)!r}) as temp:
            temp.write_bytes(b"{{partial")
            pathlib.Path({str(ready)!r}).write_text(str(temp))
            time.sleep(120)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", child], env=repo_env())
    for _ in range(200):
        if ready.exists() and ready.read_text():
            return process, Path(ready.read_text())
        time.sleep(0.05)
    process.kill()
    raise AssertionError("writer did not start")


def test_orphan_temp_of_a_killed_writer_is_removed_and_a_live_ones_never(tmp_path):
    process, temp = start_writer(tmp_path / "out.json", tmp_path)
    try:
        os.utime(temp, (1, 1))                              # "old" by any age rule
        assert atomic.remove_orphan_temp(temp) is False     # but its writer holds the lock
        assert temp.exists()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    os.utime(temp, (time.time(), time.time()))                  # just written (by the test's clock) …
    assert atomic.remove_orphan_temp(temp, grace_s=5) is False   # … younger than the grace: left
    os.utime(temp, (time.time() - 10, time.time() - 10))
    assert atomic.remove_orphan_temp(temp) is True              # writer dead: removed at once
    assert not temp.exists() and not (tmp_path / "out.json").exists()


def test_orphan_check_leaves_symlinks_and_missing_files_alone(tmp_path):
    target = tmp_path / "keep.json"
    target.write_text("{}")
    link = tmp_path / ".x.json.abc.tmp"
    link.symlink_to(target)
    assert atomic.remove_orphan_temp(link, grace_s=0) is False and link.is_symlink() and target.exists()
    assert atomic.remove_orphan_temp(tmp_path / "missing.tmp", grace_s=0) is False
