"""A proxied WebSocket after the backend's 101: bytes both ways, unchanged.

As mod_proxy_wstunnel (and mod_proxy_http's ``upgrade=``) does: the 101 goes
to the client with the backend's headers, then each side's bytes are
written to the other as they come. Flow control both ways: a side whose
socket is full stops the other side being read until it drains. Either
side's end (or an idle tunnel past the worker's timeout, as ProxyTimeout
bounds Apache's tunnel) closes both, and the request's access-log line
(status 101) is written then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from wsgihost.revproxy.backend import Backend, Head

if TYPE_CHECKING:
    from wsgihost.frontend.exchange import Exchange, Request

_NOT_PASSED = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer"}
)


class _Owner(Protocol):
    """What the client connection offers a tunnel (frontend/connection.py)."""

    write_paused: bool

    def take_over(
        self, req: Request, head: bytes, feed: Callable[[bytes], None]
    ) -> asyncio.Transport | None: ...

    async def wait_writable(self) -> None: ...


def response_head(head: Head) -> bytes:
    """The 101 the client gets: the backend's headers, the connection ones our own."""
    lines = [f"HTTP/1.1 101 {head.reason or 'Switching Protocols'}"]
    lines += [f"{n}: {v}" for n, v in head.headers if n.lower() not in _NOT_PASSED]
    lines.append("Connection: Upgrade")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Tunnel:
    def __init__(self, conn: Exchange, req: Request, backend: Backend, timeout: float) -> None:
        self.conn = conn
        self.req = req
        self.backend = backend
        self.timeout = timeout
        self.loop = conn.loop
        self.client: asyncio.Transport | None = None
        self.closed = False
        self.last = self.loop.time()
        self.timer: asyncio.TimerHandle | None = None
        self.waiting_client = False

    # client -> backend
    def from_client(self, data: bytes) -> None:
        if self.closed:
            return
        if not data:
            self.close()
            return
        self.last = self.loop.time()
        self.req.body_raw += len(data)
        tr = self.backend.transport
        if tr is None or tr.is_closing():
            self.close()
            return
        tr.write(data)
        if self.backend.write_paused and self.client is not None:
            self.client.pause_reading()

    def backend_drained(self) -> None:
        if self.client is not None and not self.closed:
            self.client.resume_reading()

    # backend -> client
    def from_backend(self, data: bytes) -> None:
        if self.closed:
            return
        if not data or self.client is None or self.client.is_closing():
            self.close()
            return
        self.last = self.loop.time()
        self.client.write(data)
        self.req.bytes_sent += len(data)
        owner: _Owner = self.conn  # type: ignore[assignment]
        if owner.write_paused and not self.waiting_client:
            self.waiting_client = True
            tr = self.backend.transport
            if tr is not None:
                tr.pause_reading()
            self.loop.create_task(self._resume_backend(owner))

    async def _resume_backend(self, owner: _Owner) -> None:
        await owner.wait_writable()
        self.waiting_client = False
        tr = self.backend.transport
        if tr is not None and not self.closed:
            tr.resume_reading()

    def _check_idle(self) -> None:
        if self.closed:
            return
        idle = self.loop.time() - self.last
        if idle >= self.timeout:
            self.close()
            return
        self.timer = self.loop.call_later(self.timeout - idle, self._check_idle)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
        self.backend.on_data = None
        self.backend.on_drain = None
        self.backend.close()
        from wsgihost.frontend import dispatch  # imports this package

        dispatch.log_access(self.conn, self.req)
        self.req.dropped = True
        if self.client is not None:
            self.client.close()


def start(conn: Exchange, req: Request, backend: Backend, head: Head, timeout: float) -> None:
    """Turn the client's connection and ``backend`` into a tunnel, after the 101."""
    tunnel = Tunnel(conn, req, backend, timeout)
    take_over = getattr(conn, "take_over", None)
    if take_over is None:
        backend.close()
        conn.app_abort(req)
        return
    early = bytes(backend.buf)
    backend.buf.clear()
    backend.on_data = tunnel.from_backend
    backend.on_drain = tunnel.backend_drained
    client = take_over(req, response_head(head), tunnel.from_client)
    if client is None:
        tunnel.close()
        return
    tunnel.client = client
    if early:
        tunnel.from_backend(early)
    if backend.eof:
        tunnel.close()
        return
    if backend.reading_paused and backend.transport is not None:
        backend.reading_paused = False
        backend.transport.resume_reading()
    tunnel.timer = conn.loop.call_later(timeout, tunnel._check_idle)
