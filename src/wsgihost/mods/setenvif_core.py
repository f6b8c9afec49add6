"""mod_setenvif's conditions and how they set a request's environment, without
the pipeline.

Pure. A ``SetEnvIf``, ``SetEnvIfNoCase``, ``BrowserMatch``,
``BrowserMatchNoCase`` or ``SetEnvIfExpr`` line is one :class:`Condition`;
:class:`SetEnvIfConfig` keeps a scope's in order and merges by
concatenation, parent first (merge_setenvif_config). :func:`run` applies a
list to one request, as match_headers does:

* the attribute is one of Apache's specials (``Remote_Addr``,
  ``Remote_Host``, ``Server_Addr``, ``Request_Method``,
  ``Request_Protocol``, ``Request_URI``), else a request header (its first
  value) or, failing that, an environment variable set earlier; a name with
  other characters than letters, digits, ``-`` and ``_`` is a regex matched
  against every request header's name (the last matching header counts);
* an attribute that is absent is matched as the empty string (so ``^$``
  sees a missing header);
* a pattern with no regex character is a plain substring search, and its
  values are taken as written; after a regex match, ``$1``..``$9`` in a value
  are the groups;
* ``!VAR`` unsets, ``VAR`` alone sets ``1`` (so does ``VAR=`` with nothing
  after it), ``VAR=value`` sets the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wsgihost.mods.headers_core import lookup
from wsgihost.mods.regsub import Groups, pregsub

SPECIALS = {
    "remote_addr": "remote_addr",
    "remote_host": "remote_host",
    "server_addr": "server_addr",
    "request_method": "request_method",
    "request_protocol": "request_protocol",
    "request_uri": "request_uri",
}
_PLAIN_NAME = re.compile(r"[-A-Za-z0-9_]*\Z")
_REGEX_CHARS = frozenset("^.$|()[]*+?{}")
UNSET = "!"  # a variable's value that means: remove it


@dataclass(frozen=True)
class Condition:
    """One SetEnvIf-family line: when ``attribute`` matches, set ``variables``."""

    attribute: str  # as written ("User-Agent", "Remote_Addr", "^X-.*"); "" for SetEnvIfExpr
    pattern: re.Pattern[str] | None  # None: ``plain`` is a substring to look for
    plain: str | None
    variables: tuple[tuple[str, str], ...]  # (name, value), value "!" to unset
    nocase: bool = False
    special: str | None = None  # a key of SPECIALS
    names: re.Pattern[str] | None = None  # the attribute as a regex of header names
    early: bool = False  # --early: at post_read_request, before RequestHeader early
    server_level: bool = False  # written outside any section: run when the request is read
    expr: Any = field(default=None, compare=False)  # SetEnvIfExpr's compiled expression
    file: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class SetEnvIfConfig:
    """A scope's conditions, in the order written."""

    conditions: tuple[Condition, ...] = ()

    def merge(self, over: SetEnvIfConfig) -> SetEnvIfConfig:
        return SetEnvIfConfig(self.conditions + over.conditions)

    def __bool__(self) -> bool:
        return bool(self.conditions)


def unescape_plain(pattern: str) -> str | None:
    """The literal text ``pattern`` stands for when it uses no regex feature
    (backslashes before plain characters dropped), else None (non_regex_pattern)."""
    out: list[str] = []
    escaped = False
    for c in pattern:
        if c in _REGEX_CHARS:
            if not escaped:
                return None
            escaped = False
            out.append(c)
        elif c == "\\":
            if escaped:
                out.append(c)
            escaped = not escaped
        else:
            if escaped:
                return None  # \d, \w, ...: a regex after all
            out.append(c)
    return "".join(out)


