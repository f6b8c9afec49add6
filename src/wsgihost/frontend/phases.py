"""The pipeline's phases for a request in a front-end worker (loop side).

:mod:`wsgihost.frontend.dispatch` calls these only where the configuration
uses some module (``worker.pipeline.active``); :mod:`wsgihost.pipeline`
runs the hooks, and this module does what their outcomes mean for the
connection: an answer, an external redirect, or an internal redirect that
serves the request again from translate_name, as Apache's
``ap_internal_redirect`` does.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace

from wsgihost import errorpages
from wsgihost.config.model import Host
from wsgihost.frontend import errordocs
from wsgihost.frontend.exchange import Exchange, Request
from wsgihost.logs import ErrorLog
from wsgihost.mods.remoteip import PROXIED_NOTE
from wsgihost.pipeline import Answer, Outcome, Redirect, RequestState, Reroute
from wsgihost.pipeline.state import MAX_REDIRECTS
from wsgihost.routing import Refusal, Target, normalize_path, path_refusal
from wsgihost.wsgi.environ import decode_path

Serve = Callable[[Exchange, Request, Target], None]
Restart = Callable[[Exchange, Request], None]


def begin(conn: Exchange, req: Request) -> RequestState:
    """The request's state: new for what the client sent; the one an internal redirect
    prepared; or, for an ErrorDocument's redirect, one made from the failed request."""
    head = req.head
    prev = req.state
    if prev is not None and not prev.begun:
        prev.begun = True
        return prev  # a Reroute's new request, prepared by _finish
    url = normalize_path(head.path)
    if prev is not None:
        # An ErrorDocument's internal redirect (errordocs.py): the error's status.
        redirect_env = req.redirect_env or {}
        prev.status = int(redirect_env.get("REDIRECT_STATUS", "500"))
        state = prev.redirected(url or decode_path(head.path), head.query)
        state.method = head.method  # GET, as Apache's ap_die makes an ErrorDocument's
    else:
        host = conn.worker.router.host(head.server_addr, head.server_port, req.host)
        state = RequestState(
            head.method,
            url or decode_path(head.path),
            head.query,
            head.headers,
            host,
            head.client_addr,
            head.client_port,
            head.server_addr,
            head.server_port,
            head.scheme == "https",
            head.version,
            head.target,
        )
        if getattr(conn, "conn_peer", None) is not None:
            # A PROXY header gave the client's address: mod_remoteip reads no header then.
            state.notes[PROXIED_NOTE] = "1"
    state.begun = True
    state.logger = _logger(conn, state.host)
    req.state = state
    return state


_tagged: dict[tuple[int, str], ErrorLog] = {}


def _logger(conn: Exchange, host: Host) -> Callable[[str, str, str], None]:
    """``RequestState.log`` for a request to ``host``: its error log, naming the
    client, with the module's tag (``[rewrite:error]``)."""

    def log(level: str, message: str, module: str) -> None:
        # Looked up when a line is written: most requests write none.
        found = base = conn.worker.logs.error_log(host)
        if module != base.module:
            key = (id(base), module)
            found = _tagged.get(key) or _tagged.setdefault(key, copy.copy(base))
            found.module = module
        found.log(level, message, conn.client())

    return log


def route(conn: Exchange, req: Request, restart: Restart) -> Target | None:
    """post_read_request, translate_name, routing (map_to_storage) and header_parser:
    the request's target, or None where a hook's outcome has answered it."""
    worker = conn.worker
    pipeline = worker.pipeline
    head = req.head
    state = begin(conn, req)
    if state.prev is None:
        outcome = pipeline.run("post_read_request", state)
        if outcome is not None:
            _finish(conn, req, state, outcome, restart)
            return None
        if state.client_addr != head.client_addr:
            head.client_addr = state.client_addr  # mod_remoteip: the app's REMOTE_ADDR, %a
    if state.prev is None and normalize_path(head.path) is None:
        # Apache checks the path after post_read_request, before translate_name.
        return Refusal(path_refusal(head.path), "invalid path")
    outcome = pipeline.run("translate_name", state)
    if outcome is not None:
        _finish(conn, req, state, outcome, restart)
        return None
    target = worker.router.route_url(
        head.server_addr, head.server_port, req.host, state.uri, state.filename
    )
    if isinstance(target, Refusal):
        return target
    state.target = target
    state.settings = target.settings
    state.filename = getattr(target, "path", None) or getattr(target, "script", None)
    outcome = pipeline.after_routing(state)
    if outcome is not None:
        _finish(conn, req, state, outcome, restart)
        return None
    if state.settings is not target.settings:
        # The <If> walk merged more: the request goes on with those settings.
        target = replace(target, settings=state.settings)
        state.target = target
    return target


def before_handler(
    conn: Exchange, req: Request, target: Target, serve: Serve, restart: Restart
) -> None:
    """type_checker and fixups (after the access checks), then the handler."""
    state = req.state
    assert state is not None
    outcome = conn.worker.pipeline.before_handler(state)
    if outcome is not None:
        _finish(conn, req, state, outcome, restart)
        return
    if state.args != req.head.query:
        # A rewrite changed the query string: the app's QUERY_STRING is the new
        # one (r->args); the access log keeps the request line as sent.
        req.logged_head = req.logged_head or req.head
        req.head = req.head.with_query(state.args)
    serve(conn, req, target)


def _finish(
    conn: Exchange, req: Request, state: RequestState, outcome: Outcome, restart: Restart
) -> None:
    """Do what a hook's outcome says."""
    req.vhost = req.vhost or state.host  # logged in its host's logs, as Apache logs it
    if isinstance(outcome, Reroute):
        if state.redirects >= MAX_REDIRECTS:
            # Apache's line, and its 500.
            state.log(
                "error",
                f"AH00124: Request exceeded the limit of {MAX_REDIRECTS} internal redirects "
                "due to probable configuration error. Use 'LimitInternalRecursion' to "
                "increase the limit if necessary. Use 'LogLevel debug' to get a backtrace.",
            )
            errordocs.answer(conn, req, 500)
            return
        req.state = state.redirected(outcome.uri, outcome.args)
        restart(conn, req)
        return
    if isinstance(outcome, Redirect):
        if 300 <= outcome.status < 400:
            errordocs.answer(conn, req, outcome.status, location=outcome.location)
        else:
            errordocs.answer(conn, req, outcome.status)
        return
    _answer(conn, req, outcome)


def _answer(conn: Exchange, req: Request, answer: Answer) -> None:
    if answer.body is None:
        errordocs.answer(conn, req, answer.status, headers=answer.headers)
        return
    status = answer.status
    line = errorpages.title(status) if status in errorpages.STATUS_LINES else f"{status} Error"
    headers = [("Content-Type", answer.content_type), *answer.headers]
    conn.app_send(req, (line, headers), answer.body, True)
