"""Serve a request that ProxyPass gave a backend (mod_proxy_http's handler), on the loop.

1. The worker (:mod:`.workers`) for the backend URL gives the timeouts and
   an idle connection from its pool, else a new one: a backend that refuses
   is 503 (and is left alone for ``retry=`` seconds).
2. The request goes out as HTTP/1.1: the client's headers (repeated ones
   joined, as Apache's table holds them) without the hop-by-hop ones,
   ``Host`` first (the backend's, or the client's with ProxyPreserveHost),
   the ``X-Forwarded-*`` headers appended, then the body's framing and
   ``Connection: Keep-Alive``. Up to 16 KiB of body is read first: a body
   that ends within it goes with its Content-Length, a longer one is
   streamed as it came (chunked, or with the client's Content-Length).
3. The answer streams back with flow control both ways: the backend's
   connection stops being read while a slow client has 1 MiB waiting, and
   the client's body is read only as fast as the backend takes it. A
   response already whole when its head is read goes out in one write with
   its length. No head within the timeout, or a broken one, is a 502 Proxy
   Error (Apache 2.4 answers a ProxyTimeout so); a body cut short cuts the
   client's response short too.
4. ``Location``/``Content-Location``/``URI`` and ``Set-Cookie`` come back
   through ProxyPassReverse and its cookie forms (:mod:`.mapping`).
5. A WebSocket handshake (the worker allows ``upgrade``) that the backend
   accepts with 101 turns both connections into a tunnel (:mod:`.tunnel`).
"""

from __future__ import annotations

import asyncio
import copy
import errno
import os
import re
from typing import TYPE_CHECKING

from wsgihost import errorpages, httpcore
from wsgihost.config.mod_proxy import ProxyDir, split_url
from wsgihost.config.model import Host
from wsgihost.frontend import errordocs, trace
from wsgihost.revproxy import mapping, tunnel
from wsgihost.revproxy.backend import Backend, BadResponse, Body, Head, read_head
from wsgihost.revproxy.workers import Worker, now, workers_of
from wsgihost.routing import ProxyTarget

if TYPE_CHECKING:
    from wsgihost.frontend.exchange import Exchange, Request
    from wsgihost.logs import ErrorLog

PREFETCH = 16384  # MAX_MEM_SPOOL: body read before choosing its framing
# Request headers never passed on (besides those Connection names).
_HOP = frozenset(
    {"connection", "proxy-connection", "keep-alive", "upgrade", "trailer", "te", "expect"}
)
_RESPONSE_HOP = httpcore.HOP_BY_HOP
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


def serve(conn: Exchange, req: Request, target: ProxyTarget) -> None:
    """Start serving ``req`` from its backend (a task on the worker's loop)."""
    req.whole_body = True  # the client's body goes to the backend whole
    conn.loop.create_task(_serve(conn, req, target))


class _Log:
    """The request's error-log lines, tagged with the module as Apache tags them."""

    def __init__(self, conn: Exchange, req: Request, host: Host) -> None:
        self.base = conn.worker.logs.error_log(host)
        self.client = conn.client()
        self.tagged: dict[str, ErrorLog] = {}

    def __call__(
        self,
        level: str,
        message: str,
        module: str = "proxy",
        error: BaseException | None = None,
        client: bool = True,
    ) -> None:
        log = self.tagged.get(module)
        if log is None:
            log = self.tagged[module] = copy.copy(self.base)
            log.module = module
        status = _os_error(error) if error is not None else None
        log.log(level, message, self.client if client else None, status=status)


def _os_error(e: BaseException) -> str:
    """Apache's "(errno)text" for what went wrong (an APR status where it has one)."""
    if isinstance(e, TimeoutError):
        return "(70007)The timeout specified has expired"
    if isinstance(e, OSError) and e.errno is not None:
        return f"({e.errno}){os.strerror(e.errno)}"
    if isinstance(e, BadResponse) and e.partial:
        return "(70008)Partial results are valid but processing is incomplete"
    return "(20014)Internal error (specific information not available)"


def _proxy_error(conn: Exchange, req: Request, notes: str, status: int = 502) -> None:
    """ap_proxyerror: "502 Proxy Error" (or 503), its page, the reason in the notes."""
    host, settings = errordocs.where(conn, req)
    if errorpages.custom(settings.error_documents, status) is not None:
        errordocs.answer(conn, req, status, notes=notes)
        return
    sig = errordocs.signature(req, host, settings)
    body = errorpages.page(status, req.head.method, notes=notes, signature=sig)
    line = errorpages.title(status)  # "502 Bad Gateway": the status line Apache replaces
    body = body.replace(line.encode(), b"%d Proxy Error" % status, 1)
    body = body.replace(b"<h1>%s</h1>" % line[4:].encode(), b"<h1>Proxy Error</h1>", 1)
    req.own_page = True
    head = (f"{status} Proxy Error", [("Content-Type", errorpages.CONTENT_TYPE)])
    conn.app_send(req, head, body, True)


def _reason(why: str) -> str:
    """The error notes ap_proxyerror puts on its page."""
    return f"The proxy server could not handle the request<p>Reason: <strong>{why}</strong></p>"


