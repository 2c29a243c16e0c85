"""Attack tooling for the auth suites: raw HTTP requests that keep un-normalised paths (what
`curl --path-as-is` sends), from a chosen loopback source address, and the compose stack's nginx
front (the one config in nginx/, rendered with deploy/nginx/compose.env) run on loopback in front
of a live tv_api."""

import http.client
import shutil
import socket
import ssl
import subprocess
import sys
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
    """The compose stack's front: the one nginx config rendered with deploy/nginx/compose.env (what
    its image is built from), run on loopback. Only what cannot exist here is replaced: the service
    names become the test's tv_api, /data the test's storage root, the container's port and paths a
    temp prefix. Each replaced key must be in the shipped file, so a change to it that this harness no
    longer understands fails loudly; every other value (VV_TLS=off included) is used as shipped."""

    def __init__(self, prefix: Path, storage_root: Path, upstream_port: int, mirror_port: int | None = None) -> None:
        sys.path.insert(0, str(REPO_ROOT / "nginx"))
        from render_config import read_values, render_site

        self.prefix = prefix
        prefix.mkdir(parents=True, exist_ok=True)
        self.values = read_values(REPO_ROOT / "deploy" / "nginx" / "compose.env")
        loopback = {
            "VV_STORAGE_ROOT": str(storage_root),
            "VV_TV_API_UPSTREAM": f"127.0.0.1:{upstream_port}",
            "VV_MIRROR_UPSTREAM": f"127.0.0.1:{mirror_port or upstream_port}",
            "VV_NGINX_CACHE_DIR": str(prefix / "cache"),
            "VV_ACCESS_LOG": "off",
        }
        for key in (*loopback, "VV_HTTP_PORT"):
            assert key in self.values, f"deploy/nginx/compose.env no longer sets {key}"
        assert self.values["VV_TLS"] == "off", "the compose front is plain HTTP inside its network"
        self._render = lambda: render_site(prefix / "conf", {
            **self.values, **loopback, "VV_HTTP_PORT": f"127.0.0.1:{self.port}"})
        self.port = free_port()
        self._render()
        self.process: subprocess.Popen | None = None

    def command(self, *extra: str) -> list[str]:
        # As the image runs it (deploy/nginx/Dockerfile's CMD sets pid and error_log the same way).
        globals_ = f"user root; pid {self.prefix}/nginx.pid; error_log {self.prefix}/error.log warn;"
        return ["nginx", "-p", f"{self.prefix}/", "-c", f"{self.prefix}/conf/nginx.conf", "-g", globals_, *extra]

    def test_config(self) -> subprocess.CompletedProcess:
        return subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)

    def answers(self) -> bool:
        try:
            raw_request(self.port, "/healthz", timeout=1)
        except OSError:
            return False
        return True

    def take_new_ports(self) -> None:
        self.port = free_port()
        self._render()


def nginx_available() -> bool:
    return shutil.which("nginx") is not None
