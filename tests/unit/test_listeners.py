"""wsgihost.supervisor.listeners: a listener's set of sockets, one per worker slot.

Real sockets on loopback; which socket the kernel picks is checked by
accepting from each.
"""

from __future__ import annotations

import select
import socket
import sys

import pytest

from wsgihost.config.model import Listener
from wsgihost.supervisor.listeners import BoundListener, StartupError, bind

linux = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the kernel shares connections out on Linux"
)


def accepted_by(bound: BoundListener, clients: int) -> list[int]:
    """Connect ``clients`` times; how many connections each socket of the set got."""
    conns = [socket.create_connection(("127.0.0.1", bound.port), timeout=5) for _ in range(clients)]
    counts = [0] * len(bound.socks)
    try:
        for i, sock in enumerate(bound.socks):
            if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                continue  # bound, not listening
            while select.select([sock], [], [], 0.2)[0]:
                conn, _ = sock.accept()
                conn.close()
                counts[i] += 1
    finally:
        for conn in conns:
            conn.close()
    return counts


@linux
def test_one_socket_a_slot_on_one_port_each_given_connections() -> None:
    bound = bind(Listener("127.0.0.1", 0), 64, slots=3)
    try:
        assert len(bound.socks) == 3
        assert {s.getsockname() for s in bound.socks} == {("127.0.0.1", bound.port)}
        counts = accepted_by(bound, 60)
        assert sum(counts) == 60
        assert min(counts) > 0, counts  # all 60 on one of 3: a chance of 1 in 10^28
    finally:
        bound.close()


@linux
def test_workers_share_out_the_slots_and_one_slot_alone_is_everyones() -> None:
    bound = bind(Listener("127.0.0.1", 0), 16, slots=4)
    try:
        fds = [s.fileno() for s in bound.socks]
        assert bound.fds_for(0, 4) == [fds[0]]
        assert bound.fds_for(1, 2) == [fds[1], fds[3]]  # fewer workers than slots
        assert bound.fds_for(0, 1) == fds
    finally:
        bound.close()
    single = bind(Listener("127.0.0.1", 0), 16)
    try:
        assert single.fds_for(1, 2) == [single.sock.fileno()]  # every worker, one socket
    finally:
        single.close()


@linux
def test_sockets_added_for_a_restart_listen_only_once_it_is_committed() -> None:
    bound = bind(Listener("127.0.0.1", 0), 64, slots=1)
    try:
        added = bound.grow(2)
        assert len(added) == 1 and bound.socks[1] is added[0]
        assert bound.grow(2) == []  # already there
        # Bound but not listening: the kernel gives it nothing, so closing it
        # for a restart that failed could reset no connection.
        assert accepted_by(bound, 20) == [20, 0]
        bound.listen(added, 64)
        assert min(accepted_by(bound, 40)) > 0
    finally:
        bound.close()


@linux
def test_fewer_workers_get_equal_numbers_of_sockets() -> None:
    bound = bind(Listener("127.0.0.1", 0), 16, slots=3)
    try:
        bound.listen(bound.grow(2), 16)  # 3 sockets for 2 workers: one more
        assert len(bound.socks) == 4
        assert [len(bound.fds_for(slot, 2)) for slot in (0, 1)] == [2, 2]
        bound.listen(bound.grow(3), 16)  # 4 for 3: 6
        assert [len(bound.fds_for(slot, 3)) for slot in (0, 1, 2)] == [2, 2, 2]
        assert bound.grow(1) == []  # one worker takes them all
    finally:
        bound.close()


@linux
def test_a_restart_that_fails_forgets_the_sockets_it_added() -> None:
    bound = bind(Listener("127.0.0.1", 0), 16, slots=2)
    try:
        added = bound.grow(4)
        assert len(bound.socks) == 4
        bound.forget(added)
        assert len(bound.socks) == 2
        assert all(sock.fileno() == -1 for sock in added)  # closed
    finally:
        bound.close()


def test_a_port_someone_listens_on_is_refused() -> None:
    other = socket.socket()
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        # Even one that would let us share the port: a second server must not.
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    other.bind(("127.0.0.1", 0))
    other.listen(1)
    try:
        with pytest.raises(StartupError, match="Address already in use"):
            bind(Listener("127.0.0.1", other.getsockname()[1]), 16, slots=2)
    finally:
        other.close()


def test_our_own_listener_is_refused_to_a_second_bind() -> None:
    first = bind(Listener("127.0.0.1", 0), 16, slots=2)
    try:
        with pytest.raises(StartupError, match=r"cannot listen on 127\.0\.0\.1:"):
            bind(Listener("127.0.0.1", first.port), 16, slots=2)
    finally:
        first.close()


def test_a_port_held_but_not_listened_on_is_taken() -> None:
    # What `serve --port 0` does (cli._reserve_port): a bound socket that does
    # not listen keeps the port for the master.
    held = socket.socket()
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.bind(("127.0.0.1", 0))
    try:
        bound = bind(Listener("127.0.0.1", held.getsockname()[1]), 16, slots=2)
        bound.close()
    finally:
        held.close()


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
def test_every_address_is_one_dual_stack_set() -> None:
    bound = bind(Listener("", 0), 16, slots=2)
    try:
        for sock in bound.socks:
            assert sock.family == socket.AF_INET6
            assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 0
        assert sum(accepted_by(bound, 6)) == 6  # IPv4 clients reach the set
    finally:
        bound.close()
