"""One client connection in a front-end worker: HTTP/1.1 framing on an asyncio transport.

Runs on the worker's event loop. It reads requests and writes responses;
what a request then becomes (TRACE, a file, an app, a daemon's answer) is
:mod:`.dispatch`'s, and the :class:`~.exchange.Request` object is where the
app's thread and the loop meet.

Who parses what:

* the request line: :mod:`wsgihost.requestline`, by Apache's rules (llhttp
  has a fixed method table and refuses raw bytes over 0x7F in the target,
  which Apache accepts); llhttp is then given a request line of our making;
* the header block and body framing: llhttp (httptools), one head at a time.
  It does not enforce sizes, does not check ``Host``, and stops at every
  ``Connection: Upgrade``: :mod:`wsgihost.requesthead` checks the head as
  Apache's core does, and the framing here refuses what llhttp is lenient
  about (a head with bare LF line ends) and measures lines as they grow;
* chunked bodies: :class:`wsgihost.chunked.ChunkedDecoder`.

A slow client costs a few hundred bytes, never a thread: the worker's sweeper
calls ``check_timer`` twice a second, which answers 408 to a head or a body
past its deadline (RequestReadTimeout's ``header=`` and ``body=``, whose
MinRate moves the deadline on as bytes come, and Timeout for any one wait).
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import httptools

from wsgihost import httpcore, requestline
from wsgihost.chunked import ChunkedDecoder, ChunkError
from wsgihost.frontend import dispatch, errordocs, filtered
from wsgihost.frontend.exchange import BODY_HIGH, BODY_LOW, Request, Site
from wsgihost.httpcore import Framing
from wsgihost.logs import AccessRecord
from wsgihost.requesthead import HeadReader, Reject
from wsgihost.routing import WSGITarget
from wsgihost.wsgi.environ import RequestHead

# How the bytes after a head are framed.
NO_BODY = 0  # the next bytes start a request head
LENGTH_BODY = 1  # body_left more bytes of a Content-Length body
CHUNKED_BODY = 2  # a chunked body, read by the decoder

PIPELINE_MAX = 8  # requests queued on one connection before we stop reading
_MAKING_COND = threading.Lock()  # held only while a connection makes its condition
# What llhttp is given in place of the request line (see Connection._request_line).
_LLHTTP_LINE_11 = b"GET / HTTP/1.1\r\n"
_LLHTTP_LINE_10 = b"GET / HTTP/1.0\r\n"

# Connection states, for the timers.
IDLE = 0  # waiting for the first byte of a request (keep-alive or new connection)
HEAD = 1  # part of a request head has arrived
BUSY = 2  # a request is being served
LINGER = 3  # our side is done writing; reading and discarding what the client still sends


# The error notes Apache's core puts on its 400 page for the refusals we share.
_APACHE_NOTES = {
    "header field longer than LimitRequestFieldSize": (
        "Size of a request header field exceeds server limit."
    ),
    "more header fields than LimitRequestFields": (
        "The number of request header fields exceeds this server's limit."
    ),
}


class Home(Site, Protocol):
    """The worker process, as its connections see it (the worker implements it)."""

    loop: asyncio.AbstractEventLoop
    connections: set[Connection]
    idle: dict[Connection, None]  # idle keep-alive connections, longest idle first
    stopping: bool

    def admit(self, conn: Connection) -> bool: ...
    def release(self, conn: Connection) -> None: ...


class Connection(asyncio.Protocol):
    """The loop side of one client connection."""

    def __init__(self, worker: Home) -> None:
        self.worker = worker
        self.loop = worker.loop
        # Made when first needed (``cond``): most connections in daemon mode
        # never hand anything to a thread, and a Condition costs microseconds.
        self._cond: threading.Condition | None = None
        self.transport: asyncio.Transport | None = None
        # llhttp takes its callbacks from the object it is given, once: the
        # head reader's own on_header is put here first, with no call between.
        self.head_reader = HeadReader(worker.server.limits)
        self.on_header = self.head_reader.on_header
        self.parser = httptools.HttpRequestParser(self)
        # Parsed requests not yet answered, in order: a list, not a deque, since it
        # holds a few at most (PIPELINE_MAX) and an empty deque costs 760 bytes
        # (its first block) on every connection, idle ones included.
        self.queue: list[Request] = []
        self.parsing: Request | None = None  # the request whose body is arriving
        self.last: Request | None = None
        self.active: Request | None = None  # the request being served (queue[0])
        self.state = IDLE
        self.deadline = 0.0
        self.head_start = 0.0  # when the current head's clock started
        self.head_bytes = 0  # head bytes received since then (for header= MinRate)
        self.body_deadline = 0.0  # Timeout: the next piece of a body must come by then
        # RequestReadTimeout body=: the body must have come by rate_deadline,
        # which each body byte moves on (MinRate) up to rate_cap. The clock
        # starts with the body (after 100 Continue, if the client waits for
        # it) and stops while we hold the client back (body_stopped_at).
        self.body_started = False
        self.body_stopped_at = 0.0
        self.rate_deadline = math.inf
        self.rate_cap = math.inf
        self.counted = False  # counted in the worker's share of MaxRequestWorkers
        self.lost = False
        self.closing = False  # answer what is queued, then close (graceful stop)
        self.reading_done = False  # a request said Connection: close; ignore the rest
        self.overflow = False  # and the client sent some: close in stages (close)
        self.client_eof = False
        self.write_paused = False
        self.write_waiter: asyncio.Future[None] | None = None
        self.body_waiter: asyncio.Future[None] | None = None
        self.body_paused: Request | None = None
        self.pipeline_paused = False
        self.reading_paused = False
        self.next_waits = False  # the next request waits until the client reads again
        self.write_deadline = 0.0  # Timeout: a paused writer must make progress by then
        self.pending_error: tuple[int, str] | None = None
        self.served = 0
        self.pending = b""  # received bytes not yet framed
        self.body_mode = NO_BODY
        self.head_fed_crlf = False  # the head bytes fed so far end in CRLF
        self.head_seen = 0  # bytes of the current head fed so far
        self.head_total = 0  # the whole head's bytes, line included (mod_logio's %I)
        self.request_line_done = False  # the current request's line has been read
        self.line: requestline.RequestLine | None = None  # ... and what it said
        self.logged_line = ""  # a line that did not parse, as the access log shows it
        self.llhttp_line = b""  # the request line llhttp is to be given, before the head
        self.body_left = 0
        self.decoder: ChunkedDecoder | None = None
        self.start_pending = False
        # A chunked request's app starts only after the body bytes that came
        # with its head are framed: a malformed body already here is refused
        # with 400 before any app sees the request.
        self.start_deferred = False
        self.framing = False  # inside _frame: do not re-enter it
        self.peer = ("", 0)
        self.local = ("", 0)
        self.tls: Any = None
        # The socket's own peer where a PROXY header named the client (mods/proxyproto.py):
        # ``peer`` is then that client, and this is what %{c}a logs.
        self.conn_peer: tuple[str, int] | None = None
        # After a 101 (a proxied WebSocket, wsgihost.revproxy.tunnel): where the
        # client's bytes go, unframed (b"" at their end); see ``take_over``.
        self.tunnel: Callable[[bytes], None] | None = None
        # Bytes after an Upgrade request wait, unparsed, until it is answered: they
        # may be the new protocol's (a WebSocket's first frame, for the tunnel).
        self.upgrade_hold = False

    # -- transport events ------------------------------------------------------

    @property
    def cond(self) -> threading.Condition:
        """The condition the loop and the app's threads meet under (frontend/exchange.py)."""
        cond = self._cond
        if cond is None:
            with _MAKING_COND:
                cond = self._cond
                if cond is None:
                    cond = self._cond = threading.Condition()
        return cond

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        tr: Any = transport
        self.transport = tr
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        if isinstance(peer, tuple):
            self.peer = (_unmapped(peer[0]), peer[1])
        if isinstance(local, tuple):
            self.local = (_unmapped(local[0]), local[1])
        tr.set_write_buffer_limits(high=64 * 1024)
        # The TLS layer under this connection, if any (frontend/tlslayer.py).
        self.tls = transport.get_extra_info("wsgihost_tls")
        self.conn_peer = transport.get_extra_info("wsgihost_conn_peer")
        worker = self.worker
        worker.connections.add(self)
        self.state = IDLE
        # A new connection's first head is due a header timeout after the
        # accept, however late its first byte comes.
        self._start_head(self.loop.time())
        if not worker.admit(self):
            self.refuse()
            return
        if worker.stopping:
            self.closing = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.tunnel is not None:
            self.tunnel(b"")
        self.worker.connections.discard(self)
        self.worker.release(self)
        for req in self.queue:
            req.dropped = True
            if not req.body_done:
                req.failed = "the client closed the connection"
        # Flags first, then the condition: a thread makes it before it first
        # looks at them, so either it sees them or it is woken here.
        cond = self._cond
        if cond is not None:
            with cond:
                cond.notify_all()
        if self.active is not None and not self.active.head_sent and self.active.status == 0:
            self.active.status = 499  # logged as the client going away, like nginx's 499
        self._wake_body()
        waiter = self.write_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pause_writing(self) -> None:
        self.write_paused = True
        self.write_deadline = self.loop.time() + self.worker.server.timeout
        # A client that does not read gets nothing more read from it either.
        self._update_reading()

    def resume_writing(self) -> None:
        with self.cond:
            self.write_paused = False
            self.cond.notify_all()
        waiter = self.write_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._update_reading()
        if self.next_waits:
            self.next_waits = False
            self._continue()

    def eof_received(self) -> bool:
        self.client_eof = True
        if self.tunnel is not None:
            self.tunnel(b"")
            return True
        if self.parsing is not None and not self.reading_done:
            # The client stopped sending in the middle of a body.
            self.reject(400, "the client closed the connection before the end of the body")
            return False
        # With nothing left to answer, let the transport close; otherwise stay
        # half-closed and still send the responses in progress.
        return self.active is not None or bool(self.queue)

    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self.tunnel(data)
            return
        if self.reading_done:
            if self.state == LINGER:
                self.deadline = min(self.deadline, self.loop.time() + 2.0)
            elif data:
                self.overflow = True
            return
        if self.state == IDLE:
            self.state = HEAD
            if self.served:
                # A keep-alive connection's next head: its clock starts now.
                self.worker.idle.pop(self, None)
                self._start_head(self.loop.time())
        if self.state == HEAD:
            self._head_progress(len(data))
        buf = self.pending + data if self.pending else data
        self.pending = b""
        self.framing = True
        try:
            self._frame(buf)
            if self.start_deferred:
                self.start_deferred = False
                self.start_next()
        except httptools.HttpParserCallbackError as e:
            cause = e.__context__
            if isinstance(cause, Reject):
                self.reject(cause.status, cause.reason)
            else:
                self.worker.log.error(f"internal error while parsing a request: {cause!r}")
                self.reject(500, "internal error")
        except Reject as e:
            self.reject(e.status, e.reason)
        except httptools.HttpParserError as e:
            if not self.reading_done:
                self.reject(400, f"malformed request: {e}")
        finally:
            self.framing = False

    def _frame(self, buf: bytes) -> None:
        """Feed llhttp one message part at a time, framing bodies ourselves.

        Heads go to llhttp whole, up to their blank line, so we always know
        where a head ends; Content-Length bodies are counted; chunked bodies
        are read by :class:`ChunkedDecoder`. Nothing past the end of a
        message reaches llhttp before that message is complete.
        """
        parser = self.parser
        while buf and not self.reading_done:
            if self.upgrade_hold:
                self.pending = buf
                if not self.pipeline_paused:
                    self.pipeline_paused = True  # and read no more meanwhile
                    self._update_reading()
                return
            mode = self.body_mode
            if mode == NO_BODY and self.start_deferred:
                # The chunked body before this is whole and well formed.
                self.start_deferred = False
                self.start_next()
                continue  # (answered at once, it may have ended the connection)
            if mode == NO_BODY and len(self.queue) >= PIPELINE_MAX:
                # Enough requests wait their turn: keep the rest unparsed.
                self.pending = buf
                self.pipeline_paused = True
                self._update_reading()
                return
            if mode == NO_BODY and not self.request_line_done:
                if buf.startswith(b"\r\n"):
                    # RFC 9112 2.2: empty lines before a request line are
                    # ignored (some clients send one after a body).
                    skip = 2
                    while buf.startswith(b"\r\n", skip):
                        skip += 2
                    buf = buf[skip:]
                    continue
                end = buf.find(b"\r\n")
                if end == -1:
                    # Not the whole line yet: refuse now what can never
                    # become one, and keep the rest.
                    self._check_partial_line(buf)
                    self.pending = buf
                    return
                self._request_line(buf[:end], more=end + 2 < len(buf))
                buf = buf[end + 2 :]
                continue
            if mode == NO_BODY:
                if self.head_fed_crlf and buf.startswith(b"\r\n"):
                    head_end = 2  # the blank line, split across two reads
                else:
                    end = buf.find(b"\r\n\r\n")
                    head_end = end + 4 if end != -1 else -1
                if head_end == -1:
                    # Not the whole head yet: hand llhttp the complete lines
                    # and keep the rest.
                    line_end = buf.rfind(b"\r\n")
                    cut = line_end + 2 if line_end != -1 else 0
                    tail = buf[cut:]
                    self._check_partial_head(buf, tail)
                    if cut:
                        line, self.llhttp_line = self.llhttp_line, b""
                        parser.feed_data(line + buf[:cut])
                        self.head_fed_crlf = True
                        self.head_seen += cut
                    self.pending = tail
                    return
                self.head_fed_crlf = False
                self.head_total = self.head_seen + head_end
                self.head_seen = 0
                self.request_line_done = False
                try:
                    head = buf if head_end == len(buf) else buf[:head_end]
                    # One call for the line we made and the head: most heads come whole.
                    line, self.llhttp_line = self.llhttp_line, b""
                    parser.feed_data(line + head)
                except httptools.HttpParserUpgrade:
                    # llhttp stops at Connection: Upgrade; RFC 9110 7.8 lets us
                    # ignore it. A request with a body was refused in
                    # on_headers_complete, so the rest is the next request, or
                    # the new protocol's if a tunnel takes the connection over.
                    parser = self.parser = httptools.HttpRequestParser(self)
                    self.body_mode = NO_BODY
                    self.upgrade_hold = True
                self.line = None
                buf = buf[head_end:]
                self._note_overflow(buf)  # before an answer made at once, below
                if self.start_pending:
                    self.start_pending = False
                    if self.body_mode == CHUNKED_BODY and buf:
                        self.start_deferred = True
                    else:
                        self.start_next()
            elif mode == LENGTH_BODY:
                take = min(self.body_left, len(buf))
                self.body_left -= take
                if self.parsing is not None:
                    self.parsing.body_raw += take
                if self.body_left == 0:
                    self.body_mode = NO_BODY
                if take == len(buf):
                    parser.feed_data(buf)
                    return
                parser.feed_data(buf[:take])
                buf = buf[take:]
            else:
                decoder = self.decoder
                assert decoder is not None
                try:
                    used, out = decoder.feed(buf)
                except ChunkError as e:
                    raise Reject(e.status, str(e)) from None
                if self.parsing is not None:
                    self.parsing.body_raw += used  # chunk framing counts, as in mod_logio
                if decoder.done:
                    self.body_mode = NO_BODY
                    self.decoder = None
                if out:
                    parser.feed_data(out)
                if used < len(buf) and not decoder.done:
                    self.pending = buf[used:]
                    return
                buf = buf[used:]
        if buf:
            self.overflow = True  # bytes after the request that ends the connection

    def _note_overflow(self, buf: bytes) -> None:
        if buf and self.reading_done:
            self.overflow = True  # bytes after the request that ends the connection

    def _request_line(self, line: bytes, more: bool = False) -> None:
        """The request line is here: read it by Apache's rules, then let llhttp
        read the head that follows.

        llhttp is given a request line of its own making, with the version
        that decides its framing and keep-alive defaults (HTTP/1.1 for 1.1
        and later versions, HTTP/1.0 for 1.0 and 0.9), since it would refuse
        the methods and targets Apache accepts. An HTTP/0.9 request has no
        head: llhttp is given an empty one, and nothing after the line is read
        (``more``: the client sent some).
        """
        if len(line) > self.worker.server.limits.request_line + 1:
            raise Reject(414, "request line too long")
        self.logged_line = ""
        try:
            parsed = requestline.parse(line)
        except requestline.BadRequestLine as e:
            self.logged_line = e.logged
            raise Reject(400, f"malformed request line: {e.reason}") from None
        self.line = parsed
        self.request_line_done = True
        self.head_fed_crlf = True
        self.head_seen = self.head_total = len(line) + 2
        version = parsed[3]
        if version >= requestline.HTTP11:
            self.llhttp_line = _LLHTTP_LINE_11  # fed with the head that follows
        elif version == requestline.HTTP10:
            self.llhttp_line = _LLHTTP_LINE_10
        else:
            self.parser.feed_data(_LLHTTP_LINE_10 + b"\r\n")
            self.request_line_done = False
            self.head_fed_crlf = False
            self.head_seen = 0
            if more:
                self.overflow = True
            if self.start_pending:
                self.start_pending = False
                self.start_next()

    def _check_partial_line(self, buf: bytes) -> None:
        """A request line still arriving: over LimitRequestLine is a 414 now
        (so a client cannot make us buffer more), a bare LF or CR a 400 (a
        line that would never end)."""
        if buf.find(b"\n") >= 0:
            raise Reject(400, "bare LF in the request line")
        if buf[:-1].find(b"\r") >= 0:
            raise Reject(400, "bare CR in the request line")
        if len(buf) > self.worker.server.limits.request_line + 2:
            raise Reject(414, "request line too long")

    def _check_partial_head(self, buf: bytes, tail: bytes) -> None:
        """Limits on a head still arriving; ``tail`` is its unfinished last line.

        A line that is still growing is measured before llhttp sees it, so a
        client cannot make us buffer more than one line's limit; a head that
        will never end (bare LF or CR line ends) is refused now, not at the
        head deadline.
        """
        if tail.find(b"\n") >= 0:
            raise Reject(400, "bare LF in the request head")
        if tail[:-1].find(b"\r") >= 0:
            raise Reject(400, "bare CR in the request head")
        limits = self.worker.server.limits
        if len(tail) > limits.field_size + 2:
            raise Reject(400, "header field longer than LimitRequestFieldSize")
        total = self.head_seen + len(buf)
        if total > limits.request_line + limits.fields * (limits.field_size + 2) + 4:
            raise Reject(400, "request head larger than the limits allow")

    # -- parser callbacks ----------------------------------------------------

    def on_message_begin(self) -> None:
        self.head_reader.begin()
        if self.state == IDLE:
            self.state = HEAD
            self._start_head(self.loop.time())

    # (on_header is the head reader's own: see __init__)

    def on_headers_complete(self) -> None:
        line = self.line
        assert line is not None
        parser = self.parser
        head = self.head_reader.finish(line, parser.should_upgrade())
        server = self.worker.server
        has_body = head.has_body
        if head.chunked:
            self.body_mode = CHUNKED_BODY
            self.decoder = ChunkedDecoder(server.limits.body)
        elif has_body:
            self.body_mode = LENGTH_BODY
            self.body_left = head.content_length
        http11 = head.http11
        worker = self.worker
        request_head = RequestHead(
            head.method,
            head.target.decode("latin-1"),
            head.path,
            head.query.decode("latin-1"),
            head.protocol,
            head.headers,
            self.peer[0],
            self.peer[1],
            self.local[0],
            self.local[1],
            chunked=head.chunked,
            request_id=worker.next_request_id(),
            start_time=time.time(),
        )
        if self.tls is not None:
            request_head.scheme = "https"
        keep_alive = parser.should_keep_alive() and server.keepalive and not self.closing
        if head.chunked and not http11:
            keep_alive = False  # RFC 9112 6.1: Transfer-Encoding in 1.0 is suspect framing
        req = Request(self, request_head, keep_alive, has_body)
        req.client_closes = not parser.should_keep_alive()
        req.bytes_in = self.head_total
        req.http11 = http11
        req.http09 = head.http09
        req.expect_continue = expect_continue = head.expect_continue
        req.host = head.host  # RFC 9112 3.2.2: an absolute target's authority, else Host
        self.queue.append(req)
        self.parsing = req if has_body else None
        self.body_started = False
        if has_body and not expect_continue:
            self._start_body_clock(self.loop.time())
        self.last = req
        # The app runs only once llhttp has accepted the whole head (it may
        # still refuse it after this callback, e.g. for a bad Transfer-Encoding).
        self.start_pending = self.active is None

    def on_body(self, data: bytes) -> None:
        req = self.parsing
        if req is None:
            return
        server = self.worker.server
        now = self.loop.time()
        if not self.body_started:
            # Sent without waiting for 100 Continue, which the client may do.
            self._start_body_clock(now)
        self.body_deadline = now + server.timeout
        if server.body_min_rate:
            self.rate_deadline = min(
                self.rate_deadline + len(data) / server.body_min_rate, self.rate_cap
            )
        req.body_received += len(data)
        limit = server.limits.body
        if limit and req.body_received > limit:
            # A chunked body can only be measured as it arrives.
            raise Reject(413, "request body larger than LimitRequestBody")
        if req.discard or req.dropped:
            return
        with self.cond:
            req.body.append(data)
            req.buffered += len(data)
            self.cond.notify_all()
            # Decided under the lock, so the app's thread cannot drain the
            # buffer between our check and the pause and then wait forever.
            pause = req.buffered > BODY_HIGH and self.body_paused is None
            if pause:
                self.body_paused = req
        self._wake_body()
        if pause:
            self.body_stopped_at = now  # we hold the client back: its clock stops
            self._update_reading()

    def on_message_complete(self) -> None:
        req = self.parsing
        if req is not None:
            with self.cond:
                req.body_done = True
                self.cond.notify_all()
            self.parsing = None
            self._wake_body()
        last = self.last
        if last is not None:
            last.complete = True
        if last is not None and not last.keep_alive:
            # Nothing after a request that ends the connection is read (RFC 9112 9.6).
            self.reading_done = True

    # -- serving ---------------------------------------------------------------

    def start_next(self) -> None:
        """Serve the request at the head of the queue (its turn has come)."""
        req = self.queue[0]
        self.active = req
        self.state = BUSY
        dispatch.start(self, req)

    def restart(self, req: Request) -> None:
        dispatch.start(self, req)

    def answer_unavailable(self, req: Request, why: str) -> None:
        """503 with Retry-After, and the reason in the error log."""
        log = self.worker.logs.error_log(req.vhost or self.worker.server.main)
        log.error(why, self.client())
        errordocs.answer(self, req, 503, headers=[("Retry-After", "5")])

    # -- loop side of the body, for the daemon proxy --------------------------

    def take_body(self, req: Request) -> bytes | None:
        """The next buffered piece of ``req``'s body, resuming the client if it was paused."""
        if not req.body:
            return None
        with self.cond:
            chunk = req.body.popleft()
            req.buffered -= len(chunk)
            req.body_read += len(chunk)
        if self.body_paused is req and req.buffered < BODY_LOW:
            self.body_paused = None
            self.resume_for_body()
        return chunk

    async def wait_body(self, req: Request) -> None:
        """Until more body, its end, or a failure."""
        if req.body or req.body_done or req.failed or req.dropped:
            return
        waiter = self.loop.create_future()
        self.body_waiter = waiter
        try:
            await waiter
        finally:
            self.body_waiter = None

    def _wake_body(self) -> None:
        waiter = self.body_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_writable(self) -> None:
        """Until the client's transport is below its high-water mark."""
        while self.write_paused and not self.lost:
            waiter = self.loop.create_future()
            self.write_waiter = waiter
            try:
                await waiter
            finally:
                self.write_waiter = None

    def take_over(
        self, req: Request, head: bytes, feed: Callable[[bytes], None]
    ) -> asyncio.Transport | None:
        """Hand the connection to a tunnel once ``head`` (a 101 answer to ``req``) is
        written: every byte the client sends from now on goes to ``feed``, unframed
        (b"" at its end), and the tunnel writes to the returned transport and closes
        it. None if the client is gone. Bytes already received past the request go
        to ``feed`` at once."""
        transport = self.transport
        if req.dropped or self.lost or transport is None or transport.is_closing():
            return None
        transport.write(head)
        req.head_sent = True
        req.status = 101
        req.bytes_framing += len(head)
        self.reading_done = True  # nothing more is framed as HTTP
        self.upgrade_hold = self.pipeline_paused = False
        self.tunnel = feed
        self.worker.idle.pop(self, None)
        rest, self.pending = self.pending, b""
        if rest:
            feed(rest)
        if self.reading_paused:
            self.reading_paused = False
            transport.resume_reading()
        return transport

    def answer(self, req: Request, status: int) -> None:
        """Answer a request ourselves: its ErrorDocument, else Apache's page (errordocs)."""
        errordocs.answer(self, req, status)

    def borrow_socket(self, req: Request) -> int | None:
        """Thread side: a duplicate of the socket, once all we wrote has gone out.

        The thread may then write to it directly (sendfile) while the
        transport has nothing buffered; None if that cannot be had.
        """
        box: list[int | None] = []
        done = threading.Event()

        def attempt(tries: int) -> None:
            transport = self.transport
            # A filtered body (frontend/filtered.py) must pass through the filter.
            filtering = req.state is not None and req.state.body_filter is not None
            if filtering or req.dropped or self.lost or transport is None or transport.is_closing():
                box.append(None)
                done.set()
            elif transport.get_write_buffer_size() == 0:
                sock = transport.get_extra_info("socket")
                try:
                    box.append(os.dup(sock.fileno()) if sock is not None else None)
                except OSError:
                    box.append(None)
                done.set()
            elif tries > 2000:
                box.append(None)
                done.set()
            else:
                self.loop.call_later(0.005, attempt, tries + 1)

        self.loop.call_soon_threadsafe(attempt, 0)
        done.wait()
        return box[0]

    def send_continue(self, req: Request) -> None:
        if req is self.active and not req.head_sent and not self.lost and self.transport:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            req.bytes_framing += 25  # mod_logio counts the interim response
            if req is self.parsing and not self.body_started:
                self._start_body_clock(self.loop.time())

    def resume_for_body(self) -> None:
        # Our pause, not the client's slowness: the wait for the next piece
        # starts again, and the time we held the client back is given back.
        now = self.loop.time()
        self.body_deadline = now + self.worker.server.timeout
        if self.body_stopped_at:
            held = now - self.body_stopped_at
            self.rate_deadline += held
            self.rate_cap += held
            self.body_stopped_at = 0.0
        self._update_reading()

    # -- clocks (RequestReadTimeout) ---------------------------------------------

    def _start_head(self, now: float) -> None:
        """A request head begins: header= (or, if it is 0, Timeout) from now."""
        server = self.worker.server
        self.head_start = now
        self.head_bytes = 0
        self.deadline = now + (server.header_timeout or server.timeout)

    def _head_progress(self, size: int) -> None:
        """header=T-M,MinRate=R: every R bytes of head earn a second, up to M in all."""
        server = self.worker.server
        rate = server.header_min_rate
        if not (rate and server.header_timeout):
            return
        self.head_bytes += size
        deadline = self.head_start + server.header_timeout + self.head_bytes / rate
        if server.header_max_timeout:
            longest = max(server.header_max_timeout, server.header_timeout)
            deadline = min(deadline, self.head_start + longest)
        self.deadline = deadline

    def _start_body_clock(self, now: float) -> None:
        server = self.worker.server
        self.body_started = True
        self.body_stopped_at = 0.0
        self.body_deadline = now + server.timeout
        if server.body_timeout:
            self.rate_deadline = now + server.body_timeout
            limit = server.body_max_timeout if server.body_min_rate else 0.0
            self.rate_cap = now + max(limit, server.body_timeout) if limit else math.inf
        else:
            self.rate_deadline = self.rate_cap = math.inf

    def _update_reading(self) -> None:
        """Pause reading the client while any reason holds, resume when none does.

        The reasons: a request body the app has not consumed, too many
        pipelined requests queued, a client not reading our responses.
        """
        transport = self.transport
        if transport is None or self.lost or transport.is_closing():
            return
        want_paused = (
            self.body_paused is not None or self.pipeline_paused or self.write_paused
        ) and self.state != LINGER
        if want_paused and not self.reading_paused:
            self.reading_paused = True
            transport.pause_reading()
        elif not want_paused and self.reading_paused:
            self.reading_paused = False
            transport.resume_reading()

    def app_send(self, req: Request, head: Any, data: bytes, end: bool) -> None:
        """Loop side of ``Request.send``: frame and write part of a response."""
        if req.dropped or self.lost or self.transport is None:
            return
        try:
            if self.worker.pipeline.filters and req.state is not None and not req.own_page:
                # A module filters bodies (DEFLATE): the pieces go through it.
                for step in filtered.steps(self.worker.pipeline, req, head, data, end):
                    self._app_send(req, *step)
            else:
                self._app_send(req, head, data, end)
        except Exception as e:
            # A bug or an unencodable header must not leave the client waiting.
            self.worker.log.error(f"internal error while sending a response: {e!r}")
            self.app_abort(req)

    def lend_socket(self, req: Request) -> None:
        """Loop side: lend the app's thread a duplicate of the socket (``req.direct_fd``)
        for a response after which the connection closes.

        The thread then writes that response itself (``send_direct``, the
        modules' output hooks and filters included), with the GIL released
        for the write, instead of handing it to the loop. Under ``Connection:
        close`` that write (which on loopback also delivers the response) was
        the largest single cost on the loop's thread, 11-14% of it, and the
        client now has its answer without waiting for the loop to wake: 18-20%
        more requests a second for hello world. A keep-alive connection is not
        lent one: its next request waits for the loop anyway, and there the
        loop writing a burst of responses at once measured 17% faster. A
        duplicate, not the socket's number: the loop may close its descriptor
        meanwhile (a reset), and the number could then name the next client's
        connection.
        """
        transport = self.transport
        if (
            req.keep_alive
            or req.http09
            or req.expect_continue  # the 100 Continue is the loop's to write
            or self.tls is not None
            or transport is None
            or self.lost
            or transport.is_closing()
            or not _writes_to_socket(transport)
        ):
            return
        sock = transport.get_extra_info("socket")
        try:
            req.direct_fd = os.dup(sock.fileno())
        except (OSError, AttributeError):
            pass  # (the loop writes it, as for any other)

    def send_direct(self, req: Request, head: Any, data: bytes) -> bool:
        """Thread side of ``lend_socket``: write a whole response on the lent socket.

        False if it cannot be done here (the loop then writes it, as usual):
        the body is still coming, something of ours is still in the
        transport's buffer, or the head is one to refuse. What the socket
        does not take at once, and the access-log line, go to the loop
        (``sent_directly``).
        """
        transport = self.transport
        if (
            req.dropped
            or self.lost
            or self.active is not req
            # While its body is still coming, the loop may yet refuse the
            # request (a timeout, a bad chunk) with an answer of its own.
            or not req.body_done
            or self.parsing is req
            or transport is None
            or transport.is_closing()
            or transport.get_write_buffer_size()
            or httpcore.head_problem(head[0], head[1]) is not None
        ):
            return False
        out = _Written()
        try:
            if self.worker.pipeline.filters and req.state is not None and not req.own_page:
                # (One piece in, one step out: the filter sees the end with it.)
                for step in filtered.steps(self.worker.pipeline, req, head, data, True):
                    self._app_send(req, *step, out=out)
            else:
                self._app_send(req, head, data, True, out=out)
        except Exception as e:  # as app_send: the client must not be left waiting
            self.worker.log.error(f"internal error while sending a response: {e!r}")
            req.release_socket()
            self.loop.call_soon_threadsafe(self.app_abort, req)
            return True
        fd, req.direct_fd = req.direct_fd, -1
        parts = out.parts
        try:
            sent = os.writev(fd, parts)
        except BlockingIOError:
            sent = 0
        except OSError:
            sent = -1  # the client is gone: the rest would be dropped by the loop too
        finally:
            os.close(fd)
        rest = b"" if sent < 0 else _after(parts, sent)
        self.loop.call_soon_threadsafe(self.sent_directly, req, rest)
        return True

    def sent_directly(self, req: Request, rest: bytes) -> None:
        """Loop side of ``send_direct``: what the socket did not take, then ``finish``."""
        transport = self.transport
        if self.lost or transport is None:
            # Reset after its response went out: logged all the same.
            if self.queue and self.queue[0] is req:
                self.served += 1
                del self.queue[0]
                self.active = None
            dispatch.log_access(self, req)
            return
        if rest and not transport.is_closing():
            transport.write(rest)
        self.finish(req)

    def _app_send(
        self,
        req: Request,
        head: Any,
        data: bytes,
        end: bool,
        counted: int | None = None,
        length: bool = True,
        out: _Written | None = None,
    ) -> None:
        # ``counted``: what the app's thread counted as in flight, where a filter
        # made ``data`` of it; ``length``: a body that ends here may be declared;
        # ``out``: the bytes are gathered there, not written (``send_direct``).
        transport: Any = self.transport if out is None else out
        assert transport is not None
        size = len(data) if counted is None else counted
        if head is not None:
            status, headers = head
            if req.state is not None:
                # The modules' output-header hooks (wsgihost.pipeline: Header, ...),
                # on every response the request gets; the head is checked after them.
                code = int(status[:3]) if status[:3].isdigit() else 500
                headers = self.worker.pipeline.output(req.state, code, headers, req.own_page)
                if "nokeepalive" in req.state.env:
                    req.keep_alive = False  # as Apache's core reads it, for any answer
            problem = httpcore.head_problem(status, headers)
            if problem is not None:
                self._replace_with_500(req, problem, size, end, out)
                return
            req.status = int(status[:3])
            req.response_headers = headers
            keep_alive = req.keep_alive and not self.closing
            max_req = self.worker.server.max_keepalive_requests
            if max_req and self.served + 1 >= max_req:
                keep_alive = False
            if not req.body_done and req.expect_continue and not req.continue_sent:
                # The client is waiting for our word before it sends the body;
                # we will not read it, so the connection cannot be reused.
                keep_alive = False
            raw, req.framing, req.keep_alive = httpcore.build_head(
                status,
                headers,
                http11=req.http11,
                is_head=req.is_head,
                keep_alive=keep_alive,
                body_length=len(data) if end and length else None,
            )
            if req.http09:
                # An HTTP/0.9 answer is the body alone, ended by closing.
                raw, req.framing, req.keep_alive = b"", Framing.CLOSE, False
            req.head_sent = True
            req.bytes_framing += len(raw)
            if req.framing == Framing.CHUNKED and data:
                req.bytes_framing += len(b"%x\r\n" % len(data)) + 2
            if req.framing == Framing.CHUNKED and end:
                req.bytes_framing += 5
            if req.framing == Framing.NONE or not data:
                transport.write(raw)
                data = data if req.framing != Framing.NONE else b""
            elif req.framing == Framing.CHUNKED:
                transport.writelines([raw, b"%x\r\n" % len(data), data, b"\r\n"])
            elif len(data) < 16384:
                transport.write(raw + data)
            else:
                transport.writelines([raw, data])
            if req.framing != Framing.NONE:
                req.bytes_sent += len(data)
            if req.framing == Framing.CHUNKED and end:
                transport.write(b"0\r\n\r\n")
        elif req.framing == Framing.CHUNKED:
            if data:
                size_line = b"%x\r\n" % len(data)
                transport.writelines([size_line, data, b"\r\n"])
                req.bytes_sent += len(data)
                req.bytes_framing += len(size_line) + 2
            if end:
                transport.write(b"0\r\n\r\n")
                req.bytes_framing += 5
        elif req.framing != Framing.NONE and data:
            transport.write(data)
            req.bytes_sent += len(data)
        if not end:
            with self.cond:
                req.unsent -= size
                self.cond.notify_all()
            return
        if out is None:
            self.finish(req)

    def _replace_with_500(
        self, req: Request, problem: str, size: int, end: bool, out: _Written | None = None
    ) -> None:
        """A response head that must never be written: a 500 goes out instead.

        Whatever else the response brings is dropped, and the connection
        ends with the 500.
        """
        log = self.worker.logs.error_log(req.vhost or self.worker.server.main)
        log.error(f"response refused, a 500 sent instead: {problem}", self.client())
        if not end:
            with self.cond:
                req.unsent -= size
        req.keep_alive = False
        head: tuple[str, list[tuple[str, str]]]
        if req.own_page:
            # Our own 500 was refused too: a "Header always" line makes every head
            # bad. As Apache (AH02430 twice): a 500 with no body and none of the
            # modules' headers, rather than a third try.
            req.state = None
            head, body = ("500 Internal Server Error", []), b""
        else:
            # Apache's 500 page, naming the host's ServerAdmin, with its signature.
            body = httpcore.error_body(
                500, signature=errordocs.signature(req, *errordocs.where(self, req))
            )
            head = ("500 Internal Server Error", [("Content-Type", httpcore.ERROR_TYPE)])
            # The server's own page: only "Header always" lines reach it (a Header
            # line that made the refused head would otherwise refuse it too).
            req.own_page = True
        self._app_send(req, head, body, True, out=out)
        with self.cond:
            req.dropped = True
            self.cond.notify_all()

    def app_abort(self, req: Request) -> None:
        """The response cannot be completed: close, so the client sees it cut short."""
        if req.dropped or self.lost or self.transport is None:
            return
        req.dropped = True
        req.keep_alive = False
        if req.status == 0:
            req.status = 500
        dispatch.log_access(self, req)
        self.close()

    def finish(self, req: Request) -> None:
        """A response is complete: log it, then serve the next request or close."""
        self.served += 1
        del self.queue[0]
        self.active = None
        if self.last is req and req.complete:
            self.last = None  # an idle connection holds no finished request (1.4 KB)
        dispatch.log_access(self, req)
        if not req.body_done:
            if req.keep_alive:
                # The app did not read the whole body: read and drop the rest,
                # so the connection can carry the next request.
                req.discard = True
                with self.cond:
                    req.body.clear()
                    req.buffered = 0
                if self.body_paused is req:
                    self.body_paused = None
                    self.resume_for_body()
        else:
            req.body.clear()
        if not req.keep_alive or self.closing:
            # The client said this was its last request and sent nothing after
            # it: no reset can overtake the response, so no lingering is needed
            # (nginx's rule too; Apache lingers after every response).
            # Not while reading is paused or a response is still going out:
            # bytes the client sends meanwhile sit unread, and would bring the
            # reset that lingering is for.
            transport = self.transport
            done = (
                req.client_closes
                and req.body_done
                and not (self.overflow or self.pending or self.queue or self.reading_paused)
                and transport is not None
                and transport.get_write_buffer_size() == 0
            )
            self.close(linger=not done)
            return
        self._continue()

    def _continue(self) -> None:
        """After a response: the next queued request, a deferred error, or wait for more."""
        # An Upgrade request answered without one: what followed it is the next
        # request after all (framed below, as requests held back are).
        self.upgrade_hold = False
        if self.queue:
            if self.write_paused:
                # The client is not reading what we sent: let it catch up first.
                self.next_waits = True
                return
            self.start_next()
            return
        if self.pending_error is not None:
            status, reason = self.pending_error
            self.reject(status, reason)
            return
        if self.client_eof:
            self.close()
            return
        if self.pending:
            self.state = HEAD
            self._start_head(self.loop.time())
            self._head_progress(len(self.pending))
        else:
            self.state = IDLE
            self.deadline = self.loop.time() + self.worker.server.keepalive_timeout
            # The longest idle are the first closed when the worker runs short.
            self.worker.idle.pop(self, None)
            self.worker.idle[self] = None
        if self.pipeline_paused:
            self.pipeline_paused = False
            self._update_reading()
            if self.pending and not self.framing:
                # Requests held back unparsed while the queue was full.
                self.data_received(b"")

    def reject(self, status: int, reason: str) -> None:
        """Refuse the request being parsed: answer ``status`` and close."""
        self.reading_done = True
        unstarted = self.start_deferred  # its body was refused before its app started
        self.start_deferred = False
        if self.transport is None or self.lost:
            return
        parsing = self.parsing
        if unstarted and parsing is not None and self._refused_by_headers_first(parsing):
            return
        if parsing is not None and parsing.head_sent and parsing is not self.active:
            # Answered already (the app did not read its whole body, whose
            # rest turned out malformed while we read and dropped it): an
            # error response now would pass for the next request's. Just close.
            self.worker.log.info(
                f"request body refused after the response: {reason}", self.client()
            )
            self.close()
            return
        active = self.active
        if active is not None and active is self.parsing:
            # The request being served failed while its body arrived (a
            # chunked body over the limit): the app's read fails, and its
            # response is replaced by ours if none has gone out yet.
            with self.cond:
                active.failed = reason
                active.dropped = True
                self.cond.notify_all()
            self._wake_body()
            if active.head_sent:
                self.close()
                return
        elif active is not None:
            # Earlier pipelined requests are answered first, in order; the one
            # that failed to parse is never served.
            last = self.last
            if last is not None and last is not active and not last.complete and last in self.queue:
                self.queue.remove(last)
            self.pending_error = (status, reason)
            self.transport.pause_reading()
            return
        self.worker.log.info(f"request refused with {status}: {reason}", self.client())
        record = AccessRecord()
        record.client_addr = self.peer[0]
        record.start = time.time()
        record.status = status
        # The line as Apache logs it (``%r``): rebuilt from its parts.
        line = self.line
        if self.logged_line:
            record.request_line = self.logged_line
        elif parsing is not None:
            record.request_line = dispatch.request_line_of(parsing)
        elif line is not None:
            method, target, protocol, _ = line
            record.request_line = requestline.logged_line(
                b"%s %s %s" % (method.encode("latin-1"), target, protocol.encode())
            )
        record.request_headers = record_headers = self.head_reader.headers
        # Apache's page, with the notes its core gives the refusals it shares with us.
        notes = _APACHE_NOTES.get(reason, "")
        method = parsing.head.method if parsing is not None else line[0] if line else "GET"
        # In the access log of the request's virtual host once its head is
        # known (a bad body), as Apache logs it; else in the log of the
        # connection's default virtual host (the first for its address).
        if parsing is not None:
            host = dispatch.host_of(self, parsing)
        else:
            host = self.worker.router.host(self.local[0], self.local[1], None)
        server = self.worker.server
        sig = errordocs.early_signature(server, host, parsing, record_headers)
        code, extra, body = errordocs.early_answer(server, host, status, method, notes, sig)
        response = httpcore.error_response(code, headers=extra, body=body)
        record.status = code
        record.bytes_sent = len(body)
        record.bytes_out = len(response)
        record.bytes_in = parsing.bytes_in + parsing.body_raw if parsing else self.head_seen
        for log in self.worker.logs.access_logs(host):
            log.log(record)
        self.transport.write(response)
        self.close(linger=True)

    def _refused_by_headers_first(self, req: Request) -> bool:
        """A chunked request refused for its body before its app started: 411 or 501 if due.

        mod_wsgi refuses a chunked request by its headers, before it reads
        any of the body (see ``refuse_chunked``): its answer wins over what
        the body turned out to be. True if it was answered.
        """
        head = req.head
        target = self.worker.router.route(head.server_addr, head.server_port, req.host, head.path)
        if not isinstance(target, WSGITarget):
            return False
        req.vhost = target.host
        self.active = req
        self.state = BUSY
        if dispatch.refuse_chunked(self, req, target):
            return True
        self.active = None
        return False

    def refuse(self) -> None:
        """Over the worker's share of MaxRequestWorkers: 503 at once, before any request.

        Closed like a refused request (see ``close``), so the client reads
        the answer even if it is still sending.
        """
        assert self.transport is not None
        self.transport.write(httpcore.error_response(503, headers=[("Retry-After", "5")]))
        self.close(linger=True)

    def client(self) -> str:
        return f"{self.peer[0]}:{self.peer[1]}"

    # -- closing -----------------------------------------------------------------

    def close(self, linger: bool = False) -> None:
        """Close after what is written has gone out.

        With ``linger``, the client may still be sending (a body we did not
        read, a pipelined request after an error): closing with unread data
        makes the kernel send a reset that can destroy our response before the
        client reads it, so we shut down our side and drain theirs briefly.
        """
        transport = self.transport
        if transport is None or self.lost or transport.is_closing():
            return
        self.reading_done = True
        if linger and transport.can_write_eof() and not self.client_eof:
            transport.write_eof()
            self.state = LINGER
            self.deadline = self.loop.time() + 2.0
            self.reading_paused = False
            transport.resume_reading()
            return
        transport.close()

    def check_timer(self, now: float) -> None:
        """Called about twice a second by the worker's sweeper."""
        if self.transport is None or self.lost:
            return
        if (
            self.parsing is not None
            and self.body_started
            and not self.body_stopped_at  # while we hold the client back, it is not late
            and not self.reading_done
        ):
            late = now > self.body_deadline or now > self.rate_deadline
            if late and self.parsing.head_sent:
                # Answered already (the app did not read all of its body, and
                # the rest is being read and dropped): a 408 now would pass
                # for the answer to the next request. Just close.
                self.worker.log.info("request body too slow after the response; closing")
                self.close()
                return
            if now > self.body_deadline:
                self.reject(408, "request body not received in time (Timeout)")
                return
            if now > self.rate_deadline:
                self.reject(408, "request body too slow (RequestReadTimeout body=)")
                return
        if self.write_paused and now > self.write_deadline:
            # Timeout for writes: a client that stopped reading frees its thread.
            self.worker.log.info("client stopped reading the response; closing", self.client())
            self.transport.abort()
            return
        if now < self.deadline:
            return
        if self.state == IDLE:
            self.transport.close()
        elif self.state == HEAD:
            if self.active is None:
                self.reject(408, "request head not received in time")
                self.deadline = now + 2.0
        elif self.state == LINGER:
            self.transport.abort()

    def stop(self) -> None:
        """Graceful stop: finish what was accepted, close idle connections.

        A connection that served requests and waits for the next is closed
        now. A new one, or one whose request head is arriving, may still send
        its request (answered with ``Connection: close``) for a moment.
        """
        self.closing = True
        if self.transport is None or self.lost or self.active is not None or self.queue:
            return
        if self.state == IDLE and self.served:
            self.transport.close()
        elif self.state == IDLE:
            self.deadline = min(self.deadline, self.loop.time() + 1.0)


class _Written:
    """A response's bytes gathered in order, for ``send_direct``: what
    ``_app_send`` would have written to the transport."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def writelines(self, data: list[bytes]) -> None:
        self.parts.extend(data)


def _after(parts: list[bytes], sent: int) -> bytes:
    """What of ``parts``, written in order, comes after its first ``sent`` bytes."""
    rest = []
    for part in parts:
        if sent >= len(part):
            sent -= len(part)
        else:
            rest.append(part[sent:])
            sent = 0
    return b"".join(rest)


def _writes_to_socket(transport: Any) -> bool:
    """uvloop's TCP transport, which writes straight to its socket (not a layer
    over one, such as TLS's or the PROXY protocol's)."""
    kind = type(transport)
    return kind.__name__ == "TCPTransport" and kind.__module__ == "uvloop.loop"


def _unmapped(addr: str) -> str:
    """An IPv4 client of a dual-stack listener (``Listen 80``) as the IPv4
    address it is, as Apache reports it (``::ffff:127.0.0.1`` -> ``127.0.0.1``)."""
    return addr[7:] if addr.startswith("::ffff:") and "." in addr else addr
