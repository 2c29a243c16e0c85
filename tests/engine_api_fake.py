"""A Docker Engine API endpoint on a unix socket that answers with recorded response shapes.

No Docker engine runs on this box (the deployment engineer owns dockerd), so the Docker SDK is
exercised against a real HTTP server speaking the Engine API v1.41 wire format: the JSON bodies
are in the shapes ``docker inspect`` / ``docker exec`` return (trimmed to the fields docker-py and
our code read), and exec/logs output uses the engine's 8-byte-header multiplexed stream framing.
docker-py itself (the real SDK) does all the talking.
"""

import json
import re
import socketserver
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any


def frame(stream: int, data: bytes) -> bytes:
    """One frame of the engine's multiplexed stream (1 = stdout, 2 = stderr)."""
    return struct.pack(">BxxxL", stream, len(data)) + data


def container_attrs(name: str, status: str = "running", health: str | None = None, exit_code: int = 0,
                    started_at: str = "2026-11-21T10:00:00.123456789Z", health_output: str = "") -> dict:
    """`GET /containers/{id}/json` as the engine returns it (fields used by docker-py and us)."""
    state: dict[str, Any] = {
        "Status": status, "Running": status == "running", "Paused": False, "Restarting": status == "restarting",
        "OOMKilled": False, "Dead": status == "dead", "Pid": 4242 if status == "running" else 0,
        "ExitCode": exit_code, "Error": "", "StartedAt": started_at, "FinishedAt": "0001-01-01T00:00:00Z",
    }
    if health is not None:
        state["Health"] = {"Status": health, "FailingStreak": 3 if health == "unhealthy" else 0,
                           "Log": [{"Start": started_at, "End": started_at, "ExitCode": 1,
                                    "Output": health_output or f"{name} health probe output"}]}
    return {
        "Id": f"{name}-0123456789abcdef", "Created": "2026-11-21T09:59:58.000000000Z", "Path": "vv",
        "Args": ["serve"], "State": state, "Image": "sha256:" + "ab" * 32, "Name": f"/{name}",
        "RestartCount": 0, "Config": {"Hostname": name, "Tty": False, "Image": f"vv/{name}:latest",
                                      "Labels": {"com.docker.compose.service": name}},
    }


@dataclass
class FakeEngine:
    containers: dict[str, dict] = field(default_factory=dict)
    # command → (exit code, stdout, stderr); looked up by the stage word in the exec argv.
    exec_results: dict[str, tuple[int, bytes, bytes]] = field(default_factory=dict)
    logs: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    _execs: dict[str, dict] = field(default_factory=dict)

    def by_id(self, ident: str) -> dict | None:
        for name, attrs in self.containers.items():
            if ident in (name, attrs["Id"]):
                return attrs
        return None


def make_handler(engine: FakeEngine):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args):
            pass

        def reply(self, code: int, body: Any = None, content_type: str = "application/json") -> None:
            data = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Api-Version", "1.41")
            self.end_headers()
            self.wfile.write(data)

        def body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            return json.loads(raw) if raw else None

        def route(self, method: str) -> None:
            path = re.sub(r"^/v[0-9.]+", "", self.path.split("?", 1)[0])
            payload = self.body() if method == "POST" else None
            engine.requests.append((method, self.path, payload))
            if path == "/_ping":
                return self.reply(200, b"OK", "text/plain")
            if path == "/version":
                return self.reply(200, {"ApiVersion": "1.41", "Version": "20.10.24"})
            match = re.fullmatch(r"/containers/([^/]+)/(json|exec|restart|logs)", path)
            if match:
                attrs = engine.by_id(match.group(1))
                if attrs is None:
                    return self.reply(404, {"message": f"No such container: {match.group(1)}"})
                action = match.group(2)
                if action == "json":
                    return self.reply(200, attrs)
                if action == "restart":  # like Docker, a restart through the API resets RestartCount
                    attrs["State"].update(Status="running", Running=True, StartedAt=time.strftime(
                        "%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime()))
                    attrs["RestartCount"] = 0
                    return self.reply(204)
                if action == "logs":
                    data = engine.logs.get(attrs["Name"].lstrip("/"), b"")
                    return self.reply(200, frame(1, data), "application/vnd.docker.raw-stream")
                exec_id = f"exec{len(engine._execs)}"
                engine._execs[exec_id] = {"cmd": payload["Cmd"], "exit": None}
                return self.reply(201, {"Id": exec_id})
            match = re.fullmatch(r"/exec/([^/]+)/(start|json)", path)
            if match and match.group(1) in engine._execs:
                record = engine._execs[match.group(1)]
                if match.group(2) == "json":
                    return self.reply(200, {"ID": match.group(1), "Running": False, "ExitCode": record["exit"],
                                            "ProcessConfig": {"entrypoint": record["cmd"][0]}})
                stage = next((w for w in record["cmd"] if w in engine.exec_results), None)
                code, out, err = engine.exec_results.get(stage, (127, b"", b"exec: not found\n"))
                record["exit"] = code
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.docker.raw-stream")
                self.end_headers()
                self.wfile.flush()
                # The engine hijacks the connection and streams output after the headers; docker-py
                # reads the raw socket beneath the HTTP response, so the frames come separately.
                time.sleep(0.05)
                self.wfile.write((frame(1, out) if out else b"") + (frame(2, err) if err else b""))
                self.wfile.flush()
                return None
            return self.reply(404, {"message": f"page not found: {path}"})

        def do_GET(self):
            self.route("GET")

        def do_POST(self):
            self.route("POST")

    return Handler


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        request, _ = super().get_request()
        return request, ("local", 0)  # BaseHTTPRequestHandler expects (host, port)


class EngineServer:
    def __init__(self, socket_path: Path, engine: FakeEngine) -> None:
        self.socket_path = socket_path
        self.engine = engine
        self.server = _Server(str(socket_path), make_handler(engine))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"unix://{self.socket_path}"

    def __enter__(self) -> "EngineServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def client(self):
        import docker

        return docker.DockerClient(base_url=self.base_url, version="1.41", timeout=10)
