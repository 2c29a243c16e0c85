import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from vv_core.alerts import Alert, raise_alert


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


def test_alert_is_posted_to_a_real_webhook_and_logged(webhook, caplog):
    url, received = webhook
    with caplog.at_level(logging.WARNING, logger="vv.alerts"):
        assert raise_alert(make_alert(), f"{url}/ok")
    assert received[0]["title"] == "disk low"
    assert received[0]["context"]["file"] == "input/cam1/x.mp4"
    assert received[0]["timestamp"].endswith("Z")
    assert caplog.records[0].levelno == logging.CRITICAL


def test_delivery_failures_return_false_without_raising(webhook):
    url, _ = webhook
    assert raise_alert(make_alert(), f"{url}/fail") is False
    assert raise_alert(make_alert(), "http://127.0.0.1:9/unreachable", timeout_s=1) is False
    assert raise_alert(make_alert(), "file:///etc/passwd") is False


def test_no_webhook_configured_only_logs(caplog):
    with caplog.at_level(logging.INFO, logger="vv.alerts"):
        assert raise_alert(Alert("INFO", "t", "m", "x"))
    assert "ALERT t: m" in caplog.text
