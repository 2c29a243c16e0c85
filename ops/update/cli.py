"""`vv update` as a command: the plan table, the lock, the JSON result and the exit code."""

import io
import json
import sys
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ops.update.inputs import InputsError
from ops.update.stack import Project, StackError
from ops.update.update import Outcome, Row, apply, new_hashes, observe, plan

LOCK_NAME = "update.lock"


def render_table(rows: list[Row], *, title: str) -> str:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=120, file=io.StringIO(), color_system=None)
    table = Table("service", "image", "current", "new", "action", "result", title=title, title_justify="left")
    for row in rows:
        table.add_row(row.service, row.image, (row.current or "(none)")[:12], row.new[:12], row.action, row.result)
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]


@contextmanager
def update_lock(state_dir: Path):
    """One update at a time (the weekly timer and an operator's run)."""
    from filelock import FileLock, Timeout

    state_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(state_dir / LOCK_NAME), timeout=0, is_singleton=False, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise StackError(f"another vv update holds {state_dir / LOCK_NAME}") from None
    try:
        yield
    finally:
        lock.release()


def cli_update(settings: Any, *, services: list[str], plan_only: bool, as_json: bool, project_dir: Path,
               files: list[Path], project_name: str | None, grace_s: float, force: bool, alert: bool,
               registry: str | None = None) -> None:
    """Exit 0: up to date or updated; 1: a container was rolled back (or could not be); 2: an error
    (also: the registry is unreachable or holds another version; then nothing was changed).
    ``registry``: pull stale images from it instead of building (None: UPDATE_REGISTRY; "": build)."""
    from vv_core.jsonlog import start_process

    start_process("update", settings, console="stderr")
    project = Project(project_dir.resolve(), [f.resolve() for f in files], project_name)
    registry = settings.update_registry if registry is None else registry
    try:
        declared = project.services()
        unknown = sorted(set(services) - set(declared))
        if unknown:
            raise StackError(f"no such service: {', '.join(unknown)} (services: {', '.join(declared)})")
        new = new_hashes(declared)
        try:
            current, built = observe(project, declared)
        except StackError as exc:
            if not plan_only:
                raise
            print(f"warning: the images' recorded hashes are unknown (Docker: {exc})", file=sys.stderr)
            current, built = {}, {}
        rows = plan(declared, new, current, built, only=services or None, force=force, pull=bool(registry))
        if plan_only:
            outcome = Outcome(rows)
        else:
            lock_dir = settings.storage.state if settings.storage.root.is_dir() else project.directory
            with update_lock(lock_dir):
                outcome = apply(project, declared, rows, grace_s=grace_s, alert_settings=settings if alert else None,
                                registry=registry)
    except (StackError, InputsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if as_json:
        print(json.dumps({"plan_only": plan_only, "ok": outcome.ok, "rows": [asdict(r) for r in outcome.rows],
                          "rolled_back": outcome.rolled_back, "timings_s": outcome.timings_s}, sort_keys=True))
    else:
        title = "vv update --plan (dry run)" if plan_only else "vv update"
        sys.stdout.write(render_table(outcome.rows, title=title))
        if plan_only and not any(r.action != "up-to-date" for r in rows):
            print("every image is up to date")
        if outcome.rolled_back:
            print(f"rolled back: {', '.join(outcome.rolled_back)} (the pipeline runs on the previous image)")
    raise SystemExit(0 if outcome.ok else 1)
