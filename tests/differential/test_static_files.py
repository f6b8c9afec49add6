"""Static files as Apache's default handler, mod_mime, mod_dir and the byterange
filter serve them (issue 12): POST and the other methods, the directory
redirect, one and several ranges (multipart/byteranges), the charset and the
type a file gets (or not), validators and conditional requests.

The tree is ``apps/static`` (the ``static.test`` host of site.conf): a text
file in ISO-8859-1, a file of no known type and one with no extension, a
directory, a file of 1000 digits for ranges, and a folder under
``AddDefaultCharset On`` with ``AddCharset UTF-8 .utf8``.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from tests.differential.client import Answer, Conn, request
from tests.differential.compare import (
    COMPARED_HEADERS,
    Differential,
    Masker,
    body_view,
    mask_header,
)
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

HOST = "static.test:{port}"
# Apache's boundary is 64 random bits in hex, chosen at start; ours too. Apache
# prints it without leading zeros ("%0llx" has no width), so one start in 16
# draws a shorter one and every multipart Content-Length with it; ours is always
# 16 digits. Lengths are compared as if the boundary had 16.
BOUNDARY = re.compile(r"(boundary=|--)[0-9a-f]{1,16}\b")
BOUNDARY_DIGITS = 16
HEADERS = (*COMPARED_HEADERS, "content-range", "accept-ranges", "connection")


def ranges(count: int, step: int = 2) -> str:
    """``count`` one-byte ranges, ``step`` apart (so none merges with the next)."""
    return "bytes=" + ",".join(f"{i * step}-{i * step}" for i in range(count))


# name: (method, path, headers, body)
REQUESTS: dict[str, tuple[str, str, list[tuple[str, str]], bytes]] = {
    # -- methods -------------------------------------------------------------
    "post": ("POST", "/latin1.txt", [("Content-Type", "text/plain")], b"a body to drop"),
    "post-missing": ("POST", "/no-such-file.txt", [], b"x"),
    "options": ("OPTIONS", "/latin1.txt", [], b""),
    "options-no-type": ("OPTIONS", "/README", [], b""),
    "options-directory": ("OPTIONS", "/dir/", [], b""),
    "put": ("PUT", "/latin1.txt", [], b"new content"),
    "delete-missing": ("DELETE", "/no-such-file.txt", [], b""),
    "propfind": ("PROPFIND", "/latin1.txt", [], b""),
    "extension-method": ("PURGE", "/latin1.txt", [], b""),
    "extension-method-missing": ("FOO", "/no-such-file.txt", [], b""),
    "lower-case-method": ("get", "/latin1.txt", [], b""),
    # -- the directory redirect ----------------------------------------------
    "directory": ("GET", "/dir", [], b""),
    "directory-query": ("GET", "/dir?a=1&b=two", [], b""),
    "directory-post": ("POST", "/dir", [], b""),
    "directory-extension-method": ("FOO", "/dir", [], b""),
    # -- types and charsets --------------------------------------------------
    "latin1-text": ("GET", "/latin1.txt", [], b""),
    "latin1-text-head": ("HEAD", "/latin1.txt", [], b""),
    "unknown-type": ("GET", "/data.unknownext", [], b""),
    "no-extension": ("GET", "/README", [], b""),
    "default-charset": ("GET", "/charset/notes.txt", [], b""),
    "add-charset": ("GET", "/charset/page.html.utf8", [], b""),
    "default-charset-not-json": ("GET", "/charset/data.json", [], b""),
    # -- ranges ----------------------------------------------------------------
    "range-one": ("GET", "/digits.txt", [("Range", "bytes=10-19")], b""),
    "range-two": ("GET", "/digits.txt", [("Range", "bytes=0-1,5-7")], b""),
    "range-two-head": ("HEAD", "/digits.txt", [("Range", "bytes=0-1,5-7")], b""),
    "range-three-out-of-order": ("GET", "/digits.txt", [("Range", "bytes=-5,0-1,500-502")], b""),
    "range-merged": ("GET", "/digits.txt", [("Range", "bytes=1-3,2-6")], b""),
    "range-adjacent-merged": ("GET", "/digits.txt", [("Range", "bytes=10-19,0-9")], b""),
    "range-zero-open": ("GET", "/digits.txt", [("Range", "bytes=5-10,0-")], b""),
    "range-space": ("GET", "/digits.txt", [("Range", "bytes=0-1, 5-7")], b""),
    "range-suffix-zero": ("GET", "/digits.txt", [("Range", "bytes=-0")], b""),
    "range-more-than-the-file": ("GET", "/digits.txt", [("Range", "bytes=0-600,100-999")], b""),
    "range-unsatisfiable": ("GET", "/digits.txt", [("Range", "bytes=2000-3000")], b""),
    "range-some-unsatisfiable": ("GET", "/digits.txt", [("Range", "bytes=2000-,0-1")], b""),
    "range-post": ("POST", "/digits.txt", [("Range", "bytes=0-1,5-7")], b""),
    "range-32-parts": ("GET", "/digits.txt", [("Range", ranges(32))], b""),
    "range-33-parts": ("GET", "/digits.txt", [("Range", ranges(33))], b""),
    "range-33-parts-head": ("HEAD", "/digits.txt", [("Range", ranges(33))], b""),
    "range-200-parts": ("GET", "/digits.txt", [("Range", ranges(200, 3))], b""),
    "range-201-parts": ("GET", "/digits.txt", [("Range", ranges(201, 3))], b""),
    "range-21-overlaps": (
        "GET",
        "/digits.txt",
        [("Range", "bytes=0-30," + ",".join(f"{i}-{i + 1}" for i in range(21)))],
        b"",
    ),
    "range-other-unit": ("GET", "/digits.txt", [("Range", "items=0-1")], b""),
    # -- validators --------------------------------------------------------------
    "if-match-other": ("GET", "/digits.txt", [("If-Match", '"other"')], b""),
    "if-match-any": ("GET", "/digits.txt", [("If-Match", "*")], b""),
    "if-unmodified-since-old": (
        "GET",
        "/digits.txt",
        [("If-Unmodified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")],
        b"",
    ),
    "if-modified-since-future": (
        "GET",
        "/digits.txt",
        [("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT")],
        b"",
    ),
    "if-range-other": (
        "GET",
        "/digits.txt",
        [("Range", "bytes=0-1"), ("If-Range", '"other"')],
        b"",
    ),
}

# Requests that name the file's current ETag (read with a HEAD first).
ETAG_REQUESTS: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "if-none-match-same": ("GET", "/digits.txt", [("If-None-Match", "{etag}")]),
    "if-none-match-same-head": ("HEAD", "/digits.txt", [("If-None-Match", "{etag}")]),
    "if-none-match-same-post": ("POST", "/digits.txt", [("If-None-Match", "{etag}")]),
    "if-none-match-same-range": (
        "GET",
        "/digits.txt",
        [("If-None-Match", "{etag}"), ("Range", "bytes=0-1")],
    ),
    "if-range-same-two": (
        "GET",
        "/digits.txt",
        [("Range", "bytes=0-1,5-7"), ("If-Range", "{etag}")],
    ),
    "if-match-same": ("GET", "/digits.txt", [("If-Match", "{etag}")]),
}


def delimiters(answer: Answer) -> int | None:
    """How many times a multipart/byteranges body carries its boundary (None when
    the answer is not one, or has no body)."""
    found = re.search(r"boundary=([0-9a-f]+)", answer.header("content-type") or "")
    if found is None or "multipart/byteranges" not in (answer.header("content-type") or ""):
        return None
    count = answer.body.count(b"--" + found.group(1).encode())
    return count or None


def as_if_full_boundary(answer: Answer, count: int | None) -> str | None:
    """The Content-Length a multipart answer would have with a 16-digit boundary."""
    length = answer.header("content-length")
    found = re.search(r"boundary=([0-9a-f]+)", answer.header("content-type") or "")
    if length is None or found is None or count is None:
        return length
    return str(int(length) + (BOUNDARY_DIGITS - len(found.group(1))) * count)


def static_view(
    masker: Masker, answer: Answer | Exception, count: int | None = None
) -> dict[str, Any]:
    """Status, the headers that matter for files (the boundary masked), the framing
    and the body (the boundary masked there too). ``count`` is how often the
    boundary appears in a multipart body a HEAD did not bring."""
    if isinstance(answer, Exception):
        return {"no answer": type(answer).__name__}
    multipart = "multipart/byteranges" in (answer.header("content-type") or "")
    if multipart and answer.body:
        count = delimiters(answer)
    headers: dict[str, Any] = {}
    for name in HEADERS:
        values = [
            masker.text(BOUNDARY.sub(r"\1<BOUNDARY>", mask_header(name, v)))
            for v in answer.all(name)
        ]
        if name == "content-length" and multipart and values:
            values = [as_if_full_boundary(answer, count) or values[0]]
        if values:
            headers[name] = values[0] if len(values) == 1 else values
    body = answer.body
    if multipart:
        body = re.sub(BOUNDARY.pattern.encode(), rb"\1<BOUNDARY>", body)
    return {
        "status": answer.status,
        "headers": headers,
        "framing": answer.framing,
        "body": masker.deep(body_view(body)),
    }


def exchange(
    diff: Differential,
    server: Server,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> dict[str, Any]:
    """The request's answer, then a GET's on the same connection ("next"): whether
    the connection survived (the request body read and dropped) shows there."""
    masker = diff.masker(server)
    seen: dict[str, Any] = {}
    with Conn(server, timeout=10) as conn:
        conn.send(request(server, method, path, HOST, headers, body))
        try:
            first: Answer | Exception = conn.answer(head_only=method == "HEAD")
        except (OSError, ValueError) as e:
            first = e
        count = None
        if (
            method == "HEAD"
            and isinstance(first, Answer)
            and "multipart/byteranges" in (first.header("content-type") or "")
        ):
            # The body a GET would bring says how often the boundary appears.
            with Conn(server, timeout=10) as twin:
                twin.send(request(server, "GET", path, HOST, headers, body))
                count = delimiters(twin.answer())
        seen["answer"] = static_view(masker, first, count)
        if isinstance(first, Answer) and first.header("connection") != "close":
            conn.send(request(server, "GET", "/README", HOST))
            try:
                second: Answer | Exception = conn.answer()
            except (OSError, ValueError) as e:
                second = e
            seen["next"] = static_view(masker, second)
    return seen


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_static_file(diff: Differential, name: str) -> None:
    method, path, headers, body = REQUESTS[name]
    diff.check(f"static-{name}", lambda server: exchange(diff, server, method, path, headers, body))


def current_etag(server: Server) -> str:
    with Conn(server, timeout=10) as conn:
        conn.send(request(server, "HEAD", "/digits.txt", HOST))
        etag = conn.answer(head_only=True).header("etag")
    assert etag is not None
    return etag


@pytest.mark.parametrize("name", sorted(ETAG_REQUESTS))
def test_static_file_with_its_etag(diff: Differential, name: str) -> None:
    method, path, given = ETAG_REQUESTS[name]

    def observe(server: Server) -> dict[str, Any]:
        etag = current_etag(server)
        headers = [(n, v.format(etag=etag)) for n, v in given]
        return exchange(diff, server, method, path, headers, b"")

    diff.check(f"static-{name}", observe)


def test_the_etag_is_apaches(diff: Differential) -> None:
    """Both servers give the same file the same ETag: size and mtime (µs) in hex,
    so a client behind a load balancer sees one tag whichever server answers."""
    st = os.stat(diff.tree.site / "apps" / "static" / "digits.txt")
    expected = '"%x-%x"' % (st.st_size, st.st_mtime_ns // 1000)
    for server in (diff.apache, diff.wsgihost):
        if server is not None:
            assert current_etag(server) == expected, server.name


def test_a_shorter_apache_boundary_gives_the_same_length() -> None:
    """The same two-part answer with a 15-digit and a 16-digit boundary (Apache
    draws the first at one start in 16) compares as one length."""

    def answer(boundary: str) -> Answer:
        parts = [
            f"\r\n--{boundary}\r\nContent-range: bytes {r}/1000\r\n\r\n{d}"
            for r, d in (("0-1", "01"), ("5-7", "567"))
        ]
        body = ("".join(parts) + f"\r\n--{boundary}--\r\n").encode()
        headers = [
            ("content-type", f"multipart/byteranges; boundary={boundary}"),
            ("content-length", str(len(body))),
        ]
        return Answer(206, "Partial Content", headers, body, "length")

    short, full = answer("f" * 15), answer("0123456789abcdef")
    assert delimiters(short) == delimiters(full) == 3
    assert as_if_full_boundary(short, 3) == as_if_full_boundary(full, 3)
    assert as_if_full_boundary(full, 3) == full.header("content-length")
    # A HEAD brings no body: the count comes from its GET twin.
    head = Answer(206, "Partial Content", short.headers, b"", "none")
    assert delimiters(head) is None
    assert as_if_full_boundary(head, 3) == full.header("content-length")
