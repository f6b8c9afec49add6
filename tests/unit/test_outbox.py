"""wsgihost.supervisor.outbox: lines to a child's channel, whole and in order, never waiting.

Real socket pairs; the "child" end stops reading until its buffer is full.
"""

from __future__ import annotations

import socket

from wsgihost.supervisor.outbox import Outbox


def pair() -> tuple[socket.socket, socket.socket]:
    master, child = socket.socketpair()
    master.setblocking(False)
    child.settimeout(5)
    return master, child


def test_a_line_the_socket_takes_goes_out_at_once() -> None:
    master, child = pair()
    with master, child:
        box = Outbox()
        assert box.write(master, b'{"stop_accepting": true}\n')
        assert not box.pending
        assert child.recv(100) == b'{"stop_accepting": true}\n'


def test_a_child_that_stops_reading_gets_every_line_whole_and_in_order() -> None:
    master, child = pair()
    with master, child:
        box = Outbox()
        lines = [b"%d:" % i + b"x" * 1000 for i in range(3000)]  # ~3 MB: more than fits
        went = [box.write(master, line + b"\n") for line in lines]
        first_held = went.index(False)  # the buffer filled: nothing blocked, the rest waits
        assert box.pending
        # Later lines queue behind what waits, even once the socket could take them.
        assert not any(went[first_held:])
        stream = b""
        while stream.count(b"\n") < len(lines):
            stream += child.recv(1 << 16)  # the child reads a little ...
            box.flush(master)  # ... and the master's selector says "writable"
        assert stream.split(b"\n")[:-1] == lines
        assert box.flush(master)  # nothing left: writability no longer wanted


def test_a_child_gone_takes_nothing_and_keeps_nothing() -> None:
    master, child = pair()
    child.close()
    with master:
        box = Outbox()
        assert not box.write(master, b"x\n")  # EPIPE: the child has exited
        assert not box.pending
        assert box.flush(master)
