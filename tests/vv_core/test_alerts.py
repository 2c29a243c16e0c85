import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from vv_core.alerts import Alert, send_alert


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204 if self.path == "/ok" else 500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()
    server.server_close()


def make_alert():
    return Alert("CRITICAL", "disk low", "3% free on /data", "orchestrator",
                 context={"file": "input/cam1/x.mp4", "log_excerpt": "No space left"})


def test_alert_is_posted_to_a_real_webhook_and_logged(webhook, settings, caplog):
    url, received = webhook
    with caplog.at_level(logging.WARNING, logger="vv.alerts"):
        assert send_alert(make_alert(), settings.model_copy(update={"alert_webhook_url": f"{url}/ok"})).delivered
    assert received[0]["title"] == "disk low"
    assert received[0]["context"]["file"] == "input/cam1/x.mp4"
    assert received[0]["timestamp"].endswith("Z")
    assert caplog.records[0].levelno == logging.CRITICAL


def test_delivery_failures_return_not_delivered_without_raising(webhook, settings):
    url, received = webhook
    once = {"alert_retries": 0, "alert_dedup_window_s": 0, "alert_timeout_s": 1}
    for target in (f"{url}/fail", "http://127.0.0.1:9/unreachable", "file:///etc/passwd"):
        result = send_alert(make_alert(), settings.model_copy(update={**once, "alert_webhook_url": target}))
        assert not result.delivered and not result.suppressed
    assert len(received) == 1  # only the real webhook was reached; file:// never is


def test_no_webhook_configured_only_logs(settings, caplog):
    with caplog.at_level(logging.INFO, logger="vv.alerts"):
        assert send_alert(Alert("INFO", "t", "m", "x"), settings).delivered
    assert "ALERT t: m" in caplog.text
