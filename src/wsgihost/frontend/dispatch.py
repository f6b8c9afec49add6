"""The life of a request in a front-end worker, once its head is read (loop side).

:func:`start` routes it (:mod:`wsgihost.routing`) and hands it to what
serves it: TRACE (:mod:`.trace`), a static file (:mod:`.files`), an app in
this worker's threads (:mod:`.embedded`) or a daemon process group
(:mod:`.proxy`); :func:`log_access` writes its access-log line when it is
done. The connection (:mod:`.connection`) reads requests and writes
responses; everything here reaches it through :class:`.exchange.Exchange`.
"""

from __future__ import annotations

import time

from wsgihost.access import gate as access
from wsgihost.config.model import Host
from wsgihost.frontend import dispatcher, errordocs, fastpath, phases, trace
from wsgihost.frontend.exchange import REDIRECT_FAILED, Exchange, Request
from wsgihost.frontend.files import serve_file
from wsgihost.logs import AccessRecord
from wsgihost.revproxy import handler as revproxy
from wsgihost.routing import FileTarget, ProxyTarget, Refusal, Target, WSGITarget, set_key


def start(conn: Exchange, req: Request) -> None:
    """Serve ``req`` (on the loop): TRACE, a file, an embedded app or a daemon."""
    worker = conn.worker
    head = req.head
    layer = getattr(conn, "tls", None)  # over TLS: mod_ssl's checks first (tlslayer.py)
    if layer is not None:
        host = worker.router.host(head.server_addr, head.server_port, req.host)
        status = layer.refusal(host, req.host, conn.client())
        if status:
            conn.answer(req, status)
            return
    if head.target == "*":
        # OPTIONS * asks about the server itself (RFC 9110 9.3.7): Apache's
        # core answers 200 with no body and no Allow.
        conn.app_send(req, ("200 OK", []), b"", True)
        return
    if worker.pipeline.active:
        # The modules' phases around routing (frontend/phases.py, wsgihost.pipeline).
        routed = phases.route(conn, req, start)
        if routed is None:
            return  # a module answered
        target = routed
    else:
        target = worker.router.route(head.server_addr, head.server_port, req.host, head.path)
    if (
        head.method == "TRACE"
        and not (isinstance(target, Refusal) and target.reason == "invalid path")
        # mod_proxy passes TRACE on to the backend unless TraceEnable is off.
        and not (isinstance(target, ProxyTarget) and target.host.trace_enable != "off")
    ):
        host = worker.router.host(head.server_addr, head.server_port, req.host)
        req.vhost = host
        trace.answer(conn, req, host)
        return
    if not isinstance(target, Refusal):
        req.vhost = target.host
        if layer is None and target.settings.require_ssl:
            # mod_ssl's access hook: "SSL connection required" (AH02219, info).
            worker.logs.error_log(target.host).info(
                f"access to {head.target} failed, reason: SSL connection required",
                conn.client(),
            )
            conn.answer(req, 403)
            return
        if layer is not None and target.settings.require_client_cert and not layer.client_cert():
            # SSLVerifyClient require in a section: Apache would renegotiate and
            # fail; the certificate was asked for at the handshake, and none came.
            worker.logs.error_log(target.host).error(
                f"access to {head.target} failed, reason: no verified client certificate "
                "(SSLVerifyClient require)",
                conn.client(),
            )
            conn.answer(req, 403)
            return
        if layer is not None and isinstance(target, WSGITarget):
            head.ssl_environ = layer.request_environ(target.host, target.settings.ssl_options)
        # The access phases (Require, authentication, WSGIAccessScript) come
        # before any handler, as in Apache; they may finish on a pool thread.
        if worker.pipeline.active:
            access.admit(
                conn,
                req,
                target,
                lambda: phases.before_handler(conn, req, target, serve_target, start),
            )
            return
        access.admit(conn, req, target, lambda: serve_target(conn, req, target))
        return
    serve_target(conn, req, target)


