"""The front end's connections to daemon process groups (on the worker's loop).

A connection carries one exchange at a time (:mod:`wsgihost.daemon.protocol`);
:class:`Pool` keeps the idle ones, per group socket, between requests.
:func:`connect` makes a new one with a plain non-blocking ``connect``,
retried with back-off, since a full backlog answers EAGAIN (asyncio's own
connect can report success against it). :mod:`.proxy` and :mod:`.fastpath`
use them to pass requests on.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

from wsgihost.daemon.protocol import NEED_DATA, Channel, Event, ProtocolError

READ_SIZE = 256 * 1024
# Response bytes of one request read from its daemon and not yet written to
# the client, past which we stop reading the daemon (a group's
# response-buffer-size, when given, instead). With the transport's own
# high-water mark and one frame in hand, a slow reader costs us about 1.3 MiB,
# whatever the size of the response (mod_wsgi's Apache child holds a few
# socket buffers; a larger window keeps a fast client's pipe full).
WINDOW = 1024 * 1024
# Every read goes into this one buffer and is copied once, into the channel:
# a fresh 256 KiB bytes object per read would cost glibc an mmap, an mremap
# and a munmap each time (it is above malloc's mmap threshold). One worker
# process, one loop thread: nothing else touches it.
_READ_BUFFER = memoryview(bytearray(READ_SIZE))


def _recv(sock: socket.socket) -> memoryview:
    """What the socket has (at most READ_SIZE bytes), valid until the next call."""
    n = sock.recv_into(_READ_BUFFER)
    return _READ_BUFFER[:n]


class Unavailable(Exception):
    """The group cannot take the request now: answer 503."""


async def connect(path: str, until: float) -> socket.socket:
    """A connected UNIX socket, retrying a full backlog with back-off until ``until``."""
    delay = 0.001
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.connect(path)
            return sock
        except (BlockingIOError, InterruptedError, ConnectionRefusedError, FileNotFoundError):
            sock.close()
        except BaseException:
            sock.close()
            raise
        if time.monotonic() + delay > until:
            raise Unavailable(f"cannot connect to {path} in time")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)


class Pool:
    """Idle connections to each group socket, most recently used first.

    One per front-end process (a worker has one event loop); only touched
    from the loop.
    """

    def __init__(self) -> None:
        self.idle: dict[str, list[DaemonExchange]] = {}

    def take(self, path: str) -> DaemonExchange | None:
        stack = self.idle.get(path)
        while stack:
            exchange = stack.pop()
            exchange.parked_in = None
            if exchange.reading and not exchange.write_failed:
                return exchange
            exchange.close()
        return None

    def give(self, path: str, exchange: DaemonExchange, limit: int) -> None:
        stack = self.idle.setdefault(path, [])
        if len(stack) >= limit or not exchange.reading:
            exchange.close()
            return
        exchange.parked_in = stack
        stack.append(exchange)

    def close_all(self) -> None:
        for stack in self.idle.values():
            for exchange in stack:
                exchange.parked_in = None
                exchange.close()
            stack.clear()


POOL = Pool()


class DaemonExchange:
    """The loop side of one connection to a daemon: frames out, events in.

    A reader callback moves every byte the daemon sends into the channel as
    soon as it arrives, whoever is waiting: nothing read can be lost to a
    timeout or a cancellation (a lost ACCEPT would make us retry a request
    the app is already running). Writes are plain socket operations, so a
    write that fails because the daemon stopped reading (it answered without
    reading the whole body) never costs us the response waiting to be read.
    """

    def __init__(self, sock: socket.socket, window: int = WINDOW) -> None:
        self.sock = sock
        self.window = window  # response bytes held for the client before we stop reading
        self.fd = sock.fileno()
        self.channel = Channel("front")
        self.loop = asyncio.get_running_loop()
        self.write_failed = False
        self.reading = True  # until the daemon's EOF, or we close
        self.paused = False  # reading stopped for flow control: WINDOW bytes wait here
        self._waiter: asyncio.Future[bool] | None = None
        # The fast path's callback (a request served without a Task): called
        # instead of waking a waiter, after what arrived is in the channel.
        self.listener: Callable[[], None] | None = None
        self.parked_in: list[DaemonExchange] | None = None  # the pool's list while idle
        self.loop.add_reader(self.fd, self._on_readable)

    def _on_readable(self) -> None:
        data: bytes | memoryview
        try:
            data = _recv(self.sock)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""  # a reset: the same as an EOF here
        if self.parked_in is not None:
            # An idle connection has nothing to say: the daemon closed it
            # (it is retiring), or broke the protocol. Either way it is done.
            self.parked_in.remove(self)
            self.parked_in = None
            self.close()
            return
        if not data:
            self._stop_reading()
        self.channel.receive_data(data)
        if self.reading and self.channel.buffered >= self.window:
            # The client is slower than the app: leave the rest in the
            # daemon's socket until next_event() has passed this much on.
            self.paused = True
            self.loop.remove_reader(self.fd)
        listener = self.listener
        if listener is not None:
            listener()
        else:
            self._wake(True)

    def _stop_reading(self) -> None:
        if self.reading:
            self.reading = False
            self.paused = False
            self.loop.remove_reader(self.fd)

    def _resume(self) -> None:
        if self.paused:
            self.paused = False
            self.loop.add_reader(self.fd, self._on_readable)

    def _wake(self, value: bool) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(value)

    async def next_event(self, until: float) -> Event:
        """The next event from the daemon; ProtocolError on a broken connection."""
        while True:
            event = self.channel.next_event()
            if event is not NEED_DATA:
                if not isinstance(event, Event):
                    raise ProtocolError("the daemon closed the connection")
                return event
            self._resume()
            timeout = until - time.monotonic()
            if timeout <= 0:
                raise TimeoutError
            self._waiter = self.loop.create_future()
            timer = self.loop.call_later(timeout, self._wake, False)
            try:
                got_data = await self._waiter
            finally:
                timer.cancel()
                self._waiter = None
            if not got_data:
                raise TimeoutError

    def available(self) -> Event | None:
        """An event already received, without waiting."""
        event = self.channel.next_event()
        return event if isinstance(event, Event) else None

    async def send(self, data: bytes | list[bytes | memoryview]) -> bool:
        """Write frames, waiting while the daemon's socket is full; False once writes fail."""
        if self.write_failed:
            return False
        if isinstance(data, list):
            data = b"".join(data)
        try:
            # Most writes fit the socket buffer: skip the loop's machinery.
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self.write_failed = True
            return False
        if sent < len(data):
            try:
                await self.loop.sock_sendall(self.sock, data[sent:])
            except OSError:
                self.write_failed = True
        return not self.write_failed

    def withdraw(self) -> bool:
        """Take back a request not yet accepted; True if an ACCEPT had already arrived.

        After ``shutdown(SHUT_RD)`` a daemon's ACCEPT can no longer be
        written (it gets EPIPE and never runs the app); one that arrived
        before it is still in our queue, and is read here.
        """
        try:
            self.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass
        while self.reading:
            try:
                data = _recv(self.sock)
            except OSError:
                break
            if not data:
                break
            self.channel.receive_data(data)
        self._stop_reading()
        try:
            self.channel.next_event()
        except ProtocolError:
            pass
        return self.channel.accepted

    def close(self) -> None:
        self._stop_reading()
        self._wake(False)
        self.sock.close()


SENT, ACCEPTED, RELAYING = 0, 1, 2
