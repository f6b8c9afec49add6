"""Apache 2.4's expression language (ap_expr), compiled once and evaluated per request.

Pure. ``compile(text)`` reads a boolean expression (``<If>``, ``Require
expr``, ``SetEnvIfExpr``), ``compile_string(text)`` a string expression
(``Header set X "expr=..."`` values): both raise :class:`ExprError` with
Apache's message and the position. What an expression reads of a request
comes through :class:`Request` (see :mod:`wsgihost.expr.context`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wsgihost.expr.context import MapRequest, Request
from wsgihost.expr.lexer import ExprError, string_parts, tokens
from wsgihost.expr.nodes import Cond, Evaluation, EvaluationError, Word
from wsgihost.expr.parser import Parser

__all__ = [
    "EvaluationError",
    "Expr",
    "ExprError",
    "MapRequest",
    "Outcome",
    "Request",
    "StringExpr",
    "compile",
    "compile_string",
]


@dataclass(frozen=True)
class Outcome:
    """An evaluation's result, with what it leaves behind for the caller."""

    value: bool
    captures: tuple[str, ...]  # $0..$9 of the last match that captured; () if none did
    varies: tuple[str, ...]  # request headers it read (Apache adds them to Vary)


@dataclass(frozen=True)
class Expr:
    """A compiled boolean expression."""

    text: str
    root: Cond

    def evaluate(self, request: Request) -> bool:
        """True or False; EvaluationError if it cannot be evaluated."""
        return self.run(request).value

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # Pickled with the model for the front-end workers: as its text, compiled
        # again there (the tree holds the library's functions, some not picklable).
        return (compile, (self.text,))

    def run(self, request: Request) -> Outcome:
        ev = Evaluation(request)
        value = self.root.test(ev)
        if ev.error is not None:
            raise EvaluationError(ev.error)
        return Outcome(value, ev.captures(), tuple(ev.varies))


@dataclass(frozen=True)
class StringExpr:
    """A compiled string expression."""

    text: str
    root: Word

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (compile_string, (self.text,))  # as Expr's

    def evaluate(self, request: Request, captures: tuple[str, ...] = ()) -> str:
        """The string; ``captures`` are the caller's $0..$9 (a regex it matched)."""
        ev = Evaluation(request)
        if captures:
            ev.groups = captures[:10]
        value = self.root.value(ev)
        if ev.error is not None:
            raise EvaluationError(ev.error)
        return value


def compile(text: str, restricted: bool = False) -> Expr:
    """A boolean expression; ``restricted`` refuses the file tests and file functions."""
    return Expr(text, Parser(tokens(text), restricted).root())


def compile_string(text: str, restricted: bool = False) -> StringExpr:
    parser = Parser(iter(()), restricted)
    return StringExpr(text, parser.parts(string_parts(text)))
