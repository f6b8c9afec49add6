"""Slowloris: 500 connections dripping a request head while 16 clients are served.

Each slow connection sends one byte of a head that never ends every 1 to 2
seconds; the server runs with a 3 s head deadline (``--header-timeout 3``).
Meanwhile 16 normal clients (half on keep-alive connections, half on a new
connection per request) ask for a small page again and again. Checked:

* every normal request succeeds, and every normal client is served while
  all the slow connections are open and again after they have gone;
* every slow connection gets one ``408`` with ``Connection: close``, then the
  server closes it;
* the front-end workers survive, and their count of open descriptors comes
  back to what it was before.

No assertion is about time: waits are polls with generous limits.
"""

from __future__ import annotations

import heapq
import os
import resource
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.functional.helpers import APP, build, next_response, pids_answering, wait_for
from tests.functional.server import Reader, ServerProcess, serve

pytestmark = pytest.mark.slow

SLOW = 500
NORMAL = 16
HEAD_TIMEOUT = 3.0
# A head that would be valid if it ever ended.
HEAD = b"GET /fixed HTTP/1.1\r\nHost: h.test\r\nX-Slow: " + b"s" * 4000


@pytest.fixture
def enough_files() -> Iterator[None]:
    """Room for the slow sockets here and in the server (which inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4 * (SLOW + NORMAL) + 256
    if hard != resource.RLIM_INFINITY and hard < want:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is below the {want} this test needs")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture
def server(enough_files: None) -> Iterator[ServerProcess]:
    srv = serve(APP, "--header-timeout", str(HEAD_TIMEOUT), processes=2, threads=4)
    try:
        yield srv
    finally:
        srv.close()


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def settled_fds(pids: set[int]) -> dict[int, int]:
    """Each worker's descriptor count once it has stayed the same for a moment."""
    last: dict[int, int] = {}

    def steady() -> bool:
        nonlocal last
        now = {pid: open_fds(pid) for pid in pids}
        same = now == last
        last = now
        return same

    wait_for(steady, timeout=10, what="the workers' descriptors to settle", every=0.2)
    return last


# -- the normal clients ---------------------------------------------------------------


@dataclass
class Normal:
    """One well-behaved client: requests until told to stop, every answer noted."""

    server: ServerProcess
    keep_alive: bool
    successes: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def run(self, stop: threading.Event) -> None:
        sock: socket.socket | None = None
        reader: Reader | None = None
        while not stop.is_set():
            try:
                if sock is None or reader is None:
                    sock = self.server.connect(timeout=10)
                    reader = Reader(sock)
                headers = [] if self.keep_alive else [("Connection", "close")]
                sock.sendall(build("GET", "/fixed", headers))
                response = next_response(reader)
                if response.status != 200 or response.body != b"hello, world\n":
                    self.failures.append(f"{response.status} {response.body[:100]!r}")
                else:
                    self.successes.append(time.monotonic())
            except OSError as e:
                self.failures.append(repr(e))
                if sock is not None:
                    sock.close()
                sock, reader = None, None
            if not self.keep_alive and sock is not None:
                sock.close()
                sock, reader = None, None
            stop.wait(0.05)
        if sock is not None:
            sock.close()


# -- the slow connections -------------------------------------------------------------


@dataclass
class Slow:
    sock: socket.socket
    every: float
    sent: int = 0
    received: bytes = b""
    closed: bool = False
    answered_at: float = 0.0


def drip(slow: list[Slow], until: float) -> None:
    """Send each slow connection its next head byte on schedule; read what comes back."""
    selector = selectors.DefaultSelector()
    for i, conn in enumerate(slow):
        selector.register(conn.sock, selectors.EVENT_READ, i)
    start = time.monotonic()
    due = [(start + conn.every, i) for i, conn in enumerate(slow)]
    heapq.heapify(due)
    left = len(slow)
    while left and time.monotonic() < until:
        wait = max(0.0, min(due[0][0] - time.monotonic(), 0.2)) if due else 0.2
        for key, _ in selector.select(wait):
            conn = slow[key.data]
            try:
                data = conn.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not conn.answered_at:
                conn.answered_at = time.monotonic()
            conn.received += data
            if not data:
                conn.closed = True
                selector.unregister(conn.sock)
                left -= 1
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, i = heapq.heappop(due)
            conn = slow[i]
            if conn.answered_at or conn.sent >= len(HEAD):
                continue  # answered: it stops talking, and only reads
            try:
                conn.sock.send(HEAD[conn.sent : conn.sent + 1])
                conn.sent += 1
            except OSError:
                continue
            heapq.heappush(due, (now + conn.every, i))
    selector.close()


def test_slow_heads_get_408_while_normal_clients_are_served(server: ServerProcess) -> None:
    workers = set(pids_answering(server, 2))
    baseline = settled_fds(workers)

    stop = threading.Event()
    normals = [Normal(server, keep_alive=i % 2 == 0) for i in range(NORMAL)]
    threads = [threading.Thread(target=n.run, args=(stop,), daemon=True) for n in normals]
    for thread in threads:
        thread.start()
    slow: list[Slow] = []
    try:
        wait_for(lambda: all(n.successes for n in normals), what="every normal client served")
        for i in range(SLOW):
            sock = server.connect(timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.send(HEAD[:1])
            slow.append(Slow(sock, every=1.0 + (i % 5) * 0.25, sent=1))
            sock.setblocking(False)
        all_open = time.monotonic()
        drip(slow, until=all_open + HEAD_TIMEOUT + 20)
        answers = [conn.answered_at for conn in slow if conn.answered_at]
        assert len(answers) == SLOW, f"only {len(answers)} slow connections were answered"
        first_408, last_408 = min(answers), max(answers)
        assert first_408 > all_open, "opening the slow connections took longer than the deadline"
        # Served again once the slow connections are gone.
        wait_for(
            lambda: all(any(t > last_408 for t in n.successes) for n in normals),
            what="every normal client served after the slow connections went",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)
        for conn in slow:
            conn.sock.close()

    unanswered = [i for i, conn in enumerate(slow) if not conn.closed]
    assert not unanswered, f"{len(unanswered)} slow connections still open: {unanswered[:10]}"
    for i, conn in enumerate(slow):
        head, _, body = conn.received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 "), f"slow connection {i}: {conn.received[:200]!r}"
        assert b"\r\nConnection: close\r\n" in head + b"\r\n", head
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        assert len(body) == length, f"slow connection {i}: more than one answer"
        assert conn.sent < len(HEAD), "a slow connection sent its whole head"

    for n in normals:
        assert not n.failures, f"a normal client had failures: {n.failures[:5]}"
        assert any(all_open <= t <= first_408 for t in n.successes), (
            "a normal client was not served while all the slow connections were open"
        )

    assert set(pids_answering(server, 2)) == workers, "a worker was replaced"

    def fds_back() -> bool:
        return all(open_fds(pid) <= baseline[pid] for pid in workers)

    wait_for(fds_back, timeout=15, what=f"descriptor counts back to {baseline}", every=0.2)
    stderr = server.stderr()
    assert "Traceback" not in stderr, stderr[-3000:]
    assert Path(f"/proc/{server.proc.pid}").exists()
