"""Alerts: one way for any part of the box to say "a human should look at this".

Every alert is logged as a JSON line (level by severity) and, when a webhook is configured, POSTed
to it in one of three payload formats: generic JSON (the :class:`Alert` itself), Slack incoming
webhook (``text`` + ``blocks``) or Telegram Bot API ``sendMessage`` (``chat_id`` + ``text``).

One door, :func:`send_alert` (alert, settings), used by every part of the box: payload format from
settings, de-duplication window persisted under ``state/`` (so cron runs, which are separate
processes, share it), and retries with exponential backoff (:class:`AlertDispatcher` does the work).

Alerts with the standard context are built by :func:`vv_core.alert_triggers.build_alert`; the
ready-made ones for the pipeline's failure modes live there too.
"""

import hashlib
import json
import logging
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock

from vv_core.atomic import atomic_write_json
from vv_core.jsonlog import utc_timestamp
from vv_core.storage import ALERTS_DEDUP

Severity = Literal["INFO", "WARNING", "CRITICAL"]
PayloadFormat = Literal["generic", "slack", "telegram"]
_LOG_LEVEL = {"INFO": logging.INFO, "WARNING": logging.WARNING, "CRITICAL": logging.CRITICAL}
_SEVERITY_ICON = {"INFO": "ℹ️", "WARNING": "⚠️", "CRITICAL": "🚨"}
# Telegram refuses messages over 4096 characters; Slack truncates sections at 3000.
_TELEGRAM_LIMIT = 4000
_SLACK_SECTION_LIMIT = 2900
DEDUP_STATE_NAME = ALERTS_DEDUP
logger = logging.getLogger("vv.alerts")


@dataclass
class Alert:
    severity: Severity
    title: str
    message: str
    source: str                                              # service raising it (e.g. "orchestrator")
    context: dict[str, Any] = field(default_factory=dict)    # file, container, log_excerpt, video_id …
    timestamp: str = field(default_factory=utc_timestamp)
    hostname: str = field(default_factory=socket.gethostname)

    def dedup_key(self) -> str:
        """Identity of "the same problem": who raised it, what, and about which file/container, or
        which diagnosed fault (`vv diagnose`'s remediation alerts share titles across faults: the
        re-queue after one fault must not hide the re-queue after another)."""
        parts = [self.source, self.severity, self.title,
                 str(self.context.get("file") or ""), str(self.context.get("container") or "")]
        if self.context.get("fault"):  # only when given: every other alert keeps its key
            parts.append(str(self.context["fault"]))
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


# --- payload formats ---------------------------------------------------------------------------------

def detect_format(webhook_url: str) -> PayloadFormat:
    """Guess the payload format from the webhook's host (``auto`` setting)."""
    host = (urllib.parse.urlsplit(webhook_url).hostname or "").lower()
    if host.endswith("slack.com"):
        return "slack"
    if host == "api.telegram.org":
        return "telegram"
    return "generic"


def _context_lines(alert: Alert) -> list[str]:
    lines = []
    for key in ("file", "container", "video_id", "stage"):
        if alert.context.get(key):
            lines.append(f"{key}: {alert.context[key]}")
    lines.append(f"host: {alert.hostname}  time: {alert.timestamp}")
    return lines


def format_payload(alert: Alert, payload_format: PayloadFormat, chat_id: str | None = None) -> dict[str, Any]:
    """The JSON body for one webhook format."""
    if payload_format == "generic":
        return asdict(alert)
    heading = f"{_SEVERITY_ICON[alert.severity]} [{alert.severity}] {alert.title}"
    excerpt = str(alert.context.get("log_excerpt") or "").strip()
    if payload_format == "slack":
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": heading[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": alert.message[:_SLACK_SECTION_LIMIT]}},
            {"type": "context",
             "elements": [{"type": "mrkdwn", "text": line} for line in _context_lines(alert)]},
        ]
        if excerpt:
            blocks.append({"type": "section", "text": {
                "type": "mrkdwn", "text": "```" + excerpt[-_SLACK_SECTION_LIMIT:] + "```"}})
        return {"text": f"{heading}: {alert.message}", "blocks": blocks}
    if payload_format == "telegram":
        if not chat_id:
            raise ValueError("Telegram alerts need ALERT_TELEGRAM_CHAT_ID")
        text = "\n".join([heading, alert.message, *_context_lines(alert)])
        if excerpt:
            text += "\n\n" + excerpt[-(_TELEGRAM_LIMIT - len(text) - 2):]
        return {"chat_id": chat_id, "text": text[:_TELEGRAM_LIMIT], "disable_web_page_preview": True}
    raise ValueError(f"unknown alert payload format {payload_format!r}")


# --- delivery ------------------------------------------------------------------------------------------

