"""Ready-made alerts for the failure modes an operator must hear about (blueprint 12.9).

Each helper builds an :class:`~vv_core.alerts.Alert` whose context always carries ``file``,
``container``, ``timestamp`` and ``log_excerpt`` (empty when not applicable, so receivers can rely
on the keys), and delivers it through :func:`~vv_core.alerts.send_alert` (format, de-duplication,
retries from settings). They return the delivery result and never raise.
"""

from collections import Counter
from typing import Any

from vv_core.alerts import Alert, DeliveryResult, Severity, send_alert
from vv_core.jsonlog import utc_timestamp

LOG_EXCERPT_MAX_LINES = 20
LOG_EXCERPT_MAX_CHARS = 2000


def log_excerpt(text: str | bytes | None, max_lines: int = LOG_EXCERPT_MAX_LINES,
                max_chars: int = LOG_EXCERPT_MAX_CHARS) -> str:
    """The last lines of a log (what an operator reads first), bounded in size."""
    if not text:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    tail = "\n".join(text.rstrip().splitlines()[-max_lines:])
    return tail[-max_chars:]


def build_alert(severity: Severity, title: str, message: str, source: str, *, file: str | None = None,
                container: str | None = None, log: str | bytes | None = None,
                **extra: Any) -> Alert:
    timestamp = utc_timestamp()
    context = {"file": file, "container": container, "timestamp": timestamp, "log_excerpt": log_excerpt(log)}
    context.update(extra)
    return Alert(severity, title, message, source, context=context, timestamp=timestamp)


def container_failure(settings: Any, container: str, message: str, *, log: str | bytes | None = None,
                      health: str | None = None, source: str = "self_monitor") -> DeliveryResult:
    """A container keeps failing (restart budget spent, or it cannot be restarted)."""
    alert = build_alert("CRITICAL", f"container {container} keeps failing", message, source,
                        container=container, log=log, health_output=log_excerpt(health))
    return send_alert(alert, settings)


def container_restarted(settings: Any, container: str, message: str, *, health: str | None = None,
                        source: str = "self_monitor") -> DeliveryResult:
    """A failing container was restarted (it healed, or will be alerted again when it does not)."""
    alert = build_alert("WARNING", f"container {container} restarted", message, source,
                        container=container, health_output=log_excerpt(health))
    return send_alert(alert, settings)


def container_restarted_by_docker(settings: Any, container: str, message: str, *, exit_code: int | None,
                                  oom_killed: bool, finished_at: str, restart_count: int,
                                  source: str = "self_monitor") -> DeliveryResult:
    """Docker's restart policy brought a container back (it died; the box healed without anyone)."""
    alert = build_alert("WARNING", f"container {container} restarted by Docker", message, source,
                        container=container, exit_code=exit_code, oom_killed=oom_killed, finished_at=finished_at,
                        restart_count=restart_count)
    return send_alert(alert, settings)


def schema_validation_error(settings: Any, file: str, error: str, *, stage: str | None = None,
                            source: str = "orchestrator", log: str | None = None) -> DeliveryResult:
    alert = build_alert("WARNING", "schema validation error", error, source, file=file,
                        container=None, log=log or error, stage=stage)
    return send_alert(alert, settings)


def disk_low(settings: Any, path: str, free_percent: float, threshold_percent: float, *,
             source: str = "orchestrator") -> DeliveryResult:
    alert = build_alert(
        "CRITICAL", "disk space low",
        f"{free_percent:.1f}% free on {path} (threshold {threshold_percent:.1f}%)", source,
        file=path, free_percent=round(free_percent, 2), threshold_percent=threshold_percent,
    )
    return send_alert(alert, settings)


def videos_quarantined(settings: Any, quarantined: list[tuple[str, str, str]], alerted: int, *,
                       source: str = "orchestrator") -> DeliveryResult:
    """One alert for the quarantined videos of a run beyond the ones alerted one by one (``alerted``):
    a broken camera writing 50 bad files is one more alert, not 50. ``quarantined`` holds each
    video's (file, stage, error)."""
    reasons = Counter(f"{stage}: {error}" for _, stage, error in quarantined)
    summary = "; ".join(f"{reason} ({count})" for reason, count in reasons.most_common(3))
    more = len(reasons) - 3
    alert = build_alert(
        "WARNING", "more videos quarantined",
        f"{len(quarantined)} more videos quarantined in this run (after {alerted} alerted one by one): "
        f"{summary}" + (f"; {more} other reasons" if more > 0 else ""), source,
        count=len(quarantined), files=[file for file, _, _ in quarantined][:50],
        reasons=dict(reasons.most_common(10)),
    )
    return send_alert(alert, settings)


def video_over_max_processing_time(settings: Any, file: str, elapsed_s: float, limit_s: float, *,
                                   stage: str | None = None, source: str = "orchestrator",
                                   container: str | None = None) -> DeliveryResult:
    alert = build_alert(
        "WARNING", "video exceeds max processing time",
        f"{file} unfinished after {elapsed_s:.0f} s (limit {limit_s:.0f} s), at stage {stage}", source,
        file=file, container=container, stage=stage, elapsed_s=round(elapsed_s, 1),
    )
    return send_alert(alert, settings)


def video_quarantined(settings: Any, file: str, stage: str, error: str, attempts: int, *,
                      container: str | None = None, log: str | None = None,
                      source: str = "orchestrator") -> DeliveryResult:
    """A video was moved to corrupted/ (permanent failure or retries exhausted)."""
    alert = build_alert("WARNING", "video quarantined", f"{file}: {stage} failed: {error}", source,
                        file=file, container=container, log=log or error, stage=stage, attempts=attempts)
    return send_alert(alert, settings)
