"""A connection's last response, written by the thread that ran its app.

In embedded mode, a response after which the connection closes (the client
said ``Connection: close``, or spoke HTTP/1.0 without keep-alive) is written
by the pool thread that ran the app, on a duplicate of the socket that the
event loop lends it (``Connection.lend_socket``). The rest goes on as for any
response: what does not fit goes out through the loop, the access log has its
line, the connection closes. None of that may show: the answers, the log and
the worker's open files must be what they would be if the loop had written
them.
"""

from __future__ import annotations

import gzip
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import free_port, read_to_eof, wait_for, worker_pids
from tests.functional.server import Reader, ServerProcess

BIG = 6 << 20

APP = f"""\
import time


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/big":
        body = b"b" * {BIG}
    elif path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"one ", b"two ", b"three"])
    elif path == "/fail":
        raise RuntimeError("the app failed")
    elif path == "/bad-header":
        start_response("200 OK", [("X-Bad", "a\\r\\nb")])
        return [b"never sent"]
    elif path == "/page":
        body = b"<p>" + b"a paragraph of the page. " * 400 + b"</p>"
        headers = [("Content-Type", "text/html"), ("Content-Length", str(len(body)))]
        start_response("200 OK", headers)
        return [body]
    elif path == "/slow":
        time.sleep(0.3)
        body = b"late"
    else:
        body = b"answered " + environ["REQUEST_METHOD"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""

CLOSE = "Host: x\r\nConnection: close\r\n\r\n"
FILE = bytes(range(256)) * 4096  # 1 MiB: sent by a pool thread with sendfile


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    script = tmp_path / "app.wsgi"
    script.write_text(APP)
    log = tmp_path / "access.log"
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "big.bin").write_bytes(FILE)
    conf = tmp_path / "site.conf"
    conf.write_text(
        "Listen 127.0.0.1:${PORT}\n"
        "StartServers 1\n"
        f"ErrorLog {tmp_path}/error.log\n"
        'LogFormat "%r|%>s|%b|%O" bytes\n'
        f"CustomLog {log} bytes\n"
        f"Alias /files/ {tmp_path}/files/\n"
        f"WSGIScriptAlias / {script}\n"
        # Modules whose hooks change the head and the body on their way out.
        'Header set X-Method "expr=%{REQUEST_METHOD}"\n'
        "AddOutputFilterByType DEFLATE text/html\n"
    )
    os.chmod(tmp_path, 0o755)
    srv = ServerProcess(["serve", "--config", str(conf)], env={"PORT": str(free_port())})
    try:
        yield srv.wait_listening(), log
    finally:
        srv.close()


def ask(server: ServerProcess, head: str) -> bytes:
    with server.connect() as sock:
        sock.sendall(head.encode())
        return read_to_eof(sock)


def logged(log: Path, count: int) -> list[list[str]]:
    def lines() -> list[list[str]] | None:
        text = log.read_text() if log.exists() else ""
        found = [line.split("|") for line in text.splitlines()]
        return found if len(found) >= count else None

    return wait_for(lines, 10.0, f"{count} access-log lines")


def test_the_last_response_is_whole_and_logged_as_sent(
    site: tuple[ServerProcess, Path],
) -> None:
    server, log = site
    asked = [
        ("GET / HTTP/1.1\r\n" + CLOSE, 200, b"answered GET"),
        ("GET / HTTP/1.0\r\n\r\n", 200, b"answered GET"),
        ("HEAD / HTTP/1.1\r\n" + CLOSE, 200, b""),
        ("GET /stream HTTP/1.1\r\n" + CLOSE, 200, b"one two three"),
        ("GET /big HTTP/1.1\r\n" + CLOSE, 200, b"b" * BIG),
        ("GET /fail HTTP/1.1\r\n" + CLOSE, 500, None),
        ("GET /bad-header HTTP/1.1\r\n" + CLOSE, 500, None),
    ]
    answers = []
    for head, status, body in asked:
        answer = ask(server, head)
        answers.append(answer)
        assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:200]
        raw_head, _, got = answer.partition(b"\r\n\r\n")
        assert b"\r\nconnection: close" in raw_head.lower()
        if b"transfer-encoding: chunked" in raw_head.lower():
            got = b"".join(got.split(b"\r\n")[1::2])
        if body is not None:
            assert got == body
        assert b"never sent" not in answer
    lines = logged(log, len(asked))
    for (head, status, body), answer, line in zip(asked, answers, lines, strict=True):
        assert line[0] == head.split("\r\n")[0]
        assert line[1] == str(status)
        # %O: every byte the client received, head and framing included.
        assert int(line[3]) == len(answer), (line, len(answer))
        if body:
            assert line[2] == str(len(body))


def test_the_modules_change_a_last_response_as_any_other(
    site: tuple[ServerProcess, Path],
) -> None:
    """mod_headers and DEFLATE run on the last response too, wherever it is written."""
    server, _ = site
    for closing in (True, False):
        with server.connect() as sock:
            sock.sendall(
                b"GET /page HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n"
                + (b"Connection: close\r\n" if closing else b"")
                + b"\r\n"
            )
            if not closing:
                sock.shutdown(socket.SHUT_WR)  # no more requests: the server closes after this
            answer = read_to_eof(sock)
        head, _, body = answer.partition(b"\r\n\r\n")
        fields = head.lower().split(b"\r\n")
        assert b"x-method: get" in fields
        assert b"content-encoding: gzip" in fields
        if b"transfer-encoding: chunked" in fields:
            body = dechunk(body)
        assert gzip.decompress(body) == b"<p>" + b"a paragraph of the page. " * 400 + b"</p>"


def dechunk(body: bytes) -> bytes:
    data = b""
    while True:
        line, _, body = body.partition(b"\r\n")
        size = int(line, 16)
        if size == 0:
            assert body == b"\r\n"
            return data
        data, body = data + body[:size], body[size + 2 :]


def test_a_slow_reader_gets_all_of_a_big_last_response(site: tuple[ServerProcess, Path]) -> None:
    """Most of it does not fit in the socket at once: the loop sends the rest."""
    server, _ = site
    with server.connect() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        sock.sendall(b"GET /big HTTP/1.1\r\n" + CLOSE.encode())
        time.sleep(0.5)  # the app has answered; the kernel holds what fits
        answer = read_to_eof(sock, timeout=30)
    assert answer.split(b"\r\n\r\n", 1)[1] == b"b" * BIG


def test_a_last_request_after_a_big_answer_waits_its_turn(
    site: tuple[ServerProcess, Path],
) -> None:
    """A close request pipelined behind a big keep-alive answer still being sent:
    its answer comes after the big one, whole, never inside it."""
    server, _ = site
    with server.connect() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n" + CLOSE.encode())
        received = b""
        sock.settimeout(10)
        while len(received) < BIG // 2:
            received += sock.recv(16384)
            time.sleep(0.0005)  # a reader slower than the server
        answer = received + read_to_eof(sock, timeout=30)
    first_head, _, rest = answer.partition(b"\r\n\r\n")
    assert first_head.startswith(b"HTTP/1.1 200 ")
    assert rest[:BIG] == b"b" * BIG
    second = rest[BIG:]
    assert second.startswith(b"HTTP/1.1 200 ")
    assert second.endswith(b"\r\n\r\nanswered GET")


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_no_lent_socket_outlives_its_request(site: tuple[ServerProcess, Path]) -> None:
    """Answers of every kind, and clients that go before theirs: the worker ends
    with the descriptors it had."""
    server, _ = site
    (worker,) = worker_pids(server, 1)
    assert ask(server, "GET / HTTP/1.1\r\n" + CLOSE).endswith(b"answered GET")
    before = open_files(worker)
    for _ in range(5):
        for path in ("/", "/stream", "/fail", "/bad-header", "/big"):
            ask(server, f"GET {path} HTTP/1.1\r\n" + CLOSE)
        # A client that does not wait for its answer.
        sock = server.connect()
        sock.sendall(b"GET /slow HTTP/1.1\r\n" + CLOSE.encode())
        sock.close()
        # ... and one that resets its connection.
        sock = server.connect()
        sock.sendall(b"GET /slow HTTP/1.1\r\n" + CLOSE.encode())
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
        # A large file (a pool thread sendfile's it on a duplicate of the socket
        # too): twice on one connection, then to a client that resets in the
        # middle of it.
        with server.connect() as sock:
            reader = Reader(sock)
            for _ in range(2):
                sock.sendall(b"GET /files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
                assert reader.response()[2] == FILE
        sock = server.connect()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /files/big.bin HTTP/1.1\r\n" + CLOSE.encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    time.sleep(0.4)  # the slow apps end
    wait_for(
        lambda: open_files(worker) <= before or None,
        10.0,
        f"the worker's open files back to {before} (now {open_files(worker)})",
    )
    # And it still answers.
    assert ask(server, "GET / HTTP/1.1\r\n" + CLOSE).endswith(b"answered GET")
