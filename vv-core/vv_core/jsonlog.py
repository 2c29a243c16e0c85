"""Structured JSON logging: one JSON object per line on the console and in ``logs/app.log``.

Fields: timestamp (UTC, ISO-8601 with Z), level, service_name, hostname, message, plus any context
passed with ``extra=`` (video_id, stage, correlation_id …) and the exception text when present.
"""

import json
import logging
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from vv_core.settings import CoreSettings

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is context.
_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def utc_timestamp(epoch_seconds: float | None = None) -> str:
    """``2026-11-21T21:44:02.123Z`` for now or for the given epoch seconds."""
    moment = datetime.now(UTC) if epoch_seconds is None else datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    def __init__(self, service_name: str) -> None:
        super().__init__()
        self.service_name = service_name
        self.hostname = socket.gethostname()

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": utc_timestamp(record.created),
            "level": record.levelname,
            "service_name": self.service_name,
            "hostname": self.hostname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        text = json.dumps(entry, ensure_ascii=False, default=str)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a file name that is not UTF-8 (lone surrogates): escape it
            return json.dumps(entry, ensure_ascii=True, default=str)
        return text


def setup_logging(
    service_name: str,
    level: str | int = "INFO",
    log_file: str | Path | None = None,
    stream=None,
    *,
    console: bool = True,
) -> logging.Logger:
    """Configure the root logger for JSON output; idempotent (replaces earlier vv handlers).
    Processes call :func:`start_process` instead, which picks the sinks by one rule."""
    formatter = JsonFormatter(service_name)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_vv_handler", False):
            root.removeHandler(handler)
            handler.close()
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stdout)] if console else []
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._vv_handler = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    return logging.getLogger(service_name)


# Where a process's console logs go, by what its standard streams carry:
#   "stdout": services (tv_api, the scheduler's watcher): stdout is free, logs go there.
#   "stderr": commands whose stdout is data (paths written, JSON reports): logs go to stderr.
#   "none":   commands whose stdout is data *and* whose stderr is the one-line error the orchestrator
#             reads (summarize): the log file alone.
Console = Literal["stdout", "stderr", "none"]


def start_process(service_name: str, settings: "CoreSettings", *, console: Console = "stdout") -> logging.Logger:
    """The one start-up of every service and CLI: JSON logs at LOG_LEVEL to ``<storage>/logs/app.log``
    (when the storage root exists: a command never creates one) and to the console stream that
    ``console`` names. Call it once, after the settings are read."""
    log_file = settings.storage.app_log if settings.storage.root.is_dir() else None
    stream = sys.stderr if console == "stderr" else sys.stdout
    return setup_logging(service_name, settings.log_level, log_file, stream=stream, console=console != "none")
