"""The public TCP listeners: bound by the master, handed to the front-end workers.

Runs in the master process, at start and when a restart adds a ``Listen`` or
more workers.

On Linux each listener is a set of sockets on the same address, one per
front-end worker's *slot*, joined with ``SO_REUSEPORT``: the kernel spreads
new connections over the set by a hash of their addresses, so each worker
accepts only its own share. With one shared socket the first worker to wake
took every connection of a burst (32 keep-alive clients arriving at once all
went to one worker, which then ran a CPU-bound app on one core while the other
idled: the Django benchmark at 0.4x Apache). Apache's children avoid that by
accepting only while they have an idle thread; an event loop accepts whatever
is there, so the kernel has to share the connections out instead.

The master holds every socket for the server's life, so a worker that exits
loses nothing queued on its slot: its successor takes the same slot, and the
connections the kernel queued meanwhile wait for it. Slots are only ever
added, since closing one socket of the set would reset the connections queued
on it; a restart that lowers the number of workers adds sockets until each
worker has as many as the others (4 sockets, 3 workers: 6), as the kernel gives
every socket an equal share. Sockets added for a restart are bound but do not
listen: the worker given one listens on it as it starts serving. A listening
socket would be given connections at once, which would wait for that worker to
start, or be reset if the restart failed and the socket were closed.

``SO_REUSEPORT`` lets any later socket of the same user share the port. A
second server started by mistake on a busy port must still fail with "Address
already in use", not quietly take half the connections: so before binding,
:func:`bind` tries the address with a plain socket, which any listener already
there refuses.
"""

from __future__ import annotations

import errno
import socket
import sys
from dataclasses import dataclass, field

from wsgihost.config.model import Listener

__all__ = ["BoundListener", "StartupError", "bind"]

# Linux spreads connections over a SO_REUSEPORT set; elsewhere the option means
# other things (on BSD and macOS one socket of the set gets them all).
SPREAD = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


class StartupError(Exception):
    """The server cannot start (a listener cannot be bound, ...)."""


@dataclass
class BoundListener:
    spec: Listener
    socks: list[socket.socket]  # one per slot; [0] was bound first
    port: int = field(default=0)

    @property
    def sock(self) -> socket.socket:
        return self.socks[0]

    def url(self) -> str:
        return self.spec.url(self.port)

    def fds_for(self, slot: int, workers: int) -> list[int]:
        """The sockets a worker in ``slot`` (of ``workers``) accepts from."""
        if len(self.socks) == 1:
            return [self.socks[0].fileno()]
        return [s.fileno() for i, s in enumerate(self.socks) if i % workers == slot]

    def grow(self, workers: int) -> list[socket.socket]:
        """Bind sockets until each of ``workers`` can have as many; the added ones,
        not yet listening (:meth:`listen`; StartupError if one cannot be bound)."""
        wanted = -(-len(self.socks) // workers) * workers  # the next multiple
        added: list[socket.socket] = []
        while SPREAD and len(self.socks) + len(added) < wanted:
            try:
                added.append(_copy_socket(self.socks[0], self.sock.getsockname()))
            except OSError as e:
                for other in added:
                    other.close()
                raise StartupError(f"cannot listen on {self._where()}: {e.strerror}") from None
        self.socks += added
        return added

    def forget(self, added: list[socket.socket]) -> None:
        """Close sockets :meth:`grow` added for a restart that will not happen."""
        for sock in added:
            sock.close()
        self.socks = [s for s in self.socks if s not in added]

    def listen(self, added: list[socket.socket], backlog: int) -> None:
        """Let the kernel give connections to sockets :meth:`grow` added."""
        for sock in added:
            try:
                _listen(sock, backlog)
            except OSError as e:  # not seen in practice: the port is bound already
                self.socks = [s for s in self.socks if s is not sock]  # _listen closed it
                raise StartupError(f"cannot listen on {self._where()}: {e.strerror}") from None

    def close(self) -> None:
        for sock in self.socks:
            sock.close()

    def _where(self) -> str:
        return self.spec.url(self.port).split("://", 1)[1]


def bind(spec: Listener, backlog: int, slots: int = 1) -> BoundListener:
    """Bind and listen on one TCP address, with ``slots`` sockets where the kernel spreads them."""
    where = spec.url().split("://", 1)[1]
    sock = _dual_stack_socket(spec) if not spec.host else None
    if sock is None:
        try:
            infos = socket.getaddrinfo(
                spec.host or None, spec.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
        except socket.gaierror as e:
            raise StartupError(
                f"cannot resolve listen address {spec.host!r}: {e.strerror}"
            ) from None
        family, type_, proto, _, addr = infos[0]
        sock = socket.socket(family, type_, proto)
    else:
        addr = ("::", spec.port)
    try:
        if SPREAD:
            _refuse_taken(sock, addr)
        _options(sock)
        sock.bind(addr)
        _listen(sock, backlog)
    except OSError as e:
        sock.close()
        raise StartupError(f"cannot listen on {where}: {e.strerror}") from None
    bound = BoundListener(spec, [sock], sock.getsockname()[1])
    try:
        bound.listen(bound.grow(slots), backlog)
    except StartupError:
        bound.close()
        raise
    return bound


def _dual_stack_socket(spec: Listener) -> socket.socket | None:
    """``Listen 80`` as Apache on Linux takes it: one socket on ``[::]:80``
    that IPv4 clients reach too (as ``::ffff:a.b.c.d``, which the front end
    unmaps, so logs and REMOTE_ADDR show the IPv4 address Apache shows).

    None where the machine has no IPv6, and the caller binds 0.0.0.0 alone.
    """
    if not socket.has_ipv6:
        return None
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        sock.close()
        return None
    try:
        probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("::", 0))
    except OSError as e:
        if e.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            sock.close()
            return None  # IPv6 switched off: IPv4 alone
    finally:
        probe.close()
    return sock


def _socket_like(first: socket.socket) -> socket.socket:
    """A new socket of ``first``'s family, dual stack if it is."""
    sock = socket.socket(first.family, first.type)
    if first.family == socket.AF_INET6:
        v6only = first.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
        try:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
        except OSError:
            sock.close()
            raise
    return sock


def _copy_socket(first: socket.socket, addr: object) -> socket.socket:
    """A socket like ``first`` bound to ``addr``, not listening."""
    sock = _socket_like(first)
    try:
        _options(sock)
        sock.bind(addr)  # type: ignore[arg-type]
    except OSError:
        sock.close()
        raise
    return sock


def _options(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if SPREAD:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)


def _listen(sock: socket.socket, backlog: int) -> socket.socket:
    try:
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _refuse_taken(like: socket.socket, addr: object) -> None:
    """OSError(EADDRINUSE) if something listens on ``addr`` already.

    A plain socket (SO_REUSEADDR, as Apache binds) conflicts with any listener
    there, ours included, where one with SO_REUSEPORT would join it.
    """
    probe = _socket_like(like)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(addr)  # type: ignore[arg-type]
    finally:
        probe.close()
