"""A request between the two sides of a front-end worker, and what each side offers.

:class:`Request` is the one object both sides of a request hold: the event
loop parses it and writes its response, a pool thread runs the app (the
methods marked "thread side"). They meet under the connection's condition
variable:

* the request body flows loop -> thread through ``Request.body``; the loop
  stops reading the socket while more than ``BODY_HIGH`` bytes wait, so a big
  upload never sits whole in memory;
* the response flows thread -> loop through ``call_soon_threadsafe``; the
  thread blocks while the transport is over its high-water mark, so a slow
  reader of a big response slows the app down instead of filling memory;
* except a connection's last response, made in one piece: the thread writes
  that itself, on a duplicate of the socket the loop lent it, and hands the
  loop only what did not fit and the bookkeeping
  (``Connection.lend_socket``, ``send_direct``).

:class:`Exchange` is what the request path (routing, static files, embedded
apps, the daemon proxy, TRACE) may ask of the connection that carries a
request, and :class:`Site` what it may ask of the worker process. They are
protocols, so that those modules depend on this one, never on the
connection or the worker (:mod:`wsgihost.frontend.connection` and
:mod:`wsgihost.frontend.worker` implement them).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

from wsgihost.config.model import DaemonGroup, Host, Server
from wsgihost.httpcore import Framing
from wsgihost.wsgi.environ import RequestHead
from wsgihost.wsgi.input_error import InputError

if TYPE_CHECKING:
    from wsgihost.frontend.embedded import EmbeddedApps, ThreadPool
    from wsgihost.frontend.hostlogs import HostLogs
    from wsgihost.logs import ErrorLog
    from wsgihost.pipeline import Pipeline, RequestState
    from wsgihost.routing import Router

REDIRECTED = 1  # Request.error_redirect: an ErrorDocument's internal redirect happened
REDIRECT_FAILED = 2  # ... and its target failed: Apache's page went out instead
BODY_HIGH = 64 * 1024  # request body bytes buffered before we stop reading the socket
BODY_LOW = 16 * 1024
RESPONSE_HIGH = 256 * 1024  # response bytes queued before the app's thread waits


class Site(Protocol):
    """The worker process, as the request path sees it (loop side)."""

    server: Server
    log: ErrorLog
    logs: HostLogs
    pool: ThreadPool
    router: Router
    pipeline: Pipeline  # the modules' hooks; falsy where none is configured
    apps: EmbeddedApps
    groups: dict[str, DaemonGroup]
    group_sockets: dict[str, str]
    group_status: dict[str, str]  # starting | ready | failed, as the master last said
    mime_types: dict[str, str]

    def next_request_id(self) -> str: ...


class Exchange(Protocol):
    """A client connection, as a request on it sees it.

    ``app_send`` and ``app_abort`` run on the loop (``Request.send`` and
    ``abort`` carry the thread's calls there); the rest are loop side too,
    except ``borrow_socket``, which a pool thread calls.
    """

    @property
    def worker(self) -> Site: ...

    loop: asyncio.AbstractEventLoop

    @property
    def cond(self) -> threading.Condition: ...

    body_paused: Request | None  # the request whose unread body stopped our reading
    write_paused: bool  # the client's transport is over its high-water mark

    def client(self) -> str: ...
    def app_send(self, req: Request, head: Any, data: bytes, end: bool) -> None: ...
    def app_abort(self, req: Request) -> None: ...
    def answer(self, req: Request, status: int) -> None: ...
    def restart(self, req: Request) -> None:
        """Serve ``req`` again from the start: an internal redirect (ErrorDocument)."""
        ...

    def answer_unavailable(self, req: Request, why: str) -> None: ...
    def send_continue(self, req: Request) -> None: ...
    def resume_for_body(self) -> None: ...
    def take_body(self, req: Request) -> bytes | None: ...
    async def wait_body(self, req: Request) -> None: ...
    async def wait_writable(self) -> None: ...
    def borrow_socket(self, req: Request) -> int | None: ...
    def lend_socket(self, req: Request) -> None: ...
    def send_direct(self, req: Request, head: Any, data: bytes) -> bool: ...


class Request:
    """One request on a connection: parsed on the loop, served on a thread."""

    __slots__ = (
        "body",
        "body_done",
        "body_raw",
        "body_read",
        "body_received",
        "buffered",
        "bytes_framing",
        "bytes_in",
        "bytes_sent",
        "client_closes",
        "complete",
        "conn",
        "continue_sent",
        "direct_fd",
        "discard",
        "dropped",
        "error_redirect",
        "expect_continue",
        "failed",
        "framing",
        "has_body",
        "head",
        "head_sent",
        "host",
        "http09",
        "http11",
        "is_head",
        "keep_alive",
        "logged_head",
        "own_page",
        "record",
        "redirect_env",
        "response_headers",
        "server_signature",
        "state",
        "status",
        "unsent",
        "vhost",
        "whole_body",
    )

    def __init__(self, conn: Exchange, head: RequestHead, keep_alive: bool, has_body: bool) -> None:
        self.conn = conn
        self.head = head
        self.keep_alive = keep_alive
        self.client_closes = False  # the client's Connection: close (or a 1.0 without keep-alive)
        self.http11 = head.version == "HTTP/1.1"  # or a later 1.x or 2.x, see Connection
        self.http09 = False  # no status line, no headers: the body alone
        self.is_head = head.method == "HEAD"
        self.has_body = has_body
        self.body: deque[bytes] = deque()
        self.body_done = not has_body
        self.body_received = 0
        self.buffered = 0
        self.complete = False  # parsed to its end (head and body) without error
        self.failed: str | None = None
        self.discard = False
        self.expect_continue = False
        self.continue_sent = False
        self.dropped = False  # the client is gone or the response was taken over
        self.head_sent = False
        self.framing = Framing.NONE
        self.status = 0
        self.bytes_sent = 0
        # For mod_logio's %I and %O: bytes read for this request (line, head,
        # body as framed), and bytes written beside the body (heads, chunk framing).
        self.bytes_in = 0  # the request line and head
        self.body_raw = 0  # the body as it came, chunk framing included
        self.body_read = 0  # body bytes the app (or the daemon) took
        self.whole_body = False  # read whole whatever the app does (daemon mode, as mod_wsgi)
        self.bytes_framing = 0
        self.unsent = 0
        # A duplicate of the socket lent to the app's thread for a response
        # that ends the connection (Connection.lend_socket); -1 when none.
        self.direct_fd = -1
        self.response_headers: list[tuple[str, str]] = []
        self.host: bytes | None = None
        self.vhost: Host | None = None  # the virtual host that served it, for its logs
        # An ErrorDocument's internal redirect (frontend/errordocs.py): done at
        # most once (REDIRECTED; REDIRECT_FAILED when its target failed too);
        # the app's REDIRECT_* environ; the head the client sent.
        self.error_redirect = 0
        self.redirect_env: dict[str, str] | None = None
        # SERVER_SIGNATURE for the app's environ, made on the loop (dispatch.serve_app).
        self.server_signature = ""
        self.logged_head: RequestHead | None = None
        # The request as the pipeline's modules see it (wsgihost.pipeline); None
        # where the configuration uses no module. ``own_page``: the response is
        # the server's own error page (the output-header hooks' "error" case).
        self.state: RequestState | None = None
        self.own_page = False

    # -- thread side: the app's body source -----------------------------------

    def recv(self, size: int) -> bytes:
        """Block until some body is here; return at most ``size`` bytes, b"" at the end."""
        if self.body_done and not self.body:
            return b""
        conn = self.conn
        with conn.cond:
            while not self.body:
                if self.failed:
                    raise InputError(self.failed)
                if self.body_done:
                    return b""
                if self.expect_continue and not self.continue_sent:
                    # RFC 9110 10.1.1: "100 Continue" once the app asks for the body.
                    self.continue_sent = True
                    conn.loop.call_soon_threadsafe(conn.send_continue, self)
                if conn.body_paused is self:
                    conn.body_paused = None
                    conn.loop.call_soon_threadsafe(conn.resume_for_body)
                conn.cond.wait()
            chunk = self.body[0]
            if len(chunk) <= size:
                self.body.popleft()
            else:
                self.body[0] = chunk[size:]
                chunk = chunk[:size]
            self.buffered -= len(chunk)
            self.body_read += len(chunk)
            if conn.body_paused is self and self.buffered < BODY_LOW:
                conn.body_paused = None
                conn.loop.call_soon_threadsafe(conn.resume_for_body)
        return chunk

    # -- thread side: the app's response sink ---------------------------------

    @property
    def closed(self) -> bool:
        return self.dropped

    def send(self, head: Any, data: bytes, end: bool) -> None:
        if self.dropped:
            self.release_socket()
            return
        conn = self.conn
        if end:
            if self.direct_fd >= 0:
                if head is not None and conn.send_direct(self, head, data):
                    return
                self.release_socket()
            conn.loop.call_soon_threadsafe(conn.app_send, self, head, data, True)
            return
        self.release_socket()  # a response in pieces goes by the loop
        with conn.cond:
            self.unsent += len(data)
        conn.loop.call_soon_threadsafe(conn.app_send, self, head, data, False)
        if self.unsent > RESPONSE_HIGH or conn.write_paused:
            with conn.cond:
                while (self.unsent > RESPONSE_HIGH or conn.write_paused) and not self.dropped:
                    conn.cond.wait()

    def release_socket(self) -> None:
        """Thread side: close the socket's duplicate, if one was lent and not used."""
        fd = self.direct_fd
        if fd >= 0:
            self.direct_fd = -1
            os.close(fd)

    def abort(self) -> None:
        self.release_socket()
        if not self.dropped:
            self.conn.loop.call_soon_threadsafe(self.conn.app_abort, self)