def serve_target(conn: Exchange, req: Request, target: Target) -> None:
    """Hand a routed (and admitted) request to what serves it."""
    worker = conn.worker
    head = req.head
    if isinstance(target, WSGITarget):
        if head.chunked and refuse_chunked(conn, req, target):
            return
        if target.settings.dispatch_script is not None:
            # WSGIDispatchScript: run off the loop, then serve where it says.
            redirect(conn, req, target)
            return
        serve_app(conn, req, target)
    elif isinstance(target, FileTarget):
        serve_file(conn, req, target)
    elif isinstance(target, ProxyTarget):
        revproxy.serve(conn, req, target)  # ProxyPass (wsgihost.revproxy)
    else:
        if target.log and target.host is not None:
            # Refused for a reason worth the host's error log (a .htaccess that
            # cannot be read or applied; a handler-mapped script).
            req.vhost = target.host
            log = worker.logs.error_log(target.host)
            log.log(target.log_level, target.log, conn.client())
        conn.answer(req, target.status)


def redirect(conn: Exchange, req: Request, target: WSGITarget) -> None:
    """Let the dispatch script choose the process group, application group and callable
    (on a pool thread), then serve the app (on the loop), or answer 500."""
    worker = conn.worker
    log, client = worker.logs.error_log(target.host), conn.client()
    groups = set(worker.groups)

    def done(chosen: WSGITarget | None) -> None:
        if chosen is None:
            conn.answer(req, 500)
        else:
            serve_app(conn, req, chosen)

    def job() -> None:
        chosen = dispatcher.dispatch(worker.router, req, target, log, client, groups)
        conn.loop.call_soon_threadsafe(done, chosen)

    worker.pool.submit(job)


def serve_app(conn: Exchange, req: Request, target: WSGITarget) -> None:
    """Hand a WSGI request to its daemon process set, or run it in this worker."""
    if target.settings.server_signature not in (None, "off"):
        # ServerSignature: the app's SERVER_SIGNATURE, as mod_wsgi passes Apache's.
        req.server_signature = errordocs.environ_signature(req, target.host, target.settings)
    worker = conn.worker
    group_name = target.settings.process_group
    allowed = target.settings.restrict_process
    if allowed is not None and (group_name or "") not in allowed:
        # WSGIRestrictProcess: checked as mod_wsgi does, before either mode.
        worker.logs.error_log(target.host).error(
            f"Daemon process called '{group_name or ''}' cannot be accessed by this WSGI "
            f"application as not a member of allowed groups: {target.script}",
            conn.client(),
        )
        conn.answer(req, 500)
        return
    if group_name:
        to_daemon(conn, req, target, group_name)
        return
    if worker.server.restrict_embedded:
        worker.logs.error_log(target.host).error(
            f"WSGIRestrictEmbedded On: refusing to run {target.script} in embedded "
            "mode; set WSGIProcessGroup for it",
            conn.client(),
        )
        conn.answer(req, 500)
        return
    app = worker.apps.get(target)
    if not req.keep_alive:
        conn.lend_socket(req)  # its thread writes the last response itself
    worker.pool.submit(app.serve, req, target)


def refuse_chunked(conn: Exchange, req: Request, target: WSGITarget) -> bool:
    """mod_wsgi's checks of a chunked request, before the app; True if it was refused.

    As its handler does in both modes: ``Transfer-Encoding`` must be
    ``chunked`` itself, anything else (``gzip, chunked`` included, which
    HTTP allows) is 501; and a chunked body is for apps with
    WSGIChunkedRequest On only, else 411 (PEP 3333 has the app read at
    most CONTENT_LENGTH bytes, and a chunked body has none). Apache
    closes the connection after either rather than read the body.
    """
    coding = b", ".join(v for n, v in req.head.headers if n.lower() == b"transfer-encoding")
    if coding.lower() != b"chunked":
        status = 501
        why = f"Transfer-Encoding {coding.decode('latin-1')!r} is not 'chunked'"
    elif not target.settings.chunked_request:
        status = 411
        why = "a chunked body, and WSGIChunkedRequest is Off"
    else:
        return False
    conn.worker.logs.error_log(target.host).error(
        f"request refused ({status}): {why}, for {target.script}", conn.client()
    )
    req.keep_alive = False
    errordocs.answer(conn, req, status)
    return True


