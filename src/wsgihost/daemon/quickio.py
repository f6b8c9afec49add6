"""Socket calls that cannot wait, made without letting go of the GIL.

A daemon process runs up to ``threads`` threads, and under load most of them
want the GIL. CPython releases it around every socket call, even one that
returns at once, and each release hands it to a waiting thread: a futex wake,
a context switch, and the caller queued behind whatever that thread does next.
A request made five such calls (read it, ACCEPT, the response, re-arm the
connection in epoll, wait for the next one): 30 futex calls a request under
load, measured with ``strace -c``.

Only the wait for the next request has to give up the GIL. A read of a
request that epoll said is there, a small write to a socket with room, and
``epoll_ctl`` never block, so they are made here through ``ctypes.PyDLL``,
whose calls keep the GIL, with ``MSG_DONTWAIT`` so that they cannot block
even when we guessed wrong: then the ordinary (GIL-releasing, blocking, with
the kernel's socket-timeout) call takes over where this one stopped.

Standard library only, like the rest of the daemon side. Where ctypes or
libc's symbols are missing, or ``WSGIHOST_QUICKIO=0`` is in the environment
(for comparisons), ``AVAILABLE`` is False and every function here is the
ordinary socket call.
"""

from __future__ import annotations

import errno
import os
import platform
import select
import socket
from typing import Any, Optional

try:
    import ctypes

    _libc: Any = ctypes.PyDLL(None, use_errno=True)  # PyDLL: calls keep the GIL
    _c_recv = _libc.recv
    _c_recv.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    _c_recv.restype = ctypes.c_ssize_t
    _c_send = _libc.send
    _c_send.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int)
    _c_send.restype = ctypes.c_ssize_t
    _c_epoll_ctl = _libc.epoll_ctl
    _c_epoll_ctl.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p)
    _c_epoll_ctl.restype = ctypes.c_int

    if platform.machine() in ("x86_64", "amd64", "i386", "i686"):
        # Packed there (glibc's __EPOLL_PACKED): the data's fd right after the
        # events, spelled with plain fields (a _pack_ is deprecated from 3.14).
        class _EpollEvent(ctypes.Structure):
            _fields_ = [("events", ctypes.c_uint32), ("fd", ctypes.c_int), ("pad", ctypes.c_uint32)]

        def _event(events: int, fd: int) -> Any:
            return _EpollEvent(events, fd, 0)

    else:  # aligned: the data union at offset 8, its fd first

        class _EpollData(ctypes.Union):
            _fields_ = [("ptr", ctypes.c_void_p), ("fd", ctypes.c_int), ("u64", ctypes.c_uint64)]

        class _EpollEvent(ctypes.Structure):  # type: ignore[no-redef]
            _fields_ = [("events", ctypes.c_uint32), ("data", _EpollData)]

        def _event(events: int, fd: int) -> Any:
            event = _EpollEvent()
            event.events = events
            event.data.fd = fd
            return event

    AVAILABLE = hasattr(socket, "MSG_DONTWAIT") and os.environ.get("WSGIHOST_QUICKIO") != "0"
except (ImportError, AttributeError, OSError, Warning):  # no ctypes, or no such symbol
    AVAILABLE = False

_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0) | getattr(socket, "MSG_NOSIGNAL", 0)
_EPOLL_CTL_MOD = 3
_AGAIN = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR)


class ReadBuffer:
    """A thread's buffer for reads: a view of it is valid until its next read."""

    __slots__ = ("address", "data", "view")

    def __init__(self, size: int) -> None:
        self.data = bytearray(size)
        self.view = memoryview(self.data)
        # (self.view holds an export: the bytearray can never be resized, so the
        # address stays valid.)
        self.address: Optional[int] = (
            ctypes.addressof((ctypes.c_char * size).from_buffer(self.data)) if AVAILABLE else None
        )

    def recv(self, sock: socket.socket) -> memoryview:
        """What ``sock`` has (waiting for it if nothing has come yet); empty at EOF."""
        address = self.address
        if address is not None:
            n = _c_recv(sock.fileno(), address, len(self.data), _DONTWAIT)
            if n >= 0:
                return self.view[:n]
            err = ctypes.get_errno()
            if err not in _AGAIN:
                raise OSError(err, os.strerror(err))
        return self.view[: sock.recv_into(self.view)]


def sendall(sock: socket.socket, data: bytes) -> None:
    """``sock.sendall(data)``: as much as fits written at once, holding the GIL."""
    sent = 0
    if AVAILABLE and type(data) is bytes:
        n = _c_send(sock.fileno(), data, len(data), _DONTWAIT)
        if n == len(data):
            return
        if n < 0:
            err = ctypes.get_errno()
            if err not in _AGAIN:
                raise OSError(err, os.strerror(err))
        else:
            sent = n
    sock.sendall(memoryview(data)[sent:] if sent else data)


def rearm(poll: select.epoll, fd: int, events: int) -> None:
    """``poll.modify(fd, events)``, holding the GIL."""
    if not AVAILABLE:
        poll.modify(fd, events)
        return
    event = _event(events, fd)  # data.fd, as select.epoll registers it and reads it back
    if _c_epoll_ctl(poll.fileno(), _EPOLL_CTL_MOD, fd, ctypes.addressof(event)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
