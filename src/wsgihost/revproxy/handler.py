"""Serve a request that ProxyPass gave a backend (mod_proxy_http's handler), on the loop.

1. The worker (:mod:`.workers`) for the backend URL gives the timeouts and
   an idle connection from its pool, else a new one: a backend that refuses
   is 503 (and is left alone for ``retry=`` seconds).
2. The request goes out as HTTP/1.1 (:mod:`.outgoing`); with ``Expect:
   100-continue`` the backend's 100 is awaited before the body is read.
3. The answer streams back with flow control both ways: the backend's
   connection stops being read while a slow client has 1 MiB waiting, and
   the client's body is read only as fast as the backend takes it. A
   response already whole when its head is read goes out in one write with
   its length. No head within the timeout, or a broken one, is a 502 Proxy
   Error (Apache 2.4 answers a ProxyTimeout so; :mod:`.answers`); a body cut
   short cuts the client's response short too.
4. ``Location``/``Content-Location``/``URI`` and ``Set-Cookie`` come back
   through ProxyPassReverse and its cookie forms (:mod:`.mapping`).
5. A WebSocket handshake (the worker allows ``upgrade``) that the backend
   accepts with 101 turns both connections into a tunnel (:mod:`.tunnel`).
"""

from __future__ import annotations

import asyncio
import errno
from typing import TYPE_CHECKING

from wsgihost import httpcore
from wsgihost.config.mod_proxy import ProxyDir, split_url
from wsgihost.frontend import errordocs
from wsgihost.revproxy import answers, mapping, outgoing, tunnel
from wsgihost.revproxy.backend import Backend, BadResponse, Body, Head, read_head
from wsgihost.revproxy.workers import Worker, now, workers_of
from wsgihost.routing import ProxyTarget

if TYPE_CHECKING:
    from wsgihost.frontend.exchange import Exchange, Request

_RESPONSE_HOP = httpcore.HOP_BY_HOP
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


def serve(conn: Exchange, req: Request, target: ProxyTarget) -> None:
    """Start serving ``req`` from its backend (a task on the worker's loop)."""
    req.whole_body = True  # the client's body goes to the backend whole
    conn.loop.create_task(_serve(conn, req, target))


async def _serve(conn: Exchange, req: Request, target: ProxyTarget) -> None:
    log = answers.Log(conn, req, target.host)
    backend: Backend | None = None
    try:
        server = conn.worker.server
        workers = workers_of(server)
        worker = workers.find(target.url)
        parts = split_url(target.url)
        if worker is None or parts is None or (parts[1], parts[2]) != (worker.host, worker.port):
            # Only where the configuration says: a path that made another address of
            # a ProxyPass URL ("/x/@other/" after a URL without its last slash) is none.
            log("error", f"no ProxyPass backend is {target.url}: refused (does the URL end in /?)")
            conn.answer(req, 500)
            return
        conf = target.settings.proxy or ProxyDir()
        timeout = worker.timeout or conf.timeout or server.timeout
        upgrade = outgoing.upgrade_to(req, worker)
        label = "HTTP" if not upgrade or worker.scheme == "http" else "WS"
        if answers.max_forwards(conn, req, target, log):
            return
        if now() < worker.failed_until:
            log("error", f"AH00940: {label}: disabled connection for ({worker.address})")
            conn.answer(req, 503)
            return
        backend = worker.take()
        reused = backend is not None
        if backend is None:
            backend = await _connect(conn, req, worker, timeout, label, log)
            if backend is None:
                return
        # Expect: 100-continue goes to the backend, whose 100 (or final answer)
        # decides whether the client's body is read at all (Proxy100Continue On).
        waits = req.has_body and req.expect_continue and not req.continue_sent
        head, body_first, more_body, framing = await outgoing.request_head(
            conn, req, target, conf, parts, upgrade, worker, waits
        )
        if not await backend.write(head + body_first, timeout) and reused and not more_body:
            backend.close()
            backend = await _connect(conn, req, worker, timeout, label, log)
            if backend is None:
                return
            await backend.write(head + body_first, timeout)
        early: Head | None = None
        skipped = False  # the backend answered before the body went: not reusable
        if reused and req.head.method in _IDEMPOTENT and not more_body and upgrade is None:
            # A pooled connection the backend closed as we wrote: one more try on a new
            # one, for a safe request (the backend said nothing: it never answered it).
            try:
                early = await read_head(backend, timeout)
            except (TimeoutError, BadResponse) as e:
                if not isinstance(e, BadResponse) or not e.nothing:
                    answers.no_head(conn, req, target, worker, log, e)
                    return
                backend.close()
                backend = await _connect(conn, req, worker, timeout, label, log)
                if backend is None:
                    return
                await backend.write(head + body_first, timeout)
        if waits:
            early = await _await_continue(conn, req, target, backend, worker, timeout, log)
            if early is None:
                return
            if early.code == 100:
                early = None
                req.continue_sent = True
                conn.send_continue(req)
            else:
                more_body = False  # answered without the body: it is not sent
                skipped = True
        sender = None
        if more_body:
            sender = asyncio.get_running_loop().create_task(
                outgoing.send_body(conn, req, backend, framing, timeout)
            )
        try:
            if sender is not None and early is None:
                # The backend answers once it has the body: the wait for its answer
                # starts again while the body goes out, however slowly it comes.
                running = sender
                try:
                    early = await read_head(backend, timeout, busy=lambda: not running.done())
                except (TimeoutError, BadResponse) as e:
                    answers.no_head(conn, req, target, worker, log, e)
                    return
            keep = await _relay(
                conn, req, target, conf, backend, worker, timeout, upgrade, log, early
            )
            keep = keep and not skipped
        finally:
            if sender is not None and not sender.done():
                sender.cancel()
                keep = False
        if keep and backend is not None:
            worker.give(backend)
            backend = None
    except Exception as e:  # a bug here must not leave the client hanging
        conn.worker.log.error(f"internal error while proxying a request: {e!r}")
        if not req.head_sent:
            conn.answer(req, 500)
        else:
            conn.app_abort(req)
    finally:
        if backend is not None and backend.on_data is None:
            backend.close()


