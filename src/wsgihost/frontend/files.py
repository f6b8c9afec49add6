"""Static files in the front end: small ones from the loop, large ones by sendfile.

:func:`wsgihost.static.decide` chooses the response. A body up to
``SMALL`` bytes is read and written by the loop in one go (it is in the page
cache; a thread hand-over would cost more than the read). A larger one is
sent by a pool thread: with ``os.sendfile`` on the connection's socket once
the transport's buffer has drained (uvloop has no ``loop.sendfile``), else by
reading and writing blocks through the same flow-controlled path apps use.
A multipart/byteranges body (several ranges) always takes that last path,
its parts' heads between the slices. A POST's body is left unread: the
connection reads and drops it after the answer, as Apache's handler does.
"""

from __future__ import annotations

import os
import secrets
import select
import time
from typing import TYPE_CHECKING

from wsgihost import static
from wsgihost.byteranges import Multipart
from wsgihost.frontend import errordocs, filtered, listing
from wsgihost.httpcore import ERROR_TYPE, REASONS, error_body
from wsgihost.routing import FileTarget

if TYPE_CHECKING:
    from wsgihost.frontend.exchange import Exchange as Connection
    from wsgihost.frontend.exchange import Request

SMALL = 64 * 1024
BLOCK = 256 * 1024
# One boundary for every multipart/byteranges body this process sends, random
# as Apache's (chosen once at start, 64 bits in hex). Apache prints it without
# leading zeros, so one start in 16 gets 15 digits or fewer; ours is always 16,
# Apache's usual length, so a client sees the same Content-Length every time.
BOUNDARY = "%016x" % secrets.randbits(64)


_PAGE_HEADERS = ("content-type", "content-length", "location")


def serve_file(conn: Connection, req: Request, target: FileTarget) -> None:
    """Runs on the loop: answer a static file request."""
    head = req.head
    headers = head.headers

    def header(name: str) -> str | None:
        wanted = name.encode("latin-1")
        for n, v in headers:
            if n.lower() == wanted:
                return v.decode("latin-1")
        return None

    if conn.worker.pipeline.filters and filtered.serve_file(conn, req, target, header, BOUNDARY):
        return  # a HEAD or a Range of a body a filter changes (DEFLATE): made whole first
    resp = static.decide(
        target,
        head.method,
        head.query,
        header,
        conn.worker.mime_types,
        now=time.time(),
        boundary=BOUNDARY,
        autoindex=conn.worker.server.autoindex,
        surroundings=listing.surroundings(conn, req, target),
        defer_listing=True,
    )
    if resp.draw is not None:
        listing.draw_later(conn, req, target, resp.draw, respond)
        return
    respond(conn, req, target, resp)


def respond(conn: Connection, req: Request, target: FileTarget, resp: static.FileResponse) -> None:
    """Runs on the loop: send what :func:`static.decide` chose."""
    if resp.log is not None:
        listing.log(conn, target, resp.log)
    if resp.close:
        req.keep_alive = False
    if resp.path is None and (ERROR_TYPE, "Content-Type") in ((v, n) for n, v in resp.headers):
        # The server's own page (static's _page): ErrorDocument and ServerSignature apply.
        kept = [(n, v) for n, v in resp.headers if n.lower() not in _PAGE_HEADERS]
        location = next((v for n, v in resp.headers if n == "Location"), "")
        errordocs.answer(conn, req, resp.status, headers=kept, location=location)
        return
    status = f"{resp.status} {REASONS.get(resp.status) or static.reason(resp.status)}"
    if resp.path is None or req.is_head:
        if resp.streamed and not req.is_head:
            conn.app_send(req, (status, resp.headers), b"", False)  # no length: chunked
            conn.app_send(req, None, resp.body, True)
            return
        conn.app_send(req, (status, resp.headers), resp.body, True)
        return
    if resp.multipart is not None:
        conn.worker.pool.submit(_send_large, conn, req, status, resp)
        return
    if resp.length <= SMALL:
        try:
            with open(resp.path, "rb") as f:
                data = os.pread(f.fileno(), resp.length, resp.offset)
        except OSError:
            conn.answer(req, 403)
            return
        if len(data) != resp.length:
            # The file changed between stat and read: the length we would
            # declare is wrong, so answer as for a file we cannot read.
            conn.answer(req, 503)
            return
        conn.app_send(req, (status, resp.headers), data, True)
        return
    conn.worker.pool.submit(_send_large, conn, req, status, resp)


def _send_large(conn: Connection, req: Request, status: str, resp: static.FileResponse) -> None:
    """Runs on a pool thread: send a large file slice; any failure cuts the response."""
    try:
        _send_large_file(conn, req, status, resp)
    except Exception as e:
        conn.worker.log.error(f"error while sending {resp.path}: {e!r}")
        req.abort()


def _send_large_file(
    conn: Connection, req: Request, status: str, resp: static.FileResponse
) -> None:
    assert resp.path is not None
    try:
        fd = os.open(resp.path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        body = error_body(403)
        head = [("Content-Type", ERROR_TYPE), ("Content-Length", str(len(body)))]
        req.send(("403 Forbidden", head), body, True)
        return
    try:
        req.send((status, resp.headers), b"", False)
        if resp.multipart is not None:
            _send_parts(fd, req, resp.multipart)
            return
        sock = conn.borrow_socket(req)
        if sock is not None:
            try:
                sent = _sendfile(
                    sock, fd, resp.offset, resp.length, req, conn.worker.server.timeout
                )
            finally:
                os.close(sock)
            req.bytes_sent += sent
            if sent < resp.length:
                req.abort()
                return
            req.send(None, b"", True)
            return
        _copy(fd, req, resp.offset, resp.length, True)
    finally:
        os.close(fd)


def _send_parts(fd: int, req: Request, body: Multipart) -> None:
    """Thread side: a multipart/byteranges body, each part's head then its slice."""
    for part in body.parts:
        req.send(None, part.head, False)
        if not _copy(fd, req, part.offset, part.length, False):
            return
    req.send(None, body.tail, True)


def _copy(fd: int, req: Request, offset: int, length: int, last: bool) -> bool:
    """Thread side: send ``length`` bytes of the file from ``offset`` in blocks
    (``last``: they end the response); False if the response was cut short."""
    left = length
    while left > 0:
        if req.dropped:
            return False
        data = os.pread(fd, min(BLOCK, left), offset)
        if not data:
            req.abort()  # the file shrank under us
            return False
        offset += len(data)
        left -= len(data)
        req.send(None, data, last and left == 0)
    return True


def _sendfile(sock: int, fd: int, offset: int, count: int, req: Request, timeout: float) -> int:
    """``os.sendfile`` until done, waiting for the non-blocking socket as needed.

    Gives up when the client takes nothing for ``timeout`` seconds (Timeout).
    """
    sent = 0
    poller = select.poll()  # not select(): descriptors may be above 1023
    poller.register(sock, select.POLLOUT)
    last_progress = time.monotonic()
    while sent < count and not req.dropped:
        try:
            n = os.sendfile(sock, fd, offset + sent, count - sent)
        except BlockingIOError:
            n = -1
        except OSError:
            return sent
        if n == 0:
            return sent  # the file shrank under us
        if n > 0:
            sent += n
            last_progress = time.monotonic()
            continue
        if time.monotonic() - last_progress > timeout:
            return sent
        # Wait until the socket can take more; wake now and then to notice a
        # client that went away.
        poller.poll(1000)
    return sent
