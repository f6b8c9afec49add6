"""The small pieces of mod_autoindex's page that must match Apache to the byte.

Pure. Strings here are "raw": one character per byte (latin-1), because file
names are bytes and Apache compares, truncates and escapes bytes.

- :func:`parse_query`: the ``?C=N;O=D;F=2;V=1;P=*.txt`` loop of
  ``index_directory``, with its silent stop at the first word it does not know;
- :func:`compare`: ``dsortf``, the entries' order (the parent first, then
  folders with FoldersFirst, then the key, then the name), with APR's
  ``apr_strnatcmp`` for VersionSort (C's signed ``char``, as on x86);
- :func:`size_text`: ``apr_strfsize`` (``  1 ``, ``1.0K``, `` 10K``, ``4.7G``);
- :func:`wild_match`: ``ap_strcmp_match`` (``*`` and ``?`` only);
- :func:`escape_path` and :func:`escape_html`: ``ap_os_escape_path`` and
  ``ap_escape_html`` (lower-case hex; quotes but not apostrophes).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote_to_bytes

from wsgihost.config import mod_autoindex as conf
from wsgihost.config.mod_autoindex import Item

DIGITS = frozenset("0123456789")
SPACES = frozenset(" \t\n\v\f\r")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# ap_os_escape_path leaves letters, digits and these alone; the rest becomes %xx.
_PATH_SAFE = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$-_.+!*'(),:;@&=/~"
)
_PATH_ESCAPES = str.maketrans(
    {chr(b): "%%%02x" % b for b in range(256) if chr(b) not in _PATH_SAFE}
)
_HTML = str.maketrans({"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;"})


def ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def escape_html(text: str) -> str:
    return text.translate(_HTML)


def escape_path(path: str, partial: bool = False) -> str:
    """``ap_os_escape_path``: a name as a URL path (``./`` before a colon that comes
    before any slash, unless ``partial``)."""
    out = path.translate(_PATH_ESCAPES)
    if not partial:
        colon, slash = path.find(":"), path.find("/")
        if colon >= 0 and (slash < 0 or colon < slash):
            out = "./" + out
    return out


@dataclass
class Query:
    """What a listing's query string asks for, and what the column links carry on."""

    key: str
    direction: str
    opts: int
    pattern: str | None = None
    colargs: str = ""


def _word_ends(q: str, i: int) -> bool:
    return i >= len(q) or q[i] in "&;"


def parse_query(query: str, key: str, direction: str, opts: int) -> Query:
    """The sort key and order, format (F=), version sort (V=) and pattern (P=) of
    ``query``; anything else ends the reading, as in Apache."""
    found = Query(key, direction, opts)
    if opts & conf.IGNORE_CLIENT:
        found.opts |= conf.SUPPRESS_COLSORT
        return found
    fval = vval = ppre = epattern = ""
    q: str | None = query
    while q:
        value = q[2] if len(q) > 2 else ""
        step = 4 if len(q) > 3 else 3
        if q.startswith("C=") and value and value in "NMSD" and _word_ends(q, 3):
            found.key = value
            q = q[step:]
        elif q.startswith("O=") and value in ("A", "D") and _word_ends(q, 3):
            found.direction = value
            q = q[step:]
        elif q.startswith("F=") and value and value in "012" and _word_ends(q, 3):
            if value == "0":
                found.opts &= ~(conf.FANCY_INDEXING | conf.TABLE_INDEXING)
            elif value == "1":
                found.opts = (found.opts | conf.FANCY_INDEXING) & ~conf.TABLE_INDEXING
            else:
                found.opts |= conf.FANCY_INDEXING | conf.TABLE_INDEXING
            fval = ";F=" + value
            q = q[step:]
        elif q.startswith("V=") and value in ("0", "1") and _word_ends(q, 3):
            if value == "0":
                found.opts &= ~conf.VERSION_SORT
            else:
                found.opts |= conf.VERSION_SORT
            vval = ";V=" + value
            q = q[step:]
        elif q.startswith("P="):
            end = 2
            while end < len(q) and q[end] not in "&;":
                end += 1
            text = q[2:end]
            found.pattern = None
            if text:
                decoded = _unescape(text)
                if decoded is not None:
                    found.pattern = decoded
                    ppre, epattern = ";P=", escape_path(decoded, partial=True)
            q = q[end + 1 :] if end + 1 < len(q) else None
        else:
            q = None  # Apache ignores the rest after a word it does not know
    found.colargs = fval + vval + ppre + epattern
    return found


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _unescape(text: str) -> str | None:
    """``ap_unescape_url``: None for a bad escape or an escaped slash or NUL."""
    lowered = text.lower()
    if _BAD_ESCAPE.search(text) or "%2f" in lowered or "%00" in lowered:
        return None
    return unquote_to_bytes(text.encode("latin-1")).decode("latin-1")


