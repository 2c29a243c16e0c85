"""Attack tooling for the auth suites: raw HTTP requests that keep un-normalised paths (what
`curl --path-as-is` sends), from a chosen loopback source address, and the compose stack's nginx
front (the one config in nginx/, rendered with deploy/nginx/compose.env) run on loopback in front
of a live tv_api."""

import http.client
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import threading
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
    names become the test's tv_api (or keep their names, on the test's ports, resolved by the test's
    DNS server), /data the test's storage root, the container's port and paths a
    temp prefix. Each replaced key must be in the shipped file, so a change to it that this harness no
    longer understands fails loudly; every other value (VV_TLS=off included) is used as shipped."""

    def __init__(self, prefix: Path, storage_root: Path, upstream_port: int, mirror_port: int | None = None,
                 *, resolver: str | None = None) -> None:
        """``resolver``: keep the shipped service names (on the test's ports) and resolve them through
        this resolver (a TinyDns on loopback); without it the upstreams are loopback addresses."""
        sys.path.insert(0, str(REPO_ROOT / "nginx"))
        from render_config import read_values, render_site

        self.prefix = prefix
        prefix.mkdir(parents=True, exist_ok=True)
        self.values = read_values(REPO_ROOT / "deploy" / "nginx" / "compose.env")
        ports = {"VV_TV_API_UPSTREAM": upstream_port, "VV_MIRROR_UPSTREAM": mirror_port or upstream_port}
        for key in (*ports, "VV_HTTP_PORT", "VV_STORAGE_ROOT", "VV_NGINX_CACHE_DIR", "VV_ACCESS_LOG"):
            assert key in self.values, f"deploy/nginx/compose.env no longer sets {key}"
        if resolver is None:
            upstreams = {key: f"127.0.0.1:{port}" for key, port in ports.items()}
        else:
            assert "VV_RESOLVER" in self.values, "deploy/nginx/compose.env no longer sets VV_RESOLVER"
            upstreams = {key: f"{self.values[key].rpartition(':')[0]}:{port}" for key, port in ports.items()}
            upstreams["VV_RESOLVER"] = resolver
        loopback = {
            **upstreams,
            "VV_STORAGE_ROOT": str(storage_root),
            "VV_NGINX_CACHE_DIR": str(prefix / "cache"),
            "VV_ACCESS_LOG": "off",
        }
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


class TinyDns:
    """A DNS server on loopback (UDP) answering A queries from ``names`` (name → IPv4), which a test
    may change while it runs: what Docker's embedded DNS does when a container gets a new address."""

    def __init__(self, names: dict[str, str], ttl: int = 1) -> None:
        self.names = dict(names)
        self.ttl = ttl
        self.queries: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                query, client = self.sock.recvfrom(512)
                self.sock.sendto(self.answer(query), client)
            except OSError:
                return  # closed
            except (IndexError, struct.error, UnicodeDecodeError):
                continue  # not a query we understand: no answer, the client times out

    def answer(self, query: bytes) -> bytes:
        ident, flags = struct.unpack("!HH", query[:4])
        end, labels = 12, []
        while query[end]:
            labels.append(query[end + 1:end + 1 + query[end]].decode())
            end += 1 + query[end]
        qtype = struct.unpack("!H", query[end + 1:end + 3])[0]
        question = query[12:end + 5]
        name = ".".join(labels).lower()
        self.queries.append(name)
        address = self.names.get(name)
        records = b""
        if address and qtype == 1:  # A, IN; the name is a pointer to the question's (offset 12)
            records = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, self.ttl, 4) + socket.inet_aton(address)
        rcode = 0 if address else 3  # NXDOMAIN for a name we do not know
        header = struct.pack("!HHHHHH", ident, 0x8480 | (flags & 0x0100) | rcode, 1, 1 if records else 0, 0, 0)
        return header + question + records

    def close(self) -> None:
        self.sock.close()


def nginx_available() -> bool:
    return shutil.which("nginx") is not None
