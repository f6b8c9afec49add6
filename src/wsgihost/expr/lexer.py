"""Apache's expression language (ap_expr) as tokens.

Pure. Follows httpd 2.4's scanner (server/util_expr_scan.l): the same
keywords and operators, flex's longest-match rule between them (``andy`` is
a name, ``and`` the operator; ``-eq`` the integer operator, ``-eqx`` a binary
operator of that name), the same escapes inside quoted strings, and the same
messages for what it cannot read. A quoted string comes out as one token
holding its parts (text, ``%{...}`` variables and ``$N`` back references),
read by :func:`string_parts`, which also reads a whole string expression
(``Header ... "expr=..."`` and friends).

Strings inside the engine are bytes held as latin-1 text (as WSGI holds
header values), so a comparison or a hash sees the bytes Apache sees; the
configuration's UTF-8 text is turned into that form as it is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


class ExprError(Exception):
    """A bad expression: Apache's message, and where (0-based) it went wrong."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"{self.message} (at character {self.position + 1})"


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class VarRef:
    """``%{NAME}``, or ``%{func:arg}`` when ``arg`` is not None."""

    name: str
    arg: tuple[Part, ...] | None
    position: int


@dataclass(frozen=True)
class BackRef:
    number: int


Part = Text | VarRef | BackRef


@dataclass(frozen=True)
class Token:
    kind: str  # bison's name for it: T_DIGIT, T_OP_STR_EQ, '(' ...
    position: int
    text: str = ""  # names, digits, operator names, regex sources
    parts: tuple[Part, ...] = ()  # a quoted string's
    flags: str = ""  # a regex's: "i" or ""


_SPACE = " \t\n"
_REGEX_DELIMITERS = "/#$%^,;:_?|-!.'\""
_KEYWORDS = {
    "and": "T_OP_AND",
    "or": "T_OP_OR",
    "not": "T_OP_NOT",
    "true": "T_TRUE",
    "false": "T_FALSE",
    # ssl_expr's spellings, kept by ap_expr for compatibility
    "lt": "T_OP_LT",
    "le": "T_OP_LE",
    "gt": "T_OP_GT",
    "ge": "T_OP_GE",
    "ne": "T_OP_NE",
    "eq": "T_OP_EQ",
    "in": "T_OP_IN",
}
_DASHED = {
    "-in": "T_OP_IN",
    "-eq": "T_OP_EQ",
    "-ne": "T_OP_NE",
    "-ge": "T_OP_GE",
    "-le": "T_OP_LE",
    "-gt": "T_OP_GT",
    "-lt": "T_OP_LT",
}
# Longest first, so "<=" is not read as "<" then "=".
_SYMBOLS = (
    ("&&", "T_OP_AND"),
    ("||", "T_OP_OR"),
    ("==", "T_OP_STR_EQ"),
    ("=~", "T_OP_REG"),
    ("!=", "T_OP_STR_NE"),
    ("!~", "T_OP_NRE"),
    ("<=", "T_OP_STR_LE"),
    (">=", "T_OP_STR_GE"),
    ("=", "T_OP_STR_EQ"),
    ("<", "T_OP_STR_LT"),
    (">", "T_OP_STR_GT"),
    ("!", "T_OP_NOT"),
    (".", "T_OP_CONCAT"),
    ("(", "'('"),
    (")", "')'"),
    ("{", "'{'"),
    ("}", "'}'"),
    (",", "','"),
    (":", "':'"),
)


def _is_name_start(c: str) -> bool:
    return c.isascii() and c.isalpha()


def _is_name_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


def _name_end(text: str, i: int) -> int:
    while i < len(text) and _is_name_char(text[i]):
        i += 1
    return i