def parse_variables(
    words: list[str], server_level: bool
) -> tuple[tuple[tuple[str, str], ...], bool]:
    """The ``[!]var[=value]`` words as (name, value) pairs, and whether ``--early``
    was among them (it counts only at server level, as Apache's)."""
    pairs: list[tuple[str, str]] = []
    early = False
    for word in words:
        name, eq, value = word.partition("=")
        if eq and value:
            pairs.append((name, value))
        elif name.startswith("!"):
            pairs.append((name[1:], UNSET))
        elif name == "--early" and server_level:
            early = True
        else:
            pairs.append((name, "1"))
    return tuple(pairs), early


def compile_condition(
    attribute: str,
    regex: str,
    variables: tuple[tuple[str, str], ...],
    nocase: bool,
    early: bool = False,
) -> Condition:
    """A Condition; re.error for a regex (of the value or of header names) that
    does not compile."""
    flags = re.IGNORECASE if nocase else 0
    plain = unescape_plain(regex)
    pattern = None if plain is not None else re.compile(regex, flags)
    special = SPECIALS.get(attribute.lower())
    names = None
    if special is None and not _PLAIN_NAME.match(attribute):
        names = re.compile(attribute, flags)
    return Condition(
        attribute=attribute,
        pattern=pattern,
        plain=plain,
        variables=variables,
        nocase=nocase,
        special=special,
        names=names,
        early=early,
    )


@dataclass
class Request:
    """What the conditions read from a request."""

    headers: list[tuple[str, str]]
    env: dict[str, str]
    method: str = "GET"
    protocol: str = "HTTP/1.1"
    uri: str = "/"
    remote_addr: str = ""
    remote_host: str = ""  # with HostnameLookups Off: the address
    server_addr: str = ""

    def set(self, name: str, value: str) -> None:
        """apr_table_set: a variable already there in another letter case keeps its
        spelling and takes the value."""
        key = name.lower()
        found = next((k for k in self.env if k.lower() == key), name)
        self.env[found] = value

    def unset(self, name: str) -> None:
        key = name.lower()
        for k in [k for k in self.env if k.lower() == key]:
            del self.env[k]


def attribute_value(condition: Condition, r: Request) -> str | None:
    special = condition.special
    if special == "remote_addr":
        return r.remote_addr
    if special == "remote_host":
        return r.remote_host or r.remote_addr
    if special == "server_addr":
        return r.server_addr
    if special == "request_method":
        return r.method
    if special == "request_protocol":
        return r.protocol
    if special == "request_uri":
        return r.uri
    if condition.names is not None:
        found = None
        for name, value in r.headers:
            if condition.names.search(name):
                found = value
        return found
    key = condition.attribute.lower()
    for name, value in r.headers:
        if name.lower() == key:
            return value
    return lookup(r.env, condition.attribute)


def _contains(haystack: str, needle: str, nocase: bool) -> bool:
    return needle.lower() in haystack.lower() if nocase else needle in haystack


def run(
    conditions: tuple[Condition, ...],
    r: Request,
    early_pass: bool = False,
    test: Callable[[Condition, Mapping[str, str]], tuple[bool, tuple[str, ...]]] | None = None,
) -> None:
    """Apply ``conditions`` to ``r.env``. In the late server-level pass the
    ``--early`` ones are skipped (they ran already); ``test`` evaluates a
    SetEnvIfExpr's expression: whether it holds, and the groups ($0 first) of the
    regex match it made, () if none."""
    for c in conditions:
        if c.early and not early_pass:
            continue
        match: Groups = None
        literal = c.plain is not None  # a plain pattern has no groups: as written
        if c.expr is not None:
            if test is None:
                continue
            ok, groups = test(c, r.env)
            if not ok:
                continue
            # $N from the expression's last regex match; with none, $N gives nothing
            # (Apache keeps a value as written only after a '!~' that held).
            match = groups
        else:
            value = attribute_value(c, r) or ""
            if c.pattern is not None:
                match = c.pattern.search(value)
                if match is None:
                    continue
            elif not _contains(value, c.plain or "", c.nocase):
                continue
        for name, template in c.variables:
            if template == UNSET:
                r.unset(name)
            elif literal:
                r.set(name, template)
            else:
                r.set(name, pregsub(template, match))
