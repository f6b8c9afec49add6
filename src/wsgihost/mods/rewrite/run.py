"""What one application of a rule list works on: the request's server (:class:`Site`)
and the state mod_rewrite keeps beside the request (:class:`Run`).

Pure. ``Run.filename`` is Apache's r->filename, the string the rules rewrite;
the back-references of the last rule and condition are kept for ``$N`` and
``%N``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wsgihost.mods.rewrite.maps import MapFiles
from wsgihost.mods.rewrite.rules import RewriteServer, Rule

if TYPE_CHECKING:
    from wsgihost.pipeline.state import RequestState


@dataclass
class Site:
    """What the request's server supplies: its rewrite configuration and names."""

    server: RewriteServer
    maps: MapFiles
    document_root: str
    server_name: str  # ap_get_server_name_for_url
    port: int  # ap_get_server_port
    server_admin: str = ""
    limit_request_line: int = 8190
    log: Callable[[str, str], None] = lambda level, message: None
    # ap_matches_request_vhost: whether host:port names this virtual host.
    matches_vhost: Callable[[str, int], bool] = lambda host, port: False


@dataclass
class Run:
    """One application of a rule list to a request."""

    r: RequestState
    site: Site
    filename: str
    perdir: str | None = None
    path_info: str = ""
    uri: str = ""  # what the rule's pattern is matched against
    status: int = 0  # r->status as the rules set it
    vary: list[str] = field(default_factory=list)
    rule_src: str | None = None
    rule_match: re.Match[str] | None = None
    cond_src: str | None = None
    cond_match: re.Match[str] | None = None
    cond_groups: tuple[str | None, ...] | None = None  # from an expr condition
    vary_this: list[str] = field(default_factory=list)
    end: bool = False  # [END]: no more rewriting for this request
    mime: str | None = None  # [T=]
    handler: str | None = None  # [H=]
    cookies: list[str] = field(default_factory=list)
    last_sub: Rule | None = None
    reduced: bool = False  # reduce_uri stripped our own scheme://host

    @property
    def scheme(self) -> str:
        return "https" if self.r.https else "http"


def merge_vary(r: RequestState, value: str) -> None:
    """apr_table_merge(r->headers_out, "Vary", value): one Vary, values joined."""
    for i, (name, old) in enumerate(r.headers_out):
        if name.lower() == "vary":
            r.headers_out[i] = (name, f"{old}, {value}")
            return
    r.headers_out.append(("Vary", value))
