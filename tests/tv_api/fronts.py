"""Attack tooling for the auth suites: raw HTTP requests that keep un-normalised paths (what
`curl --path-as-is` sends), from a chosen loopback source address, and the compose stack's nginx
front (deploy/nginx/nginx.conf) run on loopback in front of a live tv_api."""

import http.client
import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import REPO_ROOT
from tests.tv_api.support import NginxHarness, free_port

# Every way the outside probe reached a protected file through a public prefix, plus relatives.
# Each names a real file (clip_a) or playlist (tv1) once normalised.
CLIP = "processed/cam1/20261121T101500Z.mp4"
TRAVERSALS = (
    f"/media/fallback/../{CLIP}",
    f"/media/fallback/%2e%2e/{CLIP}",
    f"/media/fallback/%2E%2E/{CLIP}",
    f"/media/fallback/.%2e/{CLIP}",
    f"/media/fallback/%2e./{CLIP}",
    f"/media/fallback/./../{CLIP}",
    f"/media/fallback//../{CLIP}",
    f"/media/fallback/..%2f{CLIP}",
    f"/media/fallback/%2e%2e%2f{CLIP}",
    f"/media/fallback/..%5c{CLIP}",
    f"/media/fallback/..\\{CLIP}",
    f"/ui/../media/{CLIP}",
    f"/ui/x/../../media/{CLIP}",
    "/ui/../api/playlists/tv1",
    "/ui/x/../../api/playlists/tv1",
    "/ui/tv/%2e%2e/%2e%2e/api/playlists/tv1",
    "/tv.html/../api/playlists/tv1",
    "/healthz/../api/playlists/tv1",
    "/api/auth/login/../../playlists/tv1",
    "/media/fallback/%252e%252e/" + CLIP,
    "/media/fallback/%00/../" + CLIP,
    "//api/playlists/tv1",
    "/ui/x/../../status",
    "/media/fallback/../../../etc/passwd",
)
SUCCESS = (200, 206, 304)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(port: int, path: str, headers: dict[str, str] | None = None, *, tls: bool = False,
                source: str | None = None, method: str = "GET", body: bytes | None = None,
                timeout: float = 20.0) -> Answer:
    """One request with the path sent byte for byte (http.client normalises nothing)."""
    source_address = (source, 0) if source else None
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the test's self-signed certificate
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=context,
                                           source_address=source_address)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=source_address)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the peer closes (EOF or reset) within ``within`` seconds."""
    sock.settimeout(within)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


class DeployNginx(NginxHarness):
    """deploy/nginx/nginx.conf (the compose front) adapted to loopback: the service names become the
    test's tv_api address, the container paths a temp prefix. Every substitution must apply, so a
    change to the shipped file that this harness no longer understands fails loudly."""

    def __init__(self, prefix: Path, upstream_port: int) -> None:
        self.prefix = prefix
        self.port = free_port()
        prefix.mkdir(parents=True, exist_ok=True)
        text = (REPO_ROOT / "deploy" / "nginx" / "nginx.conf").read_text()
        replacements = {
            "pid /run/nginx/nginx.pid;": f"pid {prefix}/nginx.pid;",
            "error_log /dev/stderr warn;": f"error_log {prefix}/error.log warn;",
            "access_log /dev/stdout;": "access_log off;",
            "/var/cache/nginx/": f"{prefix}/",
            "listen 8080;": f"listen 127.0.0.1:{self.port};",
            "http://tv_api:8000": f"http://127.0.0.1:{upstream_port}",
            "http://mirror:8000": f"http://127.0.0.1:{upstream_port}",
            "include /etc/nginx/mime.types;": f"include {REPO_ROOT}/nginx/mime.types;",
            "include /etc/nginx/vv_bad_path;": f"include {REPO_ROOT}/nginx/templates/vv_bad_path;",
        }
        for old, new in replacements.items():
            assert old in text, f"deploy/nginx/nginx.conf no longer has {old!r}"
            text = text.replace(old, new)
        self._listen = f"listen 127.0.0.1:{self.port};"
        self._text = text
        self.conf = prefix / "nginx.conf"
        self.conf.write_text(text)
        self.process: subprocess.Popen | None = None

    def command(self, *extra: str) -> list[str]:
        return ["nginx", "-p", f"{self.prefix}/", "-c", str(self.conf), "-g", "user root;", *extra]

    def answers(self) -> bool:
        try:
            return raw_request(self.port, "/nginx-health", timeout=1).status == 200
        except OSError:
            return False

    def take_new_ports(self) -> None:
        self.port = free_port()
        self.conf.write_text(self._text.replace(self._listen, f"listen 127.0.0.1:{self.port};"))


def nginx_available() -> bool:
    return shutil.which("nginx") is not None
