"""TRACE, answered by the front end itself: runs on a worker's event loop.

As Apache's core does (``ap_send_http_trace``, a map_to_storage hook: after
the path is decoded, before access control, any handler, app or file), by
the virtual host's ``TraceEnable``:

* ``on`` (the default): 200, ``message/http``, the request echoed back
  (:func:`wsgihost.httpcore.trace_echo`); a request with a body is refused
  with 413 and the connection closed, the body unread;
* ``extended``: the same, with a body of up to 64 KiB echoed too;
* ``off``: 405, with an empty ``Allow`` as Apache sends it.

The answer has no Content-Length (chunked under HTTP/1.1), as Apache's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wsgihost import httpcore
from wsgihost.config.model import Host
from wsgihost.frontend import errordocs

if TYPE_CHECKING:
    from wsgihost.frontend.exchange import Exchange, Request

BODY_LIMIT = 64 * 1024  # TraceEnable extended: the largest body echoed


def answer(conn: Exchange, req: Request, host: Host) -> None:
    """Answer ``req``, a TRACE for ``host``, without any app."""
    mode = host.trace_enable
    if mode == "off":
        errordocs.answer(conn, req, 405, headers=[("Allow", "")])
        return
    if req.has_body:
        declared = req.head.header(b"content-length")
        if mode != "extended" or (declared is not None and int(declared) > BODY_LIMIT):
            _refuse_body(conn, req)
            return
        conn.loop.create_task(_echo_with_body(conn, req))
        return
    _echo(conn, req, b"")


def _refuse_body(conn: Exchange, req: Request) -> None:
    req.keep_alive = False  # the body is never read
    errordocs.answer(conn, req, 413)


def _echo(conn: Exchange, req: Request, body: bytes) -> None:
    head = req.head
    line = f"{head.method} {head.target} {head.version}"
    echo = httpcore.trace_echo(line, head.headers, body)
    # The head first, on its own: no Content-Length, as Apache sends it.
    conn.app_send(req, ("200 OK", [("Content-Type", "message/http")]), b"", False)
    conn.app_send(req, None, echo, True)


async def _echo_with_body(conn: Exchange, req: Request) -> None:
    """TraceEnable extended: gather the body (at most BODY_LIMIT bytes), then echo."""
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = conn.take_body(req)
        if chunk:
            parts.append(chunk)
            size += len(chunk)
            if size > BODY_LIMIT:
                _refuse_body(conn, req)
                return
            continue
        if req.failed or req.dropped:
            return  # the connection answers a malformed body itself
        if req.body_done:
            break
        await conn.wait_body(req)
    _echo(conn, req, b"".join(parts))
