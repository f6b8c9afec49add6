"""mod_setenvif at run time: SetEnvIf and its family in the request pipeline.

Apache's match_headers runs three times per request:

* post_read_request, first of all, where some server-level line has
  ``--early``: the host's server-level lines, ``--early`` ones included;
* post_read_request again (APR_HOOK_MIDDLE): the host's server-level lines
  (the main server's, then the virtual host's), ``--early`` ones left out;
* header_parser, once the request is mapped: the lines of its sections
  (<Directory>, <Location>, <Files>, .htaccess), merged parent first.

The variables land in ``r.env`` (Apache's subprocess_env): the app's WSGI
environ, ``Header ... env=`` and the other modules read them there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from wsgihost.expr import EvaluationError
from wsgihost.mods.exprview import ExprView
from wsgihost.mods.setenvif_core import Condition, Request, run
from wsgihost.pipeline.hooks import Module, Outcome
from wsgihost.pipeline.registry import configured

if TYPE_CHECKING:
    from wsgihost.config.model import Host, Server
    from wsgihost.pipeline.state import RequestState


def _server_level(host: Host) -> tuple[Condition, ...]:
    config = host.settings.setenvif
    return tuple(c for c in config.conditions if c.server_level) if config else ()


class SetEnvIfModule(Module):
    name = "setenvif"

    def __init__(self, server: Server) -> None:
        main = _server_level(server.main)
        self.host_level: dict[int, tuple[Condition, ...]] = {id(server.main): main}
        for vhost in server.vhosts:
            self.host_level[id(vhost)] = main + _server_level(vhost)
        self.has_early = any(c.early for cs in self.host_level.values() for c in cs)

    def post_read_request(self, r: RequestState) -> Outcome | None:
        conditions = self.host_level.get(id(r.host), ())
        if conditions:
            if self.has_early:
                self._run(r, conditions, early_pass=True)
            self._run(r, conditions, early_pass=False)
        return None

    def header_parser(self, r: RequestState) -> Outcome | None:
        settings = r.settings
        config = settings.setenvif if settings is not None else None
        if config:
            # The merged scope holds the host's own lines too: they ran already.
            inner = tuple(c for c in config.conditions if not c.server_level)
            if inner:
                self._run(r, inner, early_pass=False)
        return None

    def _run(self, r: RequestState, conditions: tuple[Condition, ...], early_pass: bool) -> None:
        request = Request(
            headers=[(n.decode("latin-1"), v.decode("latin-1")) for n, v in r.headers_in],
            env=r.env,
            method=r.method,
            protocol=r.protocol,
            uri=r.uri,
            remote_addr=r.client_addr,
            server_addr=r.local_addr,
        )
        view = ExprView(r)

        def test(c: Condition, env: Mapping[str, str]) -> tuple[bool, tuple[str, ...]]:
            try:
                outcome = c.expr.run(view)
            except EvaluationError:
                return False, ()  # Apache logs it and sets nothing
            return bool(outcome.value), tuple(outcome.captures)

        run(conditions, request, early_pass=early_pass, test=test)


def activate(server: Server) -> Module | None:
    """The module, where some scope (or a .htaccess file) has SetEnvIf lines."""
    return SetEnvIfModule(server) if configured(server, "setenvif") else None
