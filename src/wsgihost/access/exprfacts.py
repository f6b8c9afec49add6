"""A request as ``Require expr`` sees it: the access facts read as an expression's request.

Pure. Adapts what the access phases know of a request (:class:`~wsgihost.access.gate.
RequestFacts`: the parsed head, the routing target, the user) to the
:class:`wsgihost.expr.Request` protocol. The values are Apache's for the same
request (r->uri, r->filename, ap_get_server_name_for_url, ...). Where the
request runs through the pipeline (``req.state``, a RequestState), its
environment (SetEnv, SetEnvIf) and notes are read from there, and the
request headers an expression read go into its ``headers_out`` as ``Vary``
(Apache's expression evaluator adds them to r->headers_out); without one,
they are empty. Response headers do not exist yet in the access phase.
"""

from __future__ import annotations

from typing import Any

_HOST_PORT_SPLIT = ":"


class FactsRequest:
    """:class:`wsgihost.expr.Request` over an access check's facts (duck-typed)."""

    def __init__(self, facts: Any) -> None:
        self.facts = facts
        self.head = facts.req.head
        self.target = facts.target
        self.state = getattr(facts.req, "state", None)  # the pipeline's RequestState

    def vary(self, names: tuple[str, ...]) -> None:
        """Add ``names`` to the answer's Vary (on success only, as r->headers_out)."""
        if self.state is None or not names:
            return
        headers: list[tuple[str, str]] = self.state.headers_out
        joined = ", ".join(names)
        for i, (name, value) in enumerate(headers):
            if name.lower() == "vary":
                headers[i] = (name, f"{value}, {joined}")
                return
        headers.append(("Vary", joined))

    def header(self, name: str) -> str | None:
        key = name.lower().encode("latin-1", "replace")
        values = [v.decode("latin-1") for k, v in self.head.headers if k.lower() == key]
        # Apache joins a repeated request header into one, comma-separated.
        return ", ".join(values) if values else None

    def response_header(self, name: str) -> str | None:
        return None

    def env(self, name: str) -> str | None:
        if self.state is None:
            return None
        env: dict[str, str] = self.state.env
        key = name.lower()  # an Apache table: any letter case
        return next((v for k, v in env.items() if k.lower() == key), None)

    def note(self, name: str) -> str | None:
        if self.state is None:
            return None
        notes: dict[str, str] = self.state.notes
        return notes.get(name)

    def _host_header(self) -> tuple[str, str]:
        host = self.header("Host") or ""
        if host.startswith("["):
            end = host.find("]")
            name, rest = host[: end + 1], host[end + 1 :]
            return name, rest[1:] if rest.startswith(_HOST_PORT_SPLIT) else ""
        name, _, port = host.partition(_HOST_PORT_SPLIT)
        return name, port

    def variable(self, name: str) -> str | None:
        head, facts, target = self.head, self.facts, self.target
        host = target.host
        settings = target.settings
        https = head.scheme == "https"
        document_root = getattr(target, "document_root", None) or host.document_root
        match name:
            case "REQUEST_METHOD":
                return str(head.method)
            case "REQUEST_SCHEME":
                return str(head.scheme)
            case "REQUEST_URI" | "DOCUMENT_URI":
                return str(facts.uri)
            case "REQUEST_FILENAME" | "SCRIPT_FILENAME":
                return str(facts.filename)
            case "PATH_INFO":
                return str(facts.path_info)
            case "QUERY_STRING":
                return str(head.query)
            case "THE_REQUEST":
                return f"{head.method} {head.target} {head.version}"
            case "SERVER_PROTOCOL":
                return str(head.version)
            case "REMOTE_ADDR" | "CONN_REMOTE_ADDR":
                return str(facts.client_addr)
            case "REMOTE_PORT":
                return str(head.client_port)
            case "REMOTE_USER":
                return facts.user if facts.user is not None else None
            case "AUTH_TYPE":
                return settings.auth_type or None if facts.user is not None else None
            case "HTTPS":
                return "on" if https else "off"
            case "IPV6":
                return "on" if ":" in facts.client_addr else "off"
            case "HTTP2":
                return "off"
            case "SERVER_NAME":
                # UseCanonicalName Off (Apache's default): the name the client asked for.
                return self._host_header()[0] or host.server_name or str(head.server_addr)
            case "SERVER_PORT":
                return self._host_header()[1] or str(head.server_port)
            case "SERVER_ADMIN":
                admin = host.server_admin
                return str(admin) if admin else None
            case "DOCUMENT_ROOT" | "CONTEXT_DOCUMENT_ROOT":
                return str(document_root) if document_root else None
            case "CONTEXT_PREFIX":
                return ""
            case "IS_SUBREQ":
                return "false"
            case "REQUEST_LOG_ID" | "CONN_LOG_ID":
                return str(head.request_id) or None
            case _:
                return None  # REMOTE_HOST, REMOTE_IDENT, HANDLER, ...: not known here
