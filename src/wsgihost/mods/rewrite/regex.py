"""Regular expressions as Apache's ap_regcomp compiles them, in Python's ``re``.

Pure. Apache 2.4 compiles with PCRE and RegexDefaultOptions' default,
DOTALL and DOLLAR_ENDONLY: ``.`` matches a newline too, and ``$`` only the
very end. PCRE's POSIX classes (``[[:alpha:]]``) are spelled out, which
Python's ``re`` does not know.
"""

from __future__ import annotations

import re

# POSIX classes inside [...], which PCRE knows and Python's re does not.
_POSIX_CLASS = re.compile(r"\[:(\w+):\]")
_POSIX = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r"\s",
    "xdigit": "0-9A-Fa-f",
    "word": r"\w",
    "punct": r"!-/:-@\[-`{-~",
    "blank": r" \t",
    "cntrl": r"\x00-\x1f\x7f",
    "print": r"\x20-\x7e",
    "graph": r"\x21-\x7e",
}


def _dollar_end_only(pattern: str) -> str:
    """PCRE's reading of a pattern in Python's terms: ``$`` (outside a class,
    unescaped) as ``\\Z``, the end of the text only; POSIX classes spelled out."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class, class_start = False, -1
    while i < n:
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            posix = _POSIX_CLASS.match(pattern, i)
            if posix is not None and posix.group(1) in _POSIX:
                out.append(_POSIX[posix.group(1)])  # [[:alpha:]]: PCRE's, not Python's
                i = posix.end()
                continue
            in_class = not (c == "]" and i != class_start)  # "[]...]": the first is literal
        elif c == "[":
            j = i + 2 if pattern[i + 1 : i + 2] == "^" else i + 1
            in_class, class_start = True, j
            out.append(pattern[i:j])
            i = j
            continue
        elif c == "$":
            c = r"\Z"
        out.append(c)
        i += 1
    return "".join(out)


def ap_regcomp(pattern: str, nocase: bool) -> re.Pattern[str] | None:
    """As ap_regcomp compiles it by default (RegexDefaultOptions DOTALL DOLLAR_ENDONLY):
    ``.`` matches a newline too, and ``$`` only at the very end."""
    flags = re.DOTALL | (re.IGNORECASE if nocase else 0)
    try:
        return re.compile(_dollar_end_only(pattern), flags)
    except re.error:
        return None
