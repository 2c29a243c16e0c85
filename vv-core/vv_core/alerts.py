"""Alerts: one way for any part of the box to say "a human should look at this".

Every alert is logged as a JSON line (level by severity) and, when ``ALERT_WEBHOOK_URL`` is set,
POSTed as generic JSON to that webhook. Callers use only :func:`raise_alert`; delivery details
(formats, de-duplication, retries) stay behind it.
"""

import json
import logging
import socket
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from vv_core.jsonlog import utc_timestamp

Severity = Literal["INFO", "WARNING", "CRITICAL"]
_LOG_LEVEL = {"INFO": logging.INFO, "WARNING": logging.WARNING, "CRITICAL": logging.CRITICAL}
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


def raise_alert(alert: Alert, webhook_url: str | None = None, timeout_s: float = 5.0) -> bool:
    """Log the alert and deliver it to the webhook if one is configured.

    Returns True when it was delivered (or no webhook is configured); False when delivery failed,
    which is logged but never raised: an alert must not take down the thing that raised it.
    """
    logger.log(_LOG_LEVEL[alert.severity], "ALERT %s: %s", alert.title, alert.message,
               extra={"alert": asdict(alert)})
    if not webhook_url:
        return True
    if not webhook_url.startswith(("http://", "https://")):
        logger.error("alert webhook must be an http(s) URL; alert not delivered")
        return False
    body = json.dumps(asdict(alert)).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        webhook_url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            return 200 <= response.status < 300
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        logger.warning("alert delivery failed: %s", type(exc).__name__, extra={"alert_title": alert.title})
        return False
