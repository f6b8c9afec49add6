"""The request line and head as Apache 2.4 reads them (HttpProtocolOptions Strict
LenientMethods Allow0.9), and the pure helpers the front end uses with them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from wsgihost import httpcore, requestline
from wsgihost.config.model import Limits
from wsgihost.requesthead import Head, HeadReader, Reject
from wsgihost.requestline import HTTP09, HTTP10, HTTP11, BadRequestLine, parse


@pytest.mark.parametrize(
    "line, method, target, protocol, version",
    [
        (b"GET / HTTP/1.1", "GET", b"/", "HTTP/1.1", HTTP11),
        (b"POST /a?b=c HTTP/1.0", "POST", b"/a?b=c", "HTTP/1.0", HTTP10),
        (b"PURGE /x HTTP/1.1", "PURGE", b"/x", "HTTP/1.1", HTTP11),
        (b"get /x HTTP/1.1", "get", b"/x", "HTTP/1.1", HTTP11),
        (b"-bl /x HTTP/1.1", "-bl", b"/x", "HTTP/1.1", HTTP11),
        (b"GET /caf\xc3\xa9 HTTP/1.1", "GET", b"/caf\xc3\xa9", "HTTP/1.1", HTTP11),
        (b'GET /"q" HTTP/1.1', "GET", b'/"q"', "HTTP/1.1", HTTP11),
        (b"GET / HTTP/1.2", "GET", b"/", "HTTP/1.2", (1, 2)),
        (b"GET / HTTP/2.0", "GET", b"/", "HTTP/2.0", (2, 0)),
        (b"GET /x", "GET", b"/x", "HTTP/0.9", HTTP09),
        (b"OPTIONS * HTTP/1.1", "OPTIONS", b"*", "HTTP/1.1", HTTP11),
        (b"GET http://a.test/x HTTP/1.1", "GET", b"http://a.test/x", "HTTP/1.1", HTTP11),
    ],
)
def test_lines_apache_accepts(
    line: bytes, method: str, target: bytes, protocol: str, version: tuple[int, int]
) -> None:
    assert parse(line) == (method, target, protocol, version)


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"GET",
        b"GET  / HTTP/1.1",
        b" GET / HTTP/1.1",
        b"GET / HTTP/1.1 ",
        b"GET /  HTTP/1.1",
        b"GET\t/ HTTP/1.1",
        b"GET /\tHTTP/1.1",
        b"GET / HTTP/1.1\x0b",
        b"GET / HTTP/1.1 x",
        b"GE(T / HTTP/1.1",
        b"G\xc3\xa9T / HTTP/1.1",
        b"GET /a\x00b HTTP/1.1",
        b"GET /a\x01b HTTP/1.1",
        b"GET /a\x7fb HTTP/1.1",
        b"GET / http/1.1",
        b"GET / HTTP/01.1",
        b"GET / HTTP/0.9",
        b"GET / HTTP/1.10",
        b"GET / HTTP/1",
        b"GET / FOO",
        b"HEAD /x",  # HTTP/0.9 is for GET only (Strict)
        b"POST /x",
    ],
)
def test_lines_apache_refuses(line: bytes) -> None:
    with pytest.raises(BadRequestLine):
        parse(line)


def test_a_refused_line_is_logged_as_apache_rebuilds_it() -> None:
    with pytest.raises(BadRequestLine) as caught:
        parse(b"DELETE  /x\tHTTP/1.1")
    assert caught.value.logged == "DELETE /x HTTP/1.1"
    assert requestline.logged_line(b"GET /caf\xc3\xa9 HTTP/1.1") == "GET /caf\xc3\xa9 HTTP/1.1"


@pytest.mark.parametrize(
    "target, parts",
    [
        (b"/a?b", (None, b"/a", b"b")),
        (b"/a?b?c", (None, b"/a", b"b?c")),
        (b"*", (None, b"*", b"")),
        (b"http://a.test:8080/p?q", (b"a.test:8080", b"/p", b"q")),
        (b"HTTPS://a.test", (b"a.test", b"/", b"")),
        (b"http://my_host.test/x", (b"my_host.test", b"/x", b"")),
    ],
)
def test_split_target(target: bytes, parts: tuple[bytes | None, bytes, bytes]) -> None:
    assert httpcore.split_target(target) == parts


@pytest.mark.parametrize(
    "target", [b"/a#b", b"x", b"ftp://a.test/", b"http://u:p@a.test/", b"http://a b/"]
)
def test_split_target_refuses(target: bytes) -> None:
    with pytest.raises(ValueError):
        httpcore.split_target(target)


def test_trace_echo_merges_repeated_fields_as_apache_does() -> None:
    headers = [(b"Host", b"a"), (b"X-A", b"1"), (b"Accept", b"*/*"), (b"x-a", b"2")]
    assert httpcore.trace_echo("TRACE / HTTP/1.1", headers) == (
        b"TRACE / HTTP/1.1\r\nHost: a\r\nX-A: 1, 2\r\nAccept: */*\r\n\r\n"
    )
    assert httpcore.trace_echo("TRACE / HTTP/1.1", [], b"abc").endswith(b"\r\n\r\nabc")


def _imports(path: Path, package: str) -> set[str]:
    """The modules of ``package`` that ``path`` imports, TYPE_CHECKING ones included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == package:
                found |= {f"{package}.{alias.name}" for alias in node.names}
            elif node.module.startswith(package + "."):
                found.add(node.module)
    return found


