"""Run the pipeline's phases over the active modules (see :mod:`wsgihost.pipeline`).

Pure: the front end (:mod:`wsgihost.frontend.dispatch`) decides what an
outcome does to the connection; this only calls the hooks in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from wsgihost.pipeline.hooks import (
    PHASES,
    BodyFilter,
    Module,
    Outcome,
    OutHeaders,
    Reroute,
    overrides,
)
from wsgihost.pipeline.state import RequestState

Hook = Callable[[RequestState], "Outcome | None"]


class Pipeline:
    """The hooks of the modules a configuration uses, phase by phase.

    ``active`` (and the truth value) is False when no module is active: the
    request path tests it and then takes the path it took before there were
    modules.
    """

    __slots__ = ("_hooks", "_output", "active", "filters", "modules")

    def __init__(self, modules: Sequence[Module] = ()) -> None:
        self.modules = tuple(modules)
        # A plain attribute, not __bool__ alone: the request path tests it on every
        # request of every site, and an attribute read is the cheapest test there is.
        self.active = bool(self.modules)
        # Only the hooks a module overrides: a phase no module uses is an empty loop.
        self._hooks: dict[str, tuple[Hook, ...]] = {
            phase: tuple(getattr(m, phase) for m in self.modules if overrides(m, phase))
            for phase in PHASES
        }
        self._output = tuple(
            m.output_headers for m in self.modules if overrides(m, "output_headers")
        )
        # The output-filter hooks: empty where no module filters bodies, and the
        # response path tests it before it looks any further (one attribute read).
        self.filters = tuple(m.output_filter for m in self.modules if overrides(m, "output_filter"))

    def __bool__(self) -> bool:
        return bool(self.modules)

    def uses(self, phase: str) -> bool:
        """Whether some module hooks ``phase`` (or ``output_headers``)."""
        if phase == "output_headers":
            return bool(self._output)
        return bool(self._hooks[phase])

    def run(self, phase: str, r: RequestState) -> Outcome | None:
        """Call ``phase``'s hooks in order; the first outcome ends the phase."""
        for hook in self._hooks[phase]:
            outcome = hook(r)
            if outcome is not None:
                return outcome
        return None

    def before_routing(self, r: RequestState) -> Outcome | None:
        """post_read_request (only for the request the client sent) and translate_name."""
        if r.prev is None:
            outcome = self.run("post_read_request", r)
            if outcome is not None:
                return outcome
        return self.run("translate_name", r)

    def after_routing(self, r: RequestState) -> Outcome | None:
        """map_to_storage's module part (the ``<If>`` walk), then header_parser."""
        return self.run("map_to_storage", r) or self.run("header_parser", r)

    def before_handler(self, r: RequestState) -> Outcome | None:
        """type_checker and fixups, after the access checks.

        A fixup's Reroute lets the other fixups run first: in Apache, mod_rewrite's
        fixup only names the redirect (a "redirect:" filename for its handler),
        and mod_env's fixup, which comes after, still sets its variables, which
        the new request gets as REDIRECT_*. An Answer ends the phase at once.
        """
        outcome = self.run("type_checker", r)
        if outcome is not None:
            return outcome
        pending: Outcome | None = None
        for hook in self._hooks["fixups"]:
            outcome = hook(r)
            if isinstance(outcome, Reroute):
                pending = pending or outcome
            elif outcome is not None:
                return outcome
        return pending

    def choose_filter(
        self,
        r: RequestState,
        status: int,
        headers: list[tuple[str, str]],
        size: int | None,
    ) -> tuple[list[tuple[str, str]], BodyFilter | None]:
        """The body filter for a response (None: the body goes out as it is), and its
        headers as the filter hooks left them (Content-Encoding, Vary, ...).

        Each hook sees the headers the ones before it left; filters chosen by
        several hooks run in that order, each on the one before's output.
        """
        if r.method == "TRACE":
            # Apache answers TRACE in map_to_storage, before any output filter is
            # inserted (insert_filter comes with the handler).
            return headers, None
        out = OutHeaders(status, list(headers), list(r.err_headers_out))
        chosen: list[BodyFilter] = []
        for hook in self.filters:
            found = hook(r, out, size)
            if found is not None:
                chosen.append(found)
        if not chosen:
            return out.headers, None
        return out.headers, chosen[0] if len(chosen) == 1 else Chain(chosen)

    def output(
        self,
        r: RequestState,
        status: int,
        headers: list[tuple[str, str]],
        error: bool = False,
    ) -> list[tuple[str, str]]:
        """The headers a response goes out with, after every output-header hook.

        ``headers`` are the handler's (or the app's); what modules put in
        ``r.headers_out`` joins them for a response that is not the server's
        own error page, and ``r.err_headers_out`` joins every response.
        """
        if not self._output and not r.headers_out and not r.err_headers_out:
            return headers  # nothing to add or change: the common case, kept cheap
        out_headers = list(headers)  # a copy: the hooks change it in place
        if not error:
            out_headers += r.headers_out
        out = OutHeaders(status, out_headers, list(r.err_headers_out), error)
        for hook in self._output:
            hook(r, out)
        if self.filters:
            out.headers = fixup_vary(out.headers)
        return out.result()


def fixup_vary(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every Vary header as one, its names once each and joined by "," where the
    first Vary was (Apache's http header filter, fixup_vary; headers_out only)."""
    places = [i for i, (name, _) in enumerate(headers) if name.lower() == "vary"]
    if not places:
        return headers
    names: list[str] = []
    seen: set[str] = set()
    for i in places:
        for word in headers[i][1].replace(",", " ").split():
            if word.lower() not in seen:
                seen.add(word.lower())
                names.append(word)
    if not names:
        return headers
    first = places[0]
    kept = [h for i, h in enumerate(headers) if i == first or i not in places]
    kept[first] = (headers[first][0], ",".join(names))
    return kept


class Chain(BodyFilter):
    """Several modules' filters, each fed the one before's output."""

    __slots__ = ("filters",)

    def __init__(self, filters: list[BodyFilter]) -> None:
        self.filters = filters

    def feed(self, data: bytes) -> bytes:
        for f in self.filters:
            data = f.feed(data)
        return data

    def finish(self) -> bytes:
        data = b""
        for f in self.filters:
            data = f.feed(data) + f.finish() if data else f.finish()
        return data
