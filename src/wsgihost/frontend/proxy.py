"""Pass a request to a daemon process group, on the worker's event loop.

Connections to a group's socket are kept open between requests (the daemon's
END says whether it keeps its end; DESIGN.md, "From front-end to daemon"):

* a request goes on an idle pooled connection if there is one, else on a new
  one: a plain non-blocking ``connect`` retried with back-off, since a full
  backlog answers EAGAIN (asyncio's own connect can report success against
  it), for at most ``connect-timeout``;
* the head goes with its deadline (and, for a request without a body, its
  END, in the same write), then we wait for ACCEPT or REJECT. Until ACCEPT
  the app has not seen the request: after a reset, an EOF or a ``draining``
  REJECT it is sent again on a new connection, even a POST, until the
  deadline (plus a grace) has passed; a pooled connection that the daemon
  had closed is simply replaced at once. A ``deadline`` or ``queue-timeout``
  REJECT is a 503 and is never retried;
* after ACCEPT nothing is retried: no response head is a 502, a body cut
  short aborts the client connection rather than ending it cleanly;
* bodies flow with flow control both ways. A request body: at most about
  256 KiB of it waits here before ACCEPT (the client is paused), and
  afterwards the daemon socket's buffer and the client's pace the copy. A
  response: we stop reading the daemon's socket while :data:`WINDOW` bytes
  of it wait here for a slow client, so the daemon's writes block and the
  app's thread waits, as it would writing to the client itself;
* a connection goes back to the pool only after a whole exchange: both ENDs
  passed, every write succeeded, and the daemon asked to keep it.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from wsgihost.config.model import DaemonGroup, DirSettings
from wsgihost.daemon.protocol import (
    DRAINING,
    Abort,
    Accept,
    Data,
    End,
    Event,
    ProtocolError,
    Reject,
    Request,
    Response,
)
from wsgihost.frontend.daemonlink import POOL, WINDOW, DaemonExchange, Unavailable, connect
from wsgihost.routing import WSGITarget, set_key
from wsgihost.wsgi.environ import Mount, build_environ

if TYPE_CHECKING:
    from wsgihost.frontend.exchange import Exchange as Connection
    from wsgihost.frontend.exchange import Request as HttpRequest

GRACE = 1.0  # how long past its deadline we still wait for a daemon's answer
SEND_BATCH = 256 * 1024  # request body gathered into one DATA frame, at most

_OBJECT_KEYS = (
    "wsgi.version",
    "wsgi.input",
    "wsgi.input_terminated",
    "wsgi.errors",
    "wsgi.multithread",
    "wsgi.multiprocess",
    "wsgi.run_once",
    "wsgi.file_wrapper",
    "mod_wsgi.version",
)


def mount_for(target: WSGITarget, group: DaemonGroup) -> Mount:
    settings: DirSettings = target.settings
    return Mount(
        target.script_name,
        target.script,
        callable_object=settings.callable_object or "application",
        application_group=target.application_group,
        process_group=group.name,
        pass_authorization=bool(settings.pass_authorization),
        script_reloading=settings.script_reloading is not False,
        multiprocess=group.multiprocess or group.processes > 1,
        multithread=group.threads > 1,
        document_root=target.document_root,
        server_admin=target.host.server_admin,
        server_name=target.host.server_name,
        trusted_proxy_headers=settings.trusted_proxy_headers,
        trusted_proxies=settings.trusted_proxies,
        map_head_to_get=settings.map_head_to_get,
    )


def request_head(
    req: HttpRequest, target: WSGITarget, group: DaemonGroup, start: float, deadline: float
) -> dict[str, Any]:
    """What the daemon needs: the environ's strings, the script, the deadline."""
    environ = build_environ(
        req.head,
        mount_for(target, group),
        None,
        None,
        None,
        target.script_name,
        target.path_info,
        target.path_translated,
        req.state.env if req.state is not None else None,  # the request's SetEnv and co.
    )
    environ.update(target.environ_overrides())  # a handler mapping's
    if req.redirect_env:  # an ErrorDocument's internal redirect (frontend/errordocs.py)
        environ.update(req.redirect_env)
    if req.server_signature:
        environ["SERVER_SIGNATURE"] = req.server_signature
    # The daemon makes the objects (wsgi.input and co.) itself; everything
    # else in the environ is a string.
    for key in _OBJECT_KEYS:
        del environ[key]
    strings: dict[str, str] = environ
    settings = target.settings
    head: dict[str, Any] = {
        "environ": strings,
        "script": target.script,
        "callable": settings.callable_object or "application",
        "reloading": settings.script_reloading is not False,
        # A script a handler mapping found (not known when the group started, so
        # the master does not watch it) is loaded again in place when it changes.
        "reload_in_place": target.set_group is not None and target.filename is None,
        "queued": start,
        "deadline": deadline,
    }
    # wsgi.errors goes to the request's virtual host's log (the daemon falls
    # back to the main server's when these are absent).
    if target.host.error_log:
        head["error_log"] = target.host.error_log
    if target.host.log_level:
        head["log_level"] = target.host.log_level
    server = req.conn.worker.server
    # (Asked only where some ErrorLogFormat is given: the model's method is
    # interpreted code, a call per request otherwise.)
    error_format = server.error_log_format(target.host) if server.error_log_formats else None
    if error_format:
        head["error_log_format"] = error_format
        head["server_name"] = target.host.server_name or server.main.server_name or ""
    return head


