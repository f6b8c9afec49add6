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
# Apache's boundary is 64 random bits in hex, chosen at start; ours too.
BOUNDARY = re.compile(r"(boundary=|--)[0-9a-f]{1,16}\b")
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


def static_view(masker: Masker, answer: Answer | Exception) -> dict[str, Any]:
    """Status, the headers that matter for files (the boundary masked), the framing
    and the body (the boundary masked there too)."""
    if isinstance(answer, Exception):
        return {"no answer": type(answer).__name__}
    headers: dict[str, Any] = {}
    for name in HEADERS:
        values = [
            masker.text(BOUNDARY.sub(r"\1<BOUNDARY>", mask_header(name, v)))
            for v in answer.all(name)
        ]
        if values:
            headers[name] = values[0] if len(values) == 1 else values
    body = answer.body
    if "multipart/byteranges" in (answer.header("content-type") or ""):
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
        seen["answer"] = static_view(masker, first)
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
