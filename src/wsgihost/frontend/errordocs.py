"""The server's own error answers, as Apache's ``ap_die`` makes them (loop side).

Every error the front end answers itself (a 404 from static files, a 403, a
500 or 503 when no app can run, a 502 from a daemon that gave no answer,
``WSGIErrorOverride``) comes here. What goes out is, in Apache's order:

* the request's ``ErrorDocument`` for the status, if there is one
  (:func:`wsgihost.errorpages.custom`): its text; a 302 to its URL; or, for
  a local path, that path served in place of the page (an *internal
  redirect*): a static file goes out with the error's status, an app is
  called with ``GET`` and ``REDIRECT_STATUS``, ``REDIRECT_URL``,
  ``REDIRECT_QUERY_STRING`` and ``REDIRECT_REQUEST_METHOD`` in its environ
  and answers with its own status;
* else Apache's own page (:func:`wsgihost.errorpages.page`), with the
  ``ServerSignature`` of the request's directory.

An ErrorDocument that fails (a missing file, a path that is itself refused)
gives Apache's page with its "Additionally, a ... error" paragraph, once:
an error document never leads to another.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from wsgihost import errorpages, static
from wsgihost.config.model import DEFAULT_SETTINGS, DirSettings, Host, Server
from wsgihost.errorpages import Signature
from wsgihost.frontend.exchange import REDIRECT_FAILED, REDIRECTED
from wsgihost.routing import FileTarget, Refusal, WSGITarget
from wsgihost.wsgi.environ import RequestHead, decode_path, split_host

if TYPE_CHECKING:
    from wsgihost.frontend.exchange import Exchange, Request

BANNER = "wsgihost"  # the Server header's product, as Apache's banner is its own
LARGEST_DOCUMENT = 1 << 20  # a static ErrorDocument is read whole; larger ones are refused


def where(conn: Exchange, req: Request) -> tuple[Host, DirSettings]:
    """The virtual host and merged per-directory settings of ``req``'s URL."""
    state = req.state
    if state is not None and state.settings is not None:
        # The pipeline routed it: the settings it went on with (a rewritten URL's,
        # with its <If> sections merged), as Apache's ap_die reads r->per_dir_config.
        return state.host, state.settings
    head = req.head
    router = conn.worker.router
    target = router.route(head.server_addr, head.server_port, req.host, head.path)
    if not isinstance(target, Refusal):
        return target.host, target.settings
    host = req.vhost or router.host(head.server_addr, head.server_port, req.host)
    return host, host_settings(conn.worker.server, host)


def host_settings(server: Server, host: Host) -> DirSettings:
    """A host's own settings over the main server's: all a request has before routing."""
    settings = DEFAULT_SETTINGS.merge(server.main.settings)
    return settings if host is server.main else settings.merge(host.settings)


def signature(req: Request, host: Host, settings: DirSettings) -> Signature:
    """``ServerSignature`` for ``req``: the name and port as the request gave them
    (UseCanonicalName Off, as Apache's default), else the host's."""
    head = req.head
    mode = settings.server_signature or "off"
    admin = host.server_admin or errorpages.NO_ADMIN
    if mode == "off":
        return Signature(mode, admin=admin)
    value = req.host.decode("latin-1") if req.host else ""
    if value:
        name, port_text = split_host(value)
        port = int(port_text) if port_text else (443 if head.scheme == "https" else 80)
    else:
        name = (host.server_name or head.server_addr).partition(":")[0]
        port = head.server_port
    return Signature(mode, BANNER, name, port, admin)


def early_signature(
    server: Server, host: Host, req: Request | None, headers: list[tuple[bytes, bytes]]
) -> Signature:
    """The signature of a request refused before it was routed (a bad head or body):
    the host's own settings, as Apache's server defaults are all it has then. For a
    head refused as it was read, Apache names the Host header's name (else the
    ServerName) and the default port, 80 (as it did, beside us, in the differential
    suite's errors-signed-bad-head)."""
    settings = host_settings(server, host)
    if req is not None:
        return signature(req, host, settings)
    admin = host.server_admin or errorpages.NO_ADMIN
    named = next((v for n, v in headers if n.lower() == b"host"), b"")
    name = split_host(named.decode("latin-1"))[0] if named else ""
    name = name or (host.server_name or server.main.server_name or "localhost").partition(":")[0]
    mode = settings.server_signature or "off"
    return Signature(mode, BANNER, name, 80, admin)


def early_answer(
    server: Server, host: Host, status: int, method: str, notes: str, sig: Signature
) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) of a request refused before routing: the host's
    ErrorDocument if it is a text or a URL, else Apache's page. (A local path is
    an internal redirect, which needs a request to redirect: Apache's page then.)"""
    doc = errorpages.custom(host_settings(server, host).error_documents, status)
    if doc is not None and doc[0] == "text":
        return status, [], doc[1].encode("latin-1", "replace")
    if doc is not None and doc[0] == "url":
        page = errorpages.page(302, method, location=doc[1], signature=sig)
        return 302, [("Location", doc[1])], page
    return status, [], errorpages.page(status, method, notes=notes, signature=sig)


