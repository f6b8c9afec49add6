"""A request as the pipeline's modules see it: a subset of Apache's ``request_rec``.

Plain data, no I/O. The front end makes one per request (and one more per
internal redirect); the modules read and change it in their hooks. Text is
``str`` (bytes as latin-1, PEP 3333's rule) except ``headers_in``, which is
the very list the request head holds, so that a change a module makes
(``RequestHeader``, mod_remoteip) is what the app and the log see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wsgihost.config.model import DirSettings, Host

# Apache's LimitInternalRecursion default: internal redirects one request may make.
MAX_REDIRECTS = 10


class RequestState:
    """One request (or one internal redirect of it) through the pipeline."""

    __slots__ = (
        "args",
        "begun",
        "body_filter",
        "client_addr",
        "client_port",
        "env",
        "err_headers_out",
        "filename",
        "handler",
        "headers_in",
        "headers_out",
        "host",
        "https",
        "local_addr",
        "local_port",
        "logger",
        "method",
        "notes",
        "prev",
        "protocol",
        "redirects",
        "settings",
        "status",
        "target",
        "unparsed_uri",
        "uri",
    )

    def __init__(
        self,
        method: str,
        uri: str,
        args: str,
        headers_in: list[tuple[bytes, bytes]],
        host: Host,
        client_addr: str = "",
        client_port: int = 0,
        local_addr: str = "",
        local_port: int = 0,
        https: bool = False,
        protocol: str = "HTTP/1.1",
        unparsed_uri: str = "",
    ) -> None:
        self.method = method
        # The decoded, normalised URL path (r->uri); translate_name may change it.
        self.uri = uri
        self.args = args  # the query string without "?" (r->args)
        self.unparsed_uri = unparsed_uri or uri  # the target as the client sent it
        self.protocol = protocol
        self.headers_in = headers_in
        self.host = host  # the virtual host (r->server); the main server if none
        self.client_addr = client_addr  # r->useragent_ip: mod_remoteip may change it
        self.client_port = client_port
        self.local_addr = local_addr
        self.local_port = local_port
        self.https = https
        # r->subprocess_env: SetEnv, SetEnvIf, RewriteRule [E=]; mod_wsgi copies
        # it into the WSGI environ (wsgihost.pipeline.environ).
        self.env: dict[str, str] = {}
        self.notes: dict[str, str] = {}  # r->notes: between modules, never shown
        # Set by translate_name to serve a file as is (RewriteRule to a path);
        # after map_to_storage, the file routing chose (None for an app).
        self.filename: str | None = None
        self.handler: str | None = None
        self.settings: DirSettings | None = None  # r->per_dir_config, after map_to_storage
        self.target: Any = None  # routing's WSGITarget | FileTarget | Refusal
        # Headers a module adds to the response: headers_out on success only,
        # err_headers_out on every response (Apache's "always").
        self.headers_out: list[tuple[str, str]] = []
        self.err_headers_out: list[tuple[str, str]] = []
        self.status = 200  # for an ErrorDocument's redirect: the error's status
        self.prev: RequestState | None = None  # r->prev: before an internal redirect
        self.begun = False  # the front end has started serving it (a Reroute's is not yet)
        # The host's error log, with the client, set by the front end: (level,
        # message, module); see ``log``.
        self.logger: Callable[[str, str, str], None] | None = None
        self.redirects = 0
        # The response body's filter, once the front end has chosen one with the
        # output-filter hooks (frontend/filtered.py keeps its progress there).
        self.body_filter: Any = None

    def log(self, level: str, message: str, module: str = "core") -> None:
        """A line in the error log of the request's host, naming the client, tagged
        ``[module:level]`` as Apache tags its modules' lines (``rewrite``, ...)."""
        if self.logger is not None:
            self.logger(level, message, module)

    # -- request headers, by case-insensitive name (as Apache's tables) --------

    def header(self, name: str) -> str | None:
        """Request header ``name`` (None: absent); repeated ones joined with ", ",
        as Apache merges them when it reads the head."""
        key = name.lower().encode("latin-1")
        found = [v for n, v in self.headers_in if n.lower() == key]
        if not found:
            return None
        return b", ".join(found).decode("latin-1")

    def set_header(self, name: str, value: str) -> None:
        """Replace every ``name`` header with one of ``value`` (apr_table_set)."""
        self.unset_header(name)
        self.headers_in.append((name.encode("latin-1"), value.encode("latin-1")))

    def add_header(self, name: str, value: str) -> None:
        """One more ``name`` header (apr_table_add)."""
        self.headers_in.append((name.encode("latin-1"), value.encode("latin-1")))

    def unset_header(self, name: str) -> None:
        """Remove every ``name`` header (apr_table_unset); in place, as others hold the list."""
        key = name.lower().encode("latin-1")
        self.headers_in[:] = [(n, v) for n, v in self.headers_in if n.lower() != key]

    # -- the environment, by case-insensitive name (Apache's tables) -------------

    def set_env(self, name: str, value: str) -> None:
        """Set variable ``name``; one already there under another letter case keeps
        its spelling and takes the value (as apr_table_set and the merge that
        ap_add_common_vars makes of r->subprocess_env)."""
        env = self.env
        if name not in env:
            key = name.lower()
            for existing in env:
                if existing.lower() == key:
                    name = existing
                    break
        env[name] = value

    def unset_env(self, name: str) -> None:
        """Remove variable ``name`` in any letter case (apr_table_unset)."""
        key = name.lower()
        for existing in [k for k in self.env if k.lower() == key]:
            del self.env[existing]

    def redirected(self, uri: str, args: str) -> RequestState:
        """The request an internal redirect to ``uri`` makes (ap_internal_redirect):
        the same client and headers, the environment renamed ``REDIRECT_*``,
        and the old request as ``prev``."""
        new = RequestState(
            self.method,
            uri,
            args,
            self.headers_in,
            self.host,
            self.client_addr,
            self.client_port,
            self.local_addr,
            self.local_port,
            self.https,
            self.protocol,
            self.unparsed_uri,
        )
        new.env = {"REDIRECT_" + k: v for k, v in self.env.items()}
        # internal_internal_redirect sets REDIRECT_STATUS on every redirect (200
        # for a rewrite's); ap_add_common_vars adds REDIRECT_URL and
        # REDIRECT_QUERY_STRING from r->prev, which comes to the same.
        new.env["REDIRECT_STATUS"] = str(self.status)
        new.env["REDIRECT_URL"] = self.uri
        if self.args:
            new.env["REDIRECT_QUERY_STRING"] = self.args
        new.err_headers_out = self.err_headers_out  # Apache keeps them over the redirect
        new.logger = self.logger
        new.prev = self
        new.redirects = self.redirects + 1
        new.status = self.status
        return new
