"""Request lines read as Apache 2.4 reads them (HttpProtocolOptions Strict
LenientMethods Allow0.9, TraceEnable On), in embedded and daemon mode: what the
app sees of them, what the server answers itself, and the access-log line."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.helpers import exchange, read_to_eof, wait_for
from tests.functional.server import APPS, ServerProcess, serve

pytestmark = pytest.mark.slow

ECHO = APPS / "echo.wsgi"


ACCESS_LOGS: dict[int, Path] = {}  # by server port


@pytest.fixture(scope="module", params=["embedded", "daemon"])
def echo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("access") / "access.log"
    mode = str(request.param)
    server = serve(ECHO, "--access-log", str(log), processes=1, threads=4, mode=mode)
    ACCESS_LOGS[server.port] = log
    try:
        yield server
    finally:
        server.close()


def logged(server: ServerProcess, text: str) -> None:
    """Wait until the access log has a line with ``text``."""
    log = ACCESS_LOGS[server.port]
    wait_for(lambda: log.exists() and text in log.read_text(), 10.0, repr(text))


def send(server: ServerProcess, data: bytes) -> bytes:
    """Everything the server sends back to ``data`` (each request says Connection: close)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        return read_to_eof(sock)


def seen(server: ServerProcess, line: bytes, headers: bytes = b"Host: x\r\n") -> dict[str, Any]:
    """The environ the app saw of a request with this line."""
    answer = exchange(server, line + b"\r\n" + headers + b"Connection: close\r\n\r\n")
    assert answer.status == 200, answer
    return answer.json()["environ"]  # type: ignore[no-any-return]


def status_of(server: ServerProcess, data: bytes) -> int:
    return int(send(server, data).split(b" ", 2)[1])


@pytest.mark.parametrize("method", ["PURGE", "FOO", "get", "M-SEARCH"])
def test_extension_and_lowercase_methods_reach_the_app(echo: ServerProcess, method: str) -> None:
    env = seen(echo, method.encode() + b" /x HTTP/1.1")
    assert env["REQUEST_METHOD"] == method


def test_raw_utf8_in_the_target_reaches_the_app(echo: ServerProcess) -> None:
    env = seen(echo, "GET /caf\u00e9?q=\u00e9 HTTP/1.1".encode())
    # PEP 3333: the bytes as latin-1 characters.
    assert env["PATH_INFO"] == "/caf\u00e9".encode().decode("latin-1")
    assert env["QUERY_STRING"] == "q=\u00e9".encode().decode("latin-1")
    assert env["REQUEST_URI"] == "/caf\u00e9?q=\u00e9".encode().decode("latin-1")


