"""``<If>``, ``<ElseIf>`` and ``<Else>`` at run time: Apache's ``ap_if_walk``.

At the end of map_to_storage, after routing has merged <Directory>,
<Files> and <Location> (and .htaccess), the sections whose expression holds
for the request are merged on top (:func:`wsgihost.config.mod_if.walk`
chooses them; the expressions are :mod:`wsgihost.expr`'s). A request header
an expression read is added to the response's ``Vary``, as Apache's
expression evaluator adds it, and an expression that cannot be evaluated is
false, with Apache's AH00039 line in the host's error log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wsgihost.config.mod_if import walk
from wsgihost.mods.exprview import ExprView
from wsgihost.pipeline.hooks import Module, Outcome
from wsgihost.pipeline.registry import configured

if TYPE_CHECKING:
    from wsgihost.config.model import Server
    from wsgihost.pipeline.state import RequestState


class IfModule(Module):
    name = "if"

    def map_to_storage(self, r: RequestState) -> Outcome | None:
        settings = r.settings
        if settings is None or settings.conditions is None:
            return None
        merged, varies = walk(settings, ExprView(r), lambda line: r.log("error", line))
        r.settings = merged
        if varies:
            add_vary(r.headers_out, varies)
        return None


def add_vary(headers: list[tuple[str, str]], names: tuple[str, ...]) -> None:
    """``names`` into the Vary of ``headers``, as apr_table_merge joins them."""
    joined = ", ".join(names)
    for i, (name, value) in enumerate(headers):
        if name.lower() == "vary":
            headers[i] = (name, f"{value}, {joined}")
            return
    headers.append(("Vary", joined))


def activate(server: Server) -> Module | None:
    """The module, where some scope (or a .htaccess file) has <If> sections."""
    return IfModule() if configured(server, "conditions") else None
