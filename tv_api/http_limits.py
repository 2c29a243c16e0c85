"""Bounds uvicorn's httptools protocol lacks: a cap on the request head and a deadline per request.

uvicorn (httptools) accepts a request head of any size and keeps a connection that sends nothing,
or half a request, for ever (its keep-alive timer only runs *between* requests). A probe held 300
such connections and sent 30 MB of headers. Here:

- the request line + headers may hold at most MAX_HEAD_BYTES in MAX_HEADERS fields, else the
  client gets 431 and the connection is closed (nginx's own limit, 4 × 8k, is below this);
- a request must arrive whole (head and body) within ``request_timeout_s`` of its first byte, or of
  the connection's opening; otherwise the connection is closed. A response may take as long as it
  needs (the MJPEG mirror streams for an hour): only the client's sending is timed.
"""

from asyncio import TimerHandle

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 32 * 1024
MAX_HEADERS = 100

_TOO_LARGE_BODY = b'{"detail":"request header fields too large"}'
_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
              b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TOO_LARGE_BODY), _TOO_LARGE_BODY))


class HeadTooLarge(Exception):
    pass


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    request_timeout_s = 10.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._request_timer: TimerHandle | None = None
        self._head_bytes = 0
        self._head_fields = 0
        self._head_too_large = False

    # --- the per-request deadline ---
    def _arm(self) -> None:
        if self._request_timer is None:
            self._request_timer = self.loop.call_later(self.request_timeout_s, self._request_timed_out)

    def _disarm(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None

    def _request_timed_out(self) -> None:
        self._request_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = self._head_fields = 0
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    # --- the head cap ---
    def _count(self, size: int, fields: int = 0) -> None:
        self._head_bytes += size
        self._head_fields += fields
        if self._head_bytes > MAX_HEAD_BYTES or self._head_fields > MAX_HEADERS:
            self._head_too_large = True
            raise HeadTooLarge  # stops the parser; uvicorn then calls send_400_response

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value), 1)
        super().on_header(name, value)

    def send_400_response(self, msg: str) -> None:
        if not self._head_too_large:
            super().send_400_response(msg)
            return
        self._disarm()
        self.transport.write(_TOO_LARGE)
        self.transport.close()


def bounded_protocol(request_timeout_s: float) -> type[BoundedHttpToolsProtocol]:
    """The protocol class for uvicorn.Config(http=...), with this deadline."""
    return type("BoundedHttpToolsProtocol", (BoundedHttpToolsProtocol,), {"request_timeout_s": request_timeout_s})
