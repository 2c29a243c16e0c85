"""agent_dvr's small HTTP endpoint (stdlib): the latest snapshot per camera, metrics and health.

GET /snapshot/<camera>.jpg   latest JPEG (404 until the first one exists); Last-Modified + X-Snapshot-Age
GET /metrics                 Prometheus text format
GET /healthz                 JSON: each camera's state, segment count, last segment

Only configured camera names are served, so a request can never name a path of its own.
"""

import json
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry


class DvrHttpServer:
    def __init__(self, host: str, port: int, snapshots_dir: Path, cameras: list[str],
                 registry: CollectorRegistry, health: Callable[[], dict[str, Any]]) -> None:
        allowed = set(cameras)

        class Handler(BaseHTTPRequestHandler):
            server_version = "vv-agent-dvr"

            def log_message(self, format: str, *args: Any) -> None:
                return  # access logs would drown the JSON logs (the MJPEG mirror polls often)

            def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
                elif path == "/healthz":
                    self._send(200, json.dumps(health()).encode(), "application/json")
                elif path.startswith("/snapshot/") and path.endswith(".jpg"):
                    camera = path[len("/snapshot/"):-len(".jpg")]
                    if camera not in allowed:
                        self._send(404, b'{"error":"unknown camera"}', "application/json")
                        return
                    snapshot = snapshots_dir / f"{camera}.jpg"
                    try:
                        body = snapshot.read_bytes()
                        modified = snapshot.stat().st_mtime
                    except FileNotFoundError:
                        self._send(404, b'{"error":"no snapshot yet"}', "application/json")
                        return
                    self._send(200, body, "image/jpeg", {
                        "Last-Modified": formatdate(modified, usegmt=True),
                        "X-Snapshot-Age": f"{max(0.0, time.time() - modified):.1f}",
                    })
                else:
                    self._send(404, b'{"error":"not found"}', "application/json")

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="dvr-http", daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def start(self) -> "DvrHttpServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