_READ_FAILED = _reason("Error reading from remote server")
_MAX_FORWARDS = re.compile(rb"\s*[+-]?\d+")


def _max_forwards(conn: Exchange, req: Request, target: ProxyTarget, log: _Log) -> bool:
    """mod_proxy's Max-Forwards rules; True when the request was answered here.

    A value that is no number is a 400; at zero, TRACE and OPTIONS are answered
    by this server (the proxy is their end) and anything else is a 400, a
    proxy loop; otherwise the backend gets the value less one (see _request).
    """
    value = req.head.header(b"max-forwards")
    if value is None:
        return False
    found = _MAX_FORWARDS.match(value)
    if found is not None and int(found.group(0)) >= 1:
        return False
    if found is None:
        text = value.decode("latin-1")
        log("warn", f"AH10188: Max-Forwards value '{text}' could not be parsed")
        why = "Max-Forwards request header could not be parsed"
    elif req.head.method == "TRACE":
        trace.answer(conn, req, target.host)
        return True
    elif req.head.method == "OPTIONS":
        conn.app_send(req, ("200 OK", [("Allow", "TRACE")]), b"", True)
        return True
    else:
        why = "Max-Forwards has reached zero - proxy loop?"
    log("error", f"AH00898: {why} returned by {target.url_path}")
    req.keep_alive = False  # a 400 ends the connection, as Apache's does
    _proxy_error(conn, req, _reason(why), 400)
    return True


async def _serve(conn: Exchange, req: Request, target: ProxyTarget) -> None:
    log = _Log(conn, req, target.host)
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
        upgrade = _upgrade(req, worker)
        label = "HTTP" if not upgrade or worker.scheme == "http" else "WS"
        if _max_forwards(conn, req, target, log):
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
        head, body_first, more_body, framing = await _request(
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
                    _no_head(conn, req, target, worker, log, e)
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
                _send_body(conn, req, backend, framing, timeout)
            )
        try:
            if sender is not None and early is None:
                # The backend answers once it has the body: the wait for its answer
                # starts again while the body goes out, however slowly it comes.
                running = sender
                try:
                    early = await read_head(backend, timeout, busy=lambda: not running.done())
                except (TimeoutError, BadResponse) as e:
                    _no_head(conn, req, target, worker, log, e)
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
    conn: Exchange, req: Request, worker: Worker, timeout: float, label: str, log: _Log
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


def _upgrade(req: Request, worker: Worker) -> str | None:
    """The protocol the client asks to switch to, where the worker allows it."""
    if worker.upgrade is None or req.head.method != "GET":
        return None
    wanted = req.head.header(b"upgrade")
    tokens = (req.head.header(b"connection") or b"").lower()
    if not wanted or b"upgrade" not in [t.strip() for t in tokens.split(b",")]:
        return None
    text = wanted.decode("latin-1")
    allowed = worker.upgrade.lower()
    if allowed in ("*", "any") or text.lower() == allowed:
        return text
    return None


def _merged(headers: list[tuple[bytes, bytes]]) -> list[list[str]]:
    """Repeated request headers joined with ", " in first-seen order (apr_table_compress)."""
    merged: dict[str, list[str]] = {}
    for name, value in headers:
        text = name.decode("latin-1")
        found = merged.get(text.lower())
        if found is None:
            merged[text.lower()] = [text, value.decode("latin-1")]
        else:
            found[1] += ", " + value.decode("latin-1")
    return list(merged.values())


def _server_name(target: ProxyTarget, req: Request) -> str:
    name = target.host.server_name or req.conn.worker.server.main.server_name or os.uname()[1]
    if "://" in name:
        name = name.split("://", 1)[1]
    return name.rsplit(":", 1)[0] if name.count(":") == 1 else name


