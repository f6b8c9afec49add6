"""Apache configuration syntax: lines, continuations, comments, quoting.

Pure: turns text into :class:`Line` records that remember their file and line
number, and splits a line into arguments the way Apache's ``ap_getword_conf``
does. ``${VAR}`` is expanded on the whole line before it is split (as Apache
does), from ``Define`` and then the environment; the parser decides when, so
that a line inside a false ``<IfDefine>`` is never expanded.

Apache's rules, which this module follows:

- A line ending in a backslash continues on the next one. The backslash is
  removed and the next line appended as it is, so its leading white space
  still separates words, and a word broken without any joins up again. A
  line ending in two backslashes ends there (with one literal backslash).
- A logical line whose first character is ``#`` is a comment. There are no
  comments after a directive: ``Listen 80 # web`` passes three arguments.
- Leading and trailing white space is dropped; blank lines are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass


class ConfigError(Exception):
    """A problem with the configuration, at a file and line."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file = file
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Line:
    """One logical line: continuations joined, comment lines dropped."""

    file: str
    lineno: int  # the first physical line
    text: str


def logical_lines(text: str, file: str) -> Iterator[Line]:
    """Join backslash continuations; drop blank lines and ``#`` comment lines."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        body = raw.rstrip()
        if body.endswith("\\") and not body.endswith("\\\\"):
            pending.append(body[:-1])
            continue
        if body.endswith("\\\\"):
            body = body[:-1]
        pending.append(body)
        joined = "".join(pending).strip()
        pending = []
        if joined and not joined.startswith("#"):
            yield Line(file, start, joined)
    if pending:
        joined = "".join(pending).strip()
        if joined and not joined.startswith("#"):
            yield Line(file, start, joined)


_VAR = re.compile(r"\$\{([^}]*)\}")


def expand(line: Line, lookup: Callable[[str], str | None]) -> str:
    """Replace each ``${VAR}``; undefined ones are an error naming all of them."""
    if "${" not in line.text:
        return line.text
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if ":" in name:
            # ${map:key} is mod_rewrite's map lookup, kept for it; a Define
            # name cannot hold ":" (Apache refuses one), so nothing is lost.
            return match.group(0)
        value = lookup(name) if name else None
        if value is None:
            if name not in missing:
                missing.append(name)
            return match.group(0)
        return value

    text = _VAR.sub(replace, line.text)
    if missing:
        names = ", ".join(f"${{{name}}}" for name in missing)
        verb = "is" if len(missing) == 1 else "are"
        raise ConfigError(
            line.file,
            line.lineno,
            f"variable {names} {verb} not defined (use Define, -D or the environment)",
        )
    return text


def _unescape(text: str, quote: str) -> str:
    """Apache drops a backslash before another backslash or the quote character."""
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in ("\\", quote or "\\"):
            i += 1
            ch = text[i]
        out.append(ch)
        i += 1
    return "".join(out)


def _quoted(text: str, i: int, file: str, lineno: int) -> tuple[str, int]:
    """The quoted string starting at ``text[i]`` and the index just past it."""
    quote = text[i]
    j = i + 1
    while j < len(text) and text[j] != quote:
        j += 2 if text[j] == "\\" and j + 1 < len(text) and text[j + 1] in (quote, "\\") else 1
    if j >= len(text):
        raise ConfigError(file, lineno, f"unterminated {quote} quote")
    return _unescape(text[i + 1 : j], quote), j + 1


def split_args(text: str, file: str, lineno: int) -> list[str]:
    """Split a line into words.

    A word that starts with a quote runs to the matching quote; inside it a
    backslash escapes that quote or another backslash. mod_wsgi also reads
    ``name="value with spaces"`` as one option, so a quote right after ``=``
    is honoured in the same way.
    """
    words: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] in "\"'":
            word, i = _quoted(text, i, file, lineno)
            words.append(word)
            continue
        parts: list[str] = []
        start = i
        while i < n and not text[i].isspace():
            if text[i] == "=" and i + 1 < n and text[i + 1] in "\"'":
                parts.append(_unescape(text[start : i + 1], ""))
                value, i = _quoted(text, i + 1, file, lineno)
                parts.append(value)
                start = i
                continue
            i += 1
        parts.append(_unescape(text[start:i], ""))
        words.append("".join(parts))
    return words


def first_word(text: str) -> str:
    """The first word of a line, without expanding or unquoting anything."""
    return text.split(None, 1)[0] if text.strip() else ""
