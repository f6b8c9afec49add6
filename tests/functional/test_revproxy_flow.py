"""ProxyPass streams with flow control both ways, in a real server.

A backend the test runs on a thread either floods a response to a client that
does not read, or does not read a request body a client floods: in both
cases the side that sends is held back after a few megabytes (what the
kernel's socket buffers and the proxy's window hold), instead of the proxy
reading everything into memory; then the reader catches up and every byte
arrives, in order.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import free_port
from tests.functional.server import ServerProcess

TOTAL = 96 * 1024 * 1024
HELD = 40 * 1024 * 1024  # far below TOTAL: what buffers may hold on the way
BLOCK = bytes(range(256)) * 256  # 64 KiB


class FloodBackend:
    """One connection at a time: ``/down`` floods TOTAL bytes, ``/up`` reads a body
    only when ``release`` is set. ``sent`` and ``received`` count the bytes."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.sent = 0
        self.received = 0
        self.digest = ""
        self.release = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    self.one(conn)
                except OSError:
                    pass  # the proxy closed its end: a test that failed, or ended early

    def one(self, conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            data = conn.recv(65536)
            if not data:
                return
            head += data
        head, _, rest = head.partition(b"\r\n\r\n")
        if head.startswith(b"GET /down"):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % TOTAL)
            for _ in range(TOTAL // len(BLOCK)):
                conn.sendall(BLOCK)
                self.sent += len(BLOCK)
            return
        self.release.wait(30)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        digest = hashlib.sha256(rest)
        got = len(rest)
        while got < length:
            data = conn.recv(1 << 20)
            if not data:
                break
            digest.update(data)
            got += len(data)
            self.received = got
        self.digest = digest.hexdigest()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def close(self) -> None:
        self.release.set()
        self.sock.close()


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[ServerProcess, FloodBackend]]:
    backend = FloodBackend()
    port = free_port()
    conf = tmp_path / "site.conf"
    conf.write_text(
        f"Listen 127.0.0.1:{port}\nServerName proxy.test\nStartServers 1\n"
        f"ErrorLog {tmp_path}/error.log\nLogLevel info\n"
        f"ProxyPass /flood/ http://127.0.0.1:{backend.port}/\n"
    )
    server = ServerProcess(["serve", "--config", str(conf)])
    try:
        server.wait_listening()
        yield server, backend
    finally:
        server.close()
        backend.close()


def _head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        assert more, data
        data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def test_a_client_that_does_not_read_holds_the_backend_back(
    proxied: tuple[ServerProcess, FloodBackend],
) -> None:
    server, backend = proxied
    with server.connect() as sock:
        sock.sendall(b"GET /flood/down HTTP/1.1\r\nHost: proxy.test\r\n\r\n")
        head, rest = _head(sock)
        assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: %d" % TOTAL in head
        time.sleep(2.0)  # the client reads nothing meanwhile
        held = backend.sent
        assert held < HELD, f"the backend sent {held} bytes to a client that read none"
        got = len(rest)
        digest = hashlib.sha256(rest)
        while got < TOTAL:
            data = sock.recv(1 << 20)
            assert data, f"cut short at {got}"
            digest.update(data)
            got += len(data)
    expected = hashlib.sha256(BLOCK * (TOTAL // len(BLOCK))).hexdigest()
    assert (got, digest.hexdigest()) == (TOTAL, expected)


def test_a_backend_that_does_not_read_holds_the_client_back(
    proxied: tuple[ServerProcess, FloodBackend],
) -> None:
    server, backend = proxied
    with server.connect() as sock:
        sock.sendall(
            b"POST /flood/up HTTP/1.1\r\nHost: proxy.test\r\nContent-Length: %d\r\n\r\n" % TOTAL
        )
        sock.settimeout(2.0)
        pushed = 0
        try:
            while pushed < TOTAL:
                pushed += sock.send(BLOCK)
        except TimeoutError:
            pass  # the proxy stopped taking the body: the backend does not read it
        assert pushed < HELD, f"the proxy took {pushed} bytes of a body nobody read"
        backend.release.set()
        sock.settimeout(30.0)
        while pushed < TOTAL:
            pushed += sock.send(BLOCK)
        head, rest = _head(sock)
    assert head.startswith(b"HTTP/1.1 200") and rest == b"ok"
    assert backend.received == TOTAL
    assert backend.digest == hashlib.sha256(BLOCK * (TOTAL // len(BLOCK))).hexdigest()


def test_a_slow_upload_longer_than_the_proxy_timeout_still_gets_its_answer(
    tmp_path: Path,
) -> None:
    """ProxyTimeout bounds each wait on the backend, not the client's upload: the
    wait for the answer starts once the body is through (as Apache sends the body
    before it reads the answer)."""
    backend = FloodBackend()
    backend.release.set()
    port = free_port()
    conf = tmp_path / "site.conf"
    conf.write_text(
        f"Listen 127.0.0.1:{port}\nServerName proxy.test\nStartServers 1\n"
        f"ErrorLog {tmp_path}/error.log\nProxyTimeout 1\n"
        f"ProxyPass /flood/ http://127.0.0.1:{backend.port}/\n"
    )
    server = ServerProcess(["serve", "--config", str(conf)])
    try:
        server.wait_listening()
        with server.connect() as sock:
            body = BLOCK * 4
            sock.sendall(
                b"POST /flood/up HTTP/1.1\r\nHost: proxy.test\r\nContent-Length: %d\r\n\r\n"
                % len(body)
            )
            for i in range(4):  # 2.4 s in all, past the 1 s ProxyTimeout
                sock.sendall(body[i * len(BLOCK) : (i + 1) * len(BLOCK)])
                time.sleep(0.6)
            head, rest = _head(sock)
        assert head.startswith(b"HTTP/1.1 200"), head
        assert rest == b"ok"
        assert backend.received == len(body)
    finally:
        server.close()
        backend.close()
