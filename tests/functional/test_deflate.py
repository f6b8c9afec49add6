"""DEFLATE in a running server: a large compressed stream to a slow client, in both
modes. The server compresses as the app produces, at the client's pace: the app is
held back while the client does not read (a hard-to-compress body, whose
compressed stream is as large as the body), and a front-end worker's memory does
not grow with the stream (an easy one, which zlib shrinks a thousandfold, so the
client takes in a large body quickly); every byte inflates back in order."""

from __future__ import annotations

import hashlib
import random
import socket
import time
import zlib
from collections.abc import Iterator

import pytest

from tests.functional.helpers import free_port, get, members, proc_kb, wait_for
from tests.functional.server import ServerProcess

pytestmark = pytest.mark.slow

MB = 1 << 20
BLOCK = 65536

APP = """\
import random
import threading
import time
from urllib.parse import parse_qs

BLOCK = 65536
_rng = random.Random(7)
NOISY = [_rng.randbytes(BLOCK) for _ in range(4)]  # repeats lie past zlib's window
_produced = {}
_lock = threading.Lock()


def block(i, noisy):
    if noisy:
        return NOISY[i % 4]
    return (b"block %08d|" % i + b"x" * BLOCK)[:BLOCK]


def application(environ, start_response):
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if environ["PATH_INFO"] == "/produced":
        with _lock:
            body = str(_produced.get(query["id"], -1)).encode()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [body]
    if environ["PATH_INFO"] == "/pause":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def pieces():
            yield b"the first piece, at once\\n" * 20
            time.sleep(3)
            yield b"the second, three seconds later\\n"

        return pieces()
    stream, size, noisy = query["id"], int(query["size"]), query.get("noisy") == "1"
    start_response("200 OK", [("Content-Type", "text/plain")])

    def blocks():
        for i in range(size // BLOCK):
            with _lock:
                _produced[stream] = (i + 1) * BLOCK  # counted before the server takes it
            yield block(i, noisy)

    return blocks()
"""


