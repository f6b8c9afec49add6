"""mod_headers at run time: Header and RequestHeader in the request pipeline.

Apache's hooks, in its order:

* post_read_request (APR_HOOK_FIRST): the ``early`` lines of the host's own
  scope (the main server's, then the virtual host's), on the request's
  headers and on both response tables;
* fixups (APR_HOOK_LAST, after mod_env): ``RequestHeader`` lines of the
  request's merged scope, so the app sees what they made;
* output_headers (its FIXUP_HEADERS_OUT / FIXUP_HEADERS_ERR filters): on a
  response of the handler (a static file, an app in either mode, whatever its
  status), ``Header always`` lines on err_headers_out and then the others on
  headers_out; on a page the server writes itself for an error, only the
  ``always`` lines. Two tables mean ``Header unset X`` does not remove an
  ``X`` set by ``Header always``, and both are sent when both set one.

The headers the HTTP layer writes itself (Date, Server, and the framing,
Content-Length and Transfer-Encoding) are left to it: a rule naming one is
not run on a response (Apache's core overrides Date and Server the same
way; it would send a Content-Length a rule made up, wsgihost does not).
A value that would split a header (a CR or LF written in the configuration)
makes the response a 500, through the front end's last check of every head.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from wsgihost.expr import EvaluationError
from wsgihost.mods.exprview import ExprView
from wsgihost.mods.headers_core import Facts, HeaderRule, HeadersConfig, apply
from wsgihost.pipeline.hooks import Module, Outcome, OutHeaders
from wsgihost.pipeline.registry import configured
from wsgihost.routing import WSGITarget

if TYPE_CHECKING:
    from wsgihost.config.model import Host, Server
    from wsgihost.pipeline.state import RequestState

# The HTTP layer's own headers: Header rules do not reach them.
LAYER_OWNED = frozenset({"date", "server", "content-length", "transfer-encoding"})


def _for_responses(rules: tuple[HeaderRule, ...]) -> tuple[HeaderRule, ...]:
    return tuple(r for r in rules if r.header.lower() not in LAYER_OWNED or r.action == "echo")


def _response_config(config: HeadersConfig) -> HeadersConfig:
    return HeadersConfig(
        config.request, _for_responses(config.onsuccess), _for_responses(config.always)
    )


def _ssl_lookup(r: RequestState) -> Callable[[str], str | None]:
    def ssl(name: str) -> str | None:
        if name == "HTTPS":
            return "on" if r.https else "off"
        return None  # the TLS layer's other variables are not at hand yet (differences.md)

    return ssl


class AppEnv(Mapping[str, str]):
    """The environment a Header line reads on an app's response: mod_wsgi has added
    the CGI variables to Apache's subprocess_env by then (ap_add_cgi_vars and
    ap_add_common_vars), so ``%{QUERY_STRING}e`` has a value there. The request's
    own variables come first; the CGI ones are made on the first miss."""

    __slots__ = ("_cgi", "r", "target")

    def __init__(self, r: RequestState, target: WSGITarget) -> None:
        self.r = r
        self.target = target
        self._cgi: dict[str, str] | None = None

    def _made(self) -> dict[str, str]:
        if self._cgi is None:
            r, t = self.r, self.target
            cgi = {
                "QUERY_STRING": r.args,
                "REQUEST_URI": r.unparsed_uri,
                "REQUEST_METHOD": r.method,
                "SERVER_PROTOCOL": r.protocol,
                "REQUEST_SCHEME": "https" if r.https else "http",
                "REMOTE_ADDR": r.client_addr,
                "REMOTE_PORT": str(r.client_port),
                "SERVER_ADDR": r.local_addr,
                "SERVER_PORT": str(r.local_port),
                "SCRIPT_NAME": t.script_name,
                "SCRIPT_FILENAME": t.filename or t.script,
                "DOCUMENT_ROOT": t.document_root or "",
            }
            if t.path_info:
                cgi["PATH_INFO"] = t.path_info
            if r.https:
                cgi["HTTPS"] = "on"
            for name, value in r.headers_in:
                key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
                text = value.decode("latin-1")
                cgi[key] = f"{cgi[key]}, {text}" if key in cgi else text
            self._cgi = cgi
        return self._cgi

    def __getitem__(self, name: str) -> str:
        value = self.r.env.get(name)
        if value is not None:
            return value
        return self._made()[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**self._made(), **self.r.env})

    def __len__(self) -> int:
        return len({**self._made(), **self.r.env})


class HeadersModule(Module):
    name = "headers"

    def __init__(self, server: Server) -> None:
        # The scope a request has before it is mapped (and for a refusal made
        # before that): its host's own, over the main server's.
        main = server.main.settings.headers or HeadersConfig()
        self.host_scope: dict[int, HeadersConfig] = {id(server.main): _response_config(main)}
        for vhost in server.vhosts:
            own = vhost.settings.headers or HeadersConfig()
            self.host_scope[id(vhost)] = _response_config(main.merge(own))
        self.empty = HeadersConfig()
        # Merged per-directory scopes seen so far, filtered once each.
        self.filtered: dict[int, tuple[HeadersConfig, HeadersConfig]] = {}

    def _host(self, host: Host) -> HeadersConfig:
        return self.host_scope.get(id(host), self.empty)

    def _scope(self, r: RequestState) -> HeadersConfig:
        settings = r.settings
        config = settings.headers if settings is not None else None
        if config is None:
            return self._host(r.host) if settings is None else self.empty
        seen = self.filtered.get(id(config))
        if seen is None or seen[0] is not config:
            if len(self.filtered) > 4096:
                self.filtered.clear()
            seen = (config, _response_config(config))
            self.filtered[id(config)] = seen
        return seen[1]

    def _facts(
        self, r: RequestState, table: list[tuple[str, str]] | None = None, output: bool = False
    ) -> Facts:
        view = ExprView(r, table)

        def evaluate(rule: HeaderRule) -> str:
            try:
                return str(rule.value_expr.evaluate(view))
            except EvaluationError:
                return ""  # Apache logs AH02557 and sends the header empty

        target = r.target
        return Facts(
            env=AppEnv(r, target) if output and isinstance(target, WSGITarget) else r.env,
            request_time=_request_time(r),
            ssl=_ssl_lookup(r),
            evaluate=evaluate,
            test=lambda rule: _test(rule, view),
        )

    def post_read_request(self, r: RequestState) -> Outcome | None:
        config = self._host(r.host)
        if not any(rule.early for rule in config.request + config.onsuccess + config.always):
            return None
        facts = self._facts(r)
        _on_request(r, config.request, facts, early=True)
        apply(config.always, r.err_headers_out, facts, early=True, notes=r.notes)
        apply(config.onsuccess, r.headers_out, facts, early=True, notes=r.notes)
        return None

    def fixups(self, r: RequestState) -> Outcome | None:
        config = self._scope(r)
        if config.request:
            _on_request(r, config.request, self._facts(r), early=False)
        return None

    def output_headers(self, r: RequestState, out: OutHeaders) -> None:
        config = self._scope(r)
        if not config.always and not config.onsuccess:
            return
        facts = self._facts(r, output=True)
        headers_in = _text_headers(r) if _echoes(config) else None
        apply(config.always, out.err_headers, facts, headers_in=headers_in, notes=r.notes)
        if not out.error:
            facts = self._facts(r, out.headers, output=True)  # resp() reads headers_out
            apply(config.onsuccess, out.headers, facts, headers_in=headers_in, notes=r.notes)


def _test(rule: HeaderRule, view: ExprView) -> bool:
    """An expr= condition; one that cannot be evaluated lets the rule run, as Apache
    (AH01501 'Failed to evaluate expression - ignoring' ignores the condition)."""
    try:
        return bool(rule.expr.evaluate(view))
    except EvaluationError:
        return True


def _echoes(config: HeadersConfig) -> bool:
    return any(rule.action == "echo" for rule in config.always + config.onsuccess)


def _text_headers(r: RequestState) -> list[tuple[str, str]]:
    return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in r.headers_in]


def _on_request(r: RequestState, rules: tuple[HeaderRule, ...], facts: Facts, early: bool) -> None:
    """RequestHeader lines on the request's own header list (changed in place: the
    app, the log and the other modules hold it)."""
    table = _text_headers(r)
    apply(rules, table, facts, early=early, notes=r.notes)
    r.headers_in[:] = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in table]


def _request_time(r: RequestState) -> float:
    started = getattr(r, "request_time", None)
    return started if isinstance(started, float) else time.time()


def activate(server: Server) -> Module | None:
    """The module, where some scope (or a .htaccess file) has Header lines."""
    return HeadersModule(server) if configured(server, "headers") else None
