"""mod_headers' rules and how they change a header table, without the pipeline.

Pure. A ``Header`` or ``RequestHeader`` line is one :class:`HeaderRule`;
:class:`HeadersConfig` holds a scope's three lists as Apache keeps them
(``RequestHeader``, ``Header [onsuccess]``, ``Header always``) and merges
them by concatenation, parent first, so a deeper section's rules run after
its parents' (mod_headers' merge_headers_config). :func:`apply` runs one
list over one table, with Apache's table operations (apr_table_set replaces
the first and drops the rest, apr_table_merge joins with ", ", edit moves
the edited values to the end).

Values are format strings: ``%{VAR}e`` (the request's environment, CR and LF
turned into spaces, ``(null)`` when unset), ``%{VAR}s`` (a TLS variable),
``%D``, ``%t``, ``%l``, ``%i``, ``%b``, ``%%``, and the escapes ``\\n``,
``\\r``, ``\\t``, ``\\\\`` in the text between them.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wsgihost.mods.regsub import pregsub

ACTIONS = ("set", "setifempty", "add", "append", "merge", "unset", "echo", "note", "edit", "edit*")
EARLY = "early"
# The format letters mod_headers registers (header_pre_config).
LETTERS = frozenset("Dtselib")


class FormatError(ValueError):
    """A value format Apache refuses ('Unrecognized header format %x')."""


@dataclass(frozen=True)
class Piece:
    """One part of a value: ``letter`` "" is literal ``text``; else a format code."""

    letter: str
    text: str


@dataclass(frozen=True)
class HeaderRule:
    """One Header or RequestHeader line."""

    action: str
    header: str
    value: tuple[Piece, ...] = ()
    pattern: re.Pattern[str] | None = None  # edit: what to replace; echo: header names
    # None, "early", "VAR" (env=VAR) or "!VAR" (env=!VAR).
    condition: str | None = None
    # An expr= condition / value from the ap_expr engine: evaluated by ``test``.
    expr: Any = field(default=None, compare=False)
    value_expr: Any = field(default=None, compare=False)
    file: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)

    @property
    def early(self) -> bool:
        return self.condition == EARLY


@dataclass(frozen=True)
class HeadersConfig:
    """A scope's mod_headers configuration: RequestHeader, Header onsuccess and
    Header always, each in the order written."""

    request: tuple[HeaderRule, ...] = ()
    onsuccess: tuple[HeaderRule, ...] = ()
    always: tuple[HeaderRule, ...] = ()

    def merge(self, over: HeadersConfig) -> HeadersConfig:
        """Apache's merge: the parent's rules, then the deeper scope's."""
        return HeadersConfig(
            self.request + over.request,
            self.onsuccess + over.onsuccess,
            self.always + over.always,
        )

    def __bool__(self) -> bool:
        return bool(self.request or self.onsuccess or self.always)


def parse_format(text: str) -> tuple[Piece, ...]:
    """A value format split into pieces; FormatError for an unknown ``%x``."""
    pieces: list[Piece] = []
    i, n = 0, len(text)
    literal: list[str] = []
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "\\rnt":
            literal.append({"\\": "\\", "r": "\r", "n": "\n", "t": "\t"}[text[i + 1]])
            i += 2
        elif c != "%":
            literal.append(c)
            i += 1
        elif i + 1 >= n or text[i + 1] == "%":
            literal.append("%")  # "%%", or a "%" that ends the value
            i += 2
        else:
            if literal:
                pieces.append(Piece("", "".join(literal)))
                literal = []
            i += 1
            arg = ""
            if text[i] == "{":
                end = text.find("}", i + 1)
                arg, i = (text[i + 1 :], n) if end < 0 else (text[i + 1 : end], end + 1)
            letter = text[i] if i < n else ""
            if letter not in LETTERS or not letter:
                raise FormatError(f"Unrecognized header format %{letter}")
            pieces.append(Piece(letter, arg))
            i += 1
    if literal:
        pieces.append(Piece("", "".join(literal)))
    return tuple(pieces)


def lookup(env: Mapping[str, str], name: str) -> str | None:
    """A variable of the request's environment, by name in any letter case (Apache's
    tables compare names so)."""
    value = env.get(name)
    if value is None:
        key = name.lower()
        value = next((v for k, v in env.items() if k.lower() == key), None)
    return value


def unwrap(value: str) -> str:
    """CR and LF as spaces: a variable's value never splits a header (unwrap_header)."""
    return value.replace("\r", " ").replace("\n", " ")


@dataclass
class Facts:
    """What a value format and a condition read from the request."""

    env: Mapping[str, str]
    request_time: float = 0.0  # seconds since the epoch
    ssl: Callable[[str], str | None] = lambda name: None
    idle: int = 0  # workers idle and busy (the scoreboard's, for %i and %b)
    busy: int = 1
    # An expr= value's string (the ap_expr engine's); None: such values are empty.
    evaluate: Callable[[HeaderRule], str] | None = None
    # An expr= condition's truth; None: such rules do not run.
    test: Callable[[HeaderRule], bool] | None = None


def value_of(rule: HeaderRule, facts: Facts) -> str:
    """A rule's value for this request: its format expanded, or its expr= string."""
    if rule.value_expr is not None:
        return facts.evaluate(rule) if facts.evaluate is not None else ""
    return expand(rule.value, facts)


