"""What a pipeline module is: its hooks, and the early answers a hook may give.

See :mod:`wsgihost.pipeline` for the phases. A module subclasses
:class:`Module` and overrides only the hooks it needs; the runner calls a
module only for the hooks it overrides, so a hook left alone costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from wsgihost.pipeline.state import RequestState


@dataclass(frozen=True)
class Answer:
    """End the request with ``status``: the server's own page for it (ErrorDocument
    applies) unless ``body`` is given; ``headers`` go out with it in any case
    (as err_headers_out)."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    content_type: str = "text/html; charset=iso-8859-1"


@dataclass(frozen=True)
class Redirect:
    """An external redirect: ``status`` (a 3xx) with ``Location: location`` and
    Apache's "moved" page; a non-3xx status (410 for ``Redirect gone``) is an
    Answer of that status without Location."""

    status: int
    location: str


@dataclass(frozen=True)
class Reroute:
    """An internal redirect: serve ``uri`` (a decoded path) with query ``args``
    instead, from translate_name on (Apache's ``ap_internal_redirect``)."""

    uri: str
    args: str = ""


Outcome = Answer | Redirect | Reroute


class OutHeaders:
    """A response's headers as the output-header hooks change them.

    ``headers`` is Apache's r->headers_out (what the handler or app gave, with
    what modules added for success), ``err_headers`` its err_headers_out
    (sent whatever the status). ``error`` is True for a page the server
    writes itself for an error or a redirect: Apache then sends only
    err_headers_out from the modules and runs only the "always" fixups (its
    error filter), so a module should touch only ``err_headers`` then.
    """

    __slots__ = ("err_headers", "error", "headers", "status")

    def __init__(
        self,
        status: int,
        headers: list[tuple[str, str]],
        err_headers: list[tuple[str, str]],
        error: bool = False,
    ) -> None:
        self.status = status
        self.headers = headers
        self.err_headers = err_headers
        self.error = error

    def result(self) -> list[tuple[str, str]]:
        """The headers to send: err_headers_out, then headers_out (ap_http_header_filter
        overlays headers_out on err_headers_out, so "always" headers come first)."""
        return self.err_headers + self.headers if self.err_headers else self.headers


class BodyFilter:
    """A response body's transformation (an Apache output filter of the content set),
    chosen by a module's ``output_filter`` hook once the response head is known.

    ``feed`` takes the next piece of the body and returns what is ready to go
    out (maybe nothing yet); ``finish`` returns the rest at the body's end. A
    filter keeps a bounded state: the connection writes what it returns as the
    client takes it, so a large body never sits whole in memory.

    ``hold`` (bytes, 0 for none) lets the front end keep the head back while
    the filter's output stays within it, so that a body that turns out small
    goes out with a ``Content-Length`` (Apache's content-length filter sees
    the whole of it in one pass); ``held`` is the part of what ``feed`` gave
    so far that counts against it.
    """

    hold = 0

    @property
    def held(self) -> int:
        return 0

    def feed(self, data: bytes) -> bytes:
        return data

    def finish(self) -> bytes:
        return b""


class Module:
    """A module in the pipeline; every hook returns None to go on."""

    name = "module"

    def post_read_request(self, r: RequestState) -> Outcome | None:
        """Right after the head is read; the virtual host is chosen."""
        return None

    def translate_name(self, r: RequestState) -> Outcome | None:
        """Map the URL: may change ``r.uri``/``r.args`` or set ``r.filename``."""
        return None

    def map_to_storage(self, r: RequestState) -> Outcome | None:
        """Right after routing merged ``r.settings`` (the ``<If>`` walk may merge more)."""
        return None

    def header_parser(self, r: RequestState) -> Outcome | None:
        """After map_to_storage: ``r.settings`` and ``r.target`` are known."""
        return None

    def type_checker(self, r: RequestState) -> Outcome | None:
        """After the access checks: the content type and handler."""
        return None

    def fixups(self, r: RequestState) -> Outcome | None:
        """Last before the handler (mod_env, per-directory RewriteRule, RequestHeader)."""
        return None

    def output_filter(
        self, r: RequestState, out: OutHeaders, size: int | None
    ) -> BodyFilter | None:
        """Choose a filter for a response's body, before the output-header hooks (an
        Apache content filter runs ahead of mod_headers' fixup filter); may change
        ``out.headers``. ``size`` is the whole body's length where it is known now
        (a static file's), else None. Not called for the server's own pages."""
        return None

    def output_headers(self, r: RequestState, out: OutHeaders) -> None:
        """Change a response's headers before they go out (mod_headers' filters)."""
        return None


PHASES = (
    "post_read_request",
    "translate_name",
    "map_to_storage",
    "header_parser",
    "type_checker",
    "fixups",
)


def overrides(module: Module, hook: str) -> bool:
    """Whether ``module`` has a hook of its own named ``hook``."""
    return getattr(type(module), hook) is not getattr(Module, hook)
