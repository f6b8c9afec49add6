"""mod_logio's %I, %O and %S beside Apache: bytes received and sent for a request,
heads included (``sites/errors.conf``'s access log).

%I must be the same number on both servers (the same request bytes, line,
head and body, chunk framing included). %O differs by the heads each server
writes (its Server header, above all), so each server's %O is compared with
what the client received from it: both must count every byte they sent.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.compare import Differential, LogMark
from tests.differential.conftest import topic
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

HOST = "errors.test"
LOGIO = re.compile(
    r'"(?P<line>[^"]*)" (?P<status>\d{3}) \d{3} \S+ (?P<I>\d+) (?P<O>\d+) (?P<S>\d+)$'
)


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("errors.conf", warm=[(HOST + ":{port}", "/embedded/")])


CLOSE = b"Connection: close\r\n\r\n"
# case: (request bytes, with "{host}" for the Host header)
CASES = {
    "logio-get-static": b"GET /errors/404.html HTTP/1.1\r\nHost: {host}\r\n" + CLOSE,
    "logio-get-missing": b"GET /nothing-here HTTP/1.1\r\nHost: {host}\r\n" + CLOSE,
    "logio-post-app": (
        b"POST /embedded/log?x HTTP/1.1\r\nHost: {host}\r\nContent-Length: 11\r\n"
        b"User-Agent: differential/1.0\r\nConnection: close\r\n\r\nhello world"
    ),
    "logio-post-daemon": (
        b"POST /daemon/log?y HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\n"
        b"Connection: close\r\n\r\nhello"
    ),
    "logio-http10": b"GET /embedded/ HTTP/1.0\r\nHost: {host}\r\n\r\n",
    "logio-head": b"HEAD /errors/404.html HTTP/1.1\r\nHost: {host}\r\n" + CLOSE,
    # An app that does not read its body, on a connection that goes on: the
    # server reads the body (to find the next request), and counts it.
    "logio-post-app-keepalive": (
        b"POST /embedded/log?z HTTP/1.1\r\nHost: {host}\r\nContent-Length: 4\r\n\r\nabcd"
    ),
    "logio-chunked-daemon": (
        b"POST /daemon/log?c HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n" + b"5\r\nhello\r\n0\r\n\r\n"
    ),
}
# A request that ends the connection after a keep-alive one, so that the
# client reads to the end: the first one is observed.
LAST = b"GET /errors/404.html HTTP/1.1\r\nHost: {host}\r\n" + CLOSE


def observe(server: Server, case: str) -> Any:
    data = CASES[case].replace(b"{host}", f"{HOST}:{server.port}".encode())
    last = b"" if b"Connection: close" in data or b"HTTP/1.0" in data else LAST
    last = last.replace(b"{host}", f"{HOST}:{server.port}".encode())
    mark = LogMark(server)
    target = data.split(b" ")[1].decode()

    def logged(new: dict[str, list[str]]) -> bool:
        return any(target in x for x in new.get("errors-access.log", []))

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        if last:
            # Once the first request is logged: Apache's look for a pipelined
            # request (one byte, read ahead) before that would count in its %I.
            mark.wait(logged)
            sock.sendall(last)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    mark.wait(logged)
    lines = [x for x in mark.new().get("errors-access.log", []) if f" {target} " in x]
    assert len(lines) == 1, lines
    found = LOGIO.search(lines[0])
    assert found is not None, lines[0]
    got_in, got_out, got_sum = (int(found.group(k)) for k in "IOS")
    return {
        "status": found.group("status"),
        "%I": got_in,
        "%I is the request's size": got_in == len(data),
        "%O is what the client received": not last and got_out == len(received),
        "%S is %I + %O": got_sum == got_in + got_out,
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_bytes_in_and_out_as_mod_logio_counts_them(pair: Differential, case: str) -> None:
    pair.check(case, lambda server: observe(server, case))
