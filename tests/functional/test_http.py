"""The HTTP/1.1 front end as a client sees it: real server, raw sockets on 127.0.0.1.

Every app here runs under ``wsgiref.validate.validator`` (tests/apps/app.wsgi),
and every test checks that the server wrote no warning and no unexpected
traceback to its error output.
"""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from tests.functional.helpers import (
    APP,
    LogWatch,
    Response,
    build,
    chunked,
    closed_by_peer,
    download_block,
    exchange,
    get,
    next_response,
    proc_kb,
    quiet_for,
    read_to_eof,
    request,
    running,
    wait_for,
    worker_pids,
)
from tests.functional.server import Reader, ServerProcess, serve

pytestmark = pytest.mark.slow

MB = 1 << 20


@pytest.fixture(scope="module")
def shared() -> Iterator[ServerProcess]:
    # --chunked-request: these tests are about HTTP/1.1 framing, chunked bodies
    # included (the 411 they get by default: test_chunked_request.py).
    with running(APP, "--chunked-request", processes=2, threads=4) as server:
        yield server


@pytest.fixture(scope="module")
def strict_shared() -> Iterator[ServerProcess]:
    """Short timeouts and a small body limit."""
    args = ["--keepalive-timeout", "1", "--header-timeout", "1", "--limit-request-body", "1000"]
    with running(APP, *args, "--chunked-request", processes=1, threads=4) as server:
        yield server


@pytest.fixture
def strict(strict_shared: ServerProcess) -> Iterator[ServerProcess]:
    watch = LogWatch(strict_shared)
    yield strict_shared
    watch.check()


def assert_rejected(sock: socket.socket, status: int) -> Response:
    """The next response is ``status`` with Connection: close, and then the server closes."""
    reader = Reader(sock)
    response = next_response(reader)
    assert response.status == status, response
    assert response.headers.get("connection") == "close", response.headers
    assert closed_by_peer(sock, reader), "the connection stayed open after the error"
    return response


# -- connections ---------------------------------------------------------------


def test_keep_alive_reuses_the_connection(server: ServerProcess) -> None:
    with server.connect() as sock:
        reader = Reader(sock)
        ports, pids = set(), set()
        for i in range(3):
            sock.sendall(build("GET", f"/env?i={i}"))
            response = next_response(reader)
            assert response.status == 200
            assert "connection" not in response.headers
            ports.add(response.json()["environ"]["REMOTE_PORT"])
            pids.add(response.json()["pid"])
        assert ports == {str(sock.getsockname()[1])}
        assert len(pids) == 1


def test_idle_keep_alive_connection_is_closed_after_the_timeout(strict: ServerProcess) -> None:
    with strict.connect() as sock:
        reader = Reader(sock)
        sock.sendall(build("GET", "/fixed"))
        assert next_response(reader).status == 200
        idle_since = time.monotonic()
        assert read_to_eof(sock, timeout=6) == b""
        waited = time.monotonic() - idle_since
    # --keepalive-timeout 1, checked about twice a second.
    assert 0.9 <= waited <= 4, f"closed after {waited:.2f} s"


def test_http10_closes_by_default(server: ServerProcess) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /fixed HTTP/1.0\r\n\r\n")
        reader = Reader(sock)
        response = next_response(reader)
        assert response.status == 200
        assert response.body == b"hello, world\n"
        assert response.headers.get("connection") == "close"
        assert closed_by_peer(sock, reader)


