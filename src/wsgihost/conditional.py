"""Conditional requests on a static file, as Apache decides them (pure).

``ap_meets_conditions`` and its ``ap_condition_if_*`` helpers in httpd's
``modules/http/http_protocol.c``, in their order: ``If-Match`` (strong) and
``If-Unmodified-Since`` fail with 412; ``If-None-Match`` gives 304 to GET
and HEAD (weak comparison, strong with a ``Range``) and 412 to any other
method; ``If-Modified-Since`` gives 304 to GET and HEAD only. A validator
that does not match cancels a 304 another one would give, and with both
``If-Range`` and ``Range`` there is never a 304 (the range decides).

Times are whole seconds. A file modified in the last minute only matches a
date weakly (it could change again within that second), which a ``Range``
does not accept; a date in the future is no date at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime

NONE, NOMATCH, WEAK, STRONG = range(4)


def http_time(text: str) -> int | None:
    """Seconds since the epoch of an HTTP date (any of RFC 9110's three forms), or None."""
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # the asctime form; HTTP dates are UTC
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def strong_match(header: str, etag: str) -> bool:
    """RFC 9110 8.8.3.2 strong comparison: neither tag may be weak."""
    if etag.startswith("W/"):
        return False
    return any(tag == etag for tag in _tags(header) if not tag.startswith("W/"))


def weak_match(header: str, etag: str) -> bool:
    """Weak comparison: the opaque tags are equal, weak or not."""
    bare = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == bare for tag in _tags(header))


def _date_condition(mtime: int, now: int, has_range: bool) -> int:
    """How a date that fits the file matches: strongly once the file is a minute
    old, else weakly, which a Range does not accept."""
    if now >= mtime + 60:
        return STRONG
    return NOMATCH if has_range else WEAK


def if_range(header: Callable[[str], str | None], etag: str, mtime: int, now: int) -> int:
    """``If-Range`` with a ``Range``: STRONG lets the range through, NOMATCH sends it all."""
    value = header("if-range")
    if value is None or header("range") is None:
        return NONE
    if value.startswith('"'):
        return STRONG if value == etag else NOMATCH
    when = http_time(value)
    # A date matches only if the file has been that old for a minute (strongly).
    return STRONG if when == mtime and now >= mtime + 60 else NOMATCH


def meets_conditions(
    method: str,
    header: Callable[[str], str | None],
    etag: str,
    mtime: int,
    now: int,
) -> int | None:
    """304 or 412 if the request's validators say so, else None (answer normally).

    ``mtime`` is the Last-Modified time and ``now`` the request's, in seconds.
    """
    get = method in ("GET", "HEAD")
    has_range = header("range") is not None
    not_modified = -1  # unset; 0 once a validator says "changed"

    value = header("if-match")
    if value is not None and not (value.startswith("*") or strong_match(value, etag)):
        return 412

    value = header("if-unmodified-since")
    if value is not None:
        since = http_time(value)
        changed = since is not None and mtime > since
        if changed and _date_condition(mtime, now, has_range) != NOMATCH:
            return 412
        not_modified = 0

    value = header("if-none-match")
    if value is not None:
        if value.startswith("*"):
            cond = STRONG
        elif get and not has_range:
            cond = WEAK if weak_match(value, etag) else NOMATCH
        else:
            cond = STRONG if strong_match(value, etag) else NOMATCH
        if cond == NOMATCH:
            not_modified = 0
        elif not get:
            return 412
        elif not_modified:
            not_modified = 1

    value = header("if-modified-since")
    if value is not None:
        since = http_time(value)
        if since is not None and mtime <= since <= now:
            cond = _date_condition(mtime, now, has_range)
        else:
            cond = NOMATCH
        if cond == NOMATCH:
            not_modified = 0
        elif get and not_modified:
            not_modified = 1

    if if_range(header, etag, mtime, now) != NONE:
        return None
    return 304 if not_modified == 1 else None