def pattern_match(pattern: str, name: str) -> bool:
    """apr_fnmatch with NOESCAPE and PERIOD: a leading dot must be matched by one."""
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return _glob(pattern).match(name) is not None


@lru_cache(maxsize=512)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.DOTALL)


def desc_match(pattern: str, name: str) -> bool:
    """apr_fnmatch with no flags, for AddDescription: ``*`` crosses slashes."""
    return _glob(pattern).match(name) is not None


def wild_regex(pattern: str) -> str:
    """``ap_strcmp_match``'s pattern as a regular expression matching the whole text."""
    parts = ["(?s:"]
    for c in pattern:
        parts.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
    return "".join(parts) + r")\Z"


@lru_cache(maxsize=1024)
def _wild(pattern: str, fold: bool) -> re.Pattern[str]:
    return re.compile(wild_regex(pattern), re.IGNORECASE if fold else 0)


def wild_match(text: str, pattern: str, fold: bool = False) -> bool:
    """``ap_strcmp_match`` (``fold``: ``ap_strcasecmp_match``): ``*`` and ``?``."""
    if pattern == "*":
        return True
    return _wild(pattern, fold).match(text) is not None


def _matcher(pattern: str, fold: bool = False) -> Callable[[str], bool]:
    """A test for ``ap_strcmp_match(text, pattern)``: ``*`` alone matches all, and
    ``*`` then a plain suffix (AddIcon's ``.gif``) is a suffix test."""
    if pattern == "*":
        return lambda text: True
    rest = pattern[1:]
    if pattern.startswith("*") and not fold and "*" not in rest and "?" not in rest:
        return lambda text: text.endswith(rest)
    match = _wild(pattern, fold).match
    return lambda text: match(text) is not None


class Finder:
    """``find_item`` over one list of icons or alt texts, its patterns prepared once
    per listing (a listing asks for every name)."""

    def __init__(self, items: tuple[Item, ...]) -> None:
        self.items = [
            (
                None if item.apply_path == "*" else _matcher(item.apply_path),
                item.kind,
                item.data,
                item.apply_to,
                _matcher(item.apply_to),
                _matcher(item.apply_to, fold=True),
            )
            for item in items
        ]

    def find(self, media: str | None, path: str, path_only: bool) -> str | None:
        """The first item whose directory and name (or type) match ``path``."""
        special = path.startswith("^")
        for in_scope, kind, data, apply_to, by_name, by_type in self.items:
            if not (special or in_scope is None or in_scope(path)):
                continue
            if not apply_to:
                return data
            if kind == conf.BY_PATH or special:
                if by_name(path):
                    return data
            elif (
                # No content encodings (AddEncoding is not provided): types decide.
                not path_only and kind == conf.BY_TYPE and media and by_type(media)
            ):
                return data
        return None


def size_text(size: int) -> str:
    """``apr_strfsize``: four characters."""
    if size < 0:
        return "  - "
    if size < 973:
        return "%3d " % size
    units = "KMGTPE"
    unit = 0
    while True:
        remain = size & 1023
        size >>= 10
        if size >= 973:
            unit += 1
            continue
        if size < 9 or (size == 9 and remain < 973):
            remain = (remain * 5 + 256) // 512
            if remain >= 10:
                size, remain = size + 1, 0
            return "%d.%d%c" % (size, remain, units[unit])
        if remain >= 512:
            size += 1
        return "%3d%c" % (size, units[unit])


def _at(s: str, i: int) -> str:
    return s[i] if i < len(s) else ""


def _signed(c: str) -> int:
    """A C ``char`` on x86: bytes from 0x80 up are negative."""
    o = ord(c) if c else 0
    return o - 256 if o >= 128 else o


def _compare_right(a: str, ai: int, b: str, bi: int) -> int:
    bias = 0
    while True:
        ca, cb = _at(a, ai), _at(b, bi)
        da, db = ca in DIGITS and ca != "", cb in DIGITS and cb != ""
        if not da and not db:
            return bias
        if not da:
            return -1
        if not db:
            return 1
        if ca < cb and not bias:
            bias = -1
        elif ca > cb and not bias:
            bias = 1
        ai, bi = ai + 1, bi + 1


def _compare_left(a: str, ai: int, b: str, bi: int) -> int:
    while True:
        ca, cb = _at(a, ai), _at(b, bi)
        da, db = ca in DIGITS and ca != "", cb in DIGITS and cb != ""
        if not da and not db:
            return 0
        if not da:
            return -1
        if not db:
            return 1
        if ca != cb:
            return -1 if ca < cb else 1
        ai, bi = ai + 1, bi + 1


