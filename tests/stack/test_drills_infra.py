"""Fault drills on the real stack, part 2 (issue 22): the box's infrastructure faults, on the session's
running compose stack with the host-side orchestrator's docker runner and a loopback webhook for alerts.

* the disk at 95 %: the storage root is a 512 MiB tmpfs (conftest); a camera's segment still being
  written fills it to 97.5 % while a real clip waits; `vv diagnose --fix --apply` pauses ingestion and
  frees what the cleanup policy allows, the operator adds storage (the tmpfs grows), the next round
  resumes ingestion and the clip is logged once;
* the state DB locked: a writer holds `BEGIN IMMEDIATE` on state/orchestrator.sqlite3 while
  `vv orchestrate --once` runs with a clip and `vv diagnose --fix --apply` waits the lock out;
* the clock jumping back 2 h: only the host-side Python processes (orchestrator, diagnose) see it,
  through the clock seam `make test-clock-ahead` uses (tests/clock_ahead: VV_TEST_CLOCK_AHEAD_S, here
  negative); the containers share the kernel's clock, which a test must not move;
* the DVR unreachable: the camera agent_dvr records is killed, the real video_capture container opens
  the outage in state/agent_dvr.sqlite3, the camera comes back at the same URL.
For each: what the box did, seconds until healthy, alerts, `vv diagnose`'s top cause, nothing lost
(every LogLine from before still there byte for byte, `vv verify` passes)."""

import json
import re
import shutil
import sqlite3
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from ops.diagnosis.run import ACTIONS
from tests.helpers import REPO_ROOT
from tests.stack.conftest import REPORT, STORAGE_TMPFS_SIZE
from tests.stack.test_drills import DOCKER_RUNNER_ENV, alert_env, diagnose, drill_row, drop, fix, own_clip, vv
from tests.stack.test_stack import recording_name, stack_clock, wait_for
from tests.webhook_server import WebhookServer

pytestmark = pytest.mark.slow
# Every action enabled, as in `vv drill` (production: each off until an operator turns it on): an
# action taken for a fault it was not meant for would show in the rounds' results (0 harmful actions).
FIX_ENV = {f"DIAGNOSE_FIX_{action.upper()}": "true" for action in ACTIONS}
# The drills share one stack and its budget state: room for all of them (production: 3 an hour).
FIX_ENV["DIAGNOSE_ACTION_BUDGET"] = "20"
FILL_PERCENT = 97.5        # halfway between DIAGNOSE_DISK_FULL_PERCENT (95) and 100, as `vv drill disk_full`
ADDED_STORAGE = "1024m"    # the operator's step: the storage grows
DB_HOLD_S = 6.0
CLOCK_BACK_S = 2 * 3600
DVR_CAMERA = "dvr"         # the one default camera of the stack's video_capture


def orchestrate(stack, webhook: WebhookServer, **env: str) -> str:
    run = vv(stack, "orchestrate", "--once", timeout=900, **DOCKER_RUNNER_ENV, **alert_env(webhook), **env)
    out = run.stdout[-2000:] + run.stderr[-2000:]
    assert run.returncode == 0, out
    return out


def wait_for_clip(stack, camera: str, tag: str, tmp_path: Path) -> tuple[str, Path]:
    """A real clip waiting in input/<camera>/; returns its name and where its LogLine will be."""
    name = recording_name(stack_clock(stack))
    drop(stack.storage / "input" / camera / f"{name}.mp4", own_clip(tmp_path, tag))
    return name, stack.storage / "loglines" / f"{camera}_{name}.logline.json"


def loglines(stack) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (stack.storage / "loglines").glob("*.logline.json")}


def assert_nothing_lost(stack, before: dict[str, bytes]) -> None:
    after = loglines(stack)
    assert {name: after.get(name) for name in before} == before, "a LogLine from before was lost or changed"
    verify = vv(stack, "verify", timeout=120)
    assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]


def logged_once(stack, camera: str, name: str) -> None:
    assert [p.name for p in (stack.storage / "loglines").glob(f"{camera}_{name}*.logline.json")] == [
        f"{camera}_{name}.logline.json"]
    # (the DVR's own segment can carry the same start time: it is processed/dvr/, not this camera's)
    assert (stack.storage / "processed" / camera / f"{name}.mp4").is_file()
    assert not (stack.storage / "input" / camera / f"{name}.mp4").exists()


