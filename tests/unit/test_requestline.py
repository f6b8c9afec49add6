"""The request line as Apache 2.4 reads it (HttpProtocolOptions Strict LenientMethods
Allow0.9), and the pure helpers the front end uses with it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from wsgihost import httpcore, requestline
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