@pytest.mark.parametrize("protocol", ["HTTP/1.2", "HTTP/2.0", "HTTP/9.9"])
def test_later_versions_are_served_as_http11(echo: ServerProcess, protocol: str) -> None:
    answer = send(echo, f"GET /x {protocol}\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"Transfer-Encoding: chunked" in head or b"Content-Length" in head
    if b"Transfer-Encoding: chunked" in head:
        body = body.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
    assert json.loads(body)["environ"]["SERVER_PROTOCOL"] == protocol


def test_http11_and_later_need_a_host(echo: ServerProcess) -> None:
    assert status_of(echo, b"GET /x HTTP/1.2\r\nConnection: close\r\n\r\n") == 400


@pytest.mark.parametrize(
    "line",
    [
        b"GET  /x HTTP/1.1",  # two spaces
        b"GET\t/x HTTP/1.1",  # a tab
        b"GET /x HTTP/1.1 ",  # trailing white space
        b"GET /x HTTP/1.1 x",
        b"GE(T /x HTTP/1.1",  # not a token
        b"G\xc3\xa9T /x HTTP/1.1",
        b"GET /a\x01b HTTP/1.1",  # a control byte in the target
        b"GET /a\x7fb HTTP/1.1",
        b"GET /x http/1.1",  # Strict: the protocol in upper case
        b"GET /x HTTP/01.1",
        b"GET /x HTTP/0.9",
        b"GET /x FOO",
        b"GET /a#frag HTTP/1.1",  # a fragment is never sent
        b"GET http://u:p@x/ HTTP/1.1",  # nor userinfo
        b"GET x HTTP/1.1",
        b"GET * HTTP/1.1",
    ],
)
def test_lines_apache_refuses_are_400(echo: ServerProcess, line: bytes) -> None:
    assert status_of(echo, line + b"\r\nHost: x\r\nConnection: close\r\n\r\n") == 400


@pytest.mark.parametrize("path, status", [(b"/a%ZZ", 400), (b"/a%2", 400), (b"/a%2Fb", 404)])
def test_bad_escapes_in_the_path(echo: ServerProcess, path: bytes, status: int) -> None:
    data = b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    assert status_of(echo, data) == status


def test_a_bad_escape_in_the_query_reaches_the_app(echo: ServerProcess) -> None:
    assert seen(echo, b"GET /x?q=%ZZ HTTP/1.1")["QUERY_STRING"] == "q=%ZZ"


def test_http09_gets_the_body_alone(echo: ServerProcess) -> None:
    answer = send(echo, b"GET /x?a=1\r\n")
    env = json.loads(answer)["environ"]  # no status line, no headers
    assert env["SERVER_PROTOCOL"] == "HTTP/0.9"
    assert env["QUERY_STRING"] == "a=1"
    assert status_of(echo, b"HEAD /x\r\n") == 400  # Strict: GET only
    # Nothing after an HTTP/0.9 line is read: a request there is never served.
    answer = send(echo, b"GET /first\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n")
    assert json.loads(answer)["environ"]["PATH_INFO"] == "/first"


def test_underscore_in_host_and_absolute_form(echo: ServerProcess) -> None:
    assert seen(echo, b"GET /x HTTP/1.1", b"Host: my_host.test\r\n")["HTTP_HOST"] == "my_host.test"
    env = seen(echo, b"GET http://my_host.test/x HTTP/1.1")
    assert env["HTTP_HOST"] == "my_host.test" and env["PATH_INFO"] == "/x"


def test_trace_is_echoed_by_the_server(echo: ServerProcess) -> None:
    data = (
        b"TRACE /any/where?q HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\nConnection: close\r\n\r\n"
    )
    answer = send(echo, data)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"Content-Type: message/http" in head and b"Transfer-Encoding: chunked" in head
    echoed = body.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
    assert echoed == (
        b"TRACE /any/where?q HTTP/1.1\r\nHost: x\r\nX-A: 1, 2\r\nConnection: close\r\n\r\n"
    )


def test_trace_with_a_body_is_413(echo: ServerProcess) -> None:
    data = b"TRACE /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
    assert status_of(echo, data) == 413


def test_limits_as_apache_counts_them(echo: ServerProcess) -> None:
    # A line (or a field line) one byte over the limit passes: Apache's buffer
    # holds the limit plus CRLF.
    fits = "/" + "a" * (8191 - len("GET / HTTP/1.1"))
    assert (
        status_of(echo, f"GET {fits} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        == 200
    )
    over = fits + "a"
    assert status_of(echo, f"GET {over} HTTP/1.1\r\nHost: x\r\n\r\n".encode()) == 414
    field = "X-Long: " + "v" * (8191 - len("X-Long: "))
    data = f"GET /x HTTP/1.1\r\nHost: x\r\n{field}\r\nConnection: close\r\n\r\n".encode()
    assert status_of(echo, data) == 200
    data = f"GET /x HTTP/1.1\r\nHost: x\r\n{field}v\r\nConnection: close\r\n\r\n".encode()
    assert status_of(echo, data) == 400


def test_an_unparsed_line_is_logged_as_received(echo: ServerProcess) -> None:
    assert status_of(echo, b"DELETE  /gone HTTP/1.1\r\nHost: x\r\n\r\n") == 400
    logged(echo, '"DELETE /gone HTTP/1.1" 400')
    assert status_of(echo, b"GET /x HTTP/1.2\r\nHost: x\r\nConnection: close\r\n\r\n") == 200
    logged(echo, '"GET /x HTTP/1.2" 200')
