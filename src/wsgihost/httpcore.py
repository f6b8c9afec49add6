"""HTTP/1.1 decisions that need no socket: request checks and response heads.

httptools (llhttp) parses the bytes; what it leaves to us lives here: the
``Host`` rules of RFC 9112 3.2, response framing (RFC 9112 6), hop-by-hop
headers, ``Date``, and the canned error responses.
"""

from __future__ import annotations

import html
import re
import time
from email.utils import formatdate

SERVER = b"wsgihost"

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
    413: "Content Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
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

# RFC 3986 reg-name / IPv4address / IP-literal, then an optional port.
_HOST = re.compile(
    rb"(?:\[[0-9A-Fa-f:.]+(?:%25[A-Za-z0-9\-._~%]+)?\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?\Z"
)


def valid_host(value: bytes) -> bool:
    return _HOST.match(value) is not None


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

    NONE = 0  # no body at all (HEAD, 1xx, 204, 304)
    LENGTH = 1  # Content-Length
    CHUNKED = 2  # Transfer-Encoding: chunked
    CLOSE = 3  # until the connection closes (HTTP/1.0 with an unknown length)


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


def error_body(code: int, extra: str = "") -> bytes:
    """The HTML page of an error we answer ourselves."""
    reason = REASONS.get(code, "Error")
    return (
        f"<!DOCTYPE html>\n<html><head><title>{code} {reason}</title></head>\n"
        f"<body><h1>{reason}</h1>{('<p>' + html.escape(extra) + '</p>') if extra else ''}"
        "</body></html>\n"
    ).encode()


def error_response(code: int, *, close: bool = True, extra: str = "") -> bytes:
    """A small complete error response for problems found before any app ran."""
    reason = REASONS.get(code, "Error")
    body = error_body(code, extra)
    head = (
        (
            f"HTTP/1.1 {code} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n"
        ).encode()
        + b"Date: "
        + http_date()
        + b"\r\nServer: "
        + SERVER
        + b"\r\n"
    )
    if close:
        head += b"Connection: close\r\n"
    return head + b"\r\n" + body
