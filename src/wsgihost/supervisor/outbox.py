"""Lines the master writes to a child's channel without ever blocking on it.

The master's loop must not wait for a child, and a child that stops reading
(stopped, swapped out, stuck) fills its socket's buffer. A plain non-blocking
``send`` would then write part of a line and drop the rest, and the child
would read the next message glued to half of this one. An :class:`Outbox`
keeps what the socket did not take and sends it, in order, when the master's
selector says the socket is writable again.
"""

from __future__ import annotations

import socket

__all__ = ["Outbox"]


class Outbox:
    """What is still to be written to one non-blocking socket."""

    __slots__ = ("pending",)

    def __init__(self) -> None:
        self.pending = bytearray()

    def write(self, sock: socket.socket, data: bytes) -> bool:
        """Send ``data`` after whatever waits; True if all of it went out now.

        What the socket does not take waits for :meth:`flush`. A socket that
        is gone (its child exited) takes nothing more, and nothing waits.
        """
        if self.pending:
            self.pending += data
            return False
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return False  # the child is gone: _reap will see
        if sent < len(data):
            self.pending += data[sent:]
            return False
        return True

    def flush(self, sock: socket.socket) -> bool:
        """Send what waits; True once nothing does (then stop asking for writability)."""
        if not self.pending:
            return True
        try:
            sent = sock.send(self.pending)
        except BlockingIOError:
            return False
        except OSError:
            self.pending.clear()  # the child is gone
            return True
        del self.pending[:sent]
        return not self.pending
