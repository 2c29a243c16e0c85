"""The watch loop for real: inotify events via watchdog, debounced, plus the daemon CLI."""

import json
import signal
import subprocess
import sys
import threading
import time

import pytest

from logline_generator.logline_generator import generate_logline
from tests.logline_fixtures import place_media, summary_doc, write_summary
from tv_scheduler.config import load_config
from tv_scheduler.tv_scheduler import Scheduler
from tv_scheduler.watch import LogLineEvents, wait_for_quiet, watch_loglines


def media_for(root, doc):
    place_media(root, doc)   # the file, and the orchestrator's record vouching it is this video
    return doc


def recent_summary(root, name, status="alerta"):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return write_summary(root, media_for(root, summary_doc(name, status=status, recorded_at=now)))


def wait_until(predicate, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def tv2_ids(settings):
    try:
        doc = json.loads((settings.storage.playlists / "tv2.json").read_text())
    except FileNotFoundError:
        return []
    return [item["logline_id"] for item in doc["items"]]


def test_new_logline_reaches_the_tv_through_filesystem_events(settings, keys):
    root = settings.video_storage_root
    scheduler = Scheduler(settings, load_config())
    builds = []
    original_build = scheduler.build
    scheduler.build = lambda now=None: builds.append(time.monotonic()) or original_build(now)
    stop = threading.Event()
    # safety net far away (1 h): only a filesystem event can explain the update
    thread = threading.Thread(target=watch_loglines, args=(scheduler, 3600.0, 0.05, stop), daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: (settings.storage.playlists / "tv2.json").exists())
        for n in range(3):  # a burst: debounced into (usually) one rebuild
            generate_logline(recent_summary(root, f"cam1_burst{n}"), settings=settings)
        assert wait_until(lambda: len(tv2_ids(settings)) == 3)
        assert set(tv2_ids(settings)) == {"cam1_burst0", "cam1_burst1", "cam1_burst2"}
        assert scheduler.index.verified_files == 3
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert 2 <= len(builds) <= 4     # the initial pass plus the burst (never one per file event × 3 files)


def test_debounce_waits_for_quiet_but_not_forever():
    events = LogLineEvents()
    stop = threading.Event()
    keep_busy = threading.Event()

    def chatter():
        while not keep_busy.is_set():
            events.wake.set()
            time.sleep(0.005)

    thread = threading.Thread(target=chatter, daemon=True)
    thread.start()
    started = time.monotonic()
    wait_for_quiet(events, 0.02, stop)   # a steady stream still ends at 10 × debounce
    keep_busy.set()
    thread.join()
    assert time.monotonic() - started < 5
    stop.set()
    wait_for_quiet(events, 10.0, stop)   # a stop ends the wait at once


@pytest.mark.slow
def test_vv_schedule_once_and_daemon_end_to_end(settings, keys, cli_env, tmp_path):
    root = settings.video_storage_root
    generate_logline(recent_summary(root, "cam1_first"), settings=settings)
    once = subprocess.run([sys.executable, "-m", "vv_cli.main", "schedule", "--once"], env=cli_env,
                          capture_output=True, text=True, check=False)
    assert once.returncode == 0, once.stderr
    assert sorted(once.stdout.split()) == sorted(str(settings.storage.playlists / f"{n}.json")
                                                 for n in ("tv1", "tv2", "tv3", "playlist"))
    again = subprocess.run([sys.executable, "-m", "tv_scheduler.tv_scheduler", "--once"], env=cli_env,
                           capture_output=True, text=True, check=False)
    assert again.returncode == 0 and again.stdout == ""        # nothing changed, nothing written
    bad_config = tmp_path / "bad.yaml"
    bad_config.write_text("tvs:\n  tv1:\n    statuses: [alerta]\n    colour: red\n")
    bad = subprocess.run([sys.executable, "-m", "vv_cli.main", "schedule", "--once"],
                         env={**cli_env, "TV_SCHEDULER_CONFIG": str(bad_config)},
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "tvs.tv1.colour: unknown key" in bad.stderr
    daemon = subprocess.Popen([sys.executable, "-m", "vv_cli.main", "schedule"],
                              env={**cli_env, "SCHEDULE_DEBOUNCE_S": "0.05", "SCHEDULE_INTERVAL_S": "3600"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        log = root / "logs" / "app.log"
        assert wait_until(lambda: log.exists() and "playlists built" in log.read_text(), 60)
        generate_logline(recent_summary(root, "cam1_second"), settings=settings)
        assert wait_until(lambda: "cam1_second" in tv2_ids(settings), 60)
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=30)
    assert code == 0
