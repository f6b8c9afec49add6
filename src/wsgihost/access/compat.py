"""mod_access_compat: ``Order``, ``Allow from``, ``Deny from`` and ``Satisfy``.

Pure but for the host-name lookup a ``from NAME`` needs (asked of the
request's facts, so the caller runs such rules on a thread). A section's
directives make one :class:`Compat` record; as in Apache (the module has no
merge of its own), a section with any of them replaces the record of the
sections around it whole. Inside ``<Limit>``/``<LimitExcept>`` each line speaks
for those methods only (Apache keeps an order and a Satisfy per method, and
skips an Allow/Deny limited to other methods).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from wsgihost.access.address import BadAddress, in_domain, in_network, parse_network
from wsgihost.access.exprfacts import FactsRequest
from wsgihost.access.rules import ALL_METHODS, Methods

Kind = Literal["all", "ip", "host", "env", "not-env"]


@dataclass(frozen=True)
class Source:
    """One word after ``Allow from`` / ``Deny from``."""

    kind: Kind
    value: str = ""  # the network, the domain or the variable
    methods: Methods = ALL_METHODS  # its <Limit>/<LimitExcept>


# (methods, value) in the order written: for a method, the last that covers it.
PerMethod = tuple[tuple[Methods, str], ...]


def _for(settings: PerMethod, method: str, default: str) -> str:
    for methods, value in reversed(settings):
        if methods.covers(method):
            return value
    return default


@dataclass(frozen=True)
class Compat:
    orders: PerMethod = ()  # Order lines ("allow,deny", ...); Deny,Allow by default
    allows: tuple[Source, ...] = ()
    denies: tuple[Source, ...] = ()
    satisfies: PerMethod = ()  # Satisfy lines ("all" | "any"); All by default

    def order(self, method: str) -> str:
        return _for(self.orders, method, "deny,allow")

    def satisfy(self, method: str) -> str:
        return _for(self.satisfies, method, "all")


def parse_source(word: str, methods: Methods = ALL_METHODS) -> Source | str:
    """The source ``word`` names, or what is wrong with it (Apache's message)."""
    lower = word.lower()
    if lower.startswith("env=!"):
        return Source("not-env", word[5:], methods)
    if lower.startswith("env="):
        return Source("env", word[4:], methods)
    if lower == "all":
        return Source("all", "", methods)
    try:
        network = parse_network(word)
    except BadAddress:
        if "/" in word:
            return "An IP address was expected"
        if "#" in word:
            return "No comments are allowed here"
        return Source("host", word, methods)
    return Source("ip", str(network), methods)


def uses_names(compat: Compat) -> bool:
    """Whether checking needs the client's host name (a DNS lookup: not on the loop)."""
    return any(s.kind == "host" for s in compat.allows + compat.denies)


def _matches(sources: tuple[Source, ...], facts: Any) -> bool:
    name: str | None = None
    looked = False
    for source in sources:
        if not source.methods.covers(facts.method):
            continue  # an Allow/Deny in a <Limit> for other methods
        if source.kind == "all":
            return True
        if source.kind == "ip":
            if in_network(facts.client_addr, parse_network(source.value)):
                return True
        elif source.kind in ("env", "not-env"):
            found = FactsRequest(facts).env(source.value) is not None
            if found == (source.kind == "env"):
                return True
        else:
            if not looked:
                looked, name = True, facts.remote_host()  # forward-confirmed, or None
            if name is not None and in_domain(source.value, name):
                return True
    return False


def allows(compat: Compat, facts: Any) -> bool:
    """mod_access_compat's verdict for the request (check_dir_access)."""
    order = compat.order(facts.method)
    if order == "allow,deny":
        return _matches(compat.allows, facts) and not _matches(compat.denies, facts)
    if order == "deny,allow":
        return _matches(compat.allows, facts) or not _matches(compat.denies, facts)
    # Mutual-failure: listed by Allow and not by Deny.
    return _matches(compat.allows, facts) and not _matches(compat.denies, facts)
