"""`vv serve`: run tv_api under uvicorn (uvloop + httptools when installed).

Bounded for clients that do not play fair (tv_api must be safe without nginx in front): a request
head of at most 32 KB / 100 fields, a whole request within TV_API_REQUEST_TIMEOUT_S, idle
keep-alive connections closed after 5 s, at most TV_API_MAX_CONNECTIONS connections
(tv_api/http_limits.py; h11's own head limit when httptools is missing).

The listening socket is bound here, not by uvicorn, so port 0 works: the chosen address is logged
as one JSON line ("listening", host, port) that tests and scripts can read.
"""

import errno
import json
import logging
import socket

import uvicorn

from tv_api.app import create_app
from tv_api.settings import TvApiSettings
from vv_core.errors import VVError
from vv_core.jsonlog import start_process

log = logging.getLogger("tv_api")


def _best(module: str, fast: str, fallback: str) -> str:
    try:
        __import__(module)
    except ImportError:
        return fallback
    return fast


# Above nginx's upstream keepalive_timeout (4 s in nginx/templates), so nginx never reuses a
# connection tv_api is closing.
KEEP_ALIVE_S = 5
H11_MAX_HEAD_BYTES = 32 * 1024  # = http_limits.MAX_HEAD_BYTES (that module needs httptools)


def _http_protocol(request_timeout_s: float):
    try:
        from tv_api.http_limits import bounded_protocol
    except ImportError:  # no httptools: h11, with its own cap on the request head (no deadline)
        return "h11"
    return bounded_protocol(request_timeout_s)


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise VVError(f"port {port} on {host} is already in use: stop what listens there "
                          f"(ss -ltnp 'sport = :{port}') or choose another with TV_API_PORT or --port") from None
        if exc.errno == errno.EACCES:
            raise VVError(f"port {port} on {host} needs privileges: use a port above 1023 "
                          "(TV_API_PORT or --port)") from None
        raise VVError(f"cannot listen on {host}:{port}: {exc.strerror} (check TV_API_HOST/TV_API_PORT)") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(settings: TvApiSettings, host: str | None = None, port: int | None = None) -> None:
    start_process("tv_api", settings)
    app = create_app(settings)
    sock = bind_socket(host or settings.tv_api_host, settings.tv_api_port if port is None else port)
    bound_host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app, loop=_best("uvloop", "uvloop", "asyncio"), http=_http_protocol(settings.tv_api_request_timeout_s),
        access_log=False, log_config=None, server_header=False, proxy_headers=False,
        timeout_graceful_shutdown=3, timeout_keep_alive=KEEP_ALIVE_S,
        limit_concurrency=settings.tv_api_max_connections, h11_max_incomplete_event_size=H11_MAX_HEAD_BYTES,
    )
    # Printed whatever LOG_LEVEL says: supervisors and tests read the port chosen for port 0 here.
    print(json.dumps({"message": "listening", "host": bound_host, "port": bound_port}), flush=True)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":  # python -m tv_api.server (the container entry point)
    serve(TvApiSettings())
