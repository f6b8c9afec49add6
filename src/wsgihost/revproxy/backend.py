"""One HTTP/1.1 connection to a backend, on the worker's event loop.

A plain :class:`asyncio.Protocol` with a buffer of its own, so the handler can
ask both "what has arrived" (a whole small response goes out in one write,
with a Content-Length, as Apache's content-length filter gives it) and "wait
for more". Flow control both ways: reading stops while :data:`HIGH` bytes
wait here for a slow client, and a write waits while the backend's socket is
full. Every wait has the worker's timeout (ProxyTimeout): past it,
:class:`TimeoutError`.

The response parser is strict where it matters (a status line, header lines
with a colon, one framing) and reads HTTP/1.1 bodies by Content-Length,
chunks, or to the connection's end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

HIGH = 1024 * 1024  # response bytes held for the client before we stop reading
LOW = 256 * 1024
MAX_HEAD = 64 * 1024  # a response head larger than this is a 502


class BadResponse(Exception):
    """The backend's answer cannot be read as HTTP/1.1 (``partial``: it was cut short)."""

    def __init__(self, message: str, partial: bool = False) -> None:
        super().__init__(message)
        self.partial = partial
        self.nothing = False


class Backend(asyncio.Protocol):
    """The loop side of one backend connection."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.eof = False  # the backend has finished sending (or the connection is gone)
        self.lost = False
        self.reading_paused = False
        self.write_paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        # Once the connection is a tunnel (tunnel.py): where its bytes go (b"" at the
        # end), and what to call when a full socket has room again.
        self.on_data: Callable[[bytes], None] | None = None
        self.on_drain: Callable[[], None] | None = None

    # -- transport events --------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tr: asyncio.Transport = transport  # type: ignore[assignment]
        self.transport = tr
        tr.set_write_buffer_limits(high=256 * 1024)

    def data_received(self, data: bytes) -> None:
        if self.on_data is not None:
            self.on_data(data)
            return
        self.buf += data
        if len(self.buf) > HIGH and not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        if self.on_data is not None:
            self.on_data(b"")
        self.eof = True
        self._wake()
        return True  # keep our side open: a request body may still be going out

    def connection_lost(self, exc: Exception | None) -> None:
        if self.on_data is not None:
            self.on_data(b"")
        self.eof = self.lost = True
        self._wake()
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_result(None)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.on_drain is not None:
            self.on_drain()
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_result(None)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- reading -----------------------------------------------------------------

    @property
    def reusable(self) -> bool:
        """Idle, open, and nothing unexpected has arrived on it."""
        tr = self.transport
        return not self.eof and not self.buf and tr is not None and not tr.is_closing()

    async def more(self, timeout: float) -> bool:
        """Wait for more bytes; False at the backend's end. TimeoutError past ``timeout``."""
        if self.eof:
            return False
        if self.reading_paused and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()
        have = len(self.buf)
        waiter = self._waiter = self.loop.create_future()
        # A plain timer, not asyncio.timeout(): this wait happens several times a request.
        timer = self.loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
        return len(self.buf) > have or not self.eof

    def take(self, n: int) -> bytes:
        data = bytes(self.buf[:n])
        del self.buf[:n]
        if self.reading_paused and len(self.buf) < LOW and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()
        return data

    # -- writing -----------------------------------------------------------------

    async def write(self, data: bytes, timeout: float) -> bool:
        """Send ``data``, waiting while the backend's socket is full; False if it is gone."""
        tr = self.transport
        if tr is None or self.lost or tr.is_closing():
            return False
        tr.write(data)
        if self.write_paused:
            self._drain = self.loop.create_future()
            try:
                async with asyncio.timeout(timeout):
                    await self._drain
            finally:
                self._drain = None
        return not self.lost

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.eof = True


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class Head:
    """A response head: status code, reason, headers as received (text, latin-1)."""

    __slots__ = ("code", "headers", "reason", "version")

    def __init__(self, version: str, code: int, reason: str, headers: list[tuple[str, str]]):
        self.version = version
        self.code = code
        self.reason = reason
        self.headers = headers

    def get(self, name: str) -> str | None:
        key = name.lower()
        found = [v for n, v in self.headers if n.lower() == key]
        return ", ".join(found) if found else None


