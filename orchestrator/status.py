"""state/pipeline_status.json: the orchestrator's metrics for tv_api's /status and /metrics.

Chosen over letting tv_api read the SQLite DB: a small JSON file written atomically after every run
is a stable contract (schemas/pipeline_status.schema.json), needs no SQLite access (or locking)
from the web process, and works the same when tv_api runs in another container on the shared volume.
Counters are totals since the state DB was created; durations form a cumulative histogram in
Prometheus' convention (bucket "le" upper bounds, "+Inf" last).
"""

from pathlib import Path
from typing import Any

from orchestrator.stages import STAGES, TERMINAL_STATES
from orchestrator.state import StateStore
from vv_core.atomic import atomic_write_json
from vv_core.jsonlog import utc_timestamp
from vv_core.schema import validate_schema
from vv_core.storage import PIPELINE_STATUS

STATUS_NAME = PIPELINE_STATUS
NEWEST_LOGLINE_SEQ = "newest_logline_seq"   # meta flag: the newest LogLine seq recorded
DURATION_BUCKETS_S = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)


def _bucket_label(bound: float) -> str:
    return f"{bound:g}"


def stage_metrics(store: StateStore, stage: str) -> dict[str, Any]:
    runs = store.stage_durations(stage)
    durations = [row["duration_s"] for row in runs]
    buckets = {_bucket_label(b): sum(1 for d in durations if d <= b) for b in DURATION_BUCKETS_S}
    buckets["+Inf"] = len(durations)
    successes = [row for row in runs if row["outcome"] == "ok"]
    return {
        "runs": len(runs),
        "errors": sum(1 for row in runs if row["outcome"] != "ok"),
        "duration_seconds_sum": round(sum(durations), 6),
        "duration_seconds_count": len(durations),
        "duration_seconds_buckets": buckets,
        "last_duration_seconds": round(durations[-1], 6) if durations else None,
        "last_success_at": utc_timestamp(successes[-1]["finished_at"]) if successes else None,
    }


def build_status(store: StateStore, waiting_in_input: int = 0) -> dict[str, Any]:
    counts = store.counts_by_state()
    in_progress = sum(n for state, n in counts.items() if state not in TERMINAL_STATES)
    last = store.last_finished_run()
    newest = store.get_flag(NEWEST_LOGLINE_SEQ)
    status = {
        "schema_version": "1.0",
        "updated_at": utc_timestamp(),
        # Queue: claimed but unfinished videos plus files still settling in input/.
        "queue_length": in_progress + waiting_in_input,
        "ignored_in_input": len(store.ignored_entries()),
        "newest_logline_seq": None if newest is None else int(newest),
        "last_run": None if last is None else {
            "started_at": utc_timestamp(last["started_at"]),
            "finished_at": utc_timestamp(last["finished_at"]),
            "videos_seen": last["videos_seen"],
            "videos_done": last["videos_done"],
            "videos_failed": last["videos_failed"],
        },
        "videos": {"done": counts.get("done", 0), "failed": counts.get("failed", 0),
                   "in_progress": in_progress},
        "stages": {stage: stage_metrics(store, stage) for stage in STAGES},
    }
    validate_schema(status, "pipeline_status")
    return status


def write_status(store: StateStore, state_dir: Path, waiting_in_input: int = 0) -> Path:
    return atomic_write_json(state_dir / STATUS_NAME, build_status(store, waiting_in_input))
