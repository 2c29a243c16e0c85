"""Alert formats, de-duplication, retries and triggers, delivered to a real loopback webhook."""

import json
import logging

import pytest

from tests.webhook_server import WebhookServer
from vv_core import alert_triggers
from vv_core.alerts import DEDUP_STATE_NAME, Alert, AlertDispatcher, detect_format, format_payload, send_alert


def alert(**context):
    return Alert("CRITICAL", "container down", "scene_scanner exited (137)", "self_monitor",
                 context={"container": "scene_scanner", "log_excerpt": "line1\nKilled", **context})


@pytest.fixture
def hook():
    with WebhookServer() as server:
        yield server


def test_format_detection_by_host():
    assert detect_format("https://hooks.slack.com/services/T/B/x") == "slack"
    assert detect_format("https://api.telegram.org/bot123:abc/sendMessage") == "telegram"
    assert detect_format("http://127.0.0.1:9000/alerts") == "generic"


def test_slack_and_telegram_payloads_carry_the_context():
    slack = format_payload(alert(file="input/cam1/a.mp4"), "slack")
    assert slack["text"].startswith("🚨 [CRITICAL] container down")
    flattened = json.dumps(slack["blocks"])
    assert "container: scene_scanner" in flattened and "file: input/cam1/a.mp4" in flattened
    assert "```line1\\nKilled```" in flattened
    telegram = format_payload(alert(), "telegram", chat_id="-100123")
    assert telegram["chat_id"] == "-100123" and "Killed" in telegram["text"]
    long = format_payload(alert(log_excerpt="x" * 10000), "telegram", chat_id="1")
    assert len(long["text"]) <= 4000
    with pytest.raises(ValueError, match="CHAT_ID"):
        format_payload(alert(), "telegram")
    with pytest.raises(ValueError, match="unknown"):
        format_payload(alert(), "xml")  # type: ignore[arg-type]


@pytest.mark.parametrize("payload_format", ["generic", "slack", "telegram"])
def test_each_format_is_delivered(hook, payload_format, tmp_path):
    dispatcher = AlertDispatcher(f"{hook.url}/hook", payload_format=payload_format, telegram_chat_id="42",
                                 dedup_state_path=tmp_path / DEDUP_STATE_NAME)
    result = dispatcher.send(alert())
    assert result.delivered and result.attempts == 1
    body = hook.bodies()[0]
    key = {"generic": "context", "slack": "blocks", "telegram": "chat_id"}[payload_format]
    assert key in body


def test_retries_with_exponential_backoff_until_delivered(tmp_path):
    sleeps = []
    with WebhookServer(statuses=[500, 503]) as hook:
        dispatcher = AlertDispatcher(hook.url, retries=3, retry_backoff_s=0.5, sleep=sleeps.append,
                                     dedup_state_path=tmp_path / DEDUP_STATE_NAME)
        result = dispatcher.send(alert())
    assert result.delivered and result.attempts == 3 and sleeps == [0.5, 1.0]
    assert len(hook.received) == 3


def test_gives_up_after_the_retries(tmp_path, caplog):
    sleeps = []
    with WebhookServer(statuses=[500] * 5) as hook, caplog.at_level(logging.ERROR, logger="vv.alerts"):
        result = AlertDispatcher(hook.url, retries=2, retry_backoff_s=1, sleep=sleeps.append).send(alert())
    assert not result.delivered and result.attempts == 3 and sleeps == [1, 2]
    assert "not delivered after 3 attempts" in caplog.text


def test_dedup_window_is_shared_through_the_state_file(hook, tmp_path):
    now = [1000.0]
    state = tmp_path / "state" / DEDUP_STATE_NAME

    def dispatcher():  # a new process each time, as with cron
        return AlertDispatcher(hook.url, dedup_window_s=60, dedup_state_path=state, clock=lambda: now[0])

    assert dispatcher().send(alert()).delivered
    second = dispatcher().send(alert())
    assert second.suppressed and not second.delivered
    assert dispatcher().send(alert(file="other.mp4")).delivered      # a different problem
    assert dispatcher().send(alert(fault="key_store_unreadable")).delivered   # another diagnosed fault
    assert dispatcher().send(alert(fault="key_store_unreadable")).suppressed
    now[0] += 61
    assert dispatcher().send(alert()).delivered                      # window over
    assert len(hook.received) == 4
    state.write_text("not json")
    assert dispatcher().send(alert()).delivered                      # a damaged record is not fatal