def tokens(text: str) -> Iterator[Token]:
    """The tokens of a boolean expression, ending with ``$end``.

    Read lazily, as the parser asks for them, so that of two problems the one
    Apache meets first is the one reported.
    """
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _SPACE:
            i += 1
        elif c in "\"'":
            start = i
            parts, i = _quoted(text, i + 1, c)
            yield Token("T_STR_BEGIN", start, parts=parts)
        elif text.startswith("%{", i):
            ref, i = _variable(text, i)
            yield Token("T_VAR_BEGIN", ref.position, parts=(ref,))
        elif c == "$" and i + 1 < n and text[i + 1].isdigit():
            yield Token("T_REGEX_BACKREF", i, text=text[i + 1])
            i += 2
        elif c == "/" or (
            c == "m"
            and i + 1 < n
            and text[i + 1] in _REGEX_DELIMITERS
            and _name_end(text, i + 1) - i <= 2
        ):
            start = i
            delimiter = c if c == "/" else text[i + 1]
            i += 1 if c == "/" else 2
            end = text.find(delimiter, i)
            if end < 0:
                # Apache reads no regex token at all: its parser meets the end.
                raise ExprError("syntax error, unexpected $end, expecting T_REGEX or T_REGEX_I", n)
            source, i = text[i:end], end + 1
            flags = ""
            if i < n and text[i] == "i":
                flags, i = "i", i + 1
            yield Token("T_REGEX_I" if flags else "T_REGEX", start, source, flags=flags)
        elif c == "-" and i + 1 < n and text[i + 1].isdigit():
            end = _digits_end(text, i + 1)
            yield Token("T_DIGIT", i, text[i:end])
            i = end
        elif c.isdigit():
            end = _digits_end(text, i)
            yield Token("T_DIGIT", i, text[i:end])
            i = end
        elif c == "-" and i + 1 < n and (_is_name_start(text[i + 1]) or text[i + 1] == "_"):
            end = _name_end(text, i + 1)
            word = text[i:end]
            if word in _DASHED:
                yield Token(_DASHED[word], i, word)
            elif end - i == 2:
                yield Token("T_OP_UNARY", i, word[1:])
            else:
                yield Token("T_OP_BINARY", i, word[1:])
            i = end
        elif _is_name_start(c):
            end = _name_end(text, i)
            word = text[i:end]
            yield Token(_KEYWORDS.get(word, "T_ID"), i, word)
            i = end
        else:
            for symbol, kind in _SYMBOLS:
                if text.startswith(symbol, i):
                    yield Token(kind, i, symbol)
                    i += len(symbol)
                    break
            else:
                raise ExprError(f"Parse error near '{c}'", i)
    yield Token("$end", n)


def _digits_end(text: str, i: int) -> int:
    while i < len(text) and text[i].isdigit():
        i += 1
    return i


def string_parts(text: str) -> tuple[Part, ...]:
    """A whole string expression: text with escapes, ``%{...}`` and ``$N``.

    Quotes are plain characters here, as in Apache's string expressions.
    """
    parts, _ = _string(text, 0, stop="")
    return parts


def _quoted(text: str, i: int, quote: str) -> tuple[tuple[Part, ...], int]:
    parts, end = _string(text, i, stop=quote)
    return parts, end + 1


def _string(text: str, i: int, stop: str) -> tuple[tuple[Part, ...], int]:
    """Parts from ``i`` up to ``stop`` (or the end when ``stop`` is empty).

    Returns the parts and the index of the stop character.
    """
    parts: list[Part] = []
    buf: list[str] = []
    n = len(text)
    start = i

    def flush() -> None:
        if buf:
            parts.append(Text("".join(buf)))
            buf.clear()

    while True:
        if i >= n:
            if stop:
                raise ExprError("Unterminated string or variable", start - 1)
            flush()
            return tuple(parts), i
        c = text[i]
        if stop and c == stop:
            flush()
            return tuple(parts), i
        if c == "\n" and stop:
            raise ExprError("Unterminated string or variable", i)
        if c == "\\":
            value, i = _escape(text, i)
            buf.append(value)
        elif c == "$" and i + 1 < n and text[i + 1].isdigit():
            flush()
            parts.append(BackRef(int(text[i + 1])))
            i += 2
        elif text.startswith("%{", i):
            flush()
            ref, i = _variable(text, i)
            parts.append(ref)
        else:
            buf.append(c)
            i += 1


def _escape(text: str, i: int) -> tuple[str, int]:
    """The character a backslash escape at ``i`` stands for, and the index after it."""
    if i + 1 >= len(text):
        return "\\", i + 1  # a lone backslash at the end stays itself
    c = text[i + 1]
    if c in "01234567":
        end = i + 1
        while end < len(text) and end < i + 4 and text[end] in "01234567":
            end += 1
        value = int(text[i + 1 : end], 8)
        if value > 0xFF:
            raise ExprError("Escape sequence out of bound", i)
        if end < len(text) and text[end].isdigit():
            raise ExprError("Bad escape sequence", i)
        return chr(value), end
    if c.isdigit():
        raise ExprError("Bad escape sequence", i)
    return {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}.get(c, c), i + 2


def _variable(text: str, i: int) -> tuple[VarRef, int]:
    """``%{NAME}`` or ``%{func:arg}`` at ``i``; the reference and the index after it."""
    start = i
    i += 2
    end = _name_end(text, i)
    if end == i or not _is_name_start(text[i]):
        if i >= len(text):
            raise ExprError("Unterminated string or variable", start)
        raise ExprError(f"Invalid character in variable name '{text[i]}'", i)
    name = text[i:end]
    if end >= len(text):
        raise ExprError("Unterminated string or variable", start)
    if text[end] == "}":
        return VarRef(name, None, start), end + 1
    if text[end] != ":":
        raise ExprError(f"Invalid character in variable name '{text[end]}'", end)
    arg, close = _string(text, end + 1, stop="}")
    return VarRef(name, arg, start), close + 1
