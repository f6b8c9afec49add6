"""mod_proxy's translate_name: which requests go to a backend, and where.

Runs after mod_rewrite's and before mod_alias's (Apache's hook order). The
first mapping that matches the decoded path wins: the ``<Location>``'s own
ProxyPass first (the deepest such section), then the host's list, the main
server's lines before the virtual host's; a ``!`` mapping that matches
keeps the request here. A match sets ``r.filename`` to ``proxy:URL`` and
the handler to ``proxy-server``: routing then gives the request a
:class:`~wsgihost.routing.ProxyTarget` (its ``<Proxy>`` and ``<Location>``
sections, no file), and the front end serves it with
:func:`wsgihost.revproxy.handler.serve`.

Only the path picks a mapping, and only the configuration names backends:
neither an absolute-form request target nor a Host header can.
"""

from __future__ import annotations

import fnmatch
import re

from wsgihost.config.mod_proxy import ProxyDir, ProxyRule
from wsgihost.config.model import Host, Server
from wsgihost.pipeline.hooks import Module, Outcome
from wsgihost.pipeline.state import RequestState
from wsgihost.revproxy import mapping
from wsgihost.revproxy.workers import host_proxy

HANDLER = "proxy-server"
RULE_NOTE = "proxy-rule"  # r.notes: which mapping matched (for the logs)


class _Here:
    """A <Location> with a ProxyPass of its own."""

    def __init__(self, pattern: str, regex: bool, rule: ProxyRule) -> None:
        self.rule = rule
        self.regex = re.compile(pattern) if regex else None
        self.pattern = pattern.rstrip("/") or "/"
        self.glob = not regex and any(c in pattern for c in "*?[")

    def matches(self, uri: str) -> bool:
        if self.regex is not None:
            return self.regex.search(uri) is not None
        if self.glob:
            return fnmatch.fnmatchcase(uri, self.pattern + "*")
        p = self.pattern
        return p == "/" or uri == p or uri.startswith(p + "/")


class ProxyModule(Module):
    name = "proxy"

    def __init__(self, server: Server) -> None:
        self.server = server
        self._hosts: dict[int, tuple[ProxyDir, list[_Here]]] = {}

    def _of(self, host: Host) -> tuple[ProxyDir, list[_Here]]:
        found = self._hosts.get(id(host))
        if found is None:
            main = self.server.main
            sections = list(main.sections) + (list(host.sections) if host is not main else [])
            heres = [
                _Here(s.pattern, s.regex, s.settings.proxy.here)
                for s in sections
                if s.kind == "location" and s.settings.proxy is not None and s.settings.proxy.here
            ]
            found = self._hosts[id(host)] = (host_proxy(self.server, host.settings), heres)
        return found

    def translate_name(self, r: RequestState) -> Outcome | None:
        if r.uri[:1] != "/" or r.unparsed_uri == "*":
            return None
        if any(k.lower() == "no-proxy" for k in r.env):
            return None
        conf, heres = self._of(r.host)
        rules: list[ProxyRule] = []
        here = next((h.rule for h in reversed(heres) if h.matches(r.uri)), None)
        if here is not None:
            rules.append(here)
        rules += conf.passes
        raw = r.unparsed_uri.split("?", 1)[0]
        if "://" in raw:  # an absolute-form target: its path only
            rest = raw.split("://", 1)[1]
            raw = rest[rest.find("/") :] if "/" in rest else "/"
        for rule in rules:
            found = mapping.pass_target(rule, r.uri, r.args, raw)
            if found is None:
                continue
            if found == mapping.NOT_PROXIED:
                return None
            r.filename = "proxy:" + found
            r.handler = HANDLER
            r.notes[RULE_NOTE] = f"{rule.where.file}:{rule.where.line}"
            return None
        return None


def activate(server: Server) -> Module | None:
    """The module, where some host or <Location> has a ProxyPass."""
    for host in (server.main, *server.vhosts):
        for settings in (host.settings, *(s.settings for s in host.sections)):
            proxy = settings.proxy
            if proxy is not None and (proxy.passes or proxy.here is not None):
                return ProxyModule(server)
    return None