async def _connect(
    conn: Exchange, req: Request, worker: Worker, timeout: float, label: str, log: answers.Log
) -> Backend | None:
    """A new connection to the worker's backend, or None (answered 503)."""
    try:
        return await worker.connect(worker.connect_timeout or timeout)
    except (OSError, TimeoutError) as e:
        if isinstance(e, OSError) and e.errno is None:
            e = OSError(errno.ECONNREFUSED, "Connection refused")
        if worker.socket is not None:
            where = f"AH02454: {label}: attempt to connect to Unix domain socket {worker.socket}"
        else:
            where = f"AH00957: {label.lower()}: attempt to connect to {worker.address}"
        log(
            "error",
            f"{where} ({worker.host}:{worker.port}) failed",
            error=e,
            client=False,
        )
        if worker.retry:
            worker.failed_until = now() + worker.retry
        log(
            "error",
            f"AH01114: {label}: failed to make connection to backend: {worker.host}",
            "proxy_http" if label == "HTTP" else "proxy_wstunnel",
        )
        req.keep_alive = False  # Apache ends the client's connection with this 503 too
        conn.answer(req, 503)
        return None


async def _await_continue(
    conn: Exchange,
    req: Request,
    target: ProxyTarget,
    backend: Backend,
    worker: Worker,
    timeout: float,
    log: answers.Log,
) -> Head | None:
    """The backend's 100 Continue or final answer; None if it gave neither (answered 503)."""
    try:
        return await read_head(backend, timeout, interim=True)
    except (TimeoutError, BadResponse) as e:
        log(
            "error",
            f"AH01102: error reading status line from remote server {worker.host}:{worker.port}",
            "proxy_http",
            error=e,
        )
        log("error", f"AH00898: Timeout on 100-Continue returned by {target.url_path}")
        answers.proxy_error(conn, req, "", 503)
        return None


def _own_base(req: Request, target: ProxyTarget) -> str:
    """This server as the client named it (ap_construct_url with UseCanonicalName Off)."""
    head = req.head
    scheme = head.scheme
    host = (req.host or b"").decode("latin-1")
    if not host:
        host = outgoing.server_name(target, req)
        port = head.server_port
        default = 443 if scheme == "https" else 80
        host = host if port == default else f"{host}:{port}"
    return f"{scheme}://{host}"


def _response_headers(
    head: Head, conf: ProxyDir, req: Request, target: ProxyTarget, chunked: bool
) -> list[tuple[str, str]]:
    drop = set(_RESPONSE_HOP)
    for name, value in head.headers:
        if name.lower() == "connection":
            drop |= {t.strip().lower() for t in value.split(",") if t.strip()}
    if chunked:
        drop.add("content-length")  # never both (Apache drops the length)
    out: list[tuple[str, str]] = []
    base: str | None = None
    for name, value in head.headers:
        key = name.lower()
        if key in drop:
            continue
        if key in ("location", "content-location", "uri") and conf.reverse:
            base = base or _own_base(req, target)
            value = mapping.reverse_location(value, conf.reverse, base)
        elif key == "set-cookie":
            value = mapping.reverse_cookie(value, conf.cookie_domains, conf.cookie_paths)
        out.append((name, value))
    return out


async def _relay(
    conn: Exchange,
    req: Request,
    target: ProxyTarget,
    conf: ProxyDir,
    backend: Backend,
    worker: Worker,
    timeout: float,
    upgrade: str | None,
    log: answers.Log,
    early: Head | None = None,
) -> bool:
    """The backend's answer to the client; True if the connection may be reused."""
    module = "proxy_http"
    try:
        head = early or await read_head(backend, timeout)
    except (TimeoutError, BadResponse) as e:
        answers.no_head(conn, req, target, worker, log, e)
        return False
    if head.code == 101:
        if upgrade is None:
            errordocs.answer(conn, req, 502)
            return False
        tunnel.start(conn, req, backend, head, timeout)
        return False
    try:
        body = Body(backend, head, req.is_head)
    except BadResponse as e:
        log("error", f"AH01105: bad response from {worker.address}: {e}", module)
        errordocs.answer(conn, req, 502)
        return False
    # The backend's reason phrase, none where it gave none (as Apache passes it).
    status = f"{head.code} {head.reason}" if head.reason else f"{head.code}"
    headers = _response_headers(head, conf, req, target, body.chunked)
    try:
        first = body.ready()
    except BadResponse:
        conn.app_abort(req)
        return False
    if body.done and not body.chunked:  # (a chunked answer stays chunked, as in Apache)
        conn.app_send(req, (status, headers), first, True)
        return body.keep
    conn.app_send(req, (status, headers), first, False)
    while not req.dropped:
        try:
            piece = await body.next(timeout)
        except (BadResponse, TimeoutError) as e:
            log("error", "AH01110: error reading response", module, error=e)
            conn.app_abort(req)  # cut short: never pretend the response was whole
            return False
        if piece is None:
            conn.app_send(req, None, b"", True)
            return body.keep
        await conn.wait_writable()
        conn.app_send(req, None, piece, False)
    return False