def test_http10_keep_alive_on_request(server: ServerProcess) -> None:
    with server.connect() as sock:
        reader = Reader(sock)
        for _ in range(2):
            sock.sendall(b"GET /fixed HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            response = next_response(reader)
            assert response.status == 200
            assert response.headers.get("connection", "").lower() == "keep-alive"
            assert response.body == b"hello, world\n"
        # Without the header, the connection ends after the response.
        sock.sendall(b"GET /fixed HTTP/1.0\r\n\r\n")
        assert next_response(reader).status == 200
        assert closed_by_peer(sock, reader)


def test_http10_body_of_unknown_length_is_delimited_by_close(server: ServerProcess) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /gen?n=4&size=1000 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        data = read_to_eof(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"transfer-encoding" not in head.lower()
    assert body == b"A" * 1000 + b"B" * 1000 + b"C" * 1000 + b"D" * 1000


def test_connection_close_is_honoured(server: ServerProcess) -> None:
    with server.connect() as sock:
        # The second request follows in the same packet: it must not be answered.
        sock.sendall(build("GET", "/fixed", [("Connection", "close")]) + build("GET", "/fixed"))
        reader = Reader(sock)
        response = next_response(reader)
        assert response.status == 200
        assert response.headers.get("connection") == "close"
        assert closed_by_peer(sock, reader)


def test_date_and_server_headers(server: ServerProcess) -> None:
    for response in (get(server, "/fixed"), exchange(server, b"GET / HTTP/1.1\r\n\r\n")):
        assert response.headers.get("server")
        date = parsedate_to_datetime(response.headers["date"])
        assert abs(date.timestamp() - time.time()) < 5, response.headers["date"]
        assert response.headers["date"].endswith(" GMT")


# -- methods and bodies --------------------------------------------------------


def test_head_has_no_body_and_the_same_content_length(server: ServerProcess) -> None:
    with server.connect() as sock:
        reader = Reader(sock)
        sock.sendall(build("GET", "/fixed"))
        got = next_response(reader)
        # HEAD, then GET in the same packet: if any body followed the HEAD
        # response, it would be read as the start of the next response.
        sock.sendall(build("HEAD", "/fixed") + build("GET", "/fixed?again"))
        head = next_response(reader, head_only=True)
        after = next_response(reader)
        # A response of unknown length: no body, no chunked framing either.
        sock.sendall(build("HEAD", "/gen?n=3&size=100") + build("GET", "/fixed?last"))
        head_gen = next_response(reader, head_only=True)
        last = next_response(reader)
    assert got.status == head.status == after.status == 200
    assert head.headers["content-length"] == got.headers["content-length"] == "13"
    assert after.body == got.body == b"hello, world\n"
    assert head_gen.status == 200
    assert "transfer-encoding" not in head_gen.headers
    assert last.body == b"hello, world\n"


def test_chunked_request_body(server: ServerProcess) -> None:
    body = (
        b"6;ext=1\r\nhello \r\n"
        + b"8\r\nchunked \r\n"
        + b"5\r\nworld\r\n"
        + b"0\r\nX-Trailer: t\r\n\r\n"
    )
    with server.connect() as sock:
        sock.sendall(
            build("POST", "/env", [("Transfer-Encoding", "chunked")], body) + build("GET", "/fixed")
        )
        reader = Reader(sock)
        response = next_response(reader)
        after = next_response(reader)
    assert response.status == 200
    seen = response.json()
    assert seen["body"] == "hello chunked world"
    assert "CONTENT_LENGTH" not in seen["environ"]
    # mod_wsgi 4.9 names no chunked body in the environ: only the header says so.
    assert "mod_wsgi.input_chunked" not in seen["environ"]
    assert seen["environ"]["HTTP_TRANSFER_ENCODING"] == "chunked"
    assert after.status == 200 and after.body == b"hello, world\n"


def test_100_continue_is_sent_when_the_app_reads_the_body(
    server: ServerProcess, tmp_path: Path
) -> None:
    started, go = tmp_path / "started", tmp_path / "go"
    head = build(
        "POST",
        f"/expect?started={started}&go={go}",
        [("Expect", "100-continue"), ("Content-Length", "11")],
    )
    with server.connect() as sock:
        sock.sendall(head)
        wait_for(started.exists, what="the app to start")
        assert quiet_for(sock, 0.3), "100 Continue was sent before the app read the body"
        go.touch()
        reader = Reader(sock)
        interim = next_response(reader)
        assert interim.status == 100
        sock.sendall(b"hello world")
        final = next_response(reader)
    assert final.status == 200
    assert final.json()["body"] == "hello world"


def test_100_continue_is_sent_on_hand_off_in_daemon_mode(tmp_path: Path) -> None:
    """As mod_wsgi's daemon mode: the Apache child sends it when it passes the request
    on, before the app has read anything (the README says so)."""
    started, go = tmp_path / "started", tmp_path / "go"
    head = build(
        "POST",
        f"/expect?started={started}&go={go}",
        [("Expect", "100-continue"), ("Content-Length", "11")],
    )
    server = serve(APP, processes=1, threads=2, mode="daemon")
    try:
        with server.connect() as sock:
            sock.sendall(head)
            reader = Reader(sock)
            interim = next_response(reader)  # while the app waits for "go", unread
            assert interim.status == 100
            assert not go.exists()
            wait_for(started.exists, what="the app to start")
            go.touch()
            sock.sendall(b"hello world")
            final = next_response(reader)
        assert final.status == 200
        assert final.json()["body"] == "hello world"
    finally:
        server.close()


def test_no_100_continue_when_the_app_does_not_read_the_body(server: ServerProcess) -> None:
    head = build("POST", "/fixed", [("Expect", "100-continue"), ("Content-Length", "11")])
    with server.connect() as sock:
        sock.sendall(head)
        data = read_to_eof(sock)
    # The final response comes first and alone; the connection cannot carry
    # another request, since the body the client holds back was never read.
    assert data.startswith(b"HTTP/1.1 200 "), data[:100]
    assert b"100 Continue" not in data
    assert data.endswith(b"\r\n\r\nhello, world\n")


def test_upgrade_request_is_served_as_plain_http(server: ServerProcess) -> None:
    upgrade = build("GET", "/env", [("Connection", "Upgrade"), ("Upgrade", "websocket")])
    with server.connect() as sock:
        reader = Reader(sock)
        sock.sendall(upgrade)
        first = next_response(reader)
        sock.sendall(build("GET", "/fixed"))
        second = next_response(reader)
        # The same, pipelined in one packet.
        sock.sendall(upgrade + build("GET", "/fixed?pipelined"))
        third = next_response(reader)
        fourth = next_response(reader)
    for response in (first, third):
        assert response.status == 200
        assert "upgrade" not in response.headers
        assert response.json()["environ"]["HTTP_UPGRADE"] == "websocket"
    assert second.status == fourth.status == 200
    assert second.body == fourth.body == b"hello, world\n"


# -- refusals ------------------------------------------------------------------


def test_missing_host_in_http11_is_400(server: ServerProcess) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /fixed HTTP/1.1\r\n\r\n")
        assert_rejected(sock, 400)


def test_duplicate_host_is_400(server: ServerProcess) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /fixed HTTP/1.1\r\nHost: a.invalid\r\nHost: b.invalid\r\n\r\n")
        assert_rejected(sock, 400)


def test_request_line_limit_is_8190_then_414(server: ServerProcess) -> None:
    # As Apache counts: its line buffer holds LimitRequestLine plus CRLF, so a
    # line of 8191 bytes ("GET " + target + " HTTP/1.1") is the longest allowed.
    target = "/fixed?" + "a" * (8191 - len("GET  HTTP/1.1") - len("/fixed?"))
    assert get(server, target).status == 200
    with server.connect() as sock:
        sock.sendall(build("GET", target + "a"))
        assert_rejected(sock, 414)


def test_header_field_over_8190_is_400(server: ServerProcess) -> None:
    # "X-Long: " + value: 8191 bytes pass, as in Apache, which answers 400 (not 431).
    assert get(server, "/fixed", headers=[("X-Long", "v" * 8183)]).status == 200
    with server.connect() as sock:
        sock.sendall(build("GET", "/fixed", [("X-Long", "v" * 8184)]))
        assert_rejected(sock, 400)


def test_more_than_100_header_fields_is_400(server: ServerProcess) -> None:
    # Host plus 99 more: 100 fields, the most allowed.
    fields = [(f"X-Field-{i}", "v") for i in range(99)]
    assert get(server, "/fixed", headers=fields).status == 200
    with server.connect() as sock:
        sock.sendall(build("GET", "/fixed", [*fields, ("X-One-Too-Many", "v")]))
        assert_rejected(sock, 400)


def test_body_over_the_limit_is_413_by_content_length(strict: ServerProcess) -> None:
    ok = request(strict, "POST", "/env", body=b"b" * 1000)
    assert ok.status == 200 and len(ok.json()["body"]) == 1000
    with strict.connect() as sock:
        sock.sendall(build("POST", "/env", body=b"b" * 1001))
        assert_rejected(sock, 413)


def test_chunked_body_within_the_limit_is_served(strict: ServerProcess) -> None:
    body = chunked(b"c" * 400, b"c" * 400, b"c" * 200)
    response = request(
        strict, "POST", "/input", headers=[("Transfer-Encoding", "chunked")], body=body
    )
    assert response.status == 200
    assert response.json()["body"] == "c" * 1000


def test_chunked_body_over_the_limit_is_413(strict_shared: ServerProcess) -> None:
    # The whole body came with the head: it is refused before the app runs
    # (so no app leaves a traceback).
    watch = LogWatch(strict_shared)
    body = chunked(b"c" * 400, b"c" * 400, b"c" * 400)
    with strict_shared.connect() as sock:
        sock.settimeout(5)
        sock.sendall(build("POST", "/input", [("Transfer-Encoding", "chunked")], body))
        assert_rejected(sock, 413)
    watch.check()


def test_chunked_body_passing_the_limit_while_the_app_reads_is_413(
    strict_shared: ServerProcess, tmp_path: Path
) -> None:
    # The app is already reading when the body passes the limit: the client
    # must still be told 413. As under Apache + mod_wsgi, the app's read
    # fails; the app does not catch it, and that is logged in one line.
    watch = LogWatch(strict_shared)
    started, go = tmp_path / "started", tmp_path / "go"
    target = f"/expect?started={started}&go={go}"
    with strict_shared.connect() as sock:
        sock.settimeout(5)
        sock.sendall(build("POST", target, [("Transfer-Encoding", "chunked")]) + b"190\r\n")
        wait_for(started.exists, what="the app to start")
        go.touch()
        sock.sendall(chunked(b"c" * 400, b"c" * 400, b"c" * 400)[5:])
        assert_rejected(sock, 413)
    watch.wait_for("request data read error: request body larger than LimitRequestBody")
    watch.check()


def test_partial_request_head_then_silence_is_408(strict: ServerProcess) -> None:
    with strict.connect() as sock:
        sock.sendall(b"GET /fixed HTTP/1.1\r\nHost: test.invalid\r\n")
        sent = time.monotonic()
        response = assert_rejected(sock, 408)
        waited = time.monotonic() - sent
    assert response.status == 408
    assert 0.9 <= waited <= 4, f"408 after {waited:.2f} s with --header-timeout 1"


MALFORMED = {
    "garbage": b"GARBAGE\r\n\r\n",
    "space in a field name": b"GET /fixed HTTP/1.1\r\nHost: x\r\nBad Field: y\r\n\r\n",
    "bad content-length": b"GET /fixed HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
    "chunked and content-length": (
        b"POST /fixed HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    # (The app does not read the body, so it is not left with a failed read.)
    "bad chunk size": (
        b"POST /fixed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
    ),
    "nul in a field": b"GET /fixed HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_request_is_400_and_the_server_carries_on(
    server: ServerProcess, data: bytes
) -> None:
    before = worker_pids(server, 2)
    with server.connect() as sock:
        sock.sendall(data)
        data_back = read_to_eof(sock)
    assert data_back.startswith(b"HTTP/1.1 400 "), data_back[:200]
    assert get(server, "/fixed").status == 200
    assert worker_pids(server, 2) == before


# -- flow control --------------------------------------------------------------


def test_big_upload_read_slowly_by_the_app() -> None:
    size = 20 * MB
    payload = (hashlib.sha256(b"seed").digest() * (size // 32 + 1))[:size]
    with running(APP, processes=1, threads=2) as srv:
        watch = LogWatch(srv)
        with srv.connect(timeout=60) as sock:
            sock.sendall(build("POST", "/upload?chunk=65536&delay=0.002", body=payload))
            response = next_response(Reader(sock))
        watch.check()
    assert response.status == 200
    seen = response.json()
    assert seen["length"] == size
    assert seen["sha256"] == hashlib.sha256(payload).hexdigest()
    growth = seen["hwm_growth_kb"] if seen["hwm_growth_kb"] is not None else seen["rss_growth_kb"]
    if growth is not None:
        assert growth < 8 * 1024, f"the worker's memory grew by {growth} kB for a 20 MB upload"


def test_big_download_read_slowly_by_the_client() -> None:
    size = 20 * MB
    expected = hashlib.sha256()
    for i in range(size // 65536):
        expected.update(download_block(i))
    with running(APP, processes=1, threads=2) as srv:
        watch = LogWatch(srv)
        with srv.connect(timeout=30) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            sock.sendall(build("GET", f"/download?size={size}"))
            data = b""
            while b"\r\n\r\n" not in data:
                part = sock.recv(65536)
                assert part, "closed before the response head"
                data += part
            head, _, body = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 ")
            headers = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:])
            pid = int(headers["X-Pid"])
            hwm_before = proc_kb(pid, "VmHWM")
            digest = hashlib.sha256(body)
            received = len(body)
            while received < size:
                part = sock.recv(65536)
                assert part, f"closed after {received} of {size} bytes"
                digest.update(part)
                received += len(part)
                time.sleep(0.0005)  # a slow reader: the server must wait for us
            hwm_after = proc_kb(pid, "VmHWM")
        watch.check()
    assert int(headers["Content-Length"]) == size
    assert received == size
    assert digest.hexdigest() == expected.hexdigest()
    if hwm_before is not None and hwm_after is not None:
        growth = hwm_after - hwm_before
        assert growth < 8 * 1024, f"the worker's memory grew by {growth} kB for a 20 MB download"
