"""`vv status`: a short human view of the box (issue 19); `vv status --json` keeps the raw output.

Read-only: the orchestrator's status file and SQLite state, the storage tree (disk, cameras' newest
segments) and the playlists. Rendered with rich tables, a dozen lines on a quiet box.
"""

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from orchestrator.stages import STAGES
from orchestrator.state import StateStore
from vv_core.settings import CoreSettings

LAST_ERRORS = 5


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _newest_file(folder: Path) -> Path | None:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")] if folder.is_dir() else []
    return max(files, key=lambda p: p.stat().st_mtime, default=None)


def collect_status(settings: CoreSettings) -> dict[str, Any]:
    """Everything `vv status` shows, as plain data."""
    layout = settings.storage
    status_file = layout.pipeline_status
    pipeline = json.loads(status_file.read_text(encoding="utf-8")) if status_file.is_file() else None
    errors: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    db = layout.orchestrator_db
    if db.is_file():
        store = StateStore(db)
        try:
            counts = store.counts_by_state()
            failed = [row for row in store.all_videos() if row["last_error"]]
            errors = [{"video": row["video_id"], "state": row["state"], "error": row["last_error"]}
                      for row in failed[-LAST_ERRORS:]]
        finally:
            store.close()
    usage = shutil.disk_usage(layout.root)
    cameras = {}
    for base in (layout.input, layout.processed):
        for folder in sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []:
            newest = _newest_file(folder)
            if newest is not None:
                mtime = newest.stat().st_mtime
                cameras[folder.name] = max(cameras.get(folder.name, 0.0), mtime)
    tvs = {}
    for playlist in sorted(layout.playlists.glob("*.json")) if layout.playlists.is_dir() else []:
        try:
            items = len(json.loads(playlist.read_text(encoding="utf-8")).get("items", []))
        except (OSError, ValueError, AttributeError):
            items = -1
        tvs[playlist.stem] = {"items": items, "built_at": playlist.stat().st_mtime}
    return {"pipeline": pipeline, "states": counts, "last_errors": errors,
            "disk": {"path": str(layout.root), "free_bytes": usage.free, "total_bytes": usage.total},
            "cameras": cameras, "tvs": tvs}


def render_status(report: dict[str, Any], console: Console) -> None:
    pipeline = report["pipeline"] or {}
    disk = report["disk"]
    free_pct = 100 * disk["free_bytes"] / disk["total_bytes"] if disk["total_bytes"] else 0.0
    last_run = pipeline.get("last_run") or {}
    console.print(f"[bold]queue[/] {pipeline.get('queue_length', 0)}   "
                  f"[bold]done[/] {report['states'].get('done', 0)}   "
                  f"[bold]failed[/] {report['states'].get('failed', 0)}   "
                  f"[bold]last run[/] {last_run.get('finished_at') or 'never'}   "
                  f"[bold]disk[/] {disk['free_bytes'] / 2**30:.1f} GiB free ({free_pct:.0f} %) at {disk['path']}")
    stages = Table("stage", "runs", "errors", "mean s", "last s", "last success", title="stages", title_justify="left")
    for stage in STAGES:
        metrics = (pipeline.get("stages") or {}).get(stage) or {}
        count = metrics.get("duration_seconds_count") or 0
        mean = f"{metrics['duration_seconds_sum'] / count:.1f}" if count else "-"
        last = metrics.get("last_duration_seconds")
        stages.add_row(stage, str(metrics.get("runs", 0)), str(metrics.get("errors", 0)), mean,
                       "-" if last is None else f"{last:.1f}", metrics.get("last_success_at") or "never")
    console.print(stages)
    places = Table("camera", "newest segment", title="cameras", title_justify="left")
    for name, mtime in report["cameras"].items():
        places.add_row(name, _when(mtime))
    if not report["cameras"]:
        places.add_row("(none yet)", "")
    console.print(places)
    screens = Table("tv", "items", "playlist written", title="TVs", title_justify="left")
    for name, tv in report["tvs"].items():
        screens.add_row(name, "unreadable" if tv["items"] < 0 else str(tv["items"]), _when(tv["built_at"]))
    if not report["tvs"]:
        screens.add_row("(no playlist yet)", "", "")
    console.print(screens)
    if report["last_errors"]:
        errors = Table("video", "state", "last error", title="last errors", title_justify="left")
        for error in report["last_errors"]:
            errors.add_row(error["video"], error["state"], error["error"])
        console.print(errors)
    if report["pipeline"] is None:
        console.print("the orchestrator has not run yet: `vv orchestrate --once` or `vv up`")