SENT, ACCEPTED, RELAYING = 0, 1, 2


class Try:
    """Where a request stands between its tries: what :func:`serve` carries on from."""

    __slots__ = (
        "deadline",
        "delay",
        "exchange",
        "head",
        "restarts",
        "reused",
        "stage",
        "start",
        "tries",
        "wait_first",
    )

    def __init__(self, start: float, deadline: float, head: dict[str, Any]) -> None:
        self.start = start
        self.deadline = deadline
        self.head = head
        # mod_wsgi.daemon_connects and daemon_restarts: the tries this request took
        # (each try one connection), and how many found the daemon going away.
        self.tries = 0
        self.restarts = 0
        self.delay = 0.005
        # A try already sent (the fast path's, taken over): wait for its answer.
        self.exchange: DaemonExchange | None = None
        self.reused = False
        # How far that try got: SENT (no answer yet), ACCEPTED (no response
        # head read yet) or RELAYING (the head went to the client, the body
        # follows).
        self.stage = SENT
        self.wait_first = False  # the try before found the daemon going away: back off first


def first_try(conn: Connection, req: HttpRequest, target: WSGITarget, group: DaemonGroup) -> Try:
    start = time.monotonic()  # system-wide on Linux, so the daemon can compare it
    deadline = start + (group.queue_timeout or conn.worker.server.timeout)
    return Try(start, deadline, request_head(req, target, group, start, deadline))