async def _request(
    conn: Exchange,
    req: Request,
    target: ProxyTarget,
    conf: ProxyDir,
    parts: tuple[str, str, int, str],
    upgrade: str | None,
    worker: Worker,
    waits: bool = False,
) -> tuple[bytes, bytes, bool, str]:
    """The request head for the backend, the body read so far, whether more is to
    come, and its framing ("length" or "chunked")."""
    head = req.head
    _, host, port, path = parts
    headers = _merged(head.headers)
    drop = set(_HOP) | {"content-length", "transfer-encoding"}
    if waits:
        drop.discard("expect")
    for name, value in headers:
        if name.lower() == "connection":
            drop |= {t.strip().lower() for t in value.split(",") if t.strip()}
    if head.remote_user is not None:
        drop.add("proxy-authorization")  # used here: not passed on (Apache's rule)
    client_host = next((v for n, v in headers if n.lower() == "host"), None)
    kept = [[n, v] for n, v in headers if n.lower() not in drop and n.lower() != "host"]
    for entry in kept:
        if entry[0].lower() == "max-forwards":  # (checked: a number, at least 1)
            found = _MAX_FORWARDS.match(entry[1].encode("latin-1"))
            entry[1] = str(int(found.group(0)) - 1) if found else entry[1]
    if conf.preserve_host:
        host_value = client_host or _server_name(target, req)
    else:
        shown = f"[{host}]" if ":" in host else host
        host_value = shown if port == 80 else f"{shown}:{port}"
    if conf.add_headers is not False:
        state = req.state
        client = state.client_addr if state is not None else head.client_addr
        _mergen(kept, "X-Forwarded-For", client)
        if client_host is not None:
            _mergen(kept, "X-Forwarded-Host", client_host)
        _mergen(kept, "X-Forwarded-Server", _server_name(target, req))
    lines = [f"{head.method} {path or '/'} HTTP/1.1", f"Host: {host_value}"]
    lines += [f"{n}: {v}" for n, v in kept]
    body, more = b"", False
    framing = "length"
    declared = head.header(b"content-length")
    if waits:
        more = True  # nothing read yet: the body keeps the client's framing
        if head.chunked:
            framing = "chunked"
            lines.append("Transfer-Encoding: chunked")
        else:
            lines.append(f"Content-Length: {declared.decode('latin-1') if declared else 0}")
    elif req.has_body:
        body, more = await _prefetch(conn, req)
        if not more:
            lines.append(f"Content-Length: {len(body)}")
        elif head.chunked:
            framing = "chunked"
            lines.append("Transfer-Encoding: chunked")
            body = b"%x\r\n%s\r\n" % (len(body), body) if body else b""
        else:
            lines.append(f"Content-Length: {declared.decode('latin-1') if declared else len(body)}")
    elif declared is not None:
        lines.append("Content-Length: 0")
    if upgrade is not None:
        lines += ["Connection: Upgrade", f"Upgrade: {upgrade}"]
    else:
        lines.append("Connection: Keep-Alive" if worker.reuse else "Connection: close")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return raw, body, more, framing


def _mergen(headers: list[list[str]], name: str, value: str) -> None:
    """apr_table_mergen: ", value" after the first header of that name, else a new one."""
    key = name.lower()
    for entry in headers:
        if entry[0].lower() == key:
            entry[1] += ", " + value
            return
    headers.append([name, value])


async def _await_continue(
    conn: Exchange,
    req: Request,
    target: ProxyTarget,
    backend: Backend,
    worker: Worker,
    timeout: float,
    log: _Log,
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
        _proxy_error(conn, req, "", 503)
        return None


def _no_head(
    conn: Exchange, req: Request, target: ProxyTarget, worker: Worker, log: _Log, e: Exception
) -> None:
    """No response head: 502 either way (Apache 2.4 answers a ProxyTimeout here so too).

    On a connection that served requests before, a backend that closed without a
    word closes the client's connection without one either (logged as 502), so
    that the client may send the request again, as mod_proxy_http does."""
    log(
        "error",
        f"AH01102: error reading status line from remote server {worker.host}:{worker.port}",
        "proxy_http",
        error=e,
    )
    if isinstance(e, BadResponse) and getattr(conn, "served", 0) > 0:
        req.status = 502
        conn.app_abort(req)
        return
    log("error", f"AH00898: Error reading from remote server returned by {target.url_path}")
    _proxy_error(conn, req, _READ_FAILED)


async def _prefetch(conn: Exchange, req: Request) -> tuple[bytes, bool]:
    """Up to PREFETCH bytes of the body; True if more is to come."""
    if req.expect_continue and not req.continue_sent:
        req.continue_sent = True
        conn.send_continue(req)
    parts: list[bytes] = []
    size = 0
    while size < PREFETCH:
        chunk = conn.take_body(req)
        if chunk:
            parts.append(chunk)
            size += len(chunk)
            continue
        if req.body_done or req.failed or req.dropped:
            break
        await conn.wait_body(req)
    done = req.body_done and not req.body
    return b"".join(parts), not done


async def _send_body(
    conn: Exchange, req: Request, backend: Backend, framing: str, timeout: float
) -> None:
    """The rest of the client's body to the backend, paced by the backend (a write
    that waits past the timeout ends the backend connection: its answer is then 502)."""
    try:
        while True:
            chunk = conn.take_body(req)
            if chunk:
                data = b"%x\r\n%s\r\n" % (len(chunk), chunk) if framing == "chunked" else chunk
                if not await backend.write(data, timeout):
                    return
                continue
            if req.failed or req.dropped:
                backend.close()  # the client's body broke off: so does ours
                return
            if req.body_done:
                if framing == "chunked":
                    await backend.write(b"0\r\n\r\n", timeout)
                return
            await conn.wait_body(req)
    except TimeoutError:
        backend.close()


def _own_base(req: Request, target: ProxyTarget) -> str:
    """This server as the client named it (ap_construct_url with UseCanonicalName Off)."""
    head = req.head
    scheme = head.scheme
    host = (req.host or b"").decode("latin-1")
    if not host:
        host = _server_name(target, req)
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
    log: _Log,
    early: Head | None = None,
) -> bool:
    """The backend's answer to the client; True if the connection may be reused."""
    module = "proxy_http"
    try:
        head = early or await read_head(backend, timeout)
    except (TimeoutError, BadResponse) as e:
        _no_head(conn, req, target, worker, log, e)
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
