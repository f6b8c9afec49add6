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
_HTML = str.maketrans({"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;"})


def ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def escape_html(text: str) -> str:
    return text.translate(_HTML)


def escape_path(path: str, partial: bool = False) -> str:
    """``ap_os_escape_path``: a name as a URL path (``./`` before a colon that comes
    before any slash, unless ``partial``)."""
    out = "".join(c if c in _PATH_SAFE else "%%%02x" % ord(c) for c in path)
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


@lru_cache(maxsize=1024)
def _wild(pattern: str, fold: bool) -> re.Pattern[str]:
    parts = ["(?s:"]
    for c in pattern:
        parts.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
    return re.compile("".join(parts) + r")\Z", re.IGNORECASE if fold else 0)


def wild_match(text: str, pattern: str, fold: bool = False) -> bool:
    """``ap_strcmp_match`` (``fold``: ``ap_strcasecmp_match``): ``*`` and ``?``."""
    if pattern == "*":
        return True
    return _wild(pattern, fold).match(text) is not None


def find_item(items: tuple[Item, ...], media: str | None, path: str, path_only: bool) -> str | None:
    """``find_item``: the first item whose directory and name (or type) match."""
    special = path.startswith("^")
    for item in items:
        if not (special or wild_match(path, item.apply_path)):
            continue
        if not item.apply_to:
            return item.data
        if item.kind == conf.BY_PATH or special:
            if wild_match(path, item.apply_to):
                return item.data
        elif (
            # No content encodings (AddEncoding is not provided): types decide.
            not path_only
            and item.kind == conf.BY_TYPE
            and media
            and wild_match(media, item.apply_to, fold=True)
        ):
            return item.data
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


def compare(order: Order, e1: Entry, e2: Entry) -> int:
    """``dsortf``: the parent first, folders first (FoldersFirst), the key, the name."""
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