def dvr_metrics(stack) -> dict[str, float]:
    """agent_dvr's own Prometheus metrics for the stack's camera (its HTTP endpoint, host network)."""
    port = stack.compose_env["STACK_DVR_HTTP_PORT"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    found = {}
    for line in text.splitlines():
        match = re.match(r'^(vv_dvr_\w+)\{[^}]*camera="' + DVR_CAMERA + r'"[^}]*\} (\S+)$', line)
        if match:
            found[match.group(1)] = float(match.group(2))
    return found


def kept_by_policy(stack) -> set[Path]:
    """Media the retention policy keeps: named on a playlist, or alert footage (status alerta)."""
    listed = " ".join(p.read_text() for p in (stack.storage / "playlists").glob("*.json"))
    kept = set()
    for path in (stack.storage / "processed").rglob("*.mp4"):
        logline = stack.storage / "loglines" / f"{path.parent.name}_{path.stem}.logline.json"
        alert = logline.is_file() and json.loads(logline.read_text()).get("status") == "alerta"
        if path.name in listed or path.stem in listed or alert:
            kept.add(path)
    return kept


def fill(storage: Path, percent: float) -> Path:
    """A camera's segment still being written (`*.part`: no stage takes it) until the disk is `percent` used."""
    filler = storage / "input" / "fillcam" / f"{recording_name(time.time())}.mp4.part"
    filler.parent.mkdir(parents=True, exist_ok=True)
    usage = shutil.disk_usage(storage)
    missing = int(usage.total * percent / 100) - usage.used
    chunk = b"\0" * (4 << 20)
    with filler.open("wb") as out:
        while missing > 0:
            missing -= out.write(chunk[:missing])
    return filler


def used_percent(storage: Path) -> float:
    usage = shutil.disk_usage(storage)
    return 100.0 * usage.used / usage.total


def test_the_disk_at_95_percent(stack, tmp_path):
    before = loglines(stack)
    kept = kept_by_policy(stack)
    name, logline = wait_for_clip(stack, "diskcam", "disk full", tmp_path)
    with WebhookServer() as webhook:
        started = time.monotonic()
        filler = fill(stack.storage, FILL_PERCENT)
        filled_to = used_percent(stack.storage)
        try:
            # The containers by themselves: agent_dvr pauses recording (its own free-space floor).
            wait_for(lambda: dvr_metrics(stack).get("vv_dvr_recording_paused") == 1, timeout=30,
                     what="agent_dvr to pause recording")
            dvr_paused_after = time.monotonic() - started
            first = fix(stack, webhook, **FIX_ENV)
            actions = {a["action"]: a for a in first["actions"]}
            # The cleanup policy frees what it may; a camera's segment in input/ is not its to delete.
            out_paused = orchestrate(stack, webhook)
            waited = (stack.storage / "input" / "diskcam" / f"{name}.mp4").is_file() and not logline.exists()
            still = diagnose(stack)
            # The operator's step: add storage (the tmpfs grows), then the timer's next round.
            subprocess.run(["mount", "-o", f"remount,size={ADDED_STORAGE}", str(stack.storage)], check=True,
                           timeout=30)
            operator_at = time.monotonic()
            second = fix(stack, webhook, **FIX_ENV)
            out = orchestrate(stack, webhook)
            seconds = time.monotonic() - started
            after_operator = time.monotonic() - operator_at
            wait_for(lambda: dvr_metrics(stack).get("vv_dvr_recording_paused") == 0, timeout=30,
                     what="agent_dvr to record again")
            final = diagnose(stack)
        finally:
            filler.unlink(missing_ok=True)
            subprocess.run(["mount", "-o", f"remount,size={STORAGE_TMPFS_SIZE}", str(stack.storage)], check=False,
                           timeout=30)
        alerts = webhook.bodies()

    assert filled_to >= 95.0, filled_to
    assert first["causes"][0]["fault"] == "disk_full", first["causes"]
    assert actions["pause_ingestion"]["outcome"] == "applied", first["actions"]
    assert actions["free_space"]["outcome"] in ("applied", "nothing to do"), first["actions"]
    assert waited, f"the clip was claimed while ingestion was paused:\n{out_paused}"
    assert "ingestion paused" in out_paused, out_paused
    assert still["causes"][0]["fault"] == "disk_full", still["causes"]   # the policy could not free enough
    assert [c["fault"] for c in second["causes"]] == ["ingestion_paused"], second["causes"]
    assert [(a["action"], a["outcome"]) for a in second["actions"]] == [("resume_ingestion", "applied")]
    assert not (stack.storage / "state" / "ingestion_paused.json").exists()
    assert logline.is_file(), out
    logged_once(stack, "diskcam", name)
    assert final["causes"] == [], final["causes"]
    # Nothing the retention policy keeps was deleted; what free_space deleted was the policy's to delete.
    assert all(path.exists() for path in kept), [str(p) for p in kept if not p.exists()]
    freed = actions["free_space"].get("changed", [])
    assert all(p.split("/")[0] in ("processed", "corrupted", "raw", "logs", "snapshots") for p in freed), freed
    assert_nothing_lost(stack, before)
    titles = sorted({a["title"] for a in alerts})
    assert "diagnosis: disk full" in titles, titles
    drill_row("disk at 95 %", healed_by="vv diagnose --fix + operator (storage added)",
              seconds_to_healthy=round(seconds, 1), seconds_after_operator=round(after_operator, 1),
              filled_to_percent=round(filled_to, 1), dvr_paused_after_s=round(dvr_paused_after, 1),
              first_round=[f"{a['action']}: {a['outcome']}" for a in first["actions"]],
              freed_files=len(freed), second_round=[f"{a['action']}: {a['outcome']}" for a in second["actions"]],
              alerts=titles, diagnosed=first["causes"][0]["fault"], lost=0)
    REPORT["timings_s"]["drill: disk full to healthy"] = seconds


def hold_write_lock(db: Path, seconds: float, taken: threading.Event) -> None:
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    try:
        holder.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        holder.execute("COMMIT")
    finally:
        holder.close()


def test_the_state_db_locked(stack, tmp_path):
    before = loglines(stack)
    name, logline = wait_for_clip(stack, "sqlcam", "sqlite locked", tmp_path)
    db = stack.storage / "state" / "orchestrator.sqlite3"
    assert db.is_file()
    with WebhookServer() as webhook:
        taken = threading.Event()
        holder = threading.Thread(target=hold_write_lock, args=(db, DB_HOLD_S, taken))
        started = time.monotonic()
        holder.start()
        assert taken.wait(10)
        box = {}

        def run_orchestrator():
            box["out"] = orchestrate(stack, webhook)
            box["s"] = time.monotonic() - started
        orchestrator = threading.Thread(target=run_orchestrator)
        orchestrator.start()
        found = fix(stack, webhook, **FIX_ENV)
        fixed_after = time.monotonic() - started
        holder.join()
        orchestrator.join(900)
        final = diagnose(stack)
        seconds = time.monotonic() - started
        alerts = webhook.bodies()

    assert found["causes"][0]["fault"] == "sqlite_locked", found["causes"]
    did = [(a["action"], a["outcome"]) for a in found["actions"]]
    assert did == [("wait_for_db", "applied"), ("restart_stage:orchestrate", "not needed")], found["actions"]
    assert "out" in box, "the orchestrator's run did not end"
    assert logline.is_file(), box["out"]
    logged_once(stack, "sqlcam", name)
    assert final["causes"] == [], final["causes"]
    assert_nothing_lost(stack, before)
    titles = sorted({a["title"] for a in alerts})
    drill_row("state DB locked", healed_by="vv diagnose --fix (wait_for_db) + the orchestrator's busy timeout",
              seconds_to_healthy=round(seconds, 1), held_s=DB_HOLD_S, wait_for_db_done_s=round(fixed_after, 1),
              orchestrator_run_s=round(box["s"], 1), actions=[f"{a}: {o}" for a, o in did], alerts=titles,
              diagnosed=found["causes"][0]["fault"], lost=0)
    REPORT["timings_s"]["drill: state DB locked to healthy"] = seconds


def clock_env(stack, offset_s: float) -> dict[str, str]:
    """The host-side Python processes see the wall clock moved by ``offset_s`` (tests/clock_ahead)."""
    path = f"{REPO_ROOT / 'tests' / 'clock_ahead'}:{stack.host_env()['PYTHONPATH']}"
    return {"VV_TEST_CLOCK_AHEAD_S": str(offset_s), "PYTHONPATH": path}


def test_the_clock_jumping_back(stack, tmp_path):
    before = loglines(stack)
    assert before, "the clock drill needs a record written at the right time (an earlier drill's LogLine)"
    name, logline = wait_for_clip(stack, "clockcam", "clock jump", tmp_path)
    back = clock_env(stack, -CLOCK_BACK_S)
    with WebhookServer() as webhook:
        started = time.monotonic()
        jumped = fix(stack, webhook, **FIX_ENV, **back)
        out_paused = orchestrate(stack, webhook, **back)
        waited = (stack.storage / "input" / "clockcam" / f"{name}.mp4").is_file() and not logline.exists()
        again = fix(stack, webhook, **FIX_ENV, **back)             # the clock still wrong: still paused, nothing more
        restored_at = time.monotonic()                  # NTP brings the clock back
        resumed = fix(stack, webhook, **FIX_ENV)
        out = orchestrate(stack, webhook)
        final = diagnose(stack)
        seconds, after_clock = time.monotonic() - started, time.monotonic() - restored_at
        alerts = webhook.bodies()

    assert jumped["causes"][0]["fault"] == "clock_jump", jumped["causes"]
    assert [(a["action"], a["outcome"]) for a in jumped["actions"]] == [("pause_ingestion", "applied")]
    assert waited and "ingestion paused" in out_paused, out_paused
    assert again["causes"][0]["fault"] == "clock_jump", again["causes"]
    assert [(a["action"], a["outcome"]) for a in again["actions"]] == [("pause_ingestion", "nothing to do")]
    assert [c["fault"] for c in resumed["causes"]] == ["ingestion_paused"], resumed["causes"]
    assert [(a["action"], a["outcome"]) for a in resumed["actions"]] == [("resume_ingestion", "applied")]
    assert logline.is_file(), out
    logged_once(stack, "clockcam", name)
    assert final["causes"] == [], final["causes"]
    assert_nothing_lost(stack, before)
    titles = sorted({a["title"] for a in alerts})
    assert "diagnosis: clock jumped back" in titles, titles
    drill_row("clock jumped back 2 h (host-side processes)", healed_by="operator/time (NTP) + vv diagnose --fix",
              seconds_to_healthy=round(seconds, 1), seconds_after_clock_back=round(after_clock, 1),
              evidence=jumped["causes"][0]["evidence"][:1], alerts=titles, diagnosed="clock_jump", lost=0)
    REPORT["timings_s"]["drill: clock back to healthy"] = after_clock


def outages(stack) -> list[tuple]:
    db = stack.storage / "state" / "agent_dvr.sqlite3"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return conn.execute("SELECT id, camera, started_ts, ended_at, reason FROM outages WHERE camera = ?"
                            " ORDER BY id", (DVR_CAMERA,)).fetchall()


def test_the_dvr_unreachable(stack):
    before = loglines(stack)
    dvr_input = stack.storage / "input" / DVR_CAMERA
    waiting = set(dvr_input.glob("*.mp4"))
    known = {row[0] for row in outages(stack)} if (stack.storage / "state" / "agent_dvr.sqlite3").is_file() else set()
    segments_before = dvr_metrics(stack).get("vv_dvr_segments_total", 0.0)
    assert dvr_metrics(stack).get("vv_dvr_camera_up") == 1
    with WebhookServer() as webhook:
        started = time.monotonic()
        stack.camera.kill()
        try:
            new = wait_for(lambda: [r for r in outages(stack) if r[0] not in known], timeout=60, interval=0.5,
                           what="agent_dvr to open an outage")
            opened_after = time.monotonic() - started
            down = vv(stack, "diagnose", "--json", "--alert", DIAGNOSE_USE_LLM="false",
                      DIAGNOSE_STATUS_URL=f"http://127.0.0.1:{stack.tv_api_port}/status", **alert_env(webhook))
        finally:
            back_at = time.monotonic()
            stack.camera.start()                        # the same URL: later tests are unaffected
        closed = wait_for(lambda: [r for r in outages(stack) if r[0] == new[0][0] and r[3] is not None], timeout=90,
                          interval=0.5, what="the outage to close")
        closed_after = time.monotonic() - back_at
        wait_for(lambda: dvr_metrics(stack).get("vv_dvr_camera_up") == 1, timeout=30, what="data flowing again")
        # What the DVR recorded up to the drop goes through the pipeline like any segment (the drills
        # after this one then find input/ drained).
        published = sorted(set(dvr_input.glob("*.mp4")) - waiting)
        orchestrate(stack, webhook)
        final = diagnose(stack)
        seconds = time.monotonic() - started
        alerts = webhook.bodies()

    found = json.loads(down.stdout)
    assert found["causes"][0]["fault"] == "dvr_unreachable", found["causes"]
    assert any(DVR_CAMERA in line for line in found["causes"][0]["evidence"]), found["causes"]
    assert closed[0][4] in ("disconnected", "stalled"), closed
    # The recording up to the drop is published as a segment (nothing lost), and a new one is under way.
    assert dvr_metrics(stack).get("vv_dvr_segments_total", 0.0) > segments_before
    assert published, "no segment published for the recording up to the drop"
    for segment in published:
        logged_once(stack, DVR_CAMERA, segment.stem)
    assert final["causes"] == [], final["causes"]
    assert_nothing_lost(stack, before)
    titles = sorted({a["title"] for a in alerts})
    assert titles == ["diagnosis: camera unreachable"], titles
    drill_row("DVR unreachable (camera killed)", healed_by="operator/time (camera back); agent_dvr reconnects",
              seconds_to_healthy=round(seconds, 1), outage_opened_after_s=round(opened_after, 1),
              outage_closed_after_camera_back_s=round(closed_after, 1), outage_reason=closed[0][4],
              evidence=found["causes"][0]["evidence"][:1], alerts=titles, diagnosed="dvr_unreachable", lost=0)
    REPORT["timings_s"]["drill: camera back to recording"] = closed_after
