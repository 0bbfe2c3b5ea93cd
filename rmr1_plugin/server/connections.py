"""Connection limits below the app: at most ``max_connections`` open connections, and a deadline
for a request's headers, so slow or idle clients cannot hold the server's sockets forever.

The body's deadline (408) is the app's (``server.app``); a header line sent every few seconds
never reaches the app, so it is cut here, in uvicorn's HTTP protocol.

>>> protocol = guarded_protocol(max_connections=512, header_timeout_s=10.0)
>>> protocol.max_connections, protocol.header_timeout_s
(512, 10.0)
"""

from __future__ import annotations

import asyncio
import json
import logging

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("rmr1_plugin.server")


class _GuardedH11(H11Protocol):
    max_connections = 1024
    header_timeout_s = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            log.warning("refused a connection: %d open (--max-connections)", len(self.connections) - 1)
            self._refuse(503, f"server has {self.max_connections} connections open; retry later")
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection gets its own header deadline

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        waiting_for_headers = self.cycle is None or self.cycle.response_complete
        if waiting_for_headers and not self.transport.is_closing():
            self._refuse(408, f"request headers not received within {self.header_timeout_s:g} s")

    def _refuse(self, status: int, error: str) -> None:
        body = json.dumps({"error": error}).encode()
        reason = {408: b"Request Timeout", 503: b"Service Unavailable"}[status]
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, reason, len(body), body)
        )
        self.transport.close()


def guarded_protocol(max_connections: int, header_timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a connection cap and a header deadline (``uvicorn.run(http=...)``)."""
    return type(
        "GuardedH11Protocol",
        (_GuardedH11,),
        {"max_connections": max_connections, "header_timeout_s": header_timeout_s},
    )
