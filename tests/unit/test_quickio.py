"""The daemon's socket calls that keep the GIL (wsgihost.daemon.quickio).

Each call must behave exactly as the socket method it stands for, whether it
finished at once or had to hand over to the ordinary, blocking call.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from wsgihost.daemon import quickio


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_available_on_linux() -> None:
    # The daemon's speed depends on it: a silent fallback would go unnoticed.
    assert quickio.AVAILABLE


def test_read_what_is_there(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    reader = quickio.ReadBuffer(64)
    a.sendall(b"hello")
    assert bytes(reader.recv(b)) == b"hello"


def test_read_at_most_the_buffer(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    reader = quickio.ReadBuffer(4)
    a.sendall(b"abcdefgh")
    assert bytes(reader.recv(b)) == b"abcd"
    assert bytes(reader.recv(b)) == b"efgh"


def test_read_waits_when_nothing_has_come(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    reader = quickio.ReadBuffer(64)
    timer = threading.Timer(0.2, a.sendall, (b"late",))
    timer.start()
    started = time.monotonic()
    try:
        assert bytes(reader.recv(b)) == b"late"
    finally:
        timer.join()
    assert time.monotonic() - started >= 0.15


def test_read_keeps_the_kernel_timeout(pair: tuple[socket.socket, socket.socket]) -> None:
    # socket-timeout is SO_RCVTIMEO on the daemon's sockets: a read that waits
    # must still end with the ordinary call's error.
    _, b = pair
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(0.2))
    with pytest.raises(BlockingIOError):
        quickio.ReadBuffer(64).recv(b)


def test_read_at_eof_is_empty(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    a.close()
    assert bytes(quickio.ReadBuffer(64).recv(b)) == b""


def test_read_error_is_the_socket_error(pair: tuple[socket.socket, socket.socket]) -> None:
    _, b = pair
    b.close()  # fileno() is now -1: EBADF, as the socket's own recv_into
    with pytest.raises(OSError) as raised:
        quickio.ReadBuffer(8).recv(b)
    assert raised.value.errno is not None


def test_the_buffer_is_reused(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    reader = quickio.ReadBuffer(64)
    a.sendall(b"one")
    first = reader.recv(b)
    a.sendall(b"two")
    reader.recv(b)
    assert bytes(first) == b"two"  # valid until the next read, as documented


def test_send_small(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    quickio.sendall(a, b"frame")
    assert b.recv(64) == b"frame"


def test_send_more_than_the_socket_takes(pair: tuple[socket.socket, socket.socket]) -> None:
    # The first part goes at once, the rest through the blocking sendall as
    # the reader drains it: every byte, in order.
    a, b = pair
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    data = bytes(range(256)) * 4096  # 1 MiB
    got = bytearray()

    def drain() -> None:
        while len(got) < len(data):
            chunk = b.recv(65536)
            if not chunk:
                return
            got.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    quickio.sendall(a, data)
    reader.join(10)
    assert bytes(got) == data


def test_send_to_a_closed_peer_raises_without_sigpipe(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    b.close()
    with pytest.raises(BrokenPipeError):
        quickio.sendall(a, b"x" * 10)


def test_rearm_fires_a_one_shot_registration_again(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    armed = select.EPOLLIN | select.EPOLLONESHOT
    with select.epoll() as poll:
        poll.register(b.fileno(), armed)
        a.sendall(b"x")
        assert poll.poll(1, 1) == [(b.fileno(), select.EPOLLIN)]
        assert poll.poll(0.1, 1) == []  # one shot: disarmed
        quickio.rearm(poll, b.fileno(), armed)
        assert poll.poll(1, 1) == [(b.fileno(), select.EPOLLIN)]


def test_rearm_an_unknown_descriptor_raises(pair: tuple[socket.socket, socket.socket]) -> None:
    _, b = pair
    with select.epoll() as poll, pytest.raises(FileNotFoundError):
        quickio.rearm(poll, b.fileno(), select.EPOLLIN)


def _timeval(seconds: float) -> bytes:
    import struct

    whole = int(seconds)
    return struct.pack("ll", whole, int((seconds - whole) * 1_000_000))


def test_send_a_buffer_that_is_not_bytes(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    quickio.sendall(a, memoryview(bytearray(b"view")))  # type: ignore[arg-type]
    assert b.recv(64) == b"view"
