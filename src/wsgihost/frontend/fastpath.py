"""The fast path: a daemon-mode request served from its connection's read callback.

Most requests have no body and find an idle pooled connection, and most
daemons answer them within a millisecond. Those are served from the daemon
connection's read callback: no Task, no future, no timer of their own. A
request that does anything else (no pooled connection, a body, a REJECT, a
reset, a response that does not fit one read, no answer within SLOW seconds)
is handed to :func:`.proxy.serve` at the point it reached, so the rules of
DESIGN.md's "From front-end to daemon" (retry only before ACCEPT, 502 after
it, flow control) have one implementation.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from wsgihost.config.model import DaemonGroup
from wsgihost.daemon.protocol import (
    DRAINING,
    NEED_DATA,
    Accept,
    Data,
    End,
    ProtocolError,
    Reject,
    Request,
    Response,
)
from wsgihost.frontend.daemonlink import POOL, DaemonExchange
from wsgihost.frontend.proxy import (
    ACCEPTED,
    RELAYING,
    SENT,
    Try,
    first_try,
    internal_error,
    serve,
)
from wsgihost.routing import WSGITarget

if TYPE_CHECKING:
    from wsgihost.frontend.exchange import Exchange as Connection
    from wsgihost.frontend.exchange import Request as HttpRequest

SLOW = 0.25  # past this, a request waiting on the fast path goes to serve()
_waiting: dict[_Fast, float] = {}  # fast-path requests and when they were sent
_sweeper: list[asyncio.TimerHandle] = []


def start(
    conn: Connection, req: HttpRequest, target: WSGITarget, group: DaemonGroup, path: str
) -> None:
    """Serve ``req`` through the daemon group at ``path`` (on the loop)."""
    exchange = None
    if not (req.has_body or req.expect_continue or target.settings.error_override):
        exchange = POOL.take(path)
    if exchange is None:
        conn.loop.create_task(serve(conn, req, target, group, path))
        return
    try:
        state = first_try(conn, req, target, group)
        state.tries = 1
        state.reused = True
        state.exchange = exchange
        environ = state.head["environ"]
        environ["mod_wsgi.daemon_connects"] = "1"
        environ["mod_wsgi.daemon_restarts"] = "0"
        channel = exchange.channel
        frames = channel.send(Request(state.head)) + channel.send(End())
    except Exception as e:
        exchange.close()
        internal_error(conn, req, e)
        return
    try:
        sent = exchange.sock.send(frames)
    except (BlockingIOError, InterruptedError):
        sent = 0
    except OSError:
        # The daemon closed it: serve() reads the EOF and tries afresh.
        exchange.write_failed = True
        sent = len(frames)
    if sent < len(frames):
        conn.loop.create_task(
            _send_then_serve(conn, req, target, group, path, state, frames[sent:])
        )
        return
    fast = _Fast(conn, req, target, group, path, state, exchange)
    exchange.listener = fast.readable
    _waiting[fast] = time.monotonic()
    if not _sweeper:
        _sweeper.append(conn.loop.call_later(SLOW, _sweep, conn.loop))


async def _send_then_serve(
    conn: Connection,
    req: HttpRequest,
    target: WSGITarget,
    group: DaemonGroup,
    path: str,
    state: Try,
    rest: bytes,
) -> None:
    assert state.exchange is not None
    await state.exchange.send(rest)
    await serve(conn, req, target, group, path, state)


def _sweep(loop: asyncio.AbstractEventLoop) -> None:
    """Hand the fast-path requests that wait too long to serve() (it watches deadlines)."""
    _sweeper.clear()
    now = time.monotonic()
    for fast, since in list(_waiting.items()):
        if now - since >= SLOW:
            fast.hand_over()
    if _waiting:
        _sweeper.append(loop.call_later(SLOW, _sweep, loop))


class _Fast:
    """A request on the fast path: its daemon's answer, read from the read callback."""

    __slots__ = ("conn", "exchange", "group", "path", "req", "state", "target")

    def __init__(
        self,
        conn: Connection,
        req: HttpRequest,
        target: WSGITarget,
        group: DaemonGroup,
        path: str,
        state: Try,
        exchange: DaemonExchange,
    ) -> None:
        self.conn = conn
        self.req = req
        self.target = target
        self.group = group
        self.path = path
        self.state = state
        self.exchange = exchange

    def _leave(self) -> None:
        self.exchange.listener = None
        _waiting.pop(self, None)

    def hand_over(self) -> None:
        """Let serve() carry on from where this request is."""
        self._leave()
        self.state.exchange = self.exchange
        self.conn.loop.create_task(
            serve(self.conn, self.req, self.target, self.group, self.path, self.state)
        )

    def readable(self) -> None:
        try:
            self._readable()
        except Exception as e:  # a bug here must not leave the client hanging
            self._leave()
            self.exchange.close()
            internal_error(self.conn, self.req, e)

    def _readable(self) -> None:
        exchange, state = self.exchange, self.state
        channel = exchange.channel
        if state.stage == SENT:
            try:
                event = channel.next_event()
            except ProtocolError:
                event = None
            if event is NEED_DATA:
                return
            if not isinstance(event, Accept):
                self._not_accepted(event if isinstance(event, Reject) else None)
                return
            state.stage = ACCEPTED
        try:
            event = channel.next_event()
        except ProtocolError:
            event = None
        if event is NEED_DATA:
            return
        conn, req = self.conn, self.req
        if not isinstance(event, Response):
            # The app never gave a response head (the process died, or timed out).
            self._leave()
            exchange.close()
            conn.answer(req, 502)
            return
        head = (event.status, event.headers)
        parts: list[bytes] = []
        while (ready := exchange.available()) is not None:
            if isinstance(ready, Data):
                parts.append(ready.data)
                continue
            self._leave()
            if isinstance(ready, End):
                conn.app_send(req, head, b"".join(parts), True)
                if ready.keep and channel.my_state == "done" and not exchange.write_failed:
                    channel.start_next()
                    group = self.group
                    POOL.give(self.path, exchange, group.processes * group.threads)
                else:
                    exchange.close()
                return
            conn.app_send(req, head, b"".join(parts), False)
            conn.app_abort(req)
            exchange.close()
            return
        # More of the body is to come: serve() relays it, paced by the client.
        conn.app_send(req, head, b"".join(parts), False)
        state.stage = RELAYING
        self.hand_over()

    def _not_accepted(self, event: Reject | None) -> None:
        """A REJECT, a reset or an EOF before ACCEPT: as serve() decides after a try."""
        self._leave()
        self.exchange.close()
        conn, req, state = self.conn, self.req, self.state
        state.exchange = None
        if event is not None and event.reason != DRAINING:
            conn.answer_unavailable(req, f"daemon refused the request ({event.reason})")
            return
        if req.dropped:
            return
        if event is not None:
            state.restarts += 1  # draining: back off before the next try
            state.wait_first = True
        # (A pooled connection the daemon had closed: no reason to wait.)
        conn.loop.create_task(serve(conn, req, self.target, self.group, self.path, state))