def parse_head(raw: bytes) -> Head:
    """A response head (status line and fields, without the blank line)."""
    lines = raw.decode("latin-1").replace("\r\n", "\n").split("\n")
    status = lines[0]
    parts = status.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise BadResponse(f"bad status line {status[:80]!r}")
    code = int(parts[1])
    if not 100 <= code <= 999:
        raise BadResponse(f"bad status {parts[1]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t" and headers:  # obsolete folding: joined, as Apache does
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise BadResponse(f"bad header line {line[:80]!r}")
        headers.append((name, value.strip(" \t")))
    return Head(parts[0], code, parts[2] if len(parts) > 2 else "", headers)


async def read_head(
    conn: Backend,
    timeout: float,
    interim: bool = False,
    busy: Callable[[], bool] | None = None,
) -> Head:
    """The next final response head (1xx interim ones skipped, except 101; with
    ``interim``, a 100 Continue too). While ``busy()`` (a body still going out),
    the timeout starts again instead of ending the wait."""
    while True:
        while True:
            end = conn.buf.find(b"\r\n\r\n")
            cut = 4
            if end == -1:
                end = conn.buf.find(b"\n\n")
                cut = 2
            if end != -1:
                break
            if len(conn.buf) > MAX_HEAD:
                raise BadResponse("response head too large")
            try:
                got = await conn.more(timeout)
            except TimeoutError:
                if busy is not None and busy():
                    continue
                raise
            if not got:
                gone = BadResponse("the backend closed the connection before a response")
                gone.nothing = not conn.buf  # not a byte: an idle connection it had closed
                raise gone
        head = parse_head(conn.take(end + cut)[:end])
        if head.code >= 200 or head.code == 101 or (interim and head.code == 100):
            return head


class Body:
    """Reads a response body as it is framed: length, chunks, or until the end."""

    def __init__(self, conn: Backend, head: Head, is_head: bool) -> None:
        self.conn = conn
        coding = (head.get("transfer-encoding") or "").lower()
        length = head.get("content-length")
        self.chunked = coding.split(",")[-1].strip() == "chunked"
        self.left = -1  # bytes of a length-framed body (or of the current chunk) to come
        self.done = False
        self.keep = head.version == "HTTP/1.1"
        connection = (head.get("connection") or "").lower()
        if "close" in connection:
            self.keep = False
        elif "keep-alive" in connection:
            self.keep = True
        if is_head or head.code in (204, 304) or head.code < 200:
            self.done = True
        elif self.chunked:
            self.left = 0
            self.state = "size"
        elif coding:
            raise BadResponse(f"unknown Transfer-Encoding {coding!r}")
        elif length is not None:
            if not length.strip().isdigit():
                raise BadResponse(f"bad Content-Length {length!r}")
            self.left = int(length.strip())
            self.done = self.left == 0
        else:
            self.keep = False  # delimited by the connection's end
        self.state = "size" if self.chunked else "data"

    def ready(self) -> bytes:
        """The body bytes already here, without waiting (b"" if none)."""
        conn = self.conn
        if self.done:
            return b""
        if not self.chunked:
            if self.left < 0:
                return conn.take(len(conn.buf))
            data = conn.take(min(self.left, len(conn.buf)))
            self.left -= len(data)
            self.done = self.left == 0
            return data
        out: list[bytes] = []
        while not self.done:
            if self.state == "data":
                data = conn.take(min(self.left, len(conn.buf)))
                if not data:
                    break
                out.append(data)
                self.left -= len(data)
                if self.left == 0:
                    self.state = "crlf"
                continue
            end = conn.buf.find(b"\n")
            if end == -1:
                if len(conn.buf) > 8192:
                    raise BadResponse("chunk line too long")
                break
            line = conn.take(end + 1).rstrip(b"\r\n")
            if self.state == "crlf":
                if line:
                    raise BadResponse("chunk data not followed by CRLF")
                self.state = "size"
            elif self.state == "size":
                size = line.split(b";", 1)[0].strip()
                try:
                    self.left = int(size, 16)
                except ValueError:
                    raise BadResponse(f"bad chunk size {size[:20]!r}") from None
                self.state = "data" if self.left else "trailer"
            elif not line:  # the end of the trailer section
                self.done = True
        return b"".join(out)

    async def next(self, timeout: float) -> bytes | None:
        """The next piece of the body; None at its end. BadResponse if cut short."""
        while True:
            data = self.ready()
            if data:
                return data
            if self.done:
                return None
            if not await self.conn.more(timeout):
                if self.left < 0 and not self.chunked:
                    self.done = True  # a body delimited by the end: this is it
                    return None
                raise BadResponse(
                    "the backend closed the connection in the middle of the body", True
                )
