"""Client-side limits of the front end: read deadlines and the connection cap.

* ``RequestReadTimeout`` as mod_reqtimeout means it (``serve --header-* /
  --body-*``): a head or a body that does not keep arriving at its minimum
  rate gets 408 and a close; one that does may take longer than the initial
  timeout; time the server holds a client back (an app reading slowly, an
  ``Expect: 100-continue`` not answered yet) does not count against it.
* ``MaxRequestWorkers`` (``serve --max-connections``): past a worker's share,
  its longest-idle keep-alive connections are closed first, then new
  connections get a clean 503 with ``Retry-After`` and ``Connection: close``,
  and both are logged.

Real servers, raw sockets on 127.0.0.1. The only clocks are the servers'
deadlines; the tests poll with generous limits of their own.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import (
    APP,
    LogWatch,
    Response,
    build,
    closed_by_peer,
    next_response,
    quiet_for,
    read_to_eof,
    wait_for,
)
from tests.functional.server import APPS, Reader, ServerProcess, serve

pytestmark = pytest.mark.slow

ECHO = APPS / "corpus_echo.wsgi"  # answers a failed body read itself: no traceback


@pytest.fixture(scope="module", params=["embedded", "daemon"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def rates(mode: str) -> Iterator[ServerProcess]:
    """Short read deadlines: head 1 s + 1 s per 100 bytes up to 3 s; body 1 s + 1 s per KB."""
    server = serve(
        ECHO,
        *("--header-timeout", "1", "--header-min-rate", "100", "--header-max-timeout", "3"),
        *("--body-timeout", "1", "--body-min-rate", "1000"),
        processes=1,
        threads=4,
        mode=mode,
    )
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def fixed(mode: str) -> Iterator[ServerProcess]:
    """A body must have come within 1 s of the client being let to send it."""
    server = serve(
        APP, "--body-timeout", "1", "--body-min-rate", "0", processes=1, threads=4, mode=mode
    )
    try:
        yield server
    finally:
        server.close()


def answered(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def trickle(sock: socket.socket, piece: bytes, every: float, limit: float = 15.0) -> Response:
    """Send ``piece`` every ``every`` seconds until the server answers; return the answer."""
    deadline = time.monotonic() + limit
    while not answered(sock):
        assert time.monotonic() < deadline, f"no answer after {limit} s of trickling"
        try:
            sock.sendall(piece)
        except OSError:
            break  # the server closed: its answer is waiting
        select.select([sock], [], [], every)
    return next_response(Reader(sock))


def assert_408_and_closed(sock: socket.socket, response: Response) -> None:
    assert response.status == 408, response
    assert response.headers.get("connection") == "close", response.headers
    assert closed_by_peer(sock), "the connection stayed open after the 408"


# -- RequestReadTimeout -----------------------------------------------------------


def test_a_body_trickling_below_the_minimum_rate_gets_408(rates: ServerProcess) -> None:
    watch = LogWatch(rates)
    with rates.connect() as sock:
        sock.sendall(build("POST", "/slow", [("Content-Length", "100000")]))
        # 10 bytes every 0.2 s: 50 B/s against a minimum of 1000.
        assert_408_and_closed(sock, trickle(sock, b"x" * 10, 0.2))
    watch.check()
    with rates.connect() as sock:  # and everyone else is still served
        sock.sendall(build("GET", "/after", [("Connection", "close")]))
        assert next_response(Reader(sock)).status == 200


def test_a_body_at_a_good_rate_may_take_longer_than_the_timeout(rates: ServerProcess) -> None:
    body = bytes(range(256)) * 100  # 25600 bytes
    with rates.connect() as sock:
        sock.sendall(build("POST", "/steady", [("Content-Length", str(len(body)))]))
        # 2000 bytes every 0.15 s (about 2 s in all, past the 1 s timeout):
        # some 13 kB/s, each piece worth 2 s more.
        for i in range(0, len(body), 2000):
            assert not answered(sock), "answered before the body was complete"
            sock.sendall(body[i : i + 2000])
            time.sleep(0.15)
        response = next_response(Reader(sock))
    assert response.status == 200, response
    assert json.loads(response.body)["body_b64"]


def test_a_head_at_a_good_rate_earns_time_up_to_the_maximum(rates: ServerProcess) -> None:
    line = b"X-Pad: " + b"p" * 50 + b"\r\n"  # 59 bytes: more than half a second each
    with rates.connect() as sock:
        sock.sendall(b"GET /head HTTP/1.1\r\nHost: h.test\r\n")
        for _ in range(6):  # about 1.2 s, past the 1 s header timeout
            time.sleep(0.2)
            assert not answered(sock), "answered before the head was complete"
            sock.sendall(line)
        sock.sendall(b"Connection: close\r\n\r\n")
        response = next_response(Reader(sock))
    assert response.status == 200, response
    # The same pace for ever reaches the 3 s maximum.
    with rates.connect() as sock:
        sock.sendall(b"GET /head HTTP/1.1\r\nHost: h.test\r\n")
        assert_408_and_closed(sock, trickle(sock, line, 0.25))


def test_a_head_that_stops_gets_408_at_the_timeout(rates: ServerProcess) -> None:
    with rates.connect() as sock:
        sock.sendall(b"GET /head HTTP/1.1\r\nHost: h.test\r\n")
        response = next_response(Reader(sock))
        assert_408_and_closed(sock, response)


def test_an_app_reading_slowly_does_not_use_up_the_body_time(fixed: ServerProcess) -> None:
    # 512 KiB read 4 KiB per 10 ms: well over the 1 s body timeout, all of it
    # spent by the app, with the client held back (flow control) meanwhile.
    size = 512 * 1024
    payload = bytes(range(256)) * (size // 256)
    watch = LogWatch(fixed)
    with fixed.connect(timeout=30) as sock:
        sock.sendall(build("POST", "/upload?chunk=4096&delay=0.01", body=payload))
        response = next_response(Reader(sock))
    assert response.status == 200, response
    assert json.loads(response.body)["length"] == size
    watch.check()


def test_a_body_too_slow_after_its_answer_ends_the_connection_quietly(
    fixed: ServerProcess,
) -> None:
    # /fixed answers without reading the body; the server reads the rest to
    # keep the connection, but not for ever, and must not send a 408 that
    # would pass for the answer to a next request.
    with fixed.connect() as sock:
        sock.sendall(build("POST", "/fixed", [("Content-Length", "100000")]) + b"x" * 10)
        reader = Reader(sock)
        assert next_response(reader).status == 200
        deadline = time.monotonic() + 15
        while not reader.buf and not answered(sock):
            assert time.monotonic() < deadline, "the connection stayed open"
            try:
                sock.sendall(b"x" * 10)
            except OSError:
                break
            select.select([sock], [], [], 0.2)
        assert reader.buf == b"" and read_to_eof(sock) == b""


def test_the_body_clock_starts_with_100_continue(fixed: ServerProcess, tmp_path: Path) -> None:
    started, go = tmp_path / "started", tmp_path / "go"
    head = build(
        "POST",
        f"/expect?started={started}&go={go}",
        [("Expect", "100-continue"), ("Content-Length", "5")],
    )
    with fixed.connect() as sock:
        sock.sendall(head)
        wait_for(started.exists, what="the app to start")
        reader = Reader(sock)
        # Longer than the 1 s body timeout, the client waiting for our word:
        # no 408. (In daemon mode the 100 comes as soon as a daemon process
        # accepts the request, and the clock with it.)
        if quiet_for(sock, 1.6):
            go.touch()
            assert next_response(reader).status == 100
        else:
            assert next_response(reader).status == 100
            go.touch()
        sock.sendall(b"hello")
        final = next_response(reader)
    assert final.status == 200, final
    assert final.json()["body"] == "hello"


# -- MaxRequestWorkers ------------------------------------------------------------


@pytest.fixture
def capped() -> Iterator[ServerProcess]:
    """One worker, at most four client connections."""
    server = serve(
        APP,
        *("--max-connections", "4", "--keepalive-timeout", "60", "--log-level", "info"),
        processes=1,
        threads=4,
    )
    try:
        yield server
    finally:
        server.close()


def served(sock: socket.socket, target: str = "/fixed") -> bool:
    sock.sendall(build("GET", target))
    return next_response(Reader(sock)).status == 200


def test_idle_keep_alive_connections_make_room_first(capped: ServerProcess) -> None:
    watch = LogWatch(capped)
    idle = [capped.connect() for _ in range(4)]
    try:
        for sock in idle:  # one after the other: idle[0] has been idle longest
            assert served(sock)
        with capped.connect() as newcomer:
            assert served(newcomer)
            assert closed_by_peer(idle[0]), "the longest-idle connection was not closed"
            for sock in idle[1:]:
                assert served(sock), "a connection other than the longest idle was lost"
        watch.wait_for("idle keep-alive connections closed to make room")
    finally:
        for sock in idle:
            sock.close()
    watch.check()


def test_past_the_cap_a_new_connection_gets_503(capped: ServerProcess) -> None:
    watch = LogWatch(capped)
    # Four connections in the middle of a head: busy, none idle.
    busy = [capped.connect() for _ in range(4)]
    try:
        for sock in busy:
            sock.sendall(b"GET /fixed HTTP/1.1\r\nHost: h.test\r\n")
        # The listener's queue is first in, first out: the fifth is accepted last.
        with capped.connect() as refused:
            refused.sendall(build("GET", "/fixed"))
            data = read_to_eof(refused)
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 "), data[:300]
        fields = {
            name.lower(): value
            for name, _, value in (line.partition(b": ") for line in head.split(b"\r\n")[1:])
        }
        assert fields[b"connection"] == b"close"
        assert fields[b"retry-after"].isdigit()
        assert len(body) == int(fields[b"content-length"])
        watch.wait_for("refused with 503")
        # The busy ones finish their requests and are served.
        for sock in busy:
            sock.sendall(b"\r\n")
            assert next_response(Reader(sock)).status == 200
    finally:
        for sock in busy:
            sock.close()

    # Once they are gone there is room again.
    def room() -> bool:
        with capped.connect() as sock:
            sock.sendall(build("GET", "/fixed", [("Connection", "close")]))
            return read_to_eof(sock).startswith(b"HTTP/1.1 200 ")

    wait_for(room, what="a new connection to be served")
    watch.check()
