"""The public TCP listeners: bound once by the master, inherited by every front-end worker.

Runs in the master process, at start and when a restart adds a ``Listen``.
"""

from __future__ import annotations

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
        where = spec.url().removeprefix("http://")
        raise StartupError(f"cannot listen on {where}: {e.strerror}") from None
    sock.setblocking(False)
    return BoundListener(spec, sock, sock.getsockname()[1])
