"""HTTP/1.1 decisions that need no socket: request checks and response heads.

httptools (llhttp) parses the bytes; what it leaves to us lives here: the
``Host`` rules of RFC 9112 3.2, response framing (RFC 9112 6), hop-by-hop
headers, ``Date``, and the canned error responses.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Iterable
from email.utils import formatdate
from typing import Final

from wsgihost import errorpages
from wsgihost.errorpages import Signature

SERVER = b"wsgihost"
ERROR_TYPE = errorpages.CONTENT_TYPE  # the server's own error pages, as Apache's

REASONS = {
    100: "Continue",
    200: "OK",
    206: "Partial Content",
    301: "Moved Permanently",
    304: "Not Modified",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Request Entity Too Large",  # Apache's phrases, which clients show
    414: "Request-URI Too Long",
    416: "Requested Range Not Satisfiable",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}

# RFC 9110 7.6.1: these describe one connection and are never forwarded.
# The app may not set them (PEP 3333); we frame the response ourselves.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

# A host name: RFC 3986's reg-name (unreserved and sub-delims) in dot-separated
# labels, with an optional final dot, but without an empty label (Apache
# refuses "..") and without two of its characters that no client sends and
# that parsers downstream read differently: ',' (two Host fields merged into
# one, which Apache's strict mode refuses) and '%' (an encoded byte, even a
# NUL; RFC 3986 3.2.2 asks for DNS names, non-ASCII ones in punycode).
_LABEL = rb"[A-Za-z0-9\-_~!$&'()*+;=]+"
_NAME = re.compile(rb"%s(?:\.%s)*\.?\Z" % (_LABEL, _LABEL))
_PORT = re.compile(rb"[0-9]{0,5}\Z")
# RFC 3986 3.2.1, without the '@' that ends it.
_USERINFO = re.compile(rb"[A-Za-z0-9\-._~!$&'()*+,;=:%]*\Z")
# scheme "://" authority, up to the path, query or fragment (RFC 3986 3).
_ABSOLUTE = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]*://([^/?#]*)")


def split_host(value: bytes) -> tuple[bytes, bytes] | None:
    """A ``Host`` value or an authority's host[:port] as (host, port); None if invalid.

    The host is a name (see ``_NAME``), an IPv4 address or a bracketed IPv6
    address (RFC 3986 3.2.2); the port, when there is one, is at most 65535.
    """
    if value.startswith(b"["):
        end = value.find(b"]")
        if end == -1:
            return None
        literal = value[1:end].replace(b"%25", b"%", 1)
        try:
            ipaddress.IPv6Address(literal.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            return None
        host, rest = value[: end + 1], value[end + 1 :]
    else:
        host, colon, port = value.partition(b":")
        rest = colon + port
        if not _NAME.match(host):
            return None
    if rest:
        port = rest[1:]
        if rest[:1] != b":" or not _PORT.match(port) or (port and int(port) > 65535):
            return None
        return host, port
    return host, b""


def valid_host(value: bytes) -> bool:
    """RFC 9112 3.2: a ``Host`` value is the target's authority, without userinfo.

    An empty value is valid (a target without an authority).
    """
    return not value or split_host(value) is not None


def absolute_authority(target: bytes) -> bytes | None:
    """The host[:port] of an absolute-form target (RFC 9112 3.2.2); None if it has none.

    Raises ValueError when the authority is there but invalid. Userinfo is
    allowed, as in the request corpus's decision, and left out.
    """
    m = _ABSOLUTE.match(target)
    if m is None:
        return None
    userinfo, at, hostport = m.group(1).rpartition(b"@")
    if (at and not _USERINFO.match(userinfo)) or split_host(hostport) is None:
        raise ValueError(f"invalid authority {m.group(1)[:100]!r}")
    return hostport


def split_target(target: bytes) -> tuple[bytes | None, bytes, bytes]:
    """A request target's (authority, path, query); raises ValueError if unusable.

    The origin form (``/path?query``), the absolute form
    (``http://host:port/path?query``, whose authority stands for ``Host``,
    RFC 9112 3.2.2) and ``*`` (path ``*``). As Apache's strict mode does, a
    fragment (RFC 9112 3.2: never sent) or userinfo in an absolute target
    is refused, and so is any other form (``echo``, ``mailto:x``).
    """
    if target.find(b"#") >= 0:
        raise ValueError("a fragment in the request target")
    if target[:1] == b"/" or target == b"*":
        path, _, query = target.partition(b"?")
        return None, path, query
    m = _ABSOLUTE.match(target)
    if m is None or target.partition(b":")[0].lower() not in (b"http", b"https"):
        raise ValueError("invalid request target")
    authority = m.group(1)
    if authority.find(b"@") >= 0:
        raise ValueError("userinfo in the request target")
    if split_host(authority) is None:
        raise ValueError(f"invalid authority {authority[:100]!r}")
    path, _, query = target[m.end() :].partition(b"?")
    return authority, path or b"/", query


def trace_echo(request_line: str, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> bytes:
    """The body of the answer to TRACE (RFC 9110 9.3.8), as Apache's core writes it.

    The request line (rebuilt, one space between its parts), the header
    fields in the order they came, a repeated field once with its values
    joined by ", " (Apache merges them as it reads the head), a blank line,
    then the body when TraceEnable extended lets one in.
    """
    merged: dict[bytes, tuple[bytes, list[bytes]]] = {}
    for name, value in headers:
        found = merged.get(name.lower())
        if found is None:
            merged[name.lower()] = (name, [value])
        else:
            found[1].append(value)
    lines = [request_line.encode("latin-1")]
    lines += [name + b": " + b", ".join(values) for name, values in merged.values()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


_date_cache: tuple[int, bytes] = (-1, b"")


def http_date() -> bytes:
    """The ``Date`` header value, formatted once a second."""
    global _date_cache
    now = int(time.time())
    cached = _date_cache  # one tuple, so a thread never sees half an update
    if cached[0] != now:
        cached = _date_cache = (now, formatdate(now, usegmt=True).encode("ascii"))
    return cached[1]


class Framing:
    """How a response body is delimited."""

    NONE: Final = 0  # no body at all (HEAD, 1xx, 204, 304)
    LENGTH: Final = 1  # Content-Length
    CHUNKED: Final = 2  # Transfer-Encoding: chunked
    CLOSE: Final = 3  # until the connection closes (HTTP/1.0 with an unknown length)


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # RFC 9110 5.5: HTAB only
_STATUS_LINE = re.compile(r"[1-9][0-9][0-9](?: [^\x00-\x08\x0a-\x1f\x7f]*)?\Z")


_GOOD_STATUSES: set[str] = set()
_GOOD_NAMES: set[str] = set()
_REMEMBERED = 512  # each: an app's made-up names cannot grow them without bound


def _remember(seen: set[str], text: str) -> None:
    if len(seen) < _REMEMBERED:
        seen.add(text)


def head_problem(status: str, headers: list[tuple[str, str]]) -> str | None:
    """Why a response head must not be written as it is; None if it may.

    The last check before the socket (the WSGI runner checks the app's head
    first, in both modes): a CR, LF or NUL in the status line or a header
    name, or a control byte other than HTAB in a header value, would let the
    app, or whoever feeds it, write headers or a whole response of their own
    (RFC 9110 5.5).
    """
    # Every response asks, with the same few statuses and names: those seen to be
    # good are remembered, and a printable value (isprintable() is False for every
    # character _BAD_VALUE finds) needs no regex.
    if status not in _GOOD_STATUSES:
        if not _STATUS_LINE.match(status):
            return f"invalid status line {status[:100]!r}"
        _remember(_GOOD_STATUSES, status)
    for name, value in headers:
        if name not in _GOOD_NAMES:
            if not _TOKEN.match(name):
                return f"invalid header name {name[:100]!r}"
            _remember(_GOOD_NAMES, name)
        if not value.isprintable() and _BAD_VALUE.search(value):
            return (
                f"header {name!r} has a CR, LF or NUL or other control character "
                f"in its value {value[:100]!r}"
            )
    return None


def build_head(
    status: str,
    headers: list[tuple[str, str]],
    *,
    http11: bool,
    is_head: bool,
    keep_alive: bool,
    body_length: int | None,
) -> tuple[bytes, int, bool]:
    """Encode a response head; return (bytes, framing, keep_alive).

    ``body_length`` is the whole body's size when the app finished in one go
    (so Content-Length can be added), else None. ``keep_alive`` comes in as
    what the request allows and goes out as what the response allows.
    """
    code = int(status[:3])
    lines = [b"HTTP/1.1 " + status.encode("latin-1")]
    has_length = False
    has_server = False
    has_date = False
    for name, value in headers:
        lname = name.lower()
        if lname in HOP_BY_HOP:
            if lname == "connection" and "close" in value.lower():
                keep_alive = False
            continue
        if lname == "content-length":
            if code < 200 or code == 204:
                continue  # RFC 9110 8.6: never on 1xx or 204
            has_length = True
        elif lname == "server":
            has_server = True
        elif lname == "date":
            has_date = True
        lines.append(name.encode("latin-1") + b": " + value.encode("latin-1"))
    if code < 200 or code in (204, 304):
        framing = Framing.NONE
    elif has_length:
        framing = Framing.NONE if is_head else Framing.LENGTH
    elif body_length is not None and not (is_head and body_length == 0):
        # (An app that answers HEAD with no body says nothing of GET's length.)
        lines.append(b"Content-Length: %d" % body_length)
        framing = Framing.NONE if is_head else Framing.LENGTH
    elif is_head:
        framing = Framing.NONE
    elif http11:
        lines.append(b"Transfer-Encoding: chunked")
        framing = Framing.CHUNKED
    else:
        framing = Framing.CLOSE
        keep_alive = False
    if not has_date:
        lines.append(b"Date: " + http_date())
    if not has_server:
        lines.append(b"Server: " + SERVER)
    if not keep_alive:
        lines.append(b"Connection: close")
    elif not http11:
        lines.append(b"Connection: keep-alive")
    lines.append(b"\r\n")
    return b"\r\n".join(lines), framing, keep_alive


def error_body(
    code: int, *, method: str = "GET", notes: str = "", signature: Signature | None = None
) -> bytes:
    """The page of an error we answer ourselves: Apache's, byte for byte (see errorpages)."""
    return errorpages.page(code, method, notes=notes, signature=signature)


def error_response(
    code: int,
    *,
    close: bool = True,
    method: str = "GET",
    notes: str = "",
    headers: Iterable[tuple[str, str]] = (),
    signature: Signature | None = None,
    body: bytes | None = None,
) -> bytes:
    """A small complete error response for problems found before any app ran
    (``body``: an ErrorDocument's text in place of the page)."""
    known = errorpages.STATUS_LINES.get(code, "000 Error")[4:]
    reason = REASONS.get(code) or known
    if body is None:
        body = error_body(code, method=method, notes=notes, signature=signature)
    head = (
        (
            f"HTTP/1.1 {code} {reason}\r\nContent-Type: {ERROR_TYPE}\r\n"
            f"Content-Length: {len(body)}\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in headers)
        ).encode("latin-1")
        + b"Date: "
        + http_date()
        + b"\r\nServer: "
        + SERVER
        + b"\r\n"
    )
    if close:
        head += b"Connection: close\r\n"
    return head + b"\r\n" + body
