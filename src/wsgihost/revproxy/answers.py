"""What the proxy answers itself, and its error-log lines (pure of I/O but the send).

ap_proxyerror's pages ("502 Proxy Error", the reason in the error notes, or the
ErrorDocument for the status), mod_proxy's Max-Forwards rules, the answer to a
backend that gave no response head, and the lines Apache's modules log about
them, tagged ``[proxy:...]``/``[proxy_http:...]`` with the system error first.
"""

from __future__ import annotations

import copy
import os
import re
from typing import TYPE_CHECKING

from wsgihost import errorpages
from wsgihost.config.model import Host
from wsgihost.frontend import errordocs, trace
from wsgihost.revproxy.backend import BadResponse
from wsgihost.revproxy.workers import Worker
from wsgihost.routing import ProxyTarget

if TYPE_CHECKING:
    from wsgihost.frontend.exchange import Exchange, Request
    from wsgihost.logs import ErrorLog


class Log:
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
        status = os_error(error) if error is not None else None
        log.log(level, message, self.client if client else None, status=status)


def os_error(e: BaseException) -> str:
    """Apache's "(errno)text" for what went wrong (an APR status where it has one)."""
    if isinstance(e, TimeoutError):
        return "(70007)The timeout specified has expired"
    if isinstance(e, OSError) and e.errno is not None:
        return f"({e.errno}){os.strerror(e.errno)}"
    if isinstance(e, BadResponse) and e.partial:
        return "(70008)Partial results are valid but processing is incomplete"
    return "(20014)Internal error (specific information not available)"


def proxy_error(conn: Exchange, req: Request, notes: str, status: int = 502) -> None:
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


def reason(why: str) -> str:
    """The error notes ap_proxyerror puts on its page."""
    return f"The proxy server could not handle the request<p>Reason: <strong>{why}</strong></p>"


READ_FAILED = reason("Error reading from remote server")
MAX_FORWARDS = re.compile(rb"\s*[+-]?\d+")


def max_forwards(conn: Exchange, req: Request, target: ProxyTarget, log: Log) -> bool:
    """mod_proxy's Max-Forwards rules; True when the request was answered here.

    A value that is no number is a 400; at zero, TRACE and OPTIONS are answered
    by this server (the proxy is their end) and anything else is a 400, a
    proxy loop; otherwise the backend gets the value less one (see _request).
    """
    value = req.head.header(b"max-forwards")
    if value is None:
        return False
    found = MAX_FORWARDS.match(value)
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
    proxy_error(conn, req, reason(why), 400)
    return True


def no_head(
    conn: Exchange, req: Request, target: ProxyTarget, worker: Worker, log: Log, e: Exception
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
    proxy_error(conn, req, READ_FAILED)
