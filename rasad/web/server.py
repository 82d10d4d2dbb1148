"""How the app is served: uvicorn on h11, whose refusals of unreadable requests are problem
details too.

uvicorn answers a request it cannot parse with its own ``text/plain`` 400. That included a
request head (request line and headers) over h11's buffer limit, which h11 applies only while
a head is still incomplete, so the cut-off depended on how the bytes arrived (~16 to 256 KB).
Here the buffer limit is ``RASAD_WEB_MAX_HEAD_BYTES`` and the refusal is problem+json: 414
when the request line never ended, 431 when the headers did not, 400 when the request is
malformed. The request guard refuses a URL over ``RASAD_WEB_MAX_URL_BYTES`` with the same
414, so a long URL gets one answer wherever the cut falls.
"""

from __future__ import annotations

from http import HTTPStatus

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from rasad.core.settings import Settings
from rasad.web.problems import MEDIA_TYPE, problem_body

# After refusing a request, keep reading (and dropping) what the client still sends for this
# long before closing: closing with unread bytes sends a TCP reset, which can destroy the
# refusal before the client reads it. A client sending a 1 MB URL on loopback takes ms.
LINGER_S = 2.0


def diagnose(head: bytes, limit: int) -> tuple[int, str]:
    """The status and words for a request h11 refused, from the bytes it had buffered."""
    if len(head) <= limit:
        return 400, "malformed HTTP request"
    if b"\n" not in head[:limit]:
        return 414, f"the request line is over {limit} bytes (RASAD_WEB_MAX_HEAD_BYTES)"
    return 431, f"the request headers are over {limit} bytes (RASAD_WEB_MAX_HEAD_BYTES)"


class ProblemH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, refusing unreadable requests with problem details."""

    lingering = False

    def data_received(self, data: bytes) -> None:
        if not self.lingering:
            super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        limit = self.config.h11_max_incomplete_event_size or 0
        status, detail = diagnose(self.conn.trailing_data[0], limit)
        body = problem_body(status, detail)
        headers = [
            (b"content-type", MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        reason = HTTPStatus(status).phrase.encode()
        for event in (
            h11.Response(status_code=status, headers=headers, reason=reason),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.lingering = True
        self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)


def server_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    """The uvicorn configuration of `rasad serve` (and of the tests' live servers)."""
    return uvicorn.Config(
        app,
        host=settings.web_host,
        port=settings.web_port,
        http=ProblemH11Protocol,
        h11_max_incomplete_event_size=settings.web_max_head_bytes,
        # uvicorn's records go through our JSON logging like everything else.
        log_config=None,
        proxy_headers=False,
    )
