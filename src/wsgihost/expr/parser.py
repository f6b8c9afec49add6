"""Tokens to the compiled tree: httpd 2.4's expression grammar (util_expr_parse.y).

Pure. A recursive descent over the same grammar and precedence: ``||``
below ``&&`` below ``!`` (all right-associative), comparisons between
words, ``.`` joining words. Names are looked up as they are read, so an
unknown variable, function or operator is an error of the configuration
(with Apache's message), never of a request. A grammar error says
``syntax error, unexpected T_...`` with bison's name for the token, as
Apache does; the ``expecting ...`` list bison sometimes adds is not
reproduced.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from wsgihost.expr import library
from wsgihost.expr.lexer import BackRef, ExprError, Part, Text, Token, VarRef
from wsgihost.expr.nodes import (
    COMPARISONS,
    And,
    Backref,
    Binary,
    Call,
    Compare,
    Concat,
    Cond,
    Const,
    Digits,
    HeaderVar,
    In,
    Literal,
    Match,
    MiscVar,
    Not,
    Or,
    RequestVar,
    Unary,
    Word,
)

_WORD_START = frozenset({"T_DIGIT", "T_STR_BEGIN", "T_VAR_BEGIN", "T_REGEX_BACKREF", "T_ID"})


def native(text: str) -> str:
    """Configuration text (decoded UTF-8) as the bytes-as-latin-1 the engine compares."""
    return text if text.isascii() else text.encode("utf-8", "surrogateescape").decode("latin-1")


def pcre(source: str) -> str:
    """A PCRE pattern in Python's dialect: (?<name>...) becomes (?P<name>...)."""
    return re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", source)


