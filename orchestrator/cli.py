"""`vv orchestrate [--once | --loop]`: the pipeline's driver (cron every 5 min, or a loop).

One run at a time (state/orchestrator.lock); a run that finds the lock held exits 0 at once, since
with cron that is the normal overlap. Exit codes: 0 = the run completed (videos may still have
been quarantined: that is the system working), 2 = the orchestrator itself failed.
stdout: the path of state/pipeline_status.json written by the run; the run summary goes to the
JSON log (stderr and logs/app.log).

Also usable as ``python scripts/orchestrator.py --once``.
"""

import logging
import signal
import sys
import threading
from typing import Annotated

import typer

from orchestrator.engine import DB_NAME, Orchestrator, RunReport
from orchestrator.lock import AlreadyRunning, run_lock
from orchestrator.names import printable
from orchestrator.runners import Runner, build_runner
from orchestrator.settings import PipelineSettings
from orchestrator.state import StateStore
from orchestrator.status import STATUS_NAME
from vv_core.cli_support import run_command
from vv_core.jsonlog import start_process, utc_timestamp

logger = logging.getLogger("vv.orchestrator")


def run_once(settings: PipelineSettings, runner: Runner | None = None) -> RunReport | None:
    """One locked run; None when another run holds the lock."""
    try:
        with run_lock(settings.storage.state):
            orchestrator = Orchestrator(settings, runner or build_runner(settings))
            try:
                report = orchestrator.run_once()
            finally:
                orchestrator.close()
    except AlreadyRunning as exc:
        logger.info("skipped: %s", exc)
        return None
    logger.info(
        "run finished: %d stable, %d done, %d quarantined, %d retrying, %d duplicates, %d settling",
        report.seen, len(report.done), len(report.failed), len(report.retrying), len(report.duplicates),
        report.settling,
        extra={"done": report.done, "failed": report.failed, "retrying": report.retrying},
    )
    return report


def run_loop(settings: PipelineSettings, stop: threading.Event, runner: Runner | None = None,
             max_runs: int | None = None) -> int:
    """Run every ORCHESTRATOR_INTERVAL seconds until ``stop`` is set (SIGTERM/SIGINT); at once after
    a queue runner's run that stopped taking videos in at QUEUE_RUN_MAX_S (input kept coming)."""
    runs = 0
    while not stop.is_set():
        report = None
        try:
            report = run_once(settings, runner)
        except Exception:  # keep the loop alive; the next run resumes from the state DB
            logger.exception("orchestrator run failed")
        runs += 1
        if max_runs is not None and runs >= max_runs:
            break
        if report is None or not report.cut_short:
            stop.wait(settings.orchestrator_interval)
    return runs


def status_summary(settings: PipelineSettings) -> str:
    """Human summary of state/pipeline_status.json and the SQLite state (`vv status`)."""
    state_dir = settings.storage.state
    lines: list[str] = []
    status_file = state_dir / STATUS_NAME
    if status_file.is_file():
        lines += [f"# {status_file}", status_file.read_text(encoding="utf-8").rstrip()]
    else:
        lines.append(f"# no {status_file} yet (the orchestrator has not run)")
    db = state_dir / DB_NAME
    if not db.is_file():
        lines.append(f"# no state DB at {db}")
        return "\n".join(lines)
    store = StateStore(db)
    try:
        counts = store.counts_by_state()
        lines.append(f"# videos by state ({db})")
        order = ("discovered", "scanned", "summarized", "logged", "done", "failed")
        lines += [f"{state:>11}: {counts.get(state, 0)}" for state in order]
        open_rows = [r for r in store.all_videos() if r["state"] != "done"]
        if open_rows:
            lines.append("# not done")
        for row in open_rows:
            retry = ""
            if row["state"] != "failed" and row["next_attempt_at"]:
                retry = f" next attempt {utc_timestamp(row['next_attempt_at'])}"
            lines.append(f"{row['video_id']}  {row['state']}  attempts={row['attempts']}"
                         f"{retry}  {printable(row['current_path'])}  {printable(row['last_error'] or '')}"
                         .rstrip())
        ignored = store.ignored_entries()
        if ignored:
            lines.append("# ignored in input/ (never taken: remove them or fix them)")
        lines += [f"{row['path']}  {row['kind']}  since {utc_timestamp(row['first_seen'])}" for row in ignored]
    finally:
        store.close()
    return "\n".join(lines)


def orchestrate_command(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One run, then exit (cron; the default).")] = False,
    loop: Annotated[bool, typer.Option("--loop", help="Run every ORCHESTRATOR_INTERVAL seconds.")] = False,
) -> None:
    """Run the pipeline over input/: one run (cron, the default) or a loop until SIGTERM/SIGINT.

    Exit 0 when the run completed (quarantined videos included) or another run holds the lock;
    2 when the orchestrator itself failed. Prints the path of state/pipeline_status.json.
    """
    if once and loop:
        ctx.fail("--loop is not allowed with --once")
    raise typer.Exit(run_orchestrator(loop=loop, **(ctx.obj or {})))


def main(argv: list[str] | None = None, settings: PipelineSettings | None = None) -> int:
    return run_command(orchestrate_command, argv, "vv orchestrate", settings=settings)


def run_orchestrator(*, loop: bool = False, settings: PipelineSettings | None = None) -> int:
    """What `vv orchestrate` does once its arguments are parsed; returns the exit code."""
    settings = settings or PipelineSettings()
    settings.storage.ensure()
    start_process("orchestrator", settings, console="stderr")
    if loop:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        run_loop(settings, stop)
        return 0
    try:
        report = run_once(settings)
    except Exception as exc:
        logger.exception("orchestrator run failed")
        print(f"error: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if report is None:
        print("skipped: another orchestrator run holds the lock", file=sys.stderr)
        return 0
    print(settings.storage.pipeline_status)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
