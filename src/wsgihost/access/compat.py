"""mod_access_compat: ``Order``, ``Allow from``, ``Deny from`` and ``Satisfy``.

Pure but for the host-name lookup a ``from NAME`` needs (asked of the
request's facts, so the caller runs such rules on a thread). A section's
directives make one :class:`Compat` record; as in Apache (the module has no
merge of its own), a section with any of them replaces the record of the
sections around it whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from wsgihost.access.address import BadAddress, in_domain, in_network, parse_network
from wsgihost.access.exprfacts import FactsRequest

Kind = Literal["all", "ip", "host", "env", "not-env"]


@dataclass(frozen=True)
class Source:
    """One word after ``Allow from`` / ``Deny from``."""

    kind: Kind
    value: str = ""  # the network, the domain or the variable


@dataclass(frozen=True)
class Compat:
    order: str = "deny,allow"  # Apache's default
    allows: tuple[Source, ...] = ()
    denies: tuple[Source, ...] = ()
    satisfy: str | None = None  # "all" | "any"; None: not given (as all)


def parse_source(word: str) -> Source | str:
    """The source ``word`` names, or what is wrong with it (Apache's message)."""
    lower = word.lower()
    if lower.startswith("env=!"):
        return Source("not-env", word[5:])
    if lower.startswith("env="):
        return Source("env", word[4:])
    if lower == "all":
        return Source("all")
    try:
        network = parse_network(word)
    except BadAddress:
        if "/" in word:
            return "An IP address was expected"
        if "#" in word:
            return "No comments are allowed here"
        return Source("host", word)
    return Source("ip", str(network))


def uses_names(compat: Compat) -> bool:
    """Whether checking needs the client's host name (a DNS lookup: not on the loop)."""
    return any(s.kind == "host" for s in compat.allows + compat.denies)


def _matches(sources: tuple[Source, ...], facts: Any) -> bool:
    name: str | None = None
    looked = False
    for source in sources:
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
    if compat.order == "allow,deny":
        return _matches(compat.allows, facts) and not _matches(compat.denies, facts)
    if compat.order == "deny,allow":
        return _matches(compat.allows, facts) or not _matches(compat.denies, facts)
    # Mutual-failure: listed by Allow and not by Deny.
    return _matches(compat.allows, facts) and not _matches(compat.denies, facts)