def natcmp(a: str, b: str, fold: bool = False) -> int:
    """``apr_strnatcmp`` (``fold``: ``apr_strnatcasecmp``): runs of digits by value."""
    ai = bi = 0
    while True:
        ca, cb = _at(a, ai), _at(b, bi)
        while ca and ca in SPACES:
            ai += 1
            ca = _at(a, ai)
        while cb and cb in SPACES:
            bi += 1
            cb = _at(b, bi)
        if ca and cb and ca in DIGITS and cb in DIGITS:
            if ca == "0" or cb == "0":
                result = _compare_left(a, ai, b, bi)
            else:
                result = _compare_right(a, ai, b, bi)
            if result:
                return result
        if not ca and not cb:
            return 0
        if fold:
            ca, cb = ca.translate(_ASCII_UPPER), cb.translate(_ASCII_UPPER)
        sa, sb = _signed(ca), _signed(cb)
        if sa != sb:
            return -1 if sa < sb else 1
        ai, bi = ai + 1, bi + 1


def _cmp(a: str, b: str) -> int:
    return (a > b) - (a < b)


@dataclass
class Entry:
    """One row (Apache's ``struct ent``): ``name`` raw, a folder's with its slash,
    the parent's an absolute URL path (so it starts with ``/``)."""

    name: str
    size: int = -1
    mtime: int = -1  # microseconds, as apr_time_t
    icon: str | None = None
    alt: str | None = None
    desc: str | None = None
    isdir: bool = False  # set only with FoldersFirst


@dataclass(frozen=True)
class Order:
    key: str
    ascending: bool
    version_sort: bool
    ignore_case: bool


@lru_cache(maxsize=8192)
def natural_key(text: str, fold: bool = False) -> tuple[tuple[int | str, ...], ...]:
    """A sort key that orders as :func:`natcmp` does (tested against it).

    Spaces are dropped; a run of digits is one token, compared with another run
    as a string when either starts with 0 (compare_left) and by length then
    digits otherwise (compare_right); a digit against any other character as
    the characters (no other character falls between the digits); every other
    character as a signed C char; the end of the text as a NUL.
    """
    if fold:
        text = text.translate(_ASCII_UPPER)
    tokens: list[tuple[int | str, ...]] = []
    for run, char in _TOKENS.findall(text):
        if run:
            tokens.append((48, 0, run) if run[0] == "0" else (48, 1, len(run), run))
        elif char not in SPACES:
            o = ord(char)
            tokens.append((o - 256 if o >= 128 else o,))
    tokens.append((0,))
    return tuple(tokens)


_TOKENS = re.compile(r"([0-9]+)|(.)", re.DOTALL)


def sort_entries(entries: list[Entry], order: Order) -> list[Entry]:
    """``dsortf`` as keys: the parent first, then folders (FoldersFirst), each
    group by the key, then the name (natural with VersionSort, without case
    with IgnoreCase, then byte order); descending reverses all but the groups."""
    parents = [e for e in entries if e.name.startswith("/")]
    folders = [e for e in entries if e.isdir and not e.name.startswith("/")]
    files = [e for e in entries if not e.isdir and not e.name.startswith("/")]

    def key(e: Entry) -> tuple[object, ...]:
        parts: list[object] = []
        if order.key == "M":
            parts.append(e.mtime)
        elif order.key == "S":
            parts.append(e.size)
        elif order.key == "D":
            desc = e.desc or ""
            parts.append(natural_key(desc) if order.version_sort else desc)
        if order.version_sort:
            if order.ignore_case:
                parts.append(natural_key(e.name, fold=True))
            parts.append(natural_key(e.name))
        if order.ignore_case:
            parts.append(ascii_lower(e.name))
        parts.append(e.name)
        return tuple(parts)

    reverse = not order.ascending
    return [
        *parents,
        *sorted(folders, key=key, reverse=reverse),
        *sorted(files, key=key, reverse=reverse),
    ]


def compare(order: Order, e1: Entry, e2: Entry) -> int:
    """``dsortf`` as Apache writes it, a comparison: the reference that
    :func:`sort_entries` (a key, so no Python call per comparison) is tested against."""
    if e1.name.startswith("/"):
        return -1
    if e2.name.startswith("/"):
        return 1
    if e1.isdir != e2.isdir:
        return -1 if e1.isdir else 1
    c1, c2 = (e1, e2) if order.ascending else (e2, e1)
    if order.key == "M":
        if c1.mtime != c2.mtime:
            return 1 if c1.mtime > c2.mtime else -1
    elif order.key == "S":
        if c1.size != c2.size:
            return 1 if c1.size > c2.size else -1
    elif order.key == "D":
        d1, d2 = c1.desc or "", c2.desc or ""
        result = natcmp(d1, d2) if order.version_sort else _cmp(d1, d2)
        if result:
            return result
    result = 0
    if order.version_sort:
        if order.ignore_case:
            result = natcmp(c1.name, c2.name, fold=True)
        if not result:
            result = natcmp(c1.name, c2.name)
    if not result and order.ignore_case:
        result = _cmp(ascii_lower(c1.name), ascii_lower(c2.name))
    if not result:
        result = _cmp(c1.name, c2.name)
    return result
