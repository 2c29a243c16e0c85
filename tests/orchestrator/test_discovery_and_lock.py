import os
import subprocess
import sys

import pytest

from orchestrator.discovery import candidate_files, look
from orchestrator.lock import AlreadyRunning, run_lock
from orchestrator.state import StateStore


@pytest.fixture
def store(tmp_path):
    s = StateStore(tmp_path / "state" / "db.sqlite3")
    yield s
    s.close()


def test_candidates_skip_part_hidden_tmp_and_symlinks(tmp_path):
    root = tmp_path / "root"
    (root / "input/cam1/.hidden").mkdir(parents=True)
    for name in ("a.mp4", "b.mp4.part", ".c.mp4", "d.tmp"):
        (root / "input/cam1" / name).write_bytes(b"x")
    (root / "input/cam1/.hidden/e.mp4").write_bytes(b"x")
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(b"x")
    (root / "input/cam1/link.mp4").symlink_to(outside)
    assert [p.name for p in candidate_files(root / "input")] == ["a.mp4"]
    assert list(candidate_files(root / "missing")) == []


def test_a_file_is_taken_only_after_two_equal_looks_stable_wait_apart(tmp_path, store):
    root = tmp_path / "root"
    video = root / "input/cam1/a.mp4"
    video.parent.mkdir(parents=True)
    video.write_bytes(b"first")
    stable, settling = look(store, root, root / "input", now=100.0, stable_wait_s=5)
    assert stable == [] and settling == 1
    stable, settling = look(store, root, root / "input", now=102.0, stable_wait_s=5)
    assert stable == [] and settling == 1          # same size, but not long enough
    video.write_bytes(b"first and more")           # still growing: the clock restarts
    stable, _ = look(store, root, root / "input", now=106.0, stable_wait_s=5)
    assert stable == []
    stable, settling = look(store, root, root / "input", now=111.0, stable_wait_s=5)
    assert [s.relative for s in stable] == ["input/cam1/a.mp4"] and settling == 0
    assert stable[0].size == len(b"first and more")
    calls = []
    again, _ = look(store, root, root / "input", now=120.0, stable_wait_s=5,
                    hasher=lambda p: calls.append(p) or "x")
    assert again[0].sha256 == stable[0].sha256 and calls == []   # sha256 cached with the sighting
    video.unlink()
    look(store, root, root / "input", now=130.0, stable_wait_s=5)
    assert store.sighting("input/cam1/a.mp4") is None             # forgotten when gone


def test_the_run_lock_excludes_a_second_holder(tmp_path):
    with run_lock(tmp_path) as path:
        assert path.name == "orchestrator.lock"
        with pytest.raises(AlreadyRunning, match=r"orchestrator\.lock"), run_lock(tmp_path):
            pass
        # Another process is refused too (flock is per open file description).
        code = ("import sys; from pathlib import Path; from orchestrator.lock import run_lock, AlreadyRunning\n"
                "try:\n  with run_lock(Path(sys.argv[1])): print('got')\n"
                "except AlreadyRunning: print('busy')")
        from tests.helpers import repo_env

        out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                             env=repo_env(), check=True).stdout
        assert out.strip() == "busy"
    with run_lock(tmp_path):
        pass  # released


def test_a_killed_holder_releases_the_lock(tmp_path):
    from tests.helpers import repo_env

    code = ("import sys, time; from pathlib import Path; from orchestrator.lock import run_lock\n"
            "with run_lock(Path(sys.argv[1])):\n  print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                              text=True, env=repo_env())
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(AlreadyRunning), run_lock(tmp_path):
            pass
        os.kill(holder.pid, 9)
        holder.wait(timeout=10)
        with run_lock(tmp_path, wait_s=5):
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        holder.stdout.close()


def test_state_store_rejects_unknown_fields(store):
    store.add_video(sha256="a" * 64, video_id="v", camera=None, name="v.mp4", path="input/v.mp4", size=1,
                    now=1.0)
    with pytest.raises(ValueError, match="bogus"):
        store.update("a" * 64, bogus=1)
    assert store.get_by_path("input/v.mp4")["video_id"] == "v"
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
