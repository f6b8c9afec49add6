"""How a connection ends after its last response (or goes on after a body the
app left unread).

A client that said ``Connection: close`` and sent nothing more is let go at
once: the socket is closed whole, so the connection holds no slot and wakes no
worker again. Where the client may still be sending (bytes after its last
request, a body the app did not read), or the server chose to close, the server
closes in stages as Apache does: it stops writing, then reads and drops what
comes for up to 2 s, since closing with unread data makes the kernel send a
reset that can destroy the response before the client reads it.

Whether the server still reads is seen from the client: bytes it sends to a
socket closed whole bring a reset back; a lingering server takes them quietly.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import free_port, next_response, read_to_eof
from tests.functional.server import Reader, ServerProcess, serve

BIG = 8 << 20

APP = f"""\
import time


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/big":
        body = b"b" * {BIG}
    elif path == "/slow-unread":
        time.sleep(0.3)  # the body is left unread
        body = b"s" * {BIG // 2}
    else:
        body = b"answered " + environ["REQUEST_METHOD"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


def write_site(tmp_path: Path) -> Path:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "small.txt").write_text("a small file\n")
    script = tmp_path / "app.wsgi"
    script.write_text(APP)
    os.chmod(tmp_path, 0o755)
    return script


@pytest.fixture(params=["embedded", "daemon"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    script = write_site(tmp_path)
    srv = serve(script, "--url-alias", "/files", str(tmp_path / "files"), mode=request.param)
    try:
        yield srv
    finally:
        srv.close()


def reset_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server answers bytes sent after its close with a reset, within
    ``seconds`` (a lingering server drops them quietly for 2 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            sock.sendall(b"more\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return True
        time.sleep(0.05)
    return False


def body_of(answer: bytes) -> bytes:
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer[:200]
    return answer.split(b"\r\n\r\n", 1)[1]


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
        b"GET /files/small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ],
    ids=["close", "http10", "static"],
)
def test_a_client_that_asked_to_close_is_let_go_at_once(
    server: ServerProcess, request_bytes: bytes
) -> None:
    with server.connect() as sock:
        sock.sendall(request_bytes)
        answer = read_to_eof(sock)
        assert body_of(answer) in (b"answered GET", b"a small file\n")
        assert b"connection: close" in answer.lower()
        # Closed whole: nothing is read any more, so what comes is refused.
        assert reset_within(sock, 1.0)


CLOSE = b"Connection: close\r\n\r\n"
AGAIN = b"GET /again HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "body"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + CLOSE + AGAIN, b"answered GET"),
        # A file is answered before the rest of the packet is looked at.
        (b"GET /files/small.txt HTTP/1.1\r\nHost: x\r\n" + CLOSE + AGAIN, b"a small file\n"),
        # HTTP/0.9: the answer is the body alone, and nothing after the line is read.
        (b"GET /files/small.txt\r\n" + AGAIN, b"a small file\n"),
    ],
    ids=["app", "static", "http09"],
)
def test_bytes_after_the_last_request_do_not_cut_its_answer_short(
    server: ServerProcess, request_bytes: bytes, body: bytes
) -> None:
    with server.connect() as sock:
        # A client breaking its word: another request after its last, in the same packet.
        sock.sendall(request_bytes)
        answer = read_to_eof(sock)
        http09 = not request_bytes.split(b"\r\n", 1)[0].endswith(b"HTTP/1.1")
        assert (answer if http09 else body_of(answer)) == body
        assert answer.count(b"HTTP/1.1 ") <= 1
        # The server still reads and drops, so the client's bytes bring no reset.
        assert not reset_within(sock, 0.5)


def test_bytes_sent_while_a_long_answer_goes_out_do_not_cut_it_short(
    server: ServerProcess,
) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        first = sock.recv(1)  # the answer is made: most of it waits to go out
        sock.sendall(b"junk")
        time.sleep(0.3)  # (a reset now would throw away what is still to come)
        assert len(body_of(first + read_to_eof(sock, timeout=30))) == BIG


def test_a_body_the_app_left_unread_gets_a_lingering_close(server: ServerProcess) -> None:
    body = b"x" * (4 << 20)
    with server.connect() as sock:
        head = b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body))
        # The answer comes before the body is all sent; the client goes on
        # sending it, and a reset would destroy the answer in its buffer.
        sock.sendall(body)
        assert body_of(read_to_eof(sock)) == b"answered POST"


def test_bytes_sent_while_reading_is_paused_do_not_cut_the_answer_short(
    server: ServerProcess,
) -> None:
    body = b"x" * (100 << 10)
    with server.connect() as sock:
        head = b"POST /slow-unread HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        first = sock.recv(1)  # the app has answered, its body unread
        sock.sendall(b"junk")
        time.sleep(0.3)  # (a reset now would throw away what is still to come)
        assert len(body_of(first + read_to_eof(sock, timeout=30))) == BIG // 2


def test_a_close_the_server_chose_lingers(tmp_path: Path) -> None:
    """KeepAlive Off: the client did not ask to close and may have sent more."""
    script = write_site(tmp_path)
    conf = tmp_path / "site.conf"
    conf.write_text(
        f"Listen 127.0.0.1:${{PORT}}\nStartServers 1\nKeepAlive Off\nWSGIScriptAlias / {script}\n"
    )
    srv = ServerProcess(["serve", "--config", str(conf)], env={"PORT": str(free_port())})
    try:
        srv.wait_listening()
        with srv.connect() as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = read_to_eof(sock)
            assert body_of(answer) == b"answered GET"
            assert b"connection: close" in answer.lower()
            assert not reset_within(sock, 0.5)
    finally:
        srv.close()


def test_a_keepalive_connection_goes_on_after_a_big_body_the_app_left_unread(
    server: ServerProcess,
) -> None:
    """A body over the buffer's high-water mark that came whole while the app ran:
    the next request on the connection is still read."""
    body = b"x" * (256 << 10)
    with server.connect() as sock:
        reader = Reader(sock)
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        first = next_response(reader)
        assert (first.status, first.body) == (200, b"answered POST")
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        second = next_response(reader)
        assert (second.status, second.body) == (200, b"answered GET")