async def serve(
    conn: Connection,
    req: HttpRequest,
    target: WSGITarget,
    group: DaemonGroup,
    path: str,
    state: Try | None = None,
) -> None:
    """Run on the worker's loop: serve ``req`` through the daemon group at ``path``.

    With ``state``, carry on from a try the fast path (:mod:`.fastpath`) began.
    """
    loop = asyncio.get_running_loop()
    if state is None:
        state = first_try(conn, req, target, group)
    start, deadline, head = state.start, state.deadline, state.head
    exchange: DaemonExchange | None = state.exchange
    try:
        while state.stage == SENT:
            if state.wait_first:
                state.wait_first = False
                await asyncio.sleep(state.delay)
                state.delay = min(state.delay * 2, 0.2)
            if exchange is not None:
                # The fast path sent this try: its answer is all that is left.
                reused = state.reused
                channel = exchange.channel
                state.exchange = None
            else:
                state.tries += 1
                head["environ"]["mod_wsgi.daemon_connects"] = str(state.tries)
                head["environ"]["mod_wsgi.daemon_restarts"] = str(state.restarts)
                exchange = POOL.take(path)
                reused = exchange is not None
                if exchange is None:
                    try:
                        sock = await connect(path, min(deadline, start + group.connect_timeout))
                    except Unavailable:
                        conn.answer_unavailable(req, f"daemon group {group.name!r} did not answer")
                        return
                    exchange = DaemonExchange(sock, group.response_buffer_size or WINDOW)
                channel = exchange.channel
                frames = channel.send(Request(head))
                if not req.has_body:
                    frames += channel.send(End())
                await exchange.send(frames)
            try:
                event = await _answer(conn, req, exchange, group, deadline + GRACE, target)
            except TimeoutError:
                accepted = exchange.withdraw()
                exchange.close()
                if accepted:
                    conn.answer(req, 502)  # taken at the last moment; its answer is lost
                else:
                    conn.answer_unavailable(req, f"daemon group {group.name!r} is busy")
                return
            except ProtocolError:
                if channel.accepted:
                    # Broken after ACCEPT: the app has the request; never again.
                    exchange.close()
                    conn.answer(req, 502)
                    return
                event = None  # reset or EOF before an answer: the app never saw it
            except Withdrawn as e:
                exchange.close()
                if e.accepted:
                    # The app took it at the very moment we withdrew: its
                    # answer cannot reach us any more.
                    conn.answer(req, 502)
                elif not req.dropped:
                    conn.answer_unavailable(req, str(e))
                return
            if isinstance(event, Accept):
                state.stage = ACCEPTED
                break
            exchange.close()
            exchange = None
            if isinstance(event, Reject) and event.reason != DRAINING:
                conn.answer_unavailable(req, f"daemon refused the request ({event.reason})")
                return
            if req.dropped:
                return
            if reused and event is None:
                continue  # a pooled connection the daemon had closed: no reason to wait
            state.restarts += 1
            delay = state.delay
            if time.monotonic() + delay > deadline + GRACE:
                conn.answer_unavailable(req, f"daemon group {group.name!r} kept refusing")
                return
            await asyncio.sleep(delay)
            state.delay = min(delay * 2, 0.2)
        # Accepted: from here on, never retried.
        assert exchange is not None
        if state.stage == RELAYING:
            keep = await _relay_rest(conn, req, exchange, _timeout(group))
        else:
            if req.expect_continue and not req.continue_sent:
                req.continue_sent = True
                conn.send_continue(req)
            sender = loop.create_task(_send_body(conn, req, exchange)) if req.has_body else None
            try:
                override = bool(target.settings.error_override)
                keep = await _relay_response(conn, req, exchange, group, override)
            finally:
                if sender is not None:
                    sender.cancel()
        channel = exchange.channel
        if keep and channel.my_state == "done" and not exchange.write_failed:
            channel.start_next()
            POOL.give(path, exchange, group.processes * group.threads)
            exchange = None
    except Exception as e:  # a bug here must not leave the client hanging
        internal_error(conn, req, e)
    finally:
        if exchange is not None:
            exchange.close()


def internal_error(conn: Connection, req: HttpRequest, e: Exception) -> None:
    """A bug in passing the request on: logged, and never a client left waiting."""
    conn.worker.log.error(f"internal error while passing a request to a daemon: {e!r}")
    if not req.head_sent:
        conn.answer(req, 500)
    else:
        conn.app_abort(req)


class Withdrawn(Exception):
    """We took back a request the daemon had not accepted (group failed, client gone)."""

    def __init__(self, why: str, accepted: bool) -> None:
        super().__init__(why)
        self.accepted = accepted


async def _answer(
    conn: Connection,
    req: HttpRequest,
    exchange: DaemonExchange,
    group: DaemonGroup,
    until: float,
    target: WSGITarget,
) -> Event:
    """Wait for ACCEPT or REJECT, but not for a group that failed or a client that left.

    (The master tells each of a group's sets apart: one per application group.)
    """
    key = set_key(group.name, target.process_set)
    while True:
        try:
            return await exchange.next_event(min(until, time.monotonic() + 0.25))
        except TimeoutError:
            if time.monotonic() >= until:
                raise
        failed = conn.worker.group_status.get(key) == "failed"
        if failed or req.dropped:
            why = f"daemon group {group.name!r} has no process ready: its app does not start"
            raise Withdrawn(why if failed else "the client went away", exchange.withdraw())