def test_send_alert_from_settings_and_no_webhook(settings, hook, caplog):
    configured = settings.model_copy(update={"alert_webhook_url": hook.url, "alert_webhook_format": "slack"})
    assert send_alert(alert(), configured).delivered
    assert "blocks" in hook.bodies()[0]
    assert (settings.storage.state / DEDUP_STATE_NAME).is_file()
    with caplog.at_level(logging.INFO, logger="vv.alerts"):
        result = send_alert(alert(file="b"), settings)  # no webhook: logged only
    assert result.delivered and result.attempts == 0 and "ALERT container down" in caplog.text
    broken = settings.model_copy(update={"alert_webhook_url": hook.url, "alert_webhook_format": "telegram"})
    assert not send_alert(alert(file="c"), broken).delivered      # no chat id: refused, logged


def test_send_alert_never_raises(settings, caplog):
    bad = settings.model_copy(update={"alert_webhook_url": "http://x", "video_storage_root": "/proc/nope"})
    with caplog.at_level(logging.ERROR, logger="vv.alerts"):
        assert not send_alert(alert(), bad).delivered
    assert "alert dispatch failed" in caplog.text


@pytest.mark.parametrize(("trigger", "kwargs", "title", "key", "value"), [
    (alert_triggers.container_failure, {"container": "tv_api", "message": "m", "log": "a\nb", "health": "h"},
     "container tv_api keeps failing", "container", "tv_api"),
    (alert_triggers.container_restarted, {"container": "scene_scanner", "message": "m", "health": "h"},
     "container scene_scanner restarted", "health_output", "h"),
    (alert_triggers.schema_validation_error, {"file": "analytic/x.json", "error": "field 'id'"},
     "schema validation error", "file", "analytic/x.json"),
    (alert_triggers.disk_low, {"path": "/data", "free_percent": 3.2, "threshold_percent": 10},
     "disk space low", "free_percent", 3.2),
    (alert_triggers.video_over_max_processing_time, {"file": "input/a.mp4", "elapsed_s": 4000, "limit_s": 3600},
     "video exceeds max processing time", "file", "input/a.mp4"),
    (alert_triggers.video_quarantined, {"file": "corrupted/a.mp4", "stage": "scan", "error": "e", "attempts": 1},
     "video quarantined", "stage", "scan"),
    (alert_triggers.videos_quarantined,
     {"quarantined": [("corrupted/a.mp4", "scan", "e"), ("corrupted/b.mp4", "scan", "e")], "alerted": 5},
     "more videos quarantined", "reasons", {"scan: e": 2}),
])
def test_triggers_deliver_alerts_with_the_standard_context(settings, hook, trigger, kwargs, title, key, value):
    configured = settings.model_copy(update={"alert_webhook_url": hook.url})
    assert trigger(configured, **kwargs).delivered
    body = hook.bodies()[0]
    assert body["title"] == title and body["context"][key] == value
    assert {"file", "container", "timestamp", "log_excerpt"} <= set(body["context"])
    assert body["context"]["timestamp"].endswith("Z")


def test_log_excerpt_keeps_the_tail():
    text = "\n".join(f"line {i}" for i in range(100))
    excerpt = alert_triggers.log_excerpt(text.encode())
    assert excerpt.splitlines()[0] == "line 80" and excerpt.endswith("line 99")
    assert alert_triggers.log_excerpt(None) == ""
    assert len(alert_triggers.log_excerpt("x" * 5000)) == 2000


def test_one_door_for_alerts_only():
    # raise_alert (no de-duplication, no retries) and the helpers only tests called are gone (issue 16).
    import vv_core.alerts as alerts

    assert not hasattr(alerts, "raise_alert")
    assert not any(hasattr(alert_triggers, name) for name in ("hmac_failure", "dvr_unreachable", "backup_failure"))
