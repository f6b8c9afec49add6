"""The request path of the front end (frontend/dispatch.py, frontend/trace.py) on its
own: a request whose head was read, handed to ``dispatch.start`` with a connection
that records what it is asked to send. What the server answers itself (TRACE,
``OPTIONS *``, a path it refuses) needs no socket, no app and no event loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from wsgihost.config.model import Host, Listener, Server
from wsgihost.frontend import dispatch
from wsgihost.frontend.exchange import Exchange, Request
from wsgihost.pipeline import Pipeline
from wsgihost.routing import Router
from wsgihost.wsgi.environ import RequestHead


@dataclass
class Site:
    server: Server
    router: Router
    pipeline: Pipeline = field(default_factory=Pipeline)  # no module configured


@dataclass
class Wire:
    """A connection that keeps what the request path sends on it."""

    worker: Site
    sent: list[tuple[Any, bytes, bool]] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)

    def app_send(self, req: Request, head: Any, data: bytes, end: bool) -> None:
        self.sent.append((head, data, end))

    def answer(self, req: Request, status: int) -> None:
        self.answered.append(status)

    def client(self) -> str:
        return "127.0.0.1:5000"

    def response(self) -> tuple[str, list[tuple[str, str]], bytes]:
        """The status, headers and whole body sent, checking it was ended."""
        assert self.sent and self.sent[0][0] is not None and self.sent[-1][2]
        status, headers = self.sent[0][0]
        return status, headers, b"".join(data for _, data, _ in self.sent)


def start(conn: Wire, req: Request) -> None:
    dispatch.start(cast(Exchange, conn), req)


def wire(trace: str = "on") -> Wire:
    main = Host(server_name="a.test", trace_enable=trace)
    server = Server(listeners=(Listener("127.0.0.1", 8000),), main=main)
    return Wire(Site(server, Router(server)))


def request(
    conn: Wire,
    method: str,
    target: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    has_body: bool = False,
) -> Request:
    headers = headers or [(b"Host", b"a.test")]
    path, _, query = target.partition(b"?")
    head = RequestHead(
        method,
        target.decode("latin-1"),
        path,
        query.decode("latin-1"),
        "HTTP/1.1",
        headers,
        "127.0.0.1",
        5000,
        "127.0.0.1",
        8000,
    )
    req = Request(cast(Exchange, conn), head, True, has_body)
    req.host = b"a.test"
    return req


def test_trace_echoes_the_request_without_a_length() -> None:
    conn = wire()
    headers = [(b"Host", b"a.test"), (b"X-A", b"1"), (b"x-a", b"2")]
    start(conn, request(conn, "TRACE", b"/no/app/here?q", headers))
    status, sent_headers, body = conn.response()
    assert status == "200 OK"
    assert sent_headers == [("Content-Type", "message/http")]  # no Content-Length: chunked
    assert conn.sent[0][1:] == (b"", False)  # the head went alone
    assert body == b"TRACE /no/app/here?q HTTP/1.1\r\nHost: a.test\r\nX-A: 1, 2\r\n\r\n"


def test_trace_enable_off_is_405_with_an_empty_allow() -> None:
    conn = wire("off")
    start(conn, request(conn, "TRACE", b"/"))
    status, headers, _ = conn.response()
    assert status.startswith("405 ") and ("Allow", "") in headers


@pytest.mark.parametrize("trace", ["on", "extended"])
def test_trace_with_a_body_over_what_is_echoed_is_413(trace: str) -> None:
    conn = wire(trace)
    length = b"3" if trace == "on" else b"70000"
    headers = [(b"Host", b"a.test"), (b"Content-Length", length)]
    req = request(conn, "TRACE", b"/", headers, has_body=True)
    start(conn, req)
    status, _, _ = conn.response()
    assert status == "413 Request Entity Too Large"
    assert not req.keep_alive  # the body is never read: the connection ends


def test_a_bad_escape_is_refused_before_trace() -> None:
    conn = wire()
    start(conn, request(conn, "TRACE", b"/a%ZZ"))
    assert conn.answered == [400] and not conn.sent


@pytest.mark.parametrize("path, status", [(b"/a%ZZ", 400), (b"/a%2fb", 404), (b"/a%00", 404)])
def test_paths_apache_refuses(path: bytes, status: int) -> None:
    conn = wire()
    start(conn, request(conn, "GET", path))
    assert conn.answered == [status]


def test_options_star_is_answered_by_the_server_with_no_allow() -> None:
    conn = wire()
    start(conn, request(conn, "OPTIONS", b"*"))
    assert conn.response() == ("200 OK", [], b"")


def test_access_line_of_an_http09_request_has_no_protocol() -> None:
    conn = wire()
    req = request(conn, "GET", b"/x")
    assert dispatch.request_line_of(req) == "GET /x HTTP/1.1"
    req.http09 = True
    assert dispatch.request_line_of(req) == "GET /x"