def test_no_import_circle_in_the_front_end() -> None:
    """connection -> dispatch -> files/proxy/trace -> exchange, never back (even for types)."""
    folder = Path(httpcore.__file__).parent / "frontend"
    package = "wsgihost.frontend"
    graph = {f"{package}.{path.stem}": _imports(path, package) for path in folder.glob("*.py")}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    circles = sorted(name for name in graph if reaches(name, name, {name}))
    assert not circles, f"modules on an import circle: {circles}"


# -- the head after the line (wsgihost.requesthead) ---------------------------------


def read_head(
    line: bytes, sent: list[tuple[bytes, bytes]], upgrade: bool = False, **limits: int
) -> Head:
    reader = HeadReader(Limits(**limits))
    reader.begin()
    for name, value in sent:
        reader.on_header(name, value)
    return reader.finish(parse(line), upgrade)


def refused(line: bytes, sent: list[tuple[bytes, bytes]], **limits: int) -> int:
    with pytest.raises(Reject) as caught:
        read_head(line, sent, **limits)
    return caught.value.status


HOST = [(b"Host", b"a.test")]


def test_a_head_gives_what_serving_it_needs() -> None:
    fields = [*HOST, (b"Content-Length", b"5"), (b"Expect", b"100-continue")]
    head = read_head(b"POST /p?q=1 HTTP/1.2", fields)
    assert (head.method, head.path, head.query, head.protocol) == (
        "POST",
        b"/p",
        b"q=1",
        "HTTP/1.2",
    )
    assert head.http11 and not head.http09
    assert head.host == b"a.test" and head.has_body and head.expect_continue
    assert head.content_length == 5 and not head.chunked


@pytest.mark.parametrize(
    "line, fields, status",
    [
        (b"GET / HTTP/1.1", [], 400),  # no Host in HTTP/1.1
        (b"GET / HTTP/2.0", [], 400),  # nor in later versions
        (b"GET / HTTP/1.1", [*HOST, *HOST], 400),
        (b"GET / HTTP/1.1", [(b"Host", b"a..test")], 400),
        (b"GET / HTTP/1.1", [(b"Host", b"a.test:99999")], 400),
        (b"CONNECT a.test:443 HTTP/1.1", HOST, 405),
        (b"GET * HTTP/1.1", HOST, 400),
        (b"GET /a#b HTTP/1.1", HOST, 400),
        (b"GET http://u@a.test/ HTTP/1.1", HOST, 400),
        (b"GET / HTTP/1.1", [*HOST, (b"Expect", b"magic")], 417),
        (b"POST / HTTP/1.1", [*HOST, (b"Content-Length", b"2000")], 413),
    ],
)
def test_heads_apache_refuses(line: bytes, fields: list[tuple[bytes, bytes]], status: int) -> None:
    assert refused(line, fields, body=1000) == status


def test_http10_needs_no_host_and_underscores_are_a_name() -> None:
    assert read_head(b"GET / HTTP/1.0", []).host is None
    assert read_head(b"GET / HTTP/1.1", [(b"Host", b"my_host.test")]).host == b"my_host.test"


def test_an_absolute_target_stands_for_host() -> None:
    head = read_head(b"GET http://b.test:8080/x HTTP/1.1", HOST)
    assert head.host == b"b.test:8080" and head.path == b"/x"
    assert head.headers == [(b"Host", b"b.test:8080")]  # the app is told the same host


def test_field_limits_as_apache_counts_them() -> None:
    # "X-L: " + value is the field line; one byte over the limit still passes.
    assert read_head(b"GET / HTTP/1.1", [*HOST, (b"X-L", b"v" * 96)], field_size=100)
    assert refused(b"GET / HTTP/1.1", [*HOST, (b"X-L", b"v" * 97)], field_size=100) == 400
    assert read_head(b"GET / HTTP/1.1", [*HOST, (b"X", b"1")], fields=2)
    assert refused(b"GET / HTTP/1.1", [*HOST, (b"X", b"1"), (b"Y", b"2")], fields=2) == 400


def test_a_body_with_an_upgrade_is_refused_and_trailers_are_not_kept() -> None:
    fields = [*HOST, (b"Content-Length", b"3")]
    with pytest.raises(Reject):
        read_head(b"POST / HTTP/1.1", fields, upgrade=True)
    reader = HeadReader(Limits())
    reader.begin()
    reader.on_header(b"Host", b"a.test")
    reader.finish(parse(b"GET / HTTP/1.1"), False)
    reader.on_header(b"X-Trailer", b"1")
    assert reader.headers == HOST


def test_a_host_is_checked_again_when_it_changes_on_the_connection() -> None:
    reader = HeadReader(Limits())
    for host, ok in [(b"a.test", True), (b"a.test", True), (b"a..test", False), (b"b.test", True)]:
        reader.begin()
        reader.on_header(b"Host", host)
        if ok:
            assert reader.finish(parse(b"GET / HTTP/1.1"), False).host == host
        else:
            with pytest.raises(Reject):
                reader.finish(parse(b"GET / HTTP/1.1"), False)
