"""Crash test against the contract test double: SIGKILL the orchestrator at random points.

The real-stage crash test is in test_e2e_real_stages.py; this one is fast (the double's stages take
milliseconds), so it can kill at many more points of the state machine, including moves and
stage/DB commit gaps.
"""

import json
import random
import shlex
import signal
import subprocess
import sys
import time

import pytest

from orchestrator.engine import DB_NAME
from orchestrator.stages import PIPELINE
from orchestrator.state import StateStore
from tests.orchestrator.conftest import contract_command

KILLS = 25
SEED = 20261121


@pytest.mark.slow
def test_sigkill_at_random_points_then_clean_run_processes_each_video_exactly_once(box):
    goods = [f"cam{i % 2 + 1}/2026112{i}T000000Z.mp4" for i in range(4)]
    for name in goods:
        box.drop(name)
    box.drop("cam3/text.mp4", b"plain text")
    box.drop("cam3/empty.mp4", b"")
    env = {**box.env, "ORCHESTRATOR_VV_COMMAND": shlex.join(contract_command()), "STABLE_WAIT_S": "0",
           "RETRY_BACKOFF_S": "0", "KEY_STORE_PATH": str(box.root.parent / "secrets/keys.json")}
    rng = random.Random(SEED)
    completed_runs = 0
    for _ in range(KILLS):
        process = subprocess.Popen([sys.executable, "-m", "vv_cli.main", "orchestrate", "--once"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 1.2))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        else:
            completed_runs += 1
        process.wait(timeout=30)
    final = subprocess.run([sys.executable, "-m", "vv_cli.main", "orchestrate", "--once"], env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    assert final.returncode == 0, final.stderr

    expected_ids = sorted(name.replace("/", "_").removesuffix(".mp4") for name in goods)
    assert box.files("input") == []
    assert box.files("processed") == sorted(goods)
    assert box.files("corrupted") == ["cam3/empty.mp4", "cam3/empty.mp4.error.json",
                                      "cam3/text.mp4", "cam3/text.mp4.error.json"]
    for out_dir, suffix in ((s.output_dir, s.output_suffix) for s in PIPELINE):
        listed = box.files(out_dir)
        visible = [name for name in listed if not name.startswith(".")]
        assert visible == [f"{i}{suffix}" for i in expected_ids]
        # A writer killed mid-write can leave only its hidden temp file (swept once older than the
        # longest stage timeout), never a partial file under a real name.
        assert all(name.endswith(".tmp") for name in listed if name.startswith("."))
        for name in visible:   # every visible artifact is complete JSON
            json.loads((box.root / out_dir / name).read_text())
    store = StateStore(box.root / "state" / DB_NAME)
    try:
        states = {r["video_id"]: r["state"] for r in store.all_videos()}
        ok_runs = store.db.execute(
            "SELECT sha256, stage, COUNT(*) AS n FROM stage_runs WHERE outcome = 'ok' GROUP BY sha256, stage"
        ).fetchall()
    finally:
        store.close()
    assert states == {**dict.fromkeys(expected_ids, "done"), "cam3_empty": "failed", "cam3_text": "failed"}
    assert all(row["n"] == 1 for row in ok_runs)   # no stage succeeded twice for one video
    print(f"\n{KILLS} kills (seed {SEED}), {completed_runs} runs finished before their kill")
