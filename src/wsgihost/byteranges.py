"""Range requests on a static file, as Apache's byterange filter answers them (pure).

Apache (``modules/http/byterange_filter.c``) is stricter and more forgiving
than RFC 9110 14.2 in ways clients have come to rely on, so they are kept:

* the header must start ``bytes=`` (any case) and each range is bare digits:
  a space anywhere, a sign or a syntax error makes the whole header ignored
  (the whole file, 200), as does ``-0`` or a range whose end comes before
  its start;
* ranges are merged with the one before them when they overlap or touch,
  in the order given (not sorted); ``0-`` anywhere means the whole file as
  one range; ranges that start past the end are dropped, and only when all
  are dropped is the answer 416;
* the merged ranges may not add up to more than the file, nor number more
  than ``MaxRanges`` (200), nor have merged more than ``MaxRangeOverlaps``
  (20) overlapping or ``MaxRangeReversals`` (20) out-of-order ranges: past
  any limit the header is ignored;
* an empty file is never answered with a range.

Several ranges become one ``multipart/byteranges`` body (RFC 9110 14.6) laid
out byte for byte as Apache lays it out; past 32 parts Apache starts sending
before it knows the length, so such a body has no ``Content-Length``.
"""

from __future__ import annotations

from dataclasses import dataclass

UNLIMITED = -1  # MaxRanges unlimited (and the same for overlaps, reversals)
# The defaults of MaxRanges, MaxRangeOverlaps and MaxRangeReversals.
DEFAULT_MAX_RANGES = 200
DEFAULT_MAX_OVERLAPS = 20
DEFAULT_MAX_REVERSALS = 20
# After this many parts Apache passes the body on before its end (i & 0x1F).
PARTS_WITH_LENGTH = 32

Range = tuple[int, int]  # first and last byte, inclusive


@dataclass(frozen=True)
class Limits:
    """MaxRanges, MaxRangeOverlaps, MaxRangeReversals: a count, 0 (none) or UNLIMITED."""

    ranges: int = DEFAULT_MAX_RANGES
    overlaps: int = DEFAULT_MAX_OVERLAPS
    reversals: int = DEFAULT_MAX_REVERSALS


class Unsatisfiable:
    """The answer for a header whose every range starts past the end: 416."""


UNSATISFIABLE = Unsatisfiable()


def _number(text: str) -> int | None:
    """Apache's ap_parse_strict_length: digits only, no sign or space, fits in 63 bits."""
    if not text or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value < 1 << 63 else None


def _words(spec: str) -> list[str]:
    """The comma-separated words as ap_getword takes them: runs of commas are one
    separator, and an empty word (a leading comma, the end) ends the list."""
    words: list[str] = []
    rest = spec
    while True:
        word, sep, rest = rest.partition(",")
        if not word:
            return words
        words.append(word)
        if not sep:
            return words
        rest = rest.lstrip(",")


def parse(header: str, size: int, limits: Limits = Limits()) -> list[Range] | Unsatisfiable | None:
    """The ranges to send, UNSATISFIABLE (416), or None to send the whole file."""
    if size <= 0 or header[:6].lower() != "bytes=":
        return None
    merged: list[Range] = []
    overlaps = reversals = 0
    unsatisfiable = False
    in_merge = False
    ostart = oend = 0
    for word in _words(header[6:]):
        first, dash, last = word.partition("-")
        if not dash:
            return None
        if not first:
            count = _number(last)
            if count is None or count < 1:
                return None
            start, end = size - count, size - 1
        else:
            begin = _number(first)
            if begin is None:
                return None
            start = begin
            if last:
                stop = _number(last)
                if stop is None or start > stop:
                    return None
                end = stop
            else:
                end = size - 1
                if start == 0:
                    # "0-": the whole file, whatever else was asked.
                    merged, in_merge, ostart, oend = [], True, 0, end
                    break
        start = max(start, 0)
        if start >= size:
            unsatisfiable = True
            continue
        end = min(end, size - 1)
        if not in_merge:
            ostart, oend, in_merge = start, end, True
            continue
        in_merge = start >= ostart and end <= oend
        if start < ostart and end >= ostart - 1:
            ostart = start
            reversals += 1
            in_merge = True
        if end >= oend and start <= oend + 1:
            oend = end
            in_merge = True
        if in_merge:
            overlaps += 1
            continue
        merged.append((ostart, oend))
        ostart, oend, in_merge = start, end, True
    if in_merge:
        merged.append((ostart, oend))
    elif not merged and unsatisfiable:
        return UNSATISFIABLE
    if not merged or sum(e - s + 1 for s, e in merged) > size:
        return None
    for limit, seen in (
        (limits.ranges, len(merged)),
        (limits.overlaps, overlaps),
        (limits.reversals, reversals),
    ):
        if limit != UNLIMITED and seen > limit:
            return None
    return merged


@dataclass(frozen=True)
class Part:
    """One part of a multipart body: its head, then ``length`` bytes of the file from ``offset``."""

    head: bytes
    offset: int
    length: int


@dataclass(frozen=True)
class Multipart:
    """A ``multipart/byteranges`` body: the parts, then ``tail``."""

    content_type: str
    parts: tuple[Part, ...]
    tail: bytes

    @property
    def length(self) -> int:
        return sum(len(p.head) + p.length for p in self.parts) + len(self.tail)

    @property
    def known_length(self) -> bool:
        """Whether Apache would give this body a Content-Length."""
        return len(self.parts) <= PARTS_WITH_LENGTH


def multipart(ranges: list[Range], size: int, media: str | None, boundary: str) -> Multipart:
    """The body for several ranges: each part's head names the file's type (when it
    has one) and the range, with Apache's spelling (``Content-type``, ``Content-range``)."""
    parts = []
    for start, end in ranges:
        head = f"\r\n--{boundary}\r\n"
        if media:
            head += f"Content-type: {media}\r\n"
        head += f"Content-range: bytes {start}-{end}/{size}\r\n\r\n"
        parts.append(Part(head.encode("latin-1"), start, end - start + 1))
    tail = f"\r\n--{boundary}--\r\n".encode("latin-1")
    return Multipart(f"multipart/byteranges; boundary={boundary}", tuple(parts), tail)
