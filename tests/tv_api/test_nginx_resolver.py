"""The compose front resolves tv_api and the mirror per request (Docker's DNS), so it follows a
container that was restarted or recreated with a new address without an nginx restart; the box's
front keeps its upstream group (loopback, kept-alive connections). Both proxy through the same
variables, so every location must still forward the client's path and query unchanged."""

import http.server
import re
import shutil
import socket
import threading
import time

import pytest

from tests.helpers import REPO_ROOT
from tests.tv_api.fronts import DeployNginx, TinyDns, raw_request
from tests.tv_api.support import NginxProcess

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed (setup_env.sh)")
PROXY_PASS = re.compile(r"\bproxy_pass\s+([^;]+);")


def rendered(conf_dir) -> str:
    """Every rendered file of the site, comments left out."""
    text = "\n".join(path.read_text() for path in sorted((conf_dir / "conf.d").iterdir()))
    return re.sub(r"#.*", "", text)


def shipped_values() -> dict[str, str]:
    import sys

    sys.path.insert(0, str(REPO_ROOT / "nginx"))
    from render_config import read_values

    return read_values(REPO_ROOT / "deploy" / "nginx" / "compose.env")


def test_compose_rendering_resolves_the_service_names_per_request(tmp_path):
    """As shipped (names, ports, resolver): `nginx -t` passes on a host where `tv_api` does not
    resolve, because nothing is resolved at start-up: no upstream group, every proxy_pass a variable."""
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("tv_api", 8000)
    values = shipped_values()
    (tmp_path / "storage").mkdir()
    nginx = DeployNginx(tmp_path / "nginx", tmp_path / "storage", 8000, 8000, resolver=values["VV_RESOLVER"])
    conf = rendered(tmp_path / "nginx" / "conf")
    assert f"resolver {values['VV_RESOLVER']};" in conf
    assert "valid=" in values["VV_RESOLVER"]  # Docker's DNS answers with TTL 600; nginx must ask again sooner
    assert not re.search(r"^\s*upstream\s", conf, re.MULTILINE)
    targets = set(PROXY_PASS.findall(conf))
    assert targets == {"$vv_tv_api", "$vv_tv_api/api/auth/check", "$vv_mirror"}, targets
    assert "default http://tv_api:8000;" in conf and "default http://mirror:8000;" in conf
    result = nginx.test_config()
    assert result.returncode == 0, result.stderr


def test_box_rendering_keeps_its_upstream_group_with_keepalive(tmp_path):
    (tmp_path / "storage").mkdir()
    NginxProcess(tmp_path / "nginx", tmp_path / "storage", "127.0.0.1:8000")
    conf = rendered(tmp_path / "nginx" / "conf")
    assert "resolver" not in conf
    assert re.search(r"upstream tv_api \{\s*server 127\.0\.0\.1:8000;\s*keepalive 32;", conf)
    # The same variables as the compose front, naming the upstream groups here.
    assert "default http://tv_api;" in conf and "default http://vv_mirror;" in conf
    assert set(PROXY_PASS.findall(conf)) == {"$vv_tv_api", "$vv_tv_api/api/auth/check", "$vv_mirror"}


class Recorder(http.server.ThreadingHTTPServer):
    """A stand-in for tv_api (and the mirror) at one address: records what it was asked, says yes to
    every auth check and answers anything else with its own label."""

    def __init__(self, address: tuple[str, int], label: str) -> None:
        self.label = label.encode()
        self.seen: list[tuple[str, str | None]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                recorder.seen.append((self.path, self.headers.get("X-Original-URI")))
                body = b"" if self.path == "/api/auth/check" else recorder.label
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(address, Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.mark.slow
def test_compose_front_follows_tv_api_to_a_new_address(tmp_path):
    """tv_api answers at 127.0.0.2, then is recreated at 127.0.0.3 (same port, new address in DNS):
    the running front reaches the new one within the resolver's valid= time, with no restart. On the
    way, every location forwards the client's path and query as they came."""
    root = tmp_path / "storage"
    clip = root / "processed" / "cam1" / "clip.mp4"
    clip.parent.mkdir(parents=True)
    clip.write_bytes(b"video bytes")
    old = Recorder(("127.0.0.2", 0), "old")
    port = old.server_address[1]
    dns = TinyDns({"tv_api": "127.0.0.2", "mirror": "127.0.0.2"})
    nginx = new = None
    try:
        nginx = DeployNginx(tmp_path / "nginx", root, port, port,
                            resolver=f"127.0.0.1:{dns.port} valid=1s ipv6=off").start()
        for path in ("/api/playlists/tv1?since=3&x=a%20b", "/api/auth/login?next=/ui/", "/mirror/cam1?fps=2",
                     "/ui/tv.html"):
            answer = raw_request(nginx.port, path)
            assert (answer.status, answer.body) == (200, b"old"), path
            assert old.seen[-1] == (path, None)
        media = raw_request(nginx.port, "/media/processed/cam1/clip.mp4?t=1", {"Authorization": "Bearer x"})
        assert (media.status, media.body) == (200, b"video bytes")  # from disk, after the auth check
        assert old.seen[-1] == ("/api/auth/check", "/media/processed/cam1/clip.mp4?t=1")
        assert {"tv_api", "mirror"} <= set(dns.queries)

        old.close()
        new = Recorder(("127.0.0.3", port), "new")
        dns.names["tv_api"] = "127.0.0.3"
        moved = time.monotonic()
        while raw_request(nginx.port, "/healthz").body != b"new":
            assert time.monotonic() - moved < 10, "the front still asks tv_api's old address"
            time.sleep(0.2)
        assert raw_request(nginx.port, "/api/playlists/tv1?a=1").body == b"new"
        assert new.seen[-1] == ("/api/playlists/tv1?a=1", None)
        media = raw_request(nginx.port, "/media/processed/cam1/clip.mp4?t=2", {"Authorization": "Bearer x"})
        assert media.status == 200 and new.seen[-1] == ("/api/auth/check", "/media/processed/cam1/clip.mp4?t=2")
    finally:
        if nginx is not None:
            nginx.stop()
        for server in (old, new):
            if server is not None and server.socket.fileno() != -1:
                server.close()
        dns.close()
