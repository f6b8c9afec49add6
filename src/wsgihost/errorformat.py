"""Apache 2.4's ``ErrorLogFormat``: the error-log line format language, compiled.

Pure; standard library only (daemon processes use it too). The rules are
Apache's (``parse_errorlog_string`` in core.c, ``do_errorlog_format`` in
log.c), because a log parser written for one server must read the other's:

* ``%a %A %E %F %k %l %L %m %M %P %t %T %v %V %%``, ``%{name}i`` (request
  header), ``%{name}e``, ``%{name}n``; ``%{u}t``, ``%{cu}t``, ``%{cuz}t`` or
  ``%{strftime format}t``; ``%{g}T`` (the kernel's thread id); ``%{c}a``;
* a space, or ``%`` followed by a space, starts a *field*. An item with
  nothing to say (no client for ``%a``, say) removes its whole field, up to
  the next field separator; ``%-x`` writes ``-`` instead; ``%7F`` writes the
  item only for lines of level 7 (debug) and beyond;
* ``\\ `` is a space inside a field; ``\\n``, ``\\r``, ``\\t`` as in C;
* the main format must contain ``%M`` (the message); ``+`` is for
  ``ErrorLogFormat request|connection`` formats only, which wsgihost reads
  but does not write (the configuration warns).

What wsgihost has no value for stays empty, as it would in Apache for a
line that lacks it: ``%F`` (the C source file and line of the message),
``%E`` (an APR status), ``%L`` (the log id), ``%{name}e`` and ``%{name}n``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
LEVEL_NUMBERS = {
    name: rank
    for rank, name in enumerate(
        ("emerg", "alert", "crit", "error", "warn", "notice", "info", "debug")
    )
}

FIELD_SEP = 1  # the item starts a new field
REQUIRED = 2  # "+": an empty item drops the whole line (not in the main format)
HYPHEN = 4  # "-": an empty item writes "-"
MESSAGE = 8  # %M


class ErrorLogFormatError(ValueError):
    pass


class Entry:
    """What one error-log line knows about where it comes from."""

    __slots__ = (
        "client",
        "headers",
        "level",
        "local",
        "message",
        "module",
        "request_server",
        "server_name",
        "time",
    )

    def __init__(
        self,
        message: str,
        level: str = "error",
        module: str = "wsgi",
        client: str | None = None,
        local: str | None = None,
        server_name: str = "",
        request_server: str = "",
        headers: Sequence[tuple[bytes, bytes]] | None = None,
        when: float | None = None,
    ) -> None:
        self.message = message  # escaped already, one line
        self.level = level
        self.module = module
        self.client = client  # "addr:port" of the request's client
        self.local = local  # "addr:port" the connection came in on
        self.server_name = server_name  # %v: the virtual host's ServerName
        self.request_server = request_server  # %V: the request's server name
        self.headers = headers  # the request's headers, when it has any
        self.time = time.time() if when is None else when


if TYPE_CHECKING:  # (annotations only: this module runs under Python 3.9 in daemons)
    Item = tuple[int, int, Callable[[Entry], str] | None]  # flags, min level, render


def ctime(now: float, usec: bool = False, compact: bool = False, gmtoff: bool = False) -> str:
    """Apache's ``ap_recent_ctime_ex``: ``Sun Dec 06 21:19:01[.123456] 2026`` or compact."""
    lt = time.localtime(now)
    if compact:
        text = "%04d-%02d-%02d " % (lt.tm_year, lt.tm_mon, lt.tm_mday)
    else:
        text = f"{_DAYS[lt.tm_wday]} {_MONTHS[lt.tm_mon - 1]} %02d " % lt.tm_mday
    text += "%02d:%02d:%02d" % (lt.tm_hour, lt.tm_min, lt.tm_sec)
    if usec:
        text += ".%06d" % int((now % 1) * 1_000_000)
    if not compact:
        text += " %04d" % lt.tm_year
    if gmtoff:
        off = lt.tm_gmtoff or 0
        sign = "-" if off < 0 else "+"
        off = abs(off)
        text += " %s%02d%02d" % (sign, off // 3600, off % 3600 // 60)
    return text


def _time(arg: str | None) -> Callable[[Entry], str]:
    if arg and "%" in arg:
        return lambda e: time.strftime(arg, time.localtime(e.time))
    flags = arg or ""
    usec, compact, gmtoff = "u" in flags, "c" in flags, "z" in flags
    return lambda e: ctime(e.time, usec, compact, gmtoff)


def _escape_item(data: bytes) -> str:
    # ap_escape_errorlog_item, as logs.escape_error_bytes (not imported: no cycle).
    out = []
    for b in data:
        if 0x20 <= b < 0x7F and b != 0x5C:
            out.append(chr(b))
        else:
            out.append(
                {8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 13: "\\r", 0x5C: "\\\\"}.get(
                    b, "\\x%02x" % b
                )
            )
    return "".join(out)


def _header(name: str) -> Callable[[Entry], str]:
    wanted = name.lower().encode("latin-1", "replace")

    def get(e: Entry) -> str:
        for n, v in e.headers or ():
            if n.lower() == wanted:
                return _escape_item(v)
        return ""

    return get


def _nothing(e: Entry) -> str:
    return ""


def _handler(code: str, arg: str | None) -> Callable[[Entry], str] | None:
    if code == "a":
        return lambda e: e.client or ""
    if code == "A":
        return lambda e: e.local or ""
    if code == "l":
        return lambda e: e.level
    if code == "m":
        return lambda e: e.module
    if code == "P":
        return lambda e: str(_pid())
    if code == "T":
        if arg == "g":
            return lambda e: str(threading.get_native_id())
        return lambda e: str(threading.get_ident())  # pthread_t, as Apache's %pT
    if code == "t":
        return _time(arg)
    if code == "v":
        return lambda e: e.server_name
    if code == "V":
        return lambda e: e.request_server if e.client else ""
    if code == "i":
        return _header(arg or "")
    if code in "EFkLen":
        return _nothing
    return None


def _pid() -> int:
    return os.getpid()


def _literal(text: str) -> Callable[[Entry], str]:
    return lambda e: text


def parse(fmt: str, main: bool = True) -> list[Item]:
    """The items of an ``ErrorLogFormat`` string; raises ErrorLogFormatError as Apache does."""
    items: list[Item] = []
    seen_message = False
    i = 0
    while i < len(fmt):
        item, i = _item(fmt, i, 0)
        items.append(item)
        flags, level, _ = item
        if flags & MESSAGE:
            if not main:
                raise ErrorLogFormatError(
                    "%M cannot be used in once-per-request or once-per-connection formats"
                )
            seen_message = True
        if main and flags & REQUIRED:
            raise ErrorLogFormatError("The '+' flag cannot be used in the main error log format")
        if not main and level:
            raise ErrorLogFormatError(
                "The loglevel cannot be used as a condition in once-per-request or "
                "once-per-connection formats"
            )
        if level > 15:  # APLOG_TRACE8
            raise ErrorLogFormatError("The specified loglevel modifier is out of range")
    if main and not seen_message:
        raise ErrorLogFormatError("main ErrorLogFormat must contain message format string '%M'")
    return items


def _item(fmt: str, i: int, flags: int) -> tuple[Item, int]:
    """One item from ``fmt[i:]`` (Apache's parse_errorlog_item) and where the next starts."""
    n = len(fmt)
    if fmt[i] != "%":
        if fmt[i] == " ":
            flags |= FIELD_SEP
        text, i = _misc(fmt, i)
        return (flags, 0, _literal(text)), i
    i += 1
    if i < n and fmt[i] == " ":
        # "% " separates fields without writing a space.
        return _item(fmt, i + 1, flags | FIELD_SEP) if i + 1 < n else ((flags, 0, _nothing), n)
    if i < n and fmt[i] == "%":
        return (flags, 0, _literal("%")), i + 1
    arg: str | None = None
    level = 0
    while i < n:
        ch = fmt[i]
        if ch == "{":
            end = fmt.find("}", i)
            end = n if end == -1 else end
            arg = fmt[i + 1 : end]
            i = end + 1
        elif ch == "+":
            flags |= REQUIRED
            i += 1
        elif ch == "-":
            flags |= HYPHEN
            i += 1
        elif ch.isdigit():
            j = i
            while j < n and fmt[j].isdigit():
                j += 1
            level = int(fmt[i:j])
            i = j
        elif ch == "M":
            return (flags | MESSAGE, level, None), i + 1
        else:
            handler = _handler(ch, arg)
            if handler is None:
                raise ErrorLogFormatError(f"Unrecognized error log format directive %{ch}")
            return (flags, level, handler), i + 1
    raise ErrorLogFormatError("Ran off end of error log format parsing args to some directive")


def _misc(fmt: str, i: int) -> tuple[str, int]:
    """A literal run: up to a ``%`` or a space after the first non-space (backslash escapes)."""
    out = []
    at_start = True
    n = len(fmt)
    while i < n and fmt[i] != "%" and (fmt[i] != " " or at_start):
        ch = fmt[i]
        if ch != "\\":
            if ch != " ":
                at_start = False
            out.append(ch)
            i += 1
            continue
        i += 1
        if i >= n:
            out.append("\\")
            break
        out.append({"r": "\r", "n": "\n", "t": "\t"}.get(fmt[i], fmt[i]))
        i += 1
    return "".join(out), i


class ErrorLogFormat:
    """A compiled main ``ErrorLogFormat``: :meth:`render` gives one line (no newline)."""

    def __init__(self, fmt: str) -> None:
        self.source = fmt
        self.items = parse(fmt, main=True)

    def render(self, entry: Entry) -> str | None:
        """The line for ``entry``; None when a required item is empty (no line at all)."""
        out: list[str] = []
        length = 0  # len of "".join(out), tracked to cut back to a field's start
        field_start = 0
        skipping = False
        level = LEVEL_NUMBERS.get(entry.level, 7)
        for flags, min_level, render in self.items:
            if flags & FIELD_SEP:
                if skipping:
                    skipping = False
                else:
                    field_start = length
            if flags & MESSAGE:
                out.append(entry.message)
                length += len(entry.message)
                continue
            if skipping:
                continue
            if min_level > level:
                out, length = _cut(out, field_start), field_start
                skipping = True
                continue
            assert render is not None
            text = render(entry)
            if text:
                out.append(text)
                length += len(text)
            elif flags & REQUIRED:
                return None
            elif flags & HYPHEN:
                out.append("-")
                length += 1
            else:
                out, length = _cut(out, field_start), field_start
                skipping = True
        return "".join(out)


def _cut(parts: list[str], at: int) -> list[str]:
    return ["".join(parts)[:at]]


def check(fmt: str, kind: str | None = None) -> None:
    """Raise ErrorLogFormatError if ``fmt`` is not a valid format (``kind``: request|connection)."""
    parse(fmt, main=kind is None)