def expected(size: int, noisy: bool) -> str:
    rng = random.Random(7)
    pool = [rng.randbytes(BLOCK) for _ in range(4)]
    digest = hashlib.sha256()
    for i in range(size // BLOCK):
        digest.update(pool[i % 4] if noisy else (b"block %08d|" % i + b"x" * BLOCK)[:BLOCK])
    return digest.hexdigest()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("deflate")
    (root / "app.wsgi").write_text(APP)
    port = free_port()
    conf = root / "site.conf"
    conf.write_text(
        f"""\
Listen 127.0.0.1:{port}
ServerName deflate.test
ErrorLog {root}/error.log
StartServers 1
WSGIDaemonProcess squeeze processes=1 threads=4
WSGIScriptAlias /e {root}/app.wsgi
WSGIScriptAlias /d {root}/app.wsgi process-group=squeeze
<Directory {root}>
    Require all granted
</Directory>
AddOutputFilterByType DEFLATE text/plain
"""
    )
    proc = ServerProcess(["serve", "--config", str(conf)])
    try:
        proc.wait_listening()
        yield proc
    finally:
        proc.close()


class Inflating:
    """A chunked gzip body read off a socket, inflated and hashed as it comes."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.inflate = zlib.decompressobj(31)
        self.digest = hashlib.sha256()
        self.wire = 0
        self.size = 0
        self.done = False

    def _more(self, limit: int) -> None:
        data = self.sock.recv(limit)
        assert data, "closed inside the body"
        self.wire += len(data)
        self.buf += data

    def head(self) -> bytes:
        while b"\r\n\r\n" not in self.buf:
            self._more(65536)
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        return head.lower()

    def chunk(self, limit: int = 256 * 1024) -> None:
        while b"\r\n" not in self.buf:
            self._more(limit)
        line, _, self.buf = self.buf.partition(b"\r\n")
        length = int(line, 16)
        while len(self.buf) < length + 2:
            self._more(limit)
        plain = self.inflate.decompress(self.buf[:length])
        self.buf = self.buf[length + 2 :]
        if length == 0:
            plain += self.inflate.flush()
            self.done = True
        self.digest.update(plain)
        self.size += len(plain)


def stream(server: ServerProcess, prefix: str, name: str, size: int, noisy: bool) -> Inflating:
    sock = socket.create_connection((server.host, server.port), timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    target = f"{prefix}/stream?id={name}&size={size}&noisy={int(noisy)}"
    sock.sendall(
        f"GET {target} HTTP/1.1\r\nHost: deflate.test\r\nAccept-Encoding: gzip\r\n\r\n".encode()
    )
    body = Inflating(sock)
    head = body.head()
    assert head.startswith(b"http/1.1 200 ")
    assert b"content-encoding: gzip" in head and b"transfer-encoding: chunked" in head
    return body


@pytest.mark.parametrize("prefix", ["/e", "/d"])
def test_a_slow_reader_of_a_compressed_stream_holds_the_app_back(
    server: ServerProcess, prefix: str
) -> None:
    size = 64 * MB
    body = stream(server, prefix, f"held{prefix[1]}", size, noisy=True)
    with body.sock:
        until = time.monotonic() + 2.0
        while time.monotonic() < until:  # about 1.5 MB/s: far slower than the app
            body.chunk(16 * 1024)
            time.sleep(0.01)
        time.sleep(0.5)
        produced = int(get(server, f"{prefix}/produced?id=held{prefix[1]}").body)
        # What sits between: the server's windows and the kernel's buffers, a few MB.
        assert produced < body.size + 24 * MB, (produced, body.size)
        while not body.done:
            body.chunk()
    assert body.size == size
    assert body.digest.hexdigest() == expected(size, noisy=True)


@pytest.mark.parametrize("prefix", ["/e", "/d"])
def test_compressing_a_large_stream_keeps_memory_flat(server: ServerProcess, prefix: str) -> None:
    fronts = wait_for(
        lambda: [p for p, kind in members(server.proc.pid).items() if kind == "front"],
        10,
        "the front-end workers",
    )
    warm = stream(server, prefix, "warm", 4 * MB, noisy=False)
    with warm.sock:
        while not warm.done:
            warm.chunk()
    peak0 = {pid: proc_kb(pid, "VmHWM") or 0 for pid in fronts}
    size = 512 * MB
    body = stream(server, prefix, f"flat{prefix[1]}", size, noisy=False)
    with body.sock:
        while not body.done:
            body.chunk(8 * 1024)
    assert body.size == size
    assert body.digest.hexdigest() == expected(size, noisy=False)
    assert body.wire < size // 100  # it was compressed indeed
    growth = max((proc_kb(pid, "VmHWM") or 0) - kb for pid, kb in peak0.items())
    assert growth < 16 * 1024, f"a front-end worker's peak memory grew by {growth} kB"


@pytest.mark.parametrize("prefix", ["/e", "/d"])
def test_each_piece_an_app_yields_reaches_the_client_when_yielded(
    server: ServerProcess, prefix: str
) -> None:
    """mod_wsgi flushes each piece and mod_deflate flushes zlib with it: a streaming
    app's client can read a piece while the app is still working on the next."""
    sock = socket.create_connection((server.host, server.port), timeout=30)
    sock.sendall(
        f"GET {prefix}/pause HTTP/1.1\r\nHost: deflate.test\r\nAccept-Encoding: gzip\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    body = Inflating(sock)
    with sock:
        assert b"content-encoding: gzip" in body.head()
        began = time.monotonic()
        while body.size < 20 * 25:
            body.chunk()
        assert time.monotonic() - began < 2.0, "the first piece waited for the second"
        while not body.done:
            body.chunk()
    assert body.size == 20 * 25 + 32
