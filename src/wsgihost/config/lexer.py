"""Apache configuration syntax: lines, continuations, comments, quoting.

Pure: turns text into :class:`Line` records that remember their file and line
number, and splits a line into arguments the way Apache's ``ap_getword_conf``
does. ``${VAR}`` is expanded here, on the whole line, before splitting (as
Apache does), from ``Define`` and then the environment.
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
    """Join backslash continuations; drop blank lines and ``#`` comment lines.

    As in Apache, ``#`` starts a comment only at the beginning of a line, and
    a line ending in a backslash continues on the next one.
    """
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending:
            start = number
            if not stripped or stripped.startswith("#"):
                continue
        if stripped.endswith("\\") and not stripped.endswith("\\\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        joined = " ".join(p.strip() for p in pending if p.strip())
        pending = []
        if joined:
            yield Line(file, start, joined)
    if pending:
        joined = " ".join(p.strip() for p in pending if p.strip())
        if joined:
            yield Line(file, start, joined)


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_:.-]*)\}")


def expand(line: Line, lookup: Callable[[str], str | None]) -> str:
    """Replace each ``${VAR}``; an undefined one is an error."""
    if "${" not in line.text:
        return line.text

    def replace(match: re.Match[str]) -> str:
        value = lookup(match.group(1))
        if value is None:
            raise ConfigError(
                line.file,
                line.lineno,
                f"variable ${{{match.group(1)}}} is not defined (use Define or the environment)",
            )
        return value

    return _VAR.sub(replace, line.text)


def split_args(text: str, file: str, lineno: int) -> list[str]:
    """Split a line into words; quotes group, backslash escapes a quote inside them."""
    words: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "\"'":
            quote = ch
            i += 1
            out: list[str] = []
            while i < n and text[i] != quote:
                if text[i] == "\\" and i + 1 < n and text[i + 1] in (quote, "\\"):
                    i += 1
                out.append(text[i])
                i += 1
            if i >= n:
                raise ConfigError(file, lineno, f"unterminated {quote} quote")
            i += 1
            words.append("".join(out))
        else:
            start = i
            while i < n and not text[i].isspace():
                i += 1
            words.append(text[start:i])
    return words