def to_daemon(conn: Exchange, req: Request, target: WSGITarget, name: str) -> None:
    """Pass the request to daemon group ``name``, or answer 503 if it has no process."""
    worker = conn.worker
    group = worker.groups.get(name)
    # Each application group of a daemon group has processes (and a socket) of its own.
    key = set_key(name, target.process_set)
    path = worker.group_sockets.get(key)
    if group is None or path is None:
        why = f"WSGIProcessGroup {name!r} names no WSGIDaemonProcess"
        if group is not None:
            why = (
                f"application group {target.process_set!r} of daemon group {name!r} "
                "was not known when the configuration was read (see docs/differences.md, "
                "handler-mapped scripts)"
            )
        worker.logs.error_log(target.host).error(why, conn.client())
        conn.answer(req, 500)
        return
    if worker.group_status.get(key) == "failed":
        conn.answer_unavailable(
            req, f"daemon group {name!r} has no process ready: its app does not start"
        )
        return
    # mod_wsgi sends a daemon the whole body, whether or not the app reads it.
    req.whole_body = True
    fastpath.start(conn, req, target, group, path)


def host_of(conn: Exchange, req: Request) -> Host:
    """The virtual host a request is for (the main server if none takes it)."""
    if req.vhost is None:
        head = req.head
        target = conn.worker.router.route(head.server_addr, head.server_port, req.host, head.path)
        if not isinstance(target, Refusal):
            req.vhost = target.host
    return req.vhost or conn.worker.server.main


def log_access(conn: Exchange, req: Request) -> None:
    """The access-log line of a request answered (or cut short)."""
    host = req.vhost or conn.worker.server.main
    logs = conn.worker.logs.access_logs(host)
    if not logs:
        return  # (no CustomLog: no record to build)
    head = req.logged_head or req.head
    record = AccessRecord()
    record.client_addr = head.client_addr
    record.client_port = head.client_port
    peer = getattr(conn, "conn_peer", None) or getattr(conn, "peer", None)
    if peer and peer[0] != head.client_addr:
        record.conn_addr = peer[0]  # %{c}a: mod_remoteip changed the client's address
    record.method = head.method
    record.target = head.target
    record.version = head.version
    record.request_line = request_line_of(req)
    record.status = req.status
    if req.redirect_env:  # an ErrorDocument's app answered: %s is the error's status
        record.original_status = int(req.redirect_env["REDIRECT_STATUS"])
    # %b is the final request's (Apache's rule): a failed ErrorDocument's sent nothing.
    record.bytes_sent = 0 if req.error_redirect == REDIRECT_FAILED else req.bytes_sent
    record.bytes_in = req.bytes_in + body_bytes_read(req)
    record.bytes_out = req.bytes_sent + req.bytes_framing
    record.start = head.start_time
    record.duration = time.time() - head.start_time
    record.request_headers = head.headers
    record.response_headers = req.response_headers
    layer = getattr(conn, "tls", None)
    if layer is not None:
        record.ssl_var = layer.log_var
    record.server_port = head.server_port
    record.user = head.remote_user
    record.server_name = host.server_name or ""
    for log in logs:
        log.log(record)


def body_bytes_read(req: Request) -> int:
    """The body bytes mod_logio's %I counts: all of it when the connection goes on
    (Apache reads the rest to reach the next request), else what the app read."""
    if (req.keep_alive or req.whole_body) and not req.body_done and not req.head.chunked:
        # The rest is read and dropped after this line is written; Apache logs later.
        declared = req.head.header(b"content-length")
        return int(declared) if declared and declared.isdigit() else req.body_raw
    if req.keep_alive or req.whole_body or req.body_read >= req.body_received:
        return req.body_raw
    return req.body_read


def request_line_of(req: Request) -> str:
    """A served request's line for the access log, as Apache rebuilds it."""
    head = req.logged_head or req.head
    if req.http09:
        return f"{head.method} {head.target}"  # the line had no protocol
    return f"{head.method} {head.target} {head.version}"
