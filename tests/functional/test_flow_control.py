"""Back-pressure from a slow client to the app, in both modes.

Downloads: a client that reads a large stream slowly must hold the app back: the
server may buffer a bounded window of the response, never the response. In
daemon mode the front end stops reading the daemon's socket while its
window (``daemonlink.WINDOW``) waits for the client, so the daemon's writes
block and the app's generator is not advanced; in embedded mode the app's
thread waits on the transport's high-water mark. ``tests/apps/flow.wsgi``
counts what it has handed to the server, and a second request reads the
count while the first client is stalled.

Uploads, the other way: an app that reads a large body slowly must hold the
client back, so the server never holds more of the body than a window. What
the kernel holds there is measured, not bounded: /proc/net/tcp has both
sockets' queues (the server's receive buffer may grow to 32 MB on Linux).

What may sit between the app and the client besides our buffers is the
kernel's: the client's receive buffer, the server's TCP send buffer (up to
``tcp_wmem``'s maximum) and, in daemon mode, the UNIX socket between daemon
and front end. The bound below adds those, read from this machine, to what
wsgihost itself may hold; the stream is several times larger, so a server
that buffers the response (as wsgihost did before) fails by tens of MB.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.functional.helpers import get, members, proc_kb, wait_for
from tests.functional.server import APPS, ServerProcess, serve

pytestmark = pytest.mark.slow

FLOW_APP = APPS / "flow.wsgi"
MB = 1 << 20
BLOCK = 65536
SIZE = 64 * MB
OURS = 2 * MB  # daemonlink.WINDOW (1 MiB) + a 256 KiB frame in hand + the transport's share


def _sysctl(path: str, field: int = 0, default: int = 4 * MB) -> int:
    try:
        return int(Path(path).read_text().split()[field])
    except (OSError, ValueError, IndexError):
        return default


def _kernel_slack(client: socket.socket) -> int:
    """What the kernel may hold between the app and a downloading client, on this machine."""
    unix_buffers = 2 * _sysctl("/proc/sys/net/core/wmem_default", 0, 256 * 1024)
    tcp_send_max = _sysctl("/proc/sys/net/ipv4/tcp_wmem", 2)
    receive = client.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    return tcp_send_max + unix_buffers + receive


def _in_flight(client: socket.socket) -> int:
    """Bytes the client has sent that the server process has not read yet.

    From /proc/net/tcp: the client socket's send queue (not yet acknowledged)
    plus the server socket's receive queue (acknowledged, not yet read).
    """

    def endpoint(addr: tuple[str, int]) -> str:
        return "%08X:%04X" % (int.from_bytes(socket.inet_aton(addr[0]), "little"), addr[1])

    mine, theirs = endpoint(client.getsockname()), endpoint(client.getpeername())
    total = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        tx, rx = (int(x, 16) for x in fields[4].split(":"))
        if (fields[1], fields[2]) == (mine, theirs):
            total += tx
        elif (fields[1], fields[2]) == (theirs, mine):
            total += rx
    return total


def _expected_digest(size: int) -> str:
    digest = hashlib.sha256()
    for i in range(size // BLOCK):
        digest.update((b"block %08d|" % i + b"x" * BLOCK)[:BLOCK])
    return digest.hexdigest()


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        assert part, "closed before the response head"
        data += part
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


@pytest.mark.parametrize("mode", ["daemon", "embedded"])
def test_a_slow_reader_holds_the_app_back(mode: str) -> None:
    # One process, so /produced is asked of the process running the stream.
    server = serve(FLOW_APP, processes=1, threads=4, mode=mode)
    try:
        fronts = wait_for(
            lambda: [p for p, kind in members(server.proc.pid).items() if kind == "front"],
            10,
            "the front-end workers",
        )
        # A first, small stream warms up every code path before the baseline.
        assert get(server, "/stream?id=warm&size=%d" % (4 * MB)).status == 200
        peak0 = {pid: proc_kb(pid, "VmHWM") or 0 for pid in fronts}
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        client.settimeout(30)
        client.connect((server.host, server.port))
        with client:
            # HTTP/1.0: the body runs to the close, so every byte read is body.
            client.sendall(b"GET /stream?id=slow&size=%d HTTP/1.0\r\n\r\n" % SIZE)
            head, body = _read_head(client)
            assert head.startswith(b"HTTP/1.1 200 "), head
            digest = hashlib.sha256(body)
            received = len(body)
            # About 1.5 MB/s for two seconds: far slower than the app.
            until = time.monotonic() + 2.0
            while time.monotonic() < until:
                part = client.recv(16 * 1024)
                assert part, f"closed after {received} bytes"
                digest.update(part)
                received += len(part)
                time.sleep(0.01)
            time.sleep(0.5)  # whatever can still flow towards us, flows now
            produced = int(get(server, "/produced?id=slow").body)
            bound = received + OURS + _kernel_slack(client)
            assert produced <= bound, (
                f"{mode}: the app produced {produced} bytes while the client had read "
                f"{received}: more than the window and the kernel's buffers ({bound})"
            )
            assert produced < SIZE
            # Then the client reads at full speed, and gets every byte in order.
            while True:
                part = client.recv(256 * 1024)
                if not part:
                    break
                digest.update(part)
                received += len(part)
        assert received == SIZE
        assert digest.hexdigest() == _expected_digest(SIZE)
        assert int(get(server, "/produced?id=slow").body) == SIZE
        if mode == "daemon":
            # The front end kept a window, not the stream (it once grew by the whole of it).
            growth = max((proc_kb(pid, "VmHWM") or 0) - kb for pid, kb in peak0.items())
            assert growth < 16 * 1024, f"a front-end worker's peak memory grew by {growth} kB"
    finally:
        server.close()


@pytest.mark.parametrize("mode", ["daemon", "embedded"])
def test_a_slow_reading_app_holds_the_client_back(mode: str) -> None:
    size, slow = 48 * MB, 6 * MB  # the app reads about 3 MB/s until it has 6 MB
    block = bytes(range(256)) * (BLOCK // 256)
    server = serve(FLOW_APP, processes=1, threads=4, mode=mode)
    try:
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        client.connect((server.host, server.port))
        with client:
            client.sendall(
                b"POST /upload?id=up&slow=%d HTTP/1.0\r\nContent-Length: %d\r\n\r\n" % (slow, size)
            )
            # As fast as the server takes it, for one second. The body is
            # `block` over and over; `sent % BLOCK` is where the next send starts.
            client.setblocking(False)
            sent = 0
            until = time.monotonic() + 1.0
            while time.monotonic() < until:
                try:
                    sent += client.send(block[sent % BLOCK :])
                except BlockingIOError:
                    time.sleep(0.005)
            consumed = int(get(server, "/consumed?id=up").body)
            taken = sent - _in_flight(client)  # what the server's processes read
            unix_buffers = 2 * _sysctl("/proc/sys/net/core/wmem_default", 0, 256 * 1024)
            assert taken - consumed <= OURS + unix_buffers, (
                f"{mode}: the server read {taken} bytes of the body while the app had read "
                f"{consumed}: it holds more than a window"
            )
            assert consumed < slow, "the app read faster than it should: the check proves nothing"
            client.setblocking(True)
            client.settimeout(60)
            while sent < size:
                piece = block[sent % BLOCK :][: size - sent]
                client.sendall(piece)
                sent += len(piece)
            head, body = _read_head(client)
            while part := client.recv(65536):
                body += part
        assert head.startswith(b"HTTP/1.1 200 "), head
        expected = hashlib.sha256(block * (size // BLOCK)).hexdigest()
        answer = json.loads(body)
        assert answer == {"length": size, "sha256": expected}
    finally:
        server.close()


def _slow_download(
    server: ServerProcess, size: int, rate: float, during: Callable[[], None]
) -> str:
    """Read a /stream of ``size`` bytes at about ``rate`` bytes/s, calling ``during`` after
    the first second; the SHA-256 of what arrived."""
    with socket.create_connection((server.host, server.port), timeout=30) as client:
        client.sendall(b"GET /stream?id=long&size=%d HTTP/1.0\r\n\r\n" % size)
        head, body = _read_head(client)
        assert head.startswith(b"HTTP/1.1 200 "), head
        digest = hashlib.sha256(body)
        received = len(body)
        started = time.monotonic()
        called = False
        while True:
            part = client.recv(64 * 1024)
            if not part:
                break
            digest.update(part)
            received += len(part)
            if not called and time.monotonic() - started > 1.0:
                called = True
                during()
            time.sleep(max(0.0, started + received / rate - time.monotonic()))
    assert received == size, f"the download was cut after {received} of {size} bytes"
    return digest.hexdigest()


def test_a_slow_download_survives_a_roll_and_a_graceful_stop() -> None:
    # The app's folder must be readable by whoever the daemon runs as.
    work = Path(tempfile.mkdtemp(prefix="wsgihost-flow-"))
    work.chmod(0o755)
    script = work / "flow.wsgi"
    shutil.copyfile(FLOW_APP, script)
    script.chmod(0o644)
    size = 12 * MB
    server = serve(script, "--graceful-timeout", "20", processes=1, threads=4, mode="daemon")
    try:

        def touch() -> None:
            os.utime(script)

        # A roll while the stream flows: the old process finishes it, then goes.
        old = wait_for(lambda: daemon_pids(server), 10, "the daemon process")
        assert _slow_download(server, size, 3 * MB, touch) == _expected_digest(size)
        wait_for(lambda: daemon_pids(server) and not (daemon_pids(server) & old), 30, "the roll")

        # A graceful stop while the stream flows: the download still ends whole.
        def stop() -> None:
            server.signal(signal.SIGTERM)

        assert _slow_download(server, size, 3 * MB, stop) == _expected_digest(size)
        assert server.wait(30) == 0
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)


def daemon_pids(server: ServerProcess) -> set[int]:
    return {p for p, kind in members(server.proc.pid).items() if kind == "daemon"}


@pytest.mark.parametrize("limit", ["1", "0"])
def test_request_timeout_counts_a_stream_and_serve_can_turn_it_off(limit: str) -> None:
    # A download of about 4 s, whose app is held back by flow control for
    # about 3 s (the kernel's buffers hold the rest): cut by a 1 s
    # request-timeout, whole with none.
    size = 32 * MB
    server = serve(FLOW_APP, "--request-timeout", limit, processes=1, threads=4, mode="daemon")
    try:
        if limit == "0":
            assert _slow_download(server, size, 8 * MB, lambda: None) == _expected_digest(size)
        else:
            with pytest.raises(AssertionError, match="the download was cut"):
                _slow_download(server, size, 8 * MB, lambda: None)
    finally:
        server.close()