async def _send_body(conn: Connection, req: HttpRequest, exchange: DaemonExchange) -> None:
    """Copy the client's body to the daemon, paced by the daemon socket."""
    channel = exchange.channel
    while True:
        chunk = conn.take_body(req)
        if chunk:
            # What has arrived goes as one frame in one write: fewer, larger
            # reads for the daemon, whose every read is a GIL hand-over there.
            parts = [chunk]
            size = len(chunk)
            while size < SEND_BATCH and (more := conn.take_body(req)):
                parts.append(more)
                size += len(more)
            frames = channel.send_data(parts[0] if len(parts) == 1 else b"".join(parts))
            if req.body_done and not req.body:
                frames.append(channel.send(End()))  # the last of it: END in the same write
                await exchange.send(frames)
                return
            if not await exchange.send(frames):
                return  # the daemon stopped reading: its response tells the rest
            continue
        if req.failed or req.dropped:
            # The reason reaches the app, in the error its read of wsgi.input raises.
            reason = req.failed or "the client went away before the end of the body"
            await exchange.send(channel.send(Abort(reason)))
            return
        if req.body_done:
            await exchange.send(channel.send(End()))
            return
        await conn.wait_body(req)


async def _relay_response(
    conn: Connection,
    req: HttpRequest,
    exchange: DaemonExchange,
    group: DaemonGroup,
    override: bool = False,
) -> bool:
    """Copy the daemon's response to the client, paced by the client.

    True when the whole response passed and the daemon keeps the connection.
    With ``override`` (WSGIErrorOverride On), an error response (400 and up)
    is read and dropped, and the server's own answer for its status goes
    out instead (its ErrorDocument, or Apache's page), as mod_wsgi does.
    """
    timeout = _timeout(group)
    # An app past request-timeout is answered (504) by its daemon, which
    # also logs where it was stuck: give it the time to, before our own 502.
    first = max(timeout, group.request_timeout + 5.0) if group.request_timeout else timeout
    try:
        event = await exchange.next_event(time.monotonic() + first)
    except (ProtocolError, TimeoutError):
        event = None
    if isinstance(event, Abort) or not isinstance(event, Response):
        # The app never gave a response head (the process died, or timed out).
        conn.answer(req, 502)
        return False
    head = (event.status, event.headers)
    code = int(event.status[:3]) if event.status[:3].isdigit() else 0
    if override and code >= 400:
        keep = await _drop_body(exchange, timeout)
        conn.answer(req, code)
        return keep
    # The whole response is often here already: send it in one write.
    parts: list[bytes] = []
    while (ready := exchange.available()) is not None:
        if isinstance(ready, Data):
            parts.append(ready.data)
            continue
        if isinstance(ready, End):
            conn.app_send(req, head, b"".join(parts), True)
            return ready.keep
        conn.app_send(req, head, b"".join(parts), False)
        conn.app_abort(req)
        return False
    conn.app_send(req, head, b"".join(parts), False)
    return await _relay_rest(conn, req, exchange, timeout)


def _timeout(group: DaemonGroup) -> float:
    """How long we wait for the next bytes of a response (mod_wsgi's socket-timeout)."""
    return group.response_socket_timeout or group.socket_timeout or 60.0


async def _relay_rest(
    conn: Connection, req: HttpRequest, exchange: DaemonExchange, timeout: float
) -> bool:
    """The rest of a response body, once its head went out; True as for _relay_response."""
    while not req.dropped:
        try:
            event = await exchange.next_event(time.monotonic() + timeout)
        except (ProtocolError, TimeoutError):
            conn.app_abort(req)  # cut short: never pretend the response was complete
            return False
        if isinstance(event, Data):
            await conn.wait_writable()
            conn.app_send(req, None, event.data, False)
        elif isinstance(event, End):
            conn.app_send(req, None, b"", True)
            return event.keep
        else:
            conn.app_abort(req)
            return False
    return False


async def _drop_body(exchange: DaemonExchange, timeout: float) -> bool:
    """Read a response body to its end and drop it; True if the daemon keeps the connection."""
    while True:
        try:
            event = await exchange.next_event(time.monotonic() + timeout)
        except (ProtocolError, TimeoutError):
            return False
        if isinstance(event, End):
            return event.keep
        if not isinstance(event, Data):
            return False
