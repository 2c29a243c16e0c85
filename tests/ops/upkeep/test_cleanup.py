import json
import os
import subprocess
import sys
import time

import pytest

from ops.upkeep.cleanup import (
    CleanupRefused,
    human,
    limit_to_disk_pressure,
    main,
    plan_cleanup,
    resolve_dirs,
)

DAY = 86400


def put(path, size=10, age_days=0.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    moment = time.time() - age_days * DAY
    os.utime(path, (moment, moment))
    return path


@pytest.fixture
def tree(settings):
    root = settings.storage.root
    settings.storage.ensure()
    files = {
        "old": put(root / "processed/cam1/20260101T000000Z.mp4", 100, 40),
        "new": put(root / "processed/cam1/20261120T000000Z.mp4", 100, 1),
        "playing": put(root / "processed/cam1/20260102T000000Z.mp4", 100, 40),
        "alert_recent": put(root / "processed/cam2/20260103T000000Z.mp4", 100, 40),
        "alert_old": put(root / "processed/cam2/20250101T000000Z.mp4", 100, 400),
        "corrupt_old": put(root / "corrupted/cam3/bad.mp4", 50, 35),
        "logline": put(root / "loglines/cam2_20260103T000000Z.logline.json", 10, 40),
    }
    (root / "loglines/cam2_20260103T000000Z.logline.json").write_text(json.dumps({"status": "alerta"}))
    (root / "loglines/cam2_20250101T000000Z.logline.json").write_text(json.dumps({"status": "alerta"}))
    playlist = {"items": [{"media_url": "/media/processed/cam1/20260102T000000Z.mp4", "thumbnail_url": None}],
                "fallback": {"media_url": "/media/fallback/loop_silencioso.mp4"}}
    (root / "playlists/tv1.json").write_text(json.dumps(playlist))
    (root / "playlists/broken.json").write_text("{")
    outside = put(settings.storage.root.parent / "outside/precious.mp4", 10, 100)
    (root / "processed/escape").symlink_to(outside.parent)
    (root / "processed/cam1/link.mp4").symlink_to(outside)
    files["outside"] = outside
    return settings, files


def deleted_by(plan):
    return {c.path for c in plan.delete}


def test_age_mode_deletes_only_old_unprotected_files(tree):
    settings, files = tree
    root = settings.storage.root
    plan = plan_cleanup(root, resolve_dirs(root, ["processed", "corrupted"]), older_than_s=30 * DAY,
                        now=time.time(), alert_retention_s=90 * DAY)
    assert deleted_by(plan) == {files["old"], files["alert_old"], files["corrupt_old"]}
    reasons = {path: reason for path, reason in plan.protected}
    assert reasons[files["playing"]] == "referenced by a playlist"
    assert reasons[files["alert_recent"]] == "alert footage within its retention"
    assert root / "processed/cam1/link.mp4" in plan.skipped_symlinks
    assert root / "processed/escape" in plan.skipped_symlinks
    assert plan.delete[0].path == files["alert_old"]   # oldest first


def test_dry_run_is_the_default_and_apply_deletes(tree, capsys):
    settings, files = tree
    assert main(["--dirs", "processed,corrupted"], settings=settings) == 0
    out = capsys.readouterr().out
    assert "would delete" in out and "dry run" in out and str(files["old"]) in out
    assert all(path.exists() for path in files.values())
    assert main(["--dirs", "processed,corrupted", "--apply"], settings=settings) == 0
    out = capsys.readouterr().out
    assert "deleted 3 files, 250 B" in out
    assert not files["old"].exists() and not files["corrupt_old"].exists()
    for keep in ("new", "playing", "alert_recent", "logline", "outside"):
        assert files[keep].exists(), keep


@pytest.mark.parametrize("bad", ["..", "/etc", "loglines", "state", "playlists", "processed/../../outside", ""])
def test_paths_outside_the_root_or_protected_are_refused(tree, bad, capsys):
    settings, _ = tree
    root = settings.storage.root
    if bad == "":
        with pytest.raises(CleanupRefused):
            resolve_dirs(root, ["."])
        return
    with pytest.raises(CleanupRefused):
        resolve_dirs(root, [bad])
    assert main(["--dirs", bad, "--apply"], settings=settings) == 1
    assert "refusing" in capsys.readouterr().err


def test_symlinked_dir_escaping_the_root_is_refused(tree):
    settings, _ = tree
    with pytest.raises(CleanupRefused, match="not a directory inside"):
        resolve_dirs(settings.storage.root, ["processed/escape"])


def test_disk_pressure_deletes_oldest_first_until_enough_is_free(tree, capsys):
    settings, files = tree
    root = settings.storage.root
    plan = plan_cleanup(root, resolve_dirs(root, ["processed", "corrupted"]), older_than_s=None,
                        now=time.time(), alert_retention_s=90 * DAY)
    assert files["new"] in deleted_by(plan)   # any age in disk-pressure mode …
    limited = limit_to_disk_pressure(plan, free_bytes=900, total_bytes=10_000, min_free_percent=10)
    assert [c.path for c in limited.delete] == [files["alert_old"]]   # … but only the oldest needed
    assert main(["--dirs", "processed", "--disk-pressure", "--min-free-percent", "0"], settings=settings) == 0
    assert "would delete 0 files" in capsys.readouterr().out


def test_human_sizes():
    assert human(10) == "10 B" and human(2048) == "2.0 KiB" and human(5 * 1024**3) == "5.0 GiB"


def test_vv_cleanup_cli(tree, cli_env):
    _, files = tree
    result = subprocess.run([sys.executable, "-m", "vv_cli.main", "cleanup", "--dirs", "corrupted", "--days", "30"],
                            capture_output=True, text=True, env=cli_env, check=False)
    assert result.returncode == 0, result.stderr
    assert str(files["corrupt_old"]) in result.stdout and files["corrupt_old"].exists()


def test_alert_footage_under_a_taken_name_is_matched_to_its_own_logline(settings):
    """Issue 23: a second video dropped as good3.mp4 is placed as good3.<sha12>.mp4 with its own
    LogLine; guessing by name found the first video's LogLine, so alert footage could go early."""
    from orchestrator.state import StateStore

    root = settings.storage.root
    settings.storage.ensure()
    first = put(root / "processed/cam1/good3.mp4", 100, 40)
    second = put(root / "processed/cam1/good3.0123456789ab.mp4", 100, 40)
    (root / "loglines/cam1_good3.logline.json").write_text(json.dumps({"status": "confirmado"}))
    (root / "loglines/cam1_good3-01234567.logline.json").write_text(json.dumps({"status": "alerta"}))
    store = StateStore(root / "state/orchestrator.sqlite3")
    for sha, video_id, final in (("a" * 64, "cam1_good3", first), ("b" * 64, "cam1_good3-01234567", second)):
        store.add_video(sha256=sha, video_id=video_id, camera="cam1", name="good3.mp4", path="input/cam1/good3.mp4",
                        size=100, now=0.0)
        store.update(sha, state="done", final_path=final.relative_to(root).as_posix(),
                     logline_path=f"loglines/{video_id}.logline.json")
    store.close()
    plan = plan_cleanup(root, resolve_dirs(root, ["processed"]), older_than_s=30 * DAY, now=time.time(),
                        alert_retention_s=90 * DAY)
    assert deleted_by(plan) == {first}
    assert dict(plan.protected)[second] == "alert footage within its retention"


def test_a_snapshot_a_playlist_shows_as_thumbnail_is_kept(settings):
    """The scanner's cover picture is a playlist thumbnail (/thumbnails/snapshots/<id>/cover.jpg):
    pruning snapshots/ by age must not delete what a TV shows; the rest of an old video's goes."""
    root = settings.storage.root
    settings.storage.ensure()
    shown = put(root / "snapshots/cam1_20260101T000000Z/cover.jpg", 10, 40)
    other = put(root / "snapshots/cam1_20260101T000000Z/e1.crop.jpg", 10, 40)
    gone = put(root / "snapshots/cam1_20250101T000000Z/cover.jpg", 10, 40)
    playlist = {"items": [{"media_url": "/media/processed/cam1/20260101T000000Z.mp4",
                           "thumbnail_url": "/thumbnails/snapshots/cam1_20260101T000000Z/cover.jpg"}]}
    (root / "playlists/tv1.json").write_text(json.dumps(playlist))
    plan = plan_cleanup(root, resolve_dirs(root, ["snapshots"]), older_than_s=30 * DAY, now=time.time(),
                        alert_retention_s=90 * DAY)
    assert deleted_by(plan) == {other, gone}
    assert dict(plan.protected)[shown] == "referenced by a playlist"
