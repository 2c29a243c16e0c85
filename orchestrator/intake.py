"""Taking videos in: look at input/, claim the settled files, and (during a run) say what is due now.

The engine's run starts with :func:`take_in` (waiting once for files still settling, so a file
copied in just now is not left for the next cron run); the queue runner's window calls
:func:`due_again` while it has room. Discovery (:mod:`.discovery`) decides what is settled and what
can never be taken; claiming (:mod:`.claims`) gives a new video its row and a safe name.
"""

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from orchestrator.claims import claim, record_ignored
from orchestrator.discovery import Ignored, look
from orchestrator.names import printable
from orchestrator.settings import PipelineSettings
from orchestrator.state import StateStore
from vv_core.storage import StorageLayout

logger = logging.getLogger("vv.orchestrator")


class Orchestrator(Protocol):
    """What intake needs of the engine (orchestrator.engine.Orchestrator is one)."""

    root: Path
    layout: StorageLayout
    settings: PipelineSettings
    store: StateStore
    clock: Callable[[], float]
    sleep: Callable[[float], None]


class RunReport(Protocol):
    seen: int
    settling: int
    duplicates: list[str]


def take_in(orchestrator: Orchestrator, report: RunReport, *, wait_for_settling: bool = False,
            again: bool = False) -> None:
    """Look at input/ and claim the settled files (unless ingestion is paused). ``again``: a look
    during the run (the queue runner's window taking newly due videos in): quiet when paused,
    and only files new to the state DB count as seen."""
    layout, settings, store = orchestrator.layout, orchestrator.settings, orchestrator.store
    if layout.ingestion_paused.exists():
        # Paused (`vv diagnose --fix`, e.g. the disk is full): videos already claimed go on, input/ waits.
        if not again:
            logger.warning("ingestion paused (%s): no new input is claimed", layout.ingestion_paused)
        report.settling = 0
        return
    ignored: list[Ignored] = []
    stable, report.settling = look(store, orchestrator.root, layout.input, orchestrator.clock(),
                                   settings.stable_wait_s, ignored=ignored)
    if report.settling and wait_for_settling:
        # Second look within this run, so a file copied in just now is not left for the next cron.
        orchestrator.sleep(settings.stable_wait_s)
        ignored = []
        stable, report.settling = look(store, orchestrator.root, layout.input, orchestrator.clock(),
                                       settings.stable_wait_s, ignored=ignored)
    record_ignored(orchestrator, ignored)
    for found in stable:
        new = store.get(found.sha256) is None
        try:
            claim(orchestrator, found, report)
        except sqlite3.Error:
            raise
        except Exception:  # this file only: left where it is, tried again next run
            logger.exception("could not claim %s", printable(found.relative))
        report.seen += 1 if new or not again else 0


def due_again(orchestrator: Orchestrator, report: RunReport) -> list[sqlite3.Row]:
    """During a run: claim what settled in input/ since, and return what is due now (oldest first)."""
    take_in(orchestrator, report, again=True)
    return orchestrator.store.due_videos(orchestrator.clock())
