"""The orchestrator's settings: run loop, runners, per-stage arguments/timeouts/containers, retries."""

import shlex
from pathlib import Path
from typing import Literal

from pydantic import Field

from vv_core.settings import CoreSettings

Stage = Literal["scan", "summarize", "logline", "schedule"]


class PipelineSettings(CoreSettings):
    """The orchestrator's settings."""

    orchestrator_interval: float = Field(
        300.0, gt=0, description="Seconds between pipeline runs in `vv orchestrate --loop`."
    )
    orchestrator_runner: Literal["local", "docker", "queue"] = Field(
        "local", description="How stages run: local subprocess, docker exec into the stage containers, or "
        "queue: scans and summaries by `vv worker` processes through Redis (QUEUE_REDIS_URL)."
    )
    queue_redis_url: str = Field(
        "redis://127.0.0.1:6379/0", description="Redis of the queue runner and `vv worker` (redis://[:password@]host:port/db)."
    )
    queue_claim_idle_s: float = Field(
        60.0, gt=0, description="A job whose worker has been silent this long is taken over by another worker "
        "(a live worker renews its claim every quarter of this)."
    )
    queue_max_deliveries: int = Field(
        3, ge=1, le=100, description="Deliveries of one job (workers dying on it) before it fails and the "
        "video is quarantined."
    )
    queue_wait_s: float = Field(
        900.0, gt=0, description="The orchestrator counts the jobs still out as a failed attempt when no "
        "worker has finished any job for this long (workers down or swamped)."
    )
    queue_window: int = Field(
        64, ge=1, le=4096, description="Videos the queue runner keeps in flight at once (enqueued, on the "
        "workers, or waiting for their LogLine); the next due video goes in as soon as one is logged. It bounds "
        "the fleet's pace at about window / (a segment's time from enqueue to LogLine, ~20 s): 64 keeps up with "
        "~200 one-minute cameras (benchmarks/sim_capacity.py)."
    )
    queue_rescan_s: float = Field(
        5.0, gt=0, description="While its window has room, a queue runner's run looks at input/ again this "
        "often and takes in the videos due since (settled files only), so a new segment does not wait for the "
        "next run."
    )
    queue_run_max_s: float = Field(
        300.0, gt=0, description="A queue runner's run takes new videos in for this long, then drains its "
        "window and ends (the playlists are rebuilt and the status written at each run's end); `vv orchestrate "
        "--loop` then starts the next run at once."
    )
    orchestrator_vv_command: str = Field(
        "",
        description="Stage CLI command line for the local runner (empty: this Python's `-m vv_cli.main`).",
    )
    stage_args_scan: str = Field("", description="Extra arguments appended to every `vv scan` run (shell-quoted).")
    stage_args_summarize: str = Field(
        "", description="Extra arguments appended to every `vv summarize` run, e.g. `--config FILE`."
    )
    stage_args_logline: str = Field("", description="Extra arguments appended to every `vv logline` run.")
    stage_timeout_scan_s: float = Field(
        900.0, gt=0, description="Timeout of one video's `vv scan` (a batch: this × its videos)."
    )
    stage_timeout_summarize_s: float = Field(600.0, gt=0, description="Timeout of one `vv summarize` run.")
    stage_timeout_logline_s: float = Field(
        120.0, gt=0, description="Timeout of one video's `vv logline` (a batch: this × its videos)."
    )
    stage_timeout_schedule_s: float = Field(120.0, gt=0, description="Timeout of `vv schedule --once`.")
    max_attempts: int = Field(
        3, ge=1, le=100, description="Transient failures of one stage before the video is quarantined."
    )
    quarantine_alerts_per_run: int = Field(
        5, ge=1, le=1000,
        description="Quarantined videos alerted one by one in a run; the rest of the run's are one grouped alert.",
    )
    retry_backoff_s: float = Field(
        60.0, ge=0, description="Delay before the first retry of a failed stage; doubles per attempt."
    )
    retry_backoff_max_s: float = Field(3600.0, ge=0, description="Upper bound of the retry delay.")
    stable_wait_s: float = Field(
        2.0, ge=0, description="A new video must keep the same size and mtime this long before it is taken."
    )
    max_processing_s: float = Field(
        3600.0, gt=0, description="A video still unfinished this long after discovery raises an alert."
    )
    orchestrator_scan_batch: int = Field(
        8, ge=1, le=256, description="Videos scanned by one `vv scan` process (models load once per batch; "
        "a video the batch could not scan is scanned alone), and whose LogLines one `vv logline` run writes "
        "(one checkpoint per batch); 1: one process per video. Local and docker runners (the queue runner: "
        "QUEUE_WINDOW)."
    )
    orchestrator_trigger_schedule: bool = Field(
        True, description="Run `vv schedule --once` after a run that finished videos (else: the watcher)."
    )
    docker_container_storage_root: Path = Field(
        Path("/data"), description="Where the storage root is mounted inside the stage containers."
    )
    container_scan: str = Field("scene_scanner", description="Container that runs `vv scan` (docker runner).")
    container_summarize: str = Field(
        "scene_summarizer", description="Container that runs `vv summarize` (docker runner)."
    )
    container_logline: str = Field(
        "logline_writer", description="Container that runs `vv logline` (docker runner)."
    )
    container_schedule: str = Field(
        "playlist_manager", description="Container that runs `vv schedule --once` (docker runner)."
    )


    def stage_timeout_s(self, stage: Stage) -> float:
        return {"scan": self.stage_timeout_scan_s, "summarize": self.stage_timeout_summarize_s,
                "logline": self.stage_timeout_logline_s, "schedule": self.stage_timeout_schedule_s}[stage]

    def stage_args(self, stage: Stage) -> list[str]:
        # `vv schedule --once` takes no extra arguments.
        text = {"scan": self.stage_args_scan, "summarize": self.stage_args_summarize,
                "logline": self.stage_args_logline}.get(stage, "")
        return shlex.split(text)

    def container_for(self, stage: Stage) -> str:
        return {"scan": self.container_scan, "summarize": self.container_summarize,
                "logline": self.container_logline, "schedule": self.container_schedule}[stage]