class Parser:
    def __init__(self, toks: Iterator[Token], restricted: bool) -> None:
        self.source = toks
        self.toks: list[Token] = []
        self.i = 0
        self.restricted = restricted

    # -- helpers ---------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        while len(self.toks) <= self.i:
            self.toks.append(next(self.source))
        return self.toks[self.i]

    def take(self) -> Token:
        tok = self.tok
        self.i += 1
        return tok

    def expect(self, kind: str) -> Token:
        if self.tok.kind != kind:
            self.unexpected()
        return self.take()

    def unexpected(self) -> None:
        raise ExprError(f"syntax error, unexpected {self.tok.kind}", self.tok.position)

    # -- conditions ------------------------------------------------------------------

    def root(self) -> Cond:
        cond = self.disjunction()
        if self.tok.kind != "$end":
            self.unexpected()
        return cond

    def disjunction(self) -> Cond:
        left = self.conjunction()
        if self.tok.kind == "T_OP_OR":
            self.take()
            return Or(left, self.disjunction())
        return left

    def conjunction(self) -> Cond:
        left = self.negation()
        if self.tok.kind == "T_OP_AND":
            self.take()
            return And(left, self.conjunction())
        return left

    def negation(self) -> Cond:
        if self.tok.kind == "T_OP_NOT":
            self.take()
            return Not(self.negation())
        return self.primary()

    def primary(self) -> Cond:
        tok = self.tok
        if tok.kind in ("T_TRUE", "T_FALSE"):
            self.take()
            return Const(tok.kind == "T_TRUE")
        if tok.kind == "'('":
            self.take()
            cond = self.disjunction()
            self.expect("')'")
            return cond
        if tok.kind == "T_OP_UNARY":
            self.take()
            return self.unary(tok, self.word())
        if tok.kind not in _WORD_START:
            self.unexpected()
        left = self.word()
        op = self.take()
        if op.kind in COMPARISONS:
            return Compare(op.kind, left, self.word())
        if op.kind == "T_OP_BINARY":
            return self.binary(op, left, self.word())
        if op.kind == "T_OP_IN":
            return In(left, self.wordlist())
        if op.kind in ("T_OP_REG", "T_OP_NRE"):
            return Match(left, self.regex(), op.kind == "T_OP_NRE")
        self.i -= 1
        self.unexpected()
        raise AssertionError  # unexpected() raises

    def unary(self, tok: Token, arg: Word) -> Cond:
        name = tok.text
        if name in library.NOT_PROVIDED_UNARY:
            raise ExprError(library.NOT_PROVIDED_UNARY[name], tok.position)
        op = library.UNARY_OPS.get(name)
        if op is None:
            raise ExprError(f"Unary operator '-{name}' does not exist", tok.position)
        if self.restricted and name in library.RESTRICTED_UNARY:
            raise ExprError(f"-{name} not available in restricted context", tok.position)
        data = self.subnet(name, arg, tok) if name in library.SUBNET_OPS else None
        return Unary(name, op, arg, data)

    def binary(self, tok: Token, left: Word, right: Word) -> Cond:
        name = tok.text.lower()
        op = library.BINARY_OPS.get(name)
        if op is None:
            raise ExprError(f"Binary operator '-{tok.text}' does not exist", tok.position)
        data = self.subnet(name, right, tok) if name in library.SUBNET_OPS else None
        return Binary(name, op, left, right, data)

    def subnet(self, name: str, arg: Word, tok: Token) -> object:
        constant = arg.text if type(arg) is Literal else None
        try:
            return library.subnet(name, constant)
        except ValueError as e:
            raise ExprError(str(e), tok.position) from None

    def wordlist(self) -> tuple[Word, ...]:
        if self.tok.kind == "T_ID":
            tok = self.take()
            raise ExprError(f"List-returning function '{tok.text}' does not exist", tok.position)
        self.expect("'{'")
        words = [self.word()]
        while self.tok.kind == "','":
            self.take()
            words.append(self.word())
        self.expect("'}'")
        return tuple(words)

    def regex(self) -> re.Pattern[str]:
        tok = self.tok
        if tok.kind not in ("T_REGEX", "T_REGEX_I"):
            self.unexpected()
        self.take()
        flags = re.ASCII | (re.IGNORECASE if tok.flags else 0)
        try:
            return re.compile(pcre(native(tok.text)), flags)
        except re.error:
            raise ExprError("Failed to compile regular expression", tok.position) from None

    # -- words -----------------------------------------------------------------------

    def word(self) -> Word:
        first = self.atom()
        if self.tok.kind != "T_OP_CONCAT":
            return first
        parts = [first]
        while self.tok.kind == "T_OP_CONCAT":
            self.take()
            parts.append(self.atom())
        return Concat(tuple(parts))

    def atom(self) -> Word:
        tok = self.tok
        if tok.kind == "T_DIGIT":
            self.take()
            return Digits(tok.text)
        if tok.kind == "T_STR_BEGIN":
            self.take()
            return self.parts(tok.parts)
        if tok.kind == "T_VAR_BEGIN":
            self.take()
            return self.parts(tok.parts)
        if tok.kind == "T_REGEX_BACKREF":
            self.take()
            return Backref(int(tok.text))
        if tok.kind == "T_ID":
            self.take()
            self.expect("'('")
            arg = self.word()
            self.expect("')'")
            return self.call(tok.text, arg, tok.position)
        self.unexpected()
        raise AssertionError

    def parts(self, parts: tuple[Part, ...]) -> Word:
        words = [self.part(p) for p in parts]
        if not words:
            return Literal("")
        return words[0] if len(words) == 1 else Concat(tuple(words))

    def part(self, part: Part) -> Word:
        if isinstance(part, Text):
            return Literal(native(part.value))
        if isinstance(part, BackRef):
            return Backref(part.number)
        return self.variable(part)

    def variable(self, ref: VarRef) -> Word:
        if ref.arg is not None:
            return self.call(ref.name, self.parts(ref.arg), ref.position)
        name = ref.name.upper()
        if name in library.HEADER_VARIABLES:
            return HeaderVar(library.HEADER_VARIABLES[name])
        if name in library.TIME_VARIABLES:
            return MiscVar(name)
        if name in library.VARIABLES:
            return RequestVar(name)
        raise ExprError(f"Variable '{ref.name}' does not exist", ref.position)

    def call(self, name: str, arg: Word, position: int) -> Word:
        key = name.lower()
        function = library.STRING_FUNCTIONS.get(key)
        if function is None:
            raise ExprError(f"Function '{name}' does not exist", position)
        if self.restricted and key in library.RESTRICTED_FUNCTIONS:
            raise ExprError(f"{key} not available in restricted context", position)
        return Call(key, function, arg)
