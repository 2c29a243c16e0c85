"""`vv serve` wiring: the socket is bound before uvicorn starts (port 0 works) and the fast event
loop and parser are chosen when installed."""

import json
import runpy
import socket

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tv_api import server


def test_serve_binds_the_socket_and_prints_the_chosen_port(api_settings, monkeypatch, capsys):
    captured = {}

    def fake_run(self, sockets=None):  # record instead of serving forever
        captured["config"], captured["sockets"] = self.config, sockets

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    server.serve(api_settings, host="127.0.0.1", port=0)
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    sock = captured["sockets"][0]
    try:
        assert line == {"message": "listening", "host": "127.0.0.1", "port": sock.getsockname()[1]}
        assert line["port"] > 0
        config = captured["config"]
        assert config.loop == "uvloop" and issubclass(config.http, HttpToolsProtocol)  # httptools, bounded
        assert config.http.request_timeout_s == api_settings.tv_api_request_timeout_s
        assert config.limit_concurrency == api_settings.tv_api_max_connections
        assert config.timeout_keep_alive == server.KEEP_ALIVE_S
        assert config.access_log is False
    finally:
        sock.close()
    assert (api_settings.storage.logs / "app.log").exists()


def test_fallbacks_when_the_fast_libraries_are_missing():
    assert server._best("no_such_module_anywhere", "fast", "portable") == "portable"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    six = server.bind_socket("::1", 0)
    try:
        assert six.family == socket.AF_INET6
    finally:
        six.close()
    four = server.bind_socket("127.0.0.1", port)
    four.close()


def test_python_dash_m_tv_api_serves_with_the_environment_settings(monkeypatch):
    called = {}
    monkeypatch.setattr(server, "serve", lambda settings: called.setdefault("settings", settings))
    runpy.run_module("tv_api", run_name="__main__")
    assert called["settings"].tv_api_port == 8000
