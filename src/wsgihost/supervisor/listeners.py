"""The public TCP listeners: bound once by the master, inherited by every front-end worker.

Runs in the master process, at start and when a restart adds a ``Listen``.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass, field

from wsgihost.config.model import Listener

__all__ = ["BoundListener", "StartupError", "bind"]


class StartupError(Exception):
    """The server cannot start (a listener cannot be bound, ...)."""


@dataclass
class BoundListener:
    spec: Listener
    sock: socket.socket
    port: int = field(default=0)

    def url(self) -> str:
        return self.spec.url(self.port)


def bind(spec: Listener, backlog: int) -> BoundListener:
    """Bind and listen on one TCP address."""
    if not spec.host:
        dual = _bind_dual_stack(spec, backlog)
        if dual is not None:
            return dual
    try:
        infos = socket.getaddrinfo(
            spec.host or None, spec.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as e:
        raise StartupError(f"cannot resolve listen address {spec.host!r}: {e.strerror}") from None
    family, type_, proto, _, addr = infos[0]
    sock = socket.socket(family, type_, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(backlog)
    except OSError as e:
        sock.close()
        where = spec.url().split("://", 1)[1]
        raise StartupError(f"cannot listen on {where}: {e.strerror}") from None
    sock.setblocking(False)
    return BoundListener(spec, sock, sock.getsockname()[1])


def _bind_dual_stack(spec: Listener, backlog: int) -> BoundListener | None:
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
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("::", spec.port))
    except OSError as e:
        sock.close()
        if e.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            return None  # IPv6 switched off: IPv4 alone
        where = spec.url().split("://", 1)[1]
        raise StartupError(f"cannot listen on {where}: {e.strerror}") from None
    try:
        sock.listen(backlog)
    except OSError as e:
        sock.close()
        raise StartupError(f"cannot listen on port {spec.port}: {e.strerror}") from None
    sock.setblocking(False)
    return BoundListener(spec, sock, sock.getsockname()[1])
