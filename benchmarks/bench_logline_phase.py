"""The orchestrator's logline phase, per LogLine: one `vv logline` per video vs one per batch.

    python benchmarks/bench_logline_phase.py [BATCH] [ROUNDS]

A real orchestrator run (real SQLite, files on the storage disk) over BATCH new videos (default: the
default ORCHESTRATOR_SCAN_BATCH); scan and summarize are the contract test double (milliseconds, not
measured), LogLines are written by the REAL `vv logline` through the local runner, with the HMAC and
the Ed25519 checkpoint key stores. Timed: the whole logline phase in the engine — the stage
process(es) (Python start-up, chain append, Merkle leaf, checkpoint, fsyncs) plus the engine's
checks and SQLite records — as wall time, and CPU time of the engine plus its `vv logline` children.

- per video (before): ORCHESTRATOR_SCAN_BATCH=1, which logs each video with its own `vv logline`
  run, exactly as the engine did for every batch size before LogLines were batched;
- per batch (now): the default batch, one `vv logline A B …` run for the batch.

The two alternate ROUNDS times (this disk's fsync latency drifts with other tenants' load); the
median round of each is printed, with the chain and checkpoint of every round checked.
"""

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "vv-core")]

import orchestrator.engine as engine  # noqa: E402
from orchestrator.runners import LocalRunner  # noqa: E402
from orchestrator.stages import LOGLINE  # noqa: E402
from tests.helpers import repo_env  # noqa: E402
from tests.orchestrator.conftest import contract_command  # noqa: E402
from transparency.verifier import verify_directory  # noqa: E402
from vv_cli.settings import Settings  # noqa: E402
from vv_core.keystore import create_key_store, load_key_store  # noqa: E402
from vv_core.notes import open_checkpoint, signers_from_key_store  # noqa: E402
from vv_core.tlog import read_checkpoint  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class PhaseClock:
    """Wall and CPU time (this process + its children) spent inside the wrapped calls."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self.depth = 0

    def around(self, call):
        def timed(*args, **kwargs):
            self.depth += 1
            wall, cpu = time.perf_counter(), time.process_time() + children_cpu()
            try:
                return call(*args, **kwargs)
            finally:
                self.depth -= 1
                if self.depth == 0:  # nested calls are counted once
                    self.wall += time.perf_counter() - wall
                    self.cpu += time.process_time() + children_cpu() - cpu
        return timed


class Runner:
    """The contract double for scan/summarize, the real `vv logline` for LogLines."""

    name = "local"

    def __init__(self, env: dict[str, str]) -> None:
        self.double = LocalRunner(contract_command(), env=env)
        self.real = LocalRunner(env=env)
        self.logline_runs = 0

    def run(self, command, args, timeout_s):
        if command != LOGLINE.command:
            return self.double.run(command, args, timeout_s)
        self.logline_runs += 1
        return self.real.run(command, args, timeout_s)


def one_round(base: Path, videos: int, batch: int) -> tuple[float, float, int]:
    """One orchestrator run over ``videos`` new videos in batches of ``batch``: the logline phase's
    wall and CPU seconds per LogLine, and the number of `vv logline` runs."""
    root = base / "storage"
    settings = Settings(video_storage_root=root, key_store_path=base / "secrets/keys.json",
                        checkpoint_key_store_path=base / "secrets/checkpoint_keys.json", stable_wait_s=0.0,
                        orchestrator_scan_batch=batch, orchestrator_trigger_schedule=False,
                        alert_dedup_window_s=0.0)
    settings.storage.ensure()
    (base / "secrets").mkdir()
    create_key_store(settings.key_store_path, "k1")
    create_key_store(settings.checkpoint_key_store_path, "c1")
    for index in range(videos):
        video = root / "input" / "cam1" / f"20261121T10{index:02d}00Z.mp4"
        video.parent.mkdir(parents=True, exist_ok=True)
        video.write_bytes(b"CONTRACTVIDEO" + str(index).encode())
    runner = Runner(repo_env(VIDEO_STORAGE_ROOT=str(root), KEY_STORE_PATH=str(settings.key_store_path),
                             CHECKPOINT_KEY_STORE_PATH=str(settings.checkpoint_key_store_path)))
    clock = PhaseClock()
    real_advance, real_log_ahead = engine.Orchestrator.advance, engine.log_ahead
    timed_advance = clock.around(real_advance)

    def advance(self, row, spec, report):
        return (timed_advance if spec is LOGLINE else real_advance)(self, row, spec, report)

    engine.Orchestrator.advance, engine.log_ahead = advance, clock.around(real_log_ahead)
    orchestrator = engine.Orchestrator(settings, runner)
    try:
        report = orchestrator.run_once()
    finally:
        engine.Orchestrator.advance, engine.log_ahead = real_advance, real_log_ahead
        orchestrator.close()
    assert len(report.done) == videos and not report.failed, report
    loglines = settings.storage.loglines
    assert verify_directory(loglines, load_key_store(settings.key_store_path)).ok
    signer, _ = signers_from_key_store(load_key_store(settings.checkpoint_key_store_path),
                                       settings.transparency_origin)
    assert open_checkpoint(read_checkpoint(loglines), [signer.verifier_key])[0].size == videos
    return clock.wall / videos, clock.cpu / videos, runner.logline_runs


def main() -> None:
    default_batch = Settings.model_fields["orchestrator_scan_batch"].default
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else default_batch
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}, batch: {batch}, rounds: {rounds}")
    cases = {"one `vv logline` per video (before)": 1, f"one `vv logline` per batch of {batch} (now)": batch}
    results: dict[str, list[tuple[float, float, int]]] = {label: [] for label in cases}
    with tempfile.TemporaryDirectory(dir=REPO) as scratch:
        for round_index in range(rounds):
            for case_index, (label, size) in enumerate(cases.items()):
                results[label].append(one_round(Path(scratch) / f"r{round_index}c{case_index}", batch, size))
    print(f"\n| logline phase, per LogLine ({batch} videos) | wall ms (median) | CPU ms (median) | all rounds, wall ms"
          " | `vv logline` runs |\n|---|---|---|---|---|")
    for label, runs in results.items():
        walls, cpus = sorted(r[0] for r in runs), sorted(r[1] for r in runs)
        every = ", ".join(f"{r[0] * 1e3:.0f}" for r in runs)
        print(f"| {label} | {walls[len(walls) // 2] * 1e3:.1f} | {cpus[len(cpus) // 2] * 1e3:.1f} | {every} |"
              f" {runs[0][2]} |")


if __name__ == "__main__":
    main()
