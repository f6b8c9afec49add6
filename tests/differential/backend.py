"""A small HTTP/1.1 backend for the proxy topic (standard library only).

Threaded, one connection per thread, keep-alive. Every answer tells what
the backend received, so a case compares what each proxy passed on:

- any path not below: JSON of the method, the request target as sent, the
  header lines in order and the body (with the framing it came in);
- ``/stream?n=K&size=S``: K chunks of S bytes, a moment apart (chunked);
- ``/big?size=N``: N bytes with a Content-Length;
- ``/small-chunked``: a short body, chunked;
- ``/cookie``: Set-Cookie headers with Domain and Path;
- ``/hop-response``: hop-by-hop response headers among others;
- ``/both-framings``: a Content-Length and chunks at once;
- ``/noreason?code=N``: a status line with no reason phrase;
- ``/redirect``: Location, Content-Location and URI naming the backend;
- ``/stall?s=S``: answers after S seconds;
- ``/close``: closes the connection without an answer;
- ``/cut``: promises 1000 bytes, sends 10, closes;
- ``/ws``: a WebSocket echo (RFC 6455 handshake and framing, written here).

A request with ``Expect: 100-continue`` gets ``100 Continue`` before its body is
read, unless its target says ``nocontinue``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import socketserver
import struct
import tempfile
import threading
import time
from urllib.parse import parse_qs, urlsplit

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC11B85"


class _Conn:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def line(self) -> bytes | None:
        while b"\r\n" not in self.buf:
            if not self.fill():
                return None
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self.fill():
                raise ConnectionError("short body")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


class Handler(socketserver.BaseRequestHandler):
    server: Backend  # (or UnixBackend, whose address is no port: no /redirect there)

    def handle(self) -> None:
        conn = _Conn(self.request)
        try:
            while self.one(conn):
                pass
        except (ConnectionError, OSError):
            pass

    def one(self, conn: _Conn) -> bool:
        line = conn.line()
        if not line:
            return False
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: list[tuple[str, str]] = []
        while True:
            h = conn.line()
            if h is None:
                return False
            if not h:
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers.append((name, value.strip()))
        lower = {n.lower(): v for n, v in headers}
        if lower.get("expect", "").lower() == "100-continue" and "nocontinue" not in target:
            self.request.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        framing = "none"
        body = b""
        if lower.get("transfer-encoding", "").lower() == "chunked":
            framing = "chunked"
            while True:
                size = int((conn.line() or b"0").split(b";")[0], 16)
                if size == 0:
                    while conn.line():
                        pass
                    break
                body += conn.exactly(size)
                conn.exactly(2)
        elif "content-length" in lower:
            framing = "length"
            body = conn.exactly(int(lower["content-length"]))
        url = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path
        if path.endswith("/ws") and lower.get("upgrade", "").lower() == "websocket":
            self.websocket(conn, lower)
            return False
        if path.endswith("/close"):
            return False
        if path.endswith("/stall"):
            time.sleep(float(query.get("s", "5")))
            self.send(200, [("Content-Type", "text/plain")], b"late\n")
            return True
        if path.endswith("/cut"):
            self.request.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"
                + b"x" * 10
            )
            return False
        if path.endswith("/stream"):
            n, size = int(query.get("n", "5")), int(query.get("size", "1000"))
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
            self.request.sendall(head + b"\r\n")
            for i in range(n):
                piece = bytes([97 + i % 26]) * size
                self.request.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                time.sleep(0.01)
            self.request.sendall(b"0\r\n\r\n")
            return True
        if path.endswith("/small-chunked"):
            self.request.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                b"\r\n5\r\nhello\r\n0\r\n\r\n"
            )
            return True
        if path.endswith("/big"):
            size = int(query.get("size", "1000000"))
            pattern = bytes(range(256)) * (size // 256 + 1)
            self.send(200, [("Content-Type", "application/octet-stream")], pattern[:size])
            return True
        if path.endswith("/hop-response"):
            hop = [
                ("Content-Type", "text/plain"),
                ("Connection", "X-Secret"),
                ("X-Secret", "1"),
                ("Keep-Alive", "timeout=5"),
                ("Proxy-Connection", "keep-alive"),
                ("Upgrade", "h2c"),
                ("Trailer", "X-T"),
                ("X-Kept", "1"),
                ("X-Kept", "2"),
                ("Server", "backend/1.0"),
                ("Via", "1.1 inner"),
            ]
            self.send(200, hop, b"hop\n")
            return True
        if path.endswith("/noreason"):
            code = query.get("code", "200").encode()
            self.request.sendall(b"HTTP/1.1 " + code + b"\r\nContent-Length: 2\r\n\r\nno")
            return True
        if path.endswith("/both-framings"):
            self.request.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            )
            return True
        if path.endswith("/cookie"):
            cookies = [
                ("Set-Cookie", "a=1; Domain=backend.internal; Path=/inner/x; HttpOnly"),
                ("Set-Cookie", "b=2; path=/other; domain=BACKEND.internal"),
                ("Set-Cookie", "c=3; Path=/inner"),
                ("Set-Cookie", "d=4"),
            ]
            self.send(200, [("Content-Type", "text/plain"), *cookies], b"cookies\n")
            return True
        if path.endswith("/redirect"):
            me = f"http://127.0.0.1:{self.server.server_address[1]}"
            found = [
                ("Location", f"{me}/inner/landed?x=1"),
                ("Content-Location", f"{me}/inner/content"),
                ("URI", f"{me}/elsewhere/uri"),
            ]
            self.send(302, [("Content-Type", "text/plain"), *found], b"moved\n")
            return True
        info = {
            "method": method,
            "target": target,
            "headers": headers,
            "framing": framing,
            "body_length": len(body),
            "body_sha": hashlib.sha256(body).hexdigest()[:16],
        }
        payload = json.dumps(info, indent=1).encode()
        self.send(200, [("Content-Type", "application/json"), ("X-Backend", "yes")], payload)
        return lower.get("connection", "").lower() != "close"

    def send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        reason = {200: "OK", 302: "Found"}.get(status, "Status")
        lines = [f"HTTP/1.1 {status} {reason}", *(f"{n}: {v}" for n, v in headers)]
        lines.append(f"Content-Length: {len(body)}")
        self.request.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def websocket(self, conn: _Conn, lower: dict[str, str]) -> None:
        key = lower.get("sec-websocket-key", "").encode()
        accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()
        self.request.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        while True:
            frame = read_frame(conn)
            if frame is None:
                return
            opcode, payload = frame
            if opcode == 8:  # close: answer it and end
                self.request.sendall(make_frame(8, payload, mask=False))
                return
            self.request.sendall(make_frame(opcode, b"echo:" + payload, mask=False))


def make_frame(opcode: int, payload: bytes, mask: bool = True) -> bytes:
    """One final WebSocket frame (a client's is masked)."""
    head = bytes([0x80 | opcode])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = b"\x01\x02\x03\x04"
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def read_frame(conn: _Conn) -> tuple[int, bytes] | None:
    """The next frame's opcode and payload (unmasked); None at the end."""
    try:
        b0, b1 = conn.exactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", conn.exactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", conn.exactly(8))[0]
        key = conn.exactly(4) if b1 & 0x80 else b""
        payload = conn.exactly(n)
    except ConnectionError:
        return None
    if key:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return b0 & 0x0F, payload


class Backend(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> Backend:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class UnixBackend(socketserver.ThreadingUnixStreamServer):
    """The same answers on a Unix socket (ProxyPass unix:PATH|http://...), in a
    folder of its own that the servers' users (www-data) can reach."""

    daemon_threads = True

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="wsgihost-backend-")
        os.chmod(self.folder, 0o755)
        self.path = os.path.join(self.folder, "backend.sock")
        super().__init__(self.path, Handler)
        os.chmod(self.path, 0o777)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def start(self) -> UnixBackend:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        shutil.rmtree(self.folder, ignore_errors=True)


def dead_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    server = Backend()
    print(server.port, flush=True)
    server.serve_forever()
