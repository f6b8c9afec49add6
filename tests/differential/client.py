"""A raw-socket HTTP client that keeps what a comparison needs: every header line
in order (repeated ``Set-Cookie`` included) and how the body was framed."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

from tests.differential.servers import Server


@dataclass
class Answer:
    status: int
    reason: str
    headers: list[tuple[str, str]]  # names in lower case, in the order sent
    body: bytes
    framing: str  # "length", "chunked", "close" (read to EOF) or "none" (no body allowed)

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n == name]


class Conn:
    """One client connection; ``answer()`` reads the next response on it."""

    def __init__(
        self, server: Server, rcvbuf: int = 0, timeout: float = 30.0, source: str = ""
    ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if source:
            # Another client address (127.0.0.2, ...) for rules that tell clients apart.
            self.sock.bind((source, 0))
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(("127.0.0.1", server.port))
        except BaseException:
            self.sock.close()
            raise
        self.buf = b""
        self.pause = 0.0  # seconds to sleep after each read: a slow client
        self.read_size = 65536

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self, what: str) -> bool:
        data = self.sock.recv(self.read_size)
        if self.pause:
            time.sleep(self.pause)
        if not data:
            return False
        self.buf += data
        return True

    def _need(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._more("body"):
                raise ConnectionError(f"closed inside a body: {len(self.buf)} of {n} bytes")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._more("chunk"):
                raise ConnectionError(f"closed inside a chunked body: {self.buf[:80]!r}")
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def answer(self, head_only: bool = False) -> Answer:
        while b"\r\n\r\n" not in self.buf:
            if not self._more("head"):
                raise ConnectionError(f"closed before a response head: {self.buf[:200]!r}")
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        _version, _, rest = lines[0].partition(" ")
        code, _, reason = rest.partition(" ")
        status = int(code)
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip().lower(), value.strip()))
        names = {n for n, _ in headers}
        if head_only or status < 200 or status in (204, 304):
            return Answer(status, reason, headers, b"", "none")
        if "transfer-encoding" in names:
            body = bytearray()
            while True:
                size = int(self._line().split(b";")[0], 16)
                body += self._need(size)
                if size == 0:
                    while self._line():  # trailer section, up to its empty line
                        pass
                    return Answer(status, reason, headers, bytes(body), "chunked")
                self._need(2)
        if "content-length" in names:
            length = int(dict(headers)["content-length"])
            return Answer(status, reason, headers, self._need(length), "length")
        while self._more("body"):
            pass
        body, self.buf = self.buf, b""
        return Answer(status, reason, headers, body, "close")


def request(
    server: Server,
    method: str,
    target: str,
    host: str,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    version: str = "HTTP/1.1",
) -> bytes:
    """The bytes of one request. ``host`` may hold ``{port}``, the server's port
    (browsers send it, so mod_wsgi's values that include it are comparable)."""
    lines = [f"{method} {target} {version}", f"Host: {host.format(port=server.port)}"]
    given = headers or []
    lines += [f"{n}: {v}" for n, v in given]
    names = {n.lower() for n, _ in given}
    if body and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