def environ_signature(req: Request, host: Host, settings: DirSettings) -> str:
    """SERVER_SIGNATURE for an app's environ: the ``<address>`` line, as Apache's."""
    if settings.server_signature in (None, "off"):
        return ""
    return signature(req, host, settings).html(prefix="")


def answer(
    conn: Exchange,
    req: Request,
    status: int,
    *,
    headers: Iterable[tuple[str, str]] = (),
    notes: str = "",
    location: str = "",
) -> None:
    """Answer ``req`` with the server's error answer for ``status`` (see the module)."""
    host, settings = where(conn, req)
    sig = signature(req, host, settings)
    extra = list(headers)
    doc = None if req.error_redirect else errorpages.custom(settings.error_documents, status)
    if doc is not None and doc[0] == "url" and status == 401:
        # A redirect would lose the challenge: Apache ignores such a document.
        conn.worker.logs.error_log(host).error(
            "AH00569: cannot use a full URL in a 401 ErrorDocument directive --- ignoring!",
            conn.client(),
        )
        doc = None
    if doc is not None and doc[0] == "text":
        _send(conn, req, status, extra, doc[1].encode("latin-1", "replace"))
        return
    if doc is not None and doc[0] == "url":
        location = doc[1]
        body = errorpages.page(302, req.head.method, location=location, signature=sig)
        _send(conn, req, 302, [*extra, ("Location", location)], body)
        return
    if doc is not None and _redirect(conn, req, status, doc[1], notes, sig, extra):
        return
    if location:
        extra.append(("Location", location))
    body = errorpages.page(status, req.head.method, notes=notes, location=location, signature=sig)
    _send(conn, req, status, extra, body)


def _send(
    conn: Exchange, req: Request, status: int, headers: list[tuple[str, str]], body: bytes
) -> None:
    line = errorpages.title(status) if status in errorpages.STATUS_LINES else f"{status} Error"
    head = (line, [("Content-Type", errorpages.CONTENT_TYPE), *headers])
    req.own_page = True  # for the modules' output-header hooks: only "always" headers
    conn.app_send(req, head, body, True)


def _redirect(
    conn: Exchange,
    req: Request,
    status: int,
    path: str,
    notes: str,
    sig: Signature,
    headers: list[tuple[str, str]],
) -> bool:
    """Serve the local ErrorDocument ``path`` for ``req``; False if it cannot be tried."""
    head = req.head
    req.error_redirect = REDIRECTED
    raw_path, _, query = path.partition("?")
    raw = raw_path.encode("latin-1", "replace")
    target = conn.worker.router.route(head.server_addr, head.server_port, req.host, raw)
    if isinstance(target, FileTarget):
        failed = _static(conn, req, status, target, headers)
        if failed:
            req.error_redirect = REDIRECT_FAILED
            body = errorpages.page(
                status, head.method, notes=notes, signature=sig, recursive=failed
            )
            _send(conn, req, status, headers, body)
        return True
    if isinstance(target, WSGITarget):
        _drop_body(conn, req)
        req.redirect_env = {
            "REDIRECT_STATUS": str(status),
            "REDIRECT_URL": decode_path(head.path),
            "REDIRECT_REQUEST_METHOD": head.method,
            **({"REDIRECT_QUERY_STRING": head.query} if head.query else {}),
            **({"REDIRECT_ERROR_NOTES": notes} if notes else {}),
        }
        req.logged_head = head
        req.head = RequestHead(
            "GET",
            path,
            raw,
            query,
            head.version,
            [(n, v) for n, v in head.headers if n.lower() not in _BODY_HEADERS],
            head.client_addr,
            head.client_port,
            head.server_addr,
            head.server_port,
            scheme=head.scheme,
            request_id=head.request_id,
            start_time=head.start_time,
        )
        conn.restart(req)
        return True
    failed = target.status if isinstance(target, Refusal) else 500
    req.error_redirect = REDIRECT_FAILED
    body = errorpages.page(status, head.method, notes=notes, signature=sig, recursive=failed)
    _send(conn, req, status, headers, body)
    return True


_BODY_HEADERS = (b"content-length", b"transfer-encoding", b"content-type", b"expect")


def _drop_body(conn: Exchange, req: Request) -> None:
    """The redirect is a GET: the original body is read and dropped, as Apache discards it."""
    if not req.has_body:
        return
    with conn.cond:
        req.discard = True
        req.body.clear()
        req.buffered = 0
    req.has_body = False
    if conn.body_paused is req:
        conn.body_paused = None
        conn.resume_for_body()


def _static(
    conn: Exchange, req: Request, status: int, target: FileTarget, headers: list[tuple[str, str]]
) -> int:
    """Send the static ErrorDocument ``target`` with ``status``; the status it failed with, or 0."""
    resp = static.decide(target, "GET", "", lambda name: None, conn.worker.mime_types)
    if resp.status != 200 or resp.path is None:
        return resp.status if resp.status >= 400 else 500
    if resp.length > LARGEST_DOCUMENT:
        return 500
    try:
        with open(resp.path, "rb") as f:
            data = os.pread(f.fileno(), resp.length, resp.offset)
    except OSError:
        return 403
    kept = [(n, v) for n, v in resp.headers if n.lower() != "content-length"]
    conn.app_send(req, (errorpages.title(status), [*kept, *headers]), data, True)
    return 0
