"""The request line, read as Apache 2.4 reads it; pure, runs in a front-end worker.

Apache's defaults are ``HttpProtocolOptions Strict LenientMethods Allow0.9``
(httpd ``server/protocol.c``, ``ap_parse_request_line``), which come to:

* the line is ``METHOD SP TARGET SP PROTOCOL``, or ``METHOD SP TARGET`` for
  HTTP/0.9, separated by exactly one space each: a run of spaces, a tab or
  any other white space, before, between or after the parts, is a 400
  (Strict refuses what RFC 9112 3 lets a lenient recipient accept);
* the method is any token (RFC 9110 5.6.2): an extension method (``PURGE``)
  or a lower-case one (``get``) is passed on as it is, and a WSGI app sees
  it (LenientMethods). llhttp knows a fixed table of methods, in upper case
  only: that is why this module exists;
* the target may hold any byte but a control byte, DEL or white space:
  raw UTF-8 (bytes over 0x7F), as curl sends a path typed with accents, is
  accepted, where llhttp refuses it;
* the protocol is ``HTTP/`` digit ``.`` digit, in upper case, the major
  version not 0: ``HTTP/1.2`` or ``HTTP/2.0`` are read (and answered) as
  HTTP/1.1, with the client's string in ``SERVER_PROTOCOL``; ``http/1.1``,
  ``HTTP/01.1`` or ``HTTP/0.9`` are a 400;
* no protocol is HTTP/0.9, for ``GET`` only (Strict; ``HEAD`` is a 400).

What the target says (its form, a fragment, userinfo, ``%`` escapes) is
checked later, where it is used: the connection reads the form, routing
decodes the path.
"""

from __future__ import annotations

import re

# Methods clients send, already decoded: the common case costs one dict lookup.
_KNOWN = {
    m.encode("ascii"): m
    for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT")
}
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Apache's ap_scan_vchar_obstext: a target stops at anything but VCHAR and obs-text.
# Every byte that cannot be in a target becomes NUL, so one `in` finds any
# (a regular expression's search costs several times as much).
_NOT_TARGET = bytes(0 if b <= 0x20 or b == 0x7F else b for b in range(256))
_PROTOCOL = re.compile(rb"HTTP/([1-9])\.([0-9])")

HTTP11 = (1, 1)
HTTP10 = (1, 0)
HTTP09 = (0, 9)


class BadRequestLine(Exception):
    """The line cannot be served: a 400 (its reason for the error log)."""

    def __init__(self, reason: str, line: bytes) -> None:
        super().__init__(reason)
        self.reason = reason
        self.logged = logged_line(line)


# A request line that parsed: (method, target, protocol, version). The
# protocol is as the client sent it ("HTTP/1.2"), or "HTTP/0.9"; the version
# is (major, minor). A plain tuple: this runs for every request.
RequestLine = tuple[str, bytes, str, tuple[int, int]]


def parse(line: bytes) -> RequestLine:
    """The request line without its CRLF; raises BadRequestLine."""
    parts = line.split(b" ")
    if len(parts) == 3:
        raw_method, target, raw_protocol = parts
        method = _KNOWN.get(raw_method)
        if (
            method is not None
            and raw_protocol == b"HTTP/1.1"
            and target
            and target.translate(_NOT_TARGET).find(b"\0") < 0
        ):
            return method, target, "HTTP/1.1", HTTP11  # what nearly every request is
        if raw_protocol == b"HTTP/1.1":
            protocol, version = "HTTP/1.1", HTTP11
        elif raw_protocol == b"HTTP/1.0":
            protocol, version = "HTTP/1.0", HTTP10
        else:
            m = _PROTOCOL.fullmatch(raw_protocol)
            if m is None:
                raise BadRequestLine(f"unrecognized protocol {raw_protocol[:80]!r}", line)
            protocol = raw_protocol.decode("ascii")
            version = (int(m.group(1)), int(m.group(2)))
    elif len(parts) == 2:
        raw_method, target = parts
        protocol, version = "HTTP/0.9", HTTP09
    else:
        raise BadRequestLine("malformed request line (white space)", line)
    method = _KNOWN.get(raw_method)
    if method is None:
        if not _TOKEN.fullmatch(raw_method):
            raise BadRequestLine(f"invalid method token {raw_method[:80]!r}", line)
        method = raw_method.decode("ascii")
    if not target or target.translate(_NOT_TARGET).find(b"\0") >= 0:
        raise BadRequestLine("missing or incorrectly encoded request target", line)
    if version == HTTP09 and method != "GET":
        raise BadRequestLine("only GET is allowed for HTTP/0.9 requests", line)
    return method, target, protocol, version


def logged_line(line: bytes) -> str:
    """The request line as Apache writes it in the access log (``%r``).

    Apache rebuilds the line from its parts, one space between each, so a
    line that did not parse is logged as received save for its white space.
    """
    return " ".join(part.decode("latin-1") for part in line.split())
