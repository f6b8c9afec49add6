"""The compiled form of an expression, and its evaluation for one request.

Pure (apart from what the library's file tests read). Words evaluate to
strings, conditions to booleans, as in httpd's util_expr_eval.c: ``&&`` and
``||`` stop early, ``=~`` with capturing groups sets ``$0``..``$9`` for what
is evaluated after it (a failed match clears them), and integer comparisons
read their operands as C's atoi64 does (``'abc' -eq 0`` is true).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wsgihost.expr import library
from wsgihost.expr.context import Request


class EvaluationError(Exception):
    """Evaluation failed (``file()`` of a file that cannot be read): Apache's message."""


@dataclass
class Evaluation:
    """One evaluation's state: the request, the last match, the headers read."""

    request: Request
    # $0..$9 of the last match by a regex with groups ('' for a group that did
    # not take part); None before one, or after one failed.
    groups: tuple[str, ...] | None = None
    varies: list[str] = field(default_factory=list)
    error: str | None = None

    def vary(self, header: str) -> None:
        # As Apache: a condition on a request header varies the response by
        # it (Host excepted, RFC 7231 7.1.4).
        if header.lower() != "host" and header not in self.varies:
            self.varies.append(header)

    def fail(self, message: str) -> None:
        if self.error is None:
            self.error = message

    def captures(self) -> tuple[str, ...]:
        return self.groups or ()


# -- words (strings) --------------------------------------------------------------------


class Word:
    def value(self, ev: Evaluation) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Literal(Word):
    text: str

    def value(self, ev: Evaluation) -> str:
        return self.text


@dataclass(frozen=True)
class Digits(Literal):
    """A number written bare: a word, but not a constant string argument."""


@dataclass(frozen=True)
class Concat(Word):
    parts: tuple[Word, ...]

    def value(self, ev: Evaluation) -> str:
        return "".join(p.value(ev) for p in self.parts)


@dataclass(frozen=True)
class Backref(Word):
    number: int

    def value(self, ev: Evaluation) -> str:
        groups = ev.groups
        return groups[self.number] if groups is not None and self.number < len(groups) else ""


@dataclass(frozen=True)
class RequestVar(Word):
    name: str  # upper case, one of library.VARIABLES

    def value(self, ev: Evaluation) -> str:
        return ev.request.variable(self.name) or ""


@dataclass(frozen=True)
class HeaderVar(Word):
    header: str

    def value(self, ev: Evaluation) -> str:
        ev.vary(self.header)
        return ev.request.header(self.header) or ""


@dataclass(frozen=True)
class MiscVar(Word):
    name: str

    def value(self, ev: Evaluation) -> str:
        return library.misc_variable(self.name)


@dataclass(frozen=True)
class Call(Word):
    name: str
    function: library.StringFunction = field(compare=False)
    arg: Word

    def value(self, ev: Evaluation) -> str:
        return self.function(ev, self.arg.value(ev))


# -- conditions -------------------------------------------------------------------------


class Cond:
    def test(self, ev: Evaluation) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class Const(Cond):
    truth: bool

    def test(self, ev: Evaluation) -> bool:
        return self.truth


@dataclass(frozen=True)
class Not(Cond):
    operand: Cond

    def test(self, ev: Evaluation) -> bool:
        return not self.operand.test(ev)


@dataclass(frozen=True)
class And(Cond):
    left: Cond
    right: Cond

    def test(self, ev: Evaluation) -> bool:
        return self.left.test(ev) and self.right.test(ev)


@dataclass(frozen=True)
class Or(Cond):
    left: Cond
    right: Cond

    def test(self, ev: Evaluation) -> bool:
        return self.left.test(ev) or self.right.test(ev)


_STRING_COMPARE = {
    "T_OP_STR_EQ": lambda a, b: a == b,
    "T_OP_STR_NE": lambda a, b: a != b,
    "T_OP_STR_LT": lambda a, b: a < b,
    "T_OP_STR_LE": lambda a, b: a <= b,
    "T_OP_STR_GT": lambda a, b: a > b,
    "T_OP_STR_GE": lambda a, b: a >= b,
}
_INT_COMPARE = {
    "T_OP_EQ": lambda a, b: a == b,
    "T_OP_NE": lambda a, b: a != b,
    "T_OP_LT": lambda a, b: a < b,
    "T_OP_LE": lambda a, b: a <= b,
    "T_OP_GT": lambda a, b: a > b,
    "T_OP_GE": lambda a, b: a >= b,
}
COMPARISONS = frozenset(_STRING_COMPARE) | frozenset(_INT_COMPARE)


@dataclass(frozen=True)
class Compare(Cond):
    op: str  # the token kind: T_OP_STR_EQ, T_OP_EQ, ...
    left: Word
    right: Word

    def test(self, ev: Evaluation) -> bool:
        a, b = self.left.value(ev), self.right.value(ev)
        if self.op in _INT_COMPARE:
            return bool(_INT_COMPARE[self.op](library.atoi64(a), library.atoi64(b)))
        return bool(_STRING_COMPARE[self.op](a, b))


@dataclass(frozen=True)
class In(Cond):
    needle: Word
    haystack: tuple[Word, ...]

    def test(self, ev: Evaluation) -> bool:
        needle = self.needle.value(ev)
        return any(needle == w.value(ev) for w in self.haystack)


@dataclass(frozen=True)
class Match(Cond):
    subject: Word
    regex: re.Pattern[str]
    negate: bool

    def test(self, ev: Evaluation) -> bool:
        subject = self.subject.value(ev)
        found = self.regex.search(subject)
        # $0..$9 are kept from an earlier match unless this regex captures.
        if self.regex.groups > 0:
            ev.groups = None if found is None else _groups(found)
        return (found is not None) != self.negate


@dataclass(frozen=True)
class Unary(Cond):
    name: str
    op: library.UnaryOp = field(compare=False)
    arg: Word
    data: object = None

    def test(self, ev: Evaluation) -> bool:
        return self.op(ev, self.arg.value(ev), self.data)


@dataclass(frozen=True)
class Binary(Cond):
    name: str
    op: library.BinaryOp = field(compare=False)
    left: Word
    right: Word
    data: object = None

    def test(self, ev: Evaluation) -> bool:
        return self.op(ev, self.left.value(ev), self.right.value(ev), self.data)


def _groups(found: re.Match[str]) -> tuple[str, ...]:
    return tuple(g or "" for g in (found.group(0), *found.groups()[:9]))
