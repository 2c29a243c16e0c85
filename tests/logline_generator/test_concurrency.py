"""Real processes appending at once, and real SIGKILLs mid-append: no gap, no fork, no duplicate."""

import json
import signal
import subprocess
import sys
import time

import pytest

from logline_generator.logline_generator import generate_logline
from tests.logline_fixtures import make_key_store, summary_doc, write_summary
from transparency.verifier import verify_directory

WORKER = """
import sys, time
from pathlib import Path
from logline_generator.logline_generator import generate_logline
from vv_cli.settings import Settings
summaries, go = [Path(p) for p in sys.argv[2:]], Path(sys.argv[1])
while not go.exists():
    time.sleep(0.005)
settings = Settings()
for summary in summaries:
    generate_logline(summary, settings=settings)
"""


def spawn(cli_env, *args):
    return subprocess.Popen([sys.executable, "-c", WORKER, *map(str, args)], env=cli_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_concurrent_processes_build_one_clean_chain(settings, cli_env, tmp_path):
    keys = make_key_store(settings.key_store_path)
    root = settings.video_storage_root
    shared = write_summary(root, summary_doc("cam9_shared"))
    workers, per_worker = 4, 12
    go = tmp_path / "go"
    processes = []
    for worker in range(workers):
        own = [write_summary(root, summary_doc(f"cam{worker}_{n:03d}")) for n in range(per_worker)]
        # everyone also appends the same summary, in the middle of its run
        processes.append(spawn(cli_env, go, *own[:6], shared, *own[6:]))
    go.touch()
    for process in processes:
        assert process.wait(timeout=240) == 0, process.stderr.read()
    loglines = settings.storage.loglines
    records = [json.loads(p.read_bytes()) for p in loglines.glob("*.logline.json")]
    assert sorted(r["seq"] for r in records) == list(range(workers * per_worker + 1))
    assert sum(r["id"] == "cam9_shared" for r in records) == 1
    report = verify_directory(loglines, keys)
    assert report.ok, report.problems


@pytest.mark.slow
def test_sigkill_mid_append_never_leaves_a_gap_or_fork(settings, cli_env, tmp_path):
    keys = make_key_store(settings.key_store_path)
    root = settings.video_storage_root
    loglines = settings.storage.loglines
    go = tmp_path / "go"
    go.touch()
    for round_number in range(3):
        batch = [write_summary(root, summary_doc(f"cam{round_number}_{n:03d}")) for n in range(60)]
        process = spawn(cli_env, go, *batch)
        target = 3 + 4 * round_number
        deadline = time.monotonic() + 120
        while len(list(loglines.glob("*.logline.json"))) < target and time.monotonic() < deadline:
            if process.poll() is not None:
                break
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL   # killed mid-run, not finished
        assert len(list(loglines.glob("*.logline.json"))) < 60 * (round_number + 1)
        # the next writer recovers whatever state the kill left
        generate_logline(write_summary(root, summary_doc(f"after_kill_{round_number}")), settings=settings)
        report = verify_directory(loglines, keys)
        assert report.ok, report.problems
        seqs = sorted(json.loads(p.read_bytes())["seq"] for p in loglines.glob("*.logline.json"))
        assert seqs == list(range(len(seqs)))
