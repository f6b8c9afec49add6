"""A pipeline request as the ap_expr engine reads it (:class:`wsgihost.expr.Request`).

Pure. ``Header ... expr=``, ``Header set X "expr=..."`` and ``SetEnvIfExpr``
evaluate their expressions against :class:`ExprView`, which answers the
engine's questions from a :class:`~wsgihost.pipeline.state.RequestState`
(and, for the output filters, the response headers made so far).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wsgihost.pipeline.state import RequestState


def _get(table: list[tuple[str, str]], name: str) -> str | None:
    key = name.lower()
    return next((v for n, v in table if n.lower() == key), None)


class ExprView:
    """``r`` for the expression engine; ``response`` is headers_out so far."""

    __slots__ = ("r", "response")

    def __init__(self, r: RequestState, response: list[tuple[str, str]] | None = None) -> None:
        self.r = r
        self.response = response or []

    def variable(self, name: str) -> str | None:
        r = self.r
        host = r.host
        if name == "REQUEST_METHOD":
            return r.method
        if name in ("REQUEST_URI", "DOCUMENT_URI"):
            return r.uri
        if name == "QUERY_STRING":
            return r.args
        if name in ("REMOTE_ADDR", "REMOTE_HOST", "CONN_REMOTE_ADDR"):
            return r.client_addr
        if name == "HTTPS":
            return "on" if r.https else "off"
        if name == "REQUEST_SCHEME":
            return "https" if r.https else "http"
        if name == "SERVER_NAME":
            return host.server_name or r.header("Host") or ""
        if name == "SERVER_PORT":
            return str(r.local_port)
        if name == "SERVER_PROTOCOL":
            return r.protocol
        if name == "THE_REQUEST":
            return f"{r.method} {r.unparsed_uri} {r.protocol}"
        if name in ("REQUEST_FILENAME", "SCRIPT_FILENAME"):
            return r.filename
        if name == "DOCUMENT_ROOT":
            return host.document_root
        if name == "IPV6":
            return "on" if ":" in r.client_addr else "off"
        if name == "HANDLER":
            return r.handler
        if name == "SERVER_ADMIN":
            return host.server_admin
        return r.env.get(name)

    def header(self, name: str) -> str | None:
        key = name.lower().encode("latin-1")
        found = [v.decode("latin-1") for n, v in self.r.headers_in if n.lower() == key]
        return ", ".join(found) if found else None

    def response_header(self, name: str) -> str | None:
        return _get(self.response, name)

    def env(self, name: str) -> str | None:
        env = self.r.env
        value = env.get(name)
        if value is None:
            key = name.lower()
            value = next((v for k, v in env.items() if k.lower() == key), None)
        return value

    def note(self, name: str) -> str | None:
        return self.r.notes.get(name)
