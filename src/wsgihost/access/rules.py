"""The ``Require`` rule tree and its evaluation, as mod_authz_core evaluates it.

Pure. A section's ``Require`` lines are a tree: each line is a
:class:`Check` of one provider (``all``, ``ip``, ``valid-user``, ...), and
lines written together are a :class:`Combine` (several lines in one section
are an implicit ``<RequireAny>``; ``<RequireAll>``, ``<RequireAny>`` and
``<RequireNone>`` blocks nest more of them). Evaluating a tree gives one of
mod_authz_core's results: granted, denied, denied for want of a user (authentication may still grant
it), neutral (a negated rule that did not match) or an error.

Providers are looked up by name in a registry of :class:`Provider` objects,
so a new one (``Require file-owner``, ``Require group``) is a class and a
registry entry, not a change here. A provider asks the request what it needs
through :class:`Facts`; some facts cost a blocking call (a DNS lookup, a
group script), so the caller evaluates trees that use them on a thread.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Literal, Protocol


class Outcome(enum.Enum):
    GRANTED = "granted"
    DENIED = "denied"
    DENIED_NO_USER = "denied (no authenticated user yet)"
    NEUTRAL = "neutral"
    ERROR = "error"


@dataclass(frozen=True)
class Methods:
    """The methods a rule speaks for: those of its ``<Limit>`` (``names``), or all but
    those of its ``<LimitExcept>`` (``inverted``). HEAD counts as GET, as in Apache."""

    names: frozenset[str] = frozenset()
    inverted: bool = True  # the default: all methods

    def covers(self, method: str) -> bool:
        listed = ("GET" if method == "HEAD" else method) in self.names
        return listed != self.inverted

    def __and__(self, other: Methods) -> Methods:
        if self.inverted and other.inverted:
            return Methods(self.names | other.names, True)
        if not self.inverted and not other.inverted:
            return Methods(self.names & other.names, False)
        kept, dropped = (other, self) if self.inverted else (self, other)
        return Methods(kept.names - dropped.names, False)

    def __or__(self, other: Methods) -> Methods:
        if self.inverted and other.inverted:
            return Methods(self.names & other.names, True)
        if not self.inverted and not other.inverted:
            return Methods(self.names | other.names, False)
        inverted, plain = (self, other) if self.inverted else (other, self)
        return Methods(inverted.names - plain.names, True)

    @property
    def empty(self) -> bool:
        return not self.inverted and not self.names


ALL_METHODS = Methods()


@dataclass(frozen=True)
class Check:
    """One ``Require [not] provider args...`` line."""

    provider: str  # lower case: "all", "ip", "local", "host", "valid-user", ...
    args: tuple[str, ...] = ()
    negate: bool = False
    methods: Methods = ALL_METHODS  # its <Limit>/<LimitExcept>

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
    return _apply(rule, facts, registry, "all")


def limited(rule: Rule) -> Methods:
    """The methods a rule or block speaks for (a block: those of any rule in it)."""
    if isinstance(rule, Check):
        return rule.methods
    found = Methods(frozenset(), False)
    for child in rule.children:
        found = found | limited(child)
    return found


def _apply(rule: Rule, facts: Facts, registry: dict[str, Provider], parent: str) -> Outcome:
    if not limited(rule).covers(facts.method):
        # Limited to other methods: no objection inside <RequireAll> (and at the
        # top, which Apache evaluates as one), no verdict elsewhere.
        return Outcome.GRANTED if parent == "all" else Outcome.NEUTRAL
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
        got = _apply(child, facts, registry, rule.op)
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
        return (
            rule.provider == "all"
            and rule.args == ("denied",)
            and not rule.negate
            and rule.methods == ALL_METHODS
        )
    return not rule.negate and all(only_denies(c) for c in rule.children)


def placed(root: Combine, path: tuple[int, ...], child: Rule) -> Combine:
    """``root`` with ``child`` appended to the block ``path`` leads to (child indices)."""
    if not path:
        return replace(root, children=(*root.children, child))
    inner = root.children[path[0]]
    if not isinstance(inner, Combine):
        raise ValueError(f"no block at {path}")
    children = list(root.children)
    children[path[0]] = placed(inner, path[1:], child)
    return replace(root, children=tuple(children))


def block_at(root: Combine, path: tuple[int, ...]) -> Combine:
    """The block ``path`` leads to from ``root``."""
    for index in path:
        inner = root.children[index]
        if not isinstance(inner, Combine):
            raise ValueError(f"no block at {path}")
        root = inner
    return root


def spliced(parent_op: str, block: Combine) -> bool:
    """Whether mod_authz_core merges ``block`` into its parent (a plain block of
    the parent's own kind is associative, so its lines count as the parent's)."""
    return not block.negate and block.op == parent_op


def only_negative(block: Combine) -> bool:
    """True when none of the block's rules can grant, as mod_authz_core judges it at
    startup (AH01624): a negated block of the other kind counts as its own rules
    negated (De Morgan), a plain block of the same kind as its own rules."""
    for child in block.children:
        if isinstance(child, Combine):
            if spliced(block.op, child):
                if not only_negative(child):
                    return False
                continue
            if child.negate and child.op != block.op:
                if all(not c.negate for c in child.children):
                    continue  # each of its rules becomes a negated one here
                return False  # a negated rule of it becomes a plain one here
        if not child.negate:
            return False
    return True


Merging = str | None  # AuthMerging: "off", "and", "or"; None where not given


def merge_rules(
    outer: tuple[Rule | None, Merging], inner: tuple[Rule | None, Merging]
) -> tuple[Rule | None, Merging]:
    """An inner section's rules over an outer one's, as mod_authz_core merges them.

    Without AuthMerging (or Off) the inner section's rules replace the outer
    ones, even when it has none but says ``AuthMerging Off`` (then nothing is
    required); And/Or join both sides' rules in one block. A section that says
    nothing about rules keeps the outer ones.
    """
    (base, base_op), (new, new_op) = outer, inner
    if new_op is None and new is None and base is not None:
        return base, base_op
    if new_op in (None, "off") or (base is None and new is None):
        return new, new_op
    if base is None or new is None:
        return base if new is None else new, new_op
    return Combine("all" if new_op == "and" else "any", (base, new)), new_op
