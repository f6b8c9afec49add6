"""The ``Require`` rule tree and its evaluation, as mod_authz_core evaluates it.

Pure. A section's ``Require`` lines are a tree: each line is a
:class:`Check` of one provider (``all``, ``ip``, ``valid-user``, ...), and
lines written together are a :class:`Combine` (several lines in one section
are an implicit ``<RequireAny>``; ``<RequireAll>``/``<RequireAny>`` blocks will
nest more of them). Evaluating a tree gives one of mod_authz_core's results:
granted, denied, denied for want of a user (authentication may still grant
it), neutral (a negated rule that did not match) or an error.

Providers are looked up by name in a registry of :class:`Provider` objects,
so a new one (``Require file-owner``, ``Require group``) is a class and a
registry entry, not a change here. A provider asks the request what it needs
through :class:`Facts`; some facts cost a blocking call (a DNS lookup, a
group script), so the caller evaluates trees that use them on a thread.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal, Protocol


class Outcome(enum.Enum):
    GRANTED = "granted"
    DENIED = "denied"
    DENIED_NO_USER = "denied (no authenticated user yet)"
    NEUTRAL = "neutral"
    ERROR = "error"


@dataclass(frozen=True)
class Check:
    """One ``Require [not] provider args...`` line."""

    provider: str  # lower case: "all", "ip", "local", "host", "valid-user", ...
    args: tuple[str, ...] = ()
    negate: bool = False

    def __str__(self) -> str:
        words = ("not " if self.negate else "") + " ".join((self.provider, *self.args))
        return f"Require {words}"


@dataclass(frozen=True)
class Combine:
    """Rules joined as ``<RequireAny>`` ("any") or ``<RequireAll>`` ("all")."""

    op: Literal["any", "all"]
    children: tuple[Rule, ...]
    negate: bool = False  # <RequireNone> is a negated "any"


Rule = Check | Combine


class Facts(Protocol):
    """What the providers may ask about the request."""

    client_addr: str  # the client's address (no IPv4-mapped form)
    local_addr: str  # the address the request came in on
    user: str | None  # the authenticated user, None before authentication
    uri: str  # the request's path, for log lines (Apache's r->uri)
    method: str  # the request's method, for ``Require method``
    wsgi_prefix: str  # "mod_wsgi (pid=N): ", as mod_wsgi starts its log lines

    def remote_host(self) -> str | None:
        """The client's name, reverse-resolved and forward-confirmed (None: none)."""
        ...

    def groups(self) -> frozenset[str] | None:
        """The user's groups from WSGIAuthGroupScript (None: an error, logged)."""
        ...

    def log(self, module: str, message: str) -> None:
        """An error-log line for this request (``module``: authz_host, wsgi, ...)."""
        ...


class Provider(Protocol):
    """A ``Require`` provider: checked at configuration time, evaluated per request."""

    def parse(self, args: tuple[str, ...]) -> str | None:
        """None if ``args`` are right for this provider, else what is wrong."""
        ...

    def check(self, rule: Check, facts: Facts) -> Outcome: ...


def evaluate(rule: Rule, facts: Facts, registry: dict[str, Provider]) -> Outcome:
    """The tree's result, as mod_authz_core's apply_authz_sections gives it."""
    return _apply(rule, facts, registry)


def _apply(rule: Rule, facts: Facts, registry: dict[str, Provider]) -> Outcome:
    if isinstance(rule, Check):
        result = registry[rule.provider].check(rule, facts)
    else:
        result = _combine(rule, facts, registry)
    if result is Outcome.ERROR:
        return result
    if rule.negate:
        # A negated rule that did not match cannot grant: it stays neutral.
        if result is Outcome.GRANTED:
            return Outcome.DENIED
        if result in (Outcome.DENIED, Outcome.DENIED_NO_USER):
            return Outcome.NEUTRAL
    return result


def _combine(rule: Combine, facts: Facts, registry: dict[str, Provider]) -> Outcome:
    result = Outcome.NEUTRAL
    for child in rule.children:
        got = _apply(child, facts, registry)
        if got is Outcome.ERROR:
            return got
        if got is Outcome.NEUTRAL:
            continue
        if rule.op == "all":
            if got is Outcome.DENIED:
                return got
            # "no user yet" keeps the door open unless something denied outright.
            if result is Outcome.NEUTRAL or (
                got is Outcome.DENIED_NO_USER and result is not Outcome.DENIED
            ):
                result = got
        else:
            if got is Outcome.GRANTED:
                return got
            if result is Outcome.NEUTRAL or (
                got is Outcome.DENIED_NO_USER and result is Outcome.DENIED
            ):
                result = got
    return result


def providers_in(rule: Rule) -> set[str]:
    """The provider names a tree uses."""
    if isinstance(rule, Check):
        return {rule.provider}
    found: set[str] = set()
    for child in rule.children:
        found |= providers_in(child)
    return found


def only_denies(rule: Rule) -> bool:
    """True for a tree of ``Require all denied`` lines only: it denies everyone."""
    if isinstance(rule, Check):
        return rule.provider == "all" and rule.args == ("denied",) and not rule.negate
    return not rule.negate and all(only_denies(c) for c in rule.children)