def expand(pieces: tuple[Piece, ...], facts: Facts) -> str:
    out: list[str] = []
    for piece in pieces:
        letter = piece.letter
        if not letter:
            out.append(piece.text)
        elif letter == "e":
            value = lookup(facts.env, piece.text)
            out.append("(null)" if value is None else unwrap(value))
        elif letter == "s":
            value = facts.ssl(piece.text)
            out.append(unwrap(value) if value else "(null)")
        elif letter == "D":
            out.append(f"D={int((time.time() - facts.request_time) * 1_000_000)}")
        elif letter == "t":
            out.append(f"t={int(facts.request_time * 1_000_000)}")
        elif letter == "l":
            one, five, fifteen = os.getloadavg()
            out.append(f"l={one:.2f}/{five:.2f}/{fifteen:.2f}")
        elif letter == "i":
            out.append(f"i={facts.idle}")
        else:
            out.append(f"b={facts.busy}")
    return "".join(out)


def wanted(rule: HeaderRule, env: Mapping[str, str], early: bool) -> bool:
    """Whether ``rule`` runs in this pass (early or late) under its env= condition.
    (An expr= condition is the caller's: the rule carries the compiled expression.)"""
    if early != rule.early:
        return False
    condition = rule.condition
    if condition is None or early:
        return True
    if condition.startswith("!"):
        return lookup(env, condition[1:]) is None
    return lookup(env, condition) is not None


# -- Apache's table operations on a list of (name, value) ---------------------


def get(table: list[tuple[str, str]], name: str) -> str | None:
    key = name.lower()
    return next((v for n, v in table if n.lower() == key), None)


def set_(table: list[tuple[str, str]], name: str, value: str) -> None:
    """apr_table_set: the first ``name`` takes the value, the others go."""
    key = name.lower()
    kept: list[tuple[str, str]] = []
    done = False
    for n, v in table:
        if n.lower() != key:
            kept.append((n, v))
        elif not done:
            kept.append((n, value))
            done = True
    if not done:
        kept.append((name, value))
    table[:] = kept


def unset(table: list[tuple[str, str]], name: str) -> None:
    key = name.lower()
    table[:] = [(n, v) for n, v in table if n.lower() != key]


def merge_into(table: list[tuple[str, str]], name: str, value: str) -> None:
    """apr_table_merge: the first ``name`` gets ", value" added; absent, one is added."""
    key = name.lower()
    for i, (n, v) in enumerate(table):
        if n.lower() == key:
            table[i] = (n, f"{v}, {value}")
            return
    table.append((name, value))


def has_token(existing: str, token: str) -> bool:
    """Whether ``token`` is one of the comma-separated items of ``existing``, compared
    as written (quoted strings kept whole), as mod_headers' merge looks."""
    i, n = 0, len(existing)
    while i < n:
        while i < n and existing[i].isspace():
            i += 1
        start = i
        while i < n and existing[i] != ",":
            if existing[i] == '"':
                i += 1
                while i < n and existing[i] != '"':
                    i += 1
            i += 1
        if existing[start:i] == token:
            return True
        i += 1
    return False


def edit(rule: HeaderRule, value: str, facts: Facts) -> str:
    """``value`` with the first (edit) or every (edit*) match of the rule's pattern
    replaced; an empty match moves on by one character, as Apache (and Perl's /g)."""
    assert rule.pattern is not None
    template = value_of(rule, facts)
    if rule.action == "edit":
        match = rule.pattern.search(value)
        if match is None:
            return value
        return value[: match.start()] + pregsub(template, match) + value[match.end() :]
    return rule.pattern.sub(lambda m: pregsub(template, m), value)


def apply(
    rules: tuple[HeaderRule, ...],
    table: list[tuple[str, str]],
    facts: Facts,
    early: bool = False,
    headers_in: list[tuple[str, str]] | None = None,
    notes: dict[str, str] | None = None,
) -> None:
    """Run ``rules`` over ``table`` in order (do_headers_fixup). ``headers_in`` is
    the request's headers for ``echo``."""
    test = facts.test
    for rule in rules:
        if not wanted(rule, facts.env, early):
            continue
        if rule.expr is not None and (test is None or not test(rule)):
            continue
        action, name = rule.action, rule.header
        if action == "add":
            table.append((name, value_of(rule, facts)))
        elif action == "append":
            merge_into(table, name, value_of(rule, facts))
        elif action == "merge":
            value = value_of(rule, facts)
            existing = get(table, name)
            if existing is None:
                table.append((name, value))
            elif not has_token(existing, value):
                merge_into(table, name, value)
        elif action == "set":
            set_(table, name, value_of(rule, facts))
        elif action == "setifempty":
            if get(table, name) is None:
                set_(table, name, value_of(rule, facts))
        elif action == "unset":
            unset(table, name)
        elif action == "echo":
            assert rule.pattern is not None
            for n, v in headers_in or ():
                if rule.pattern.search(n):
                    table.append((n, v))
        elif action in ("edit", "edit*"):
            key = name.lower()
            edited = [(n, edit(rule, v, facts)) for n, v in table if n.lower() == key]
            if edited:
                unset(table, name)
                table.extend(edited)
        elif action == "note" and notes is not None:
            found = get(table, name)
            note = value_of(rule, facts)
            if found is None:
                notes.pop(note, None)
            else:
                notes[note] = found