def _post_json(url: str, body: dict[str, Any], timeout_s: float) -> bool:
    if not url.startswith(("http://", "https://")):
        logger.error("alert webhook must be an http(s) URL; alert not delivered")
        return False
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, data=json.dumps(body).encode("utf-8"), headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            return 200 <= response.status < 300
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        # The URL may embed a token (Telegram bot, Slack hook): log only the error type.
        logger.warning("alert delivery failed: %s", type(exc).__name__)
        return False


def _log_alert(alert: Alert) -> None:
    logger.log(_LOG_LEVEL[alert.severity], "ALERT %s: %s", alert.title, alert.message,
               extra={"alert": asdict(alert)})


@dataclass(frozen=True)
class DeliveryResult:
    delivered: bool          # reached the webhook (or nothing to deliver to)
    suppressed: bool         # an identical alert was sent within the de-duplication window
    attempts: int


class AlertDispatcher:
    """Formats, de-duplicates and delivers alerts with retries.

    The de-duplication record (key → last sent epoch) is a small JSON file written atomically
    under a file lock, so concurrent processes (orchestrator, self-monitor, cron jobs) share it.
    """

    def __init__(
        self,
        webhook_url: str | None,
        *,
        payload_format: Literal["auto", "generic", "slack", "telegram"] = "auto",
        telegram_chat_id: str | None = None,
        dedup_window_s: float = 900.0,
        dedup_state_path: Path | None = None,
        retries: int = 3,
        retry_backoff_s: float = 1.0,
        timeout_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.webhook_url = webhook_url or None
        self.payload_format: PayloadFormat = (
            detect_format(webhook_url) if webhook_url and payload_format == "auto"
            else "generic" if payload_format == "auto" else payload_format
        )
        self.telegram_chat_id = telegram_chat_id or None
        self.dedup_window_s = dedup_window_s
        self.dedup_state_path = dedup_state_path
        self.retries = retries
        self.retry_backoff_s = retry_backoff_s
        self.timeout_s = timeout_s
        self._sleep = sleep
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Any) -> "AlertDispatcher":
        return cls(
            settings.alert_webhook_url,
            payload_format=settings.alert_webhook_format,
            telegram_chat_id=settings.alert_telegram_chat_id,
            dedup_window_s=settings.alert_dedup_window_s,
            dedup_state_path=settings.storage.alerts_dedup,
            retries=settings.alert_retries,
            retry_backoff_s=settings.alert_retry_backoff_s,
            timeout_s=settings.alert_timeout_s,
        )

    def _claim_dedup_slot(self, key: str) -> bool:
        """True if the alert may go out now (and record it); False if sent within the window."""
        if self.dedup_state_path is None or self.dedup_window_s <= 0:
            return True
        path = self.dedup_state_path
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock", timeout=10):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(record, dict):
                    record = {}
            except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
                record = {}
            now = self._clock()
            # Forget keys whose window has passed so the file stays small.
            record = {k: v for k, v in record.items()
                      if isinstance(v, int | float) and now - v < self.dedup_window_s}
            if key in record:
                return False
            record[key] = now
            atomic_write_json(path, record)
        return True

    def send(self, alert: Alert) -> DeliveryResult:
        if not self._claim_dedup_slot(alert.dedup_key()):
            logger.info("alert suppressed (same alert within %.0f s): %s", self.dedup_window_s, alert.title)
            return DeliveryResult(delivered=False, suppressed=True, attempts=0)
        _log_alert(alert)
        if not self.webhook_url:
            return DeliveryResult(delivered=True, suppressed=False, attempts=0)
        try:
            body = format_payload(alert, self.payload_format, self.telegram_chat_id)
        except ValueError as exc:
            logger.error("alert not delivered: %s", exc)
            return DeliveryResult(delivered=False, suppressed=False, attempts=0)
        attempts = 0
        for attempt in range(self.retries + 1):
            attempts += 1
            if _post_json(self.webhook_url, body, self.timeout_s):
                return DeliveryResult(delivered=True, suppressed=False, attempts=attempts)
            if attempt < self.retries:
                self._sleep(self.retry_backoff_s * (2 ** attempt))
        logger.error("alert %r not delivered after %d attempts", alert.title, attempts)
        return DeliveryResult(delivered=False, suppressed=False, attempts=attempts)


def send_alert(alert: Alert, settings: Any) -> DeliveryResult:
    """Deliver ``alert`` as the settings say (format, de-duplication, retries); never raises."""
    try:
        return AlertDispatcher.from_settings(settings).send(alert)
    except Exception as exc:  # an alert must never take down its caller
        logger.error("alert dispatch failed: %s: %s", type(exc).__name__, exc)
        return DeliveryResult(delivered=False, suppressed=False, attempts=0)
