"""What the engine's helpers (batch_scan, batch_logline, queue_runner, queue_pipeline) need of it.

One Protocol, so the helpers can be read and tested without the whole engine, and the engine's
surface they rely on is written down once (orchestrator.engine.Orchestrator is one).
"""

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from orchestrator.runners import Runner, StageResult
from orchestrator.settings import PipelineSettings
from orchestrator.stages import StageSpec
from orchestrator.state import StateStore
from vv_core.workqueue import Job


class Engine(Protocol):
    root: Path
    settings: PipelineSettings
    runner: Runner
    store: StateStore
    clock: Callable[[], float]

    def expected_output(self, spec: StageSpec, row: sqlite3.Row) -> Path: ...

    def valid_output(self, path: Path | None, schema: str, row: sqlite3.Row) -> str | None: ...

    def job_for(self, spec: StageSpec, row: sqlite3.Row) -> Job: ...

    def advance(self, row: sqlite3.Row, spec: StageSpec, report: Any) -> bool: ...

    def settle(self, row: sqlite3.Row, spec: StageSpec, result: StageResult, started: float, finished: float,
               report: Any) -> bool: ...

    def note_logline(self, stage: str, path: Path) -> None: ...

    def process_guarded(self, row: sqlite3.Row, report: Any, *, until: StageSpec | None = None) -> bool: ...

    def internal_failure(self, sha256: str, exc: Exception, report: Any) -> None: ...
