"""Regressions from the review of the front end and the master: one test per defect.

Each test is named after what a user of the server would notice, and asserts the right
behaviour. Real servers on 127.0.0.1 (``serve SCRIPT --embedded`` through ``running``, or
``serve --config`` with a site file written per test when a directive has no command-line
option); the app is ``tests/apps/regressions.wsgi``. Waits are polls with deadlines; the
app's own sleeps are the behaviour under test (an app slower than Timeout).
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import struct
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.functional.helpers import (
    LogWatch,
    Response,
    alive,
    build,
    children,
    exchange,
    free_port,
    get,
    kill_all,
    next_response,
    problems,
    proc_kb,
    read_to_eof,
    running,
    wait_for,
    worker_pids,
)
from tests.functional.server import APPS, Reader, ServerProcess

pytestmark = pytest.mark.slow

APP = APPS / "regressions.wsgi"
MB = 1024 * 1024
ESTABLISHED = "01"


# -- servers -------------------------------------------------------------------------


@contextmanager
def reaped(server: ServerProcess, workers: int = 1) -> Iterator[ServerProcess]:
    """``server`` for a ``with`` block; afterwards it is stopped, and no process it
    started may outlive it (any that does is killed, and the test fails)."""
    try:
        pids = set(worker_pids(server, workers))
        yield server
    finally:
        if server.proc.poll() is None:
            pids |= children(server.proc.pid)
        server.close()
        deadline = time.monotonic() + 10
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = sorted(p for p in pids if alive(p))
        kill_all(left)
        assert not left, f"processes outlived the server: {left}"


@contextmanager
def site(tmp_path: Path, *directives: str) -> Iterator[ServerProcess]:
    """``serve --config`` of a one-process site running the app at /, plus ``directives``."""
    conf = tmp_path / "site.conf"
    lines = ["Listen 127.0.0.1:${PORT}", "StartServers 1", *directives, f"WSGIScriptAlias / {APP}"]
    conf.write_text("\n".join(lines) + "\n")
    server = ServerProcess(["serve", "--config", str(conf)], env={"PORT": str(free_port())})
    try:
        server.wait_listening()
    except BaseException:
        server.close()
        raise
    with reaped(server) as served:
        yield served


@contextmanager
def one_worker(*extra: str, threads: int = 2) -> Iterator[ServerProcess]:
    """``running(APP, ...)`` with one front-end worker, reaped afterwards."""
    with running(APP, *extra, processes=1, threads=threads) as server, reaped(server) as served:
        yield served


def sockets_of(pid: int) -> int:
    """How many sockets process ``pid`` holds open."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            pass
    return count


def descriptors_of(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def tcp_state(sock: socket.socket) -> str | None:
    """The kernel's state of our end of a loopback connection (hex, as in /proc/net/tcp);
    None once it is gone (a reset closes it at once)."""

    def address(addr: tuple[str, int]) -> str:
        return f"{socket.inet_aton(addr[0])[::-1].hex().upper()}:{addr[1]:04X}"

    local, remote = address(sock.getsockname()), address(sock.getpeername())
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            return fields[3]
    return None


def small_receive_buffer(server: ServerProcess, size: int = 4096) -> socket.socket:
    """A connection whose receive buffer is small, so that the server soon has to wait."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    sock.settimeout(10)
    sock.connect((server.host, server.port))
    return sock


def answer_or_none(reader: Reader) -> Response | None:
    """The next response, or None if none comes before the socket's timeout."""
    try:
        return next_response(reader)
    except TimeoutError:
        return None


def refused(server: ServerProcess) -> bool:
    try:
        socket.create_connection((server.host, server.port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


# -- 1. a client that stops reading ----------------------------------------------------


def test_a_client_that_stops_reading_is_cut_off_after_timeout_and_frees_its_thread(
    tmp_path: Path,
) -> None:
    with site(tmp_path, "Timeout 2", "ThreadsPerChild 1") as server:
        total = 2000 * 65536
        with small_receive_buffer(server) as stalled:
            stalled.sendall(build("GET", "/gen?n=2000&size=65536"))
            assert stalled.recv(100).startswith(b"HTTP/1.1 200")  # the only thread is in it
            # ... and the client reads nothing more. Another client, same single thread:
            stopped = time.monotonic()
            with server.connect(timeout=15) as other:
                other.sendall(build("GET", "/pid"))
                try:
                    response = next_response(Reader(other))
                except TimeoutError:
                    raise AssertionError(
                        "a client that stopped reading kept the only app thread for 15 s "
                        "(Timeout is 2)"
                    ) from None
            assert response.status == 200
            assert time.monotonic() - stopped < 10
            # The stalled client was cut off, not served to the end.
            assert len(read_to_eof(stalled, 10)) < total
        assert not problems(server.stderr()), server.stderr()


# -- 2. pipelining without reading -------------------------------------------------------


PAD = 16 * 1024  # each response carries 16 kB, so that unsent responses weigh


def requests_from(first: int, size: int = MB, pad: int = PAD) -> tuple[bytes, int]:
    """About ``size`` bytes of pipelined ``/seq`` requests numbered from ``first``; and the
    number after the last."""
    parts = []
    length = 0
    i = first
    while length < size:
        part = b"GET /seq?i=%d&pad=%d HTTP/1.1\r\nHost: t\r\n\r\n" % (i, pad)
        parts.append(part)
        length += len(part)
        i += 1
    return b"".join(parts), i


def test_pipelining_without_reading_keeps_the_worker_small_and_the_responses_in_order(
    tmp_path: Path,
) -> None:
    limit_kb = 50 * 1024
    with site(tmp_path, "MaxKeepAliveRequests 0", "ThreadsPerChild 2") as server:
        (worker,) = worker_pids(server, 1)
        assert get(server, "/seq?i=0").body == b"0"  # the app is loaded
        rss0 = proc_kb(worker, "VmRSS") or 0

        def growth() -> int:
            return (proc_kb(worker, "VmRSS") or 0) - rss0

        with small_receive_buffer(server) as sock:
            # Push up to 64 MB of requests (each asking for 16 kB), reading nothing,
            # until the server takes no more for a second, the worker has grown past
            # the limit, or 8 s have passed.
            sock.settimeout(1.0)
            sent = 0
            deadline = time.monotonic() + 8
            blob, after = requests_from(0)
            offset = 0
            while sent < 64 * MB and time.monotonic() < deadline and growth() < limit_kb:
                try:
                    n = sock.send(blob[offset:])
                except TimeoutError:
                    break
                sent += n
                offset += n
                if offset == len(blob):
                    blob, after = requests_from(after)
                    offset = 0
            grown = growth()
            assert grown < limit_kb, f"the worker grew {grown} kB after {sent} bytes of requests"
            # What is read comes in order, and reading lets the server go on.
            sock.settimeout(10)
            reader = Reader(sock)
            for i in range(1000):
                response = next_response(reader)
                assert response.status == 200
                assert response.body == b"%d|" % i + b"." * PAD
        assert not problems(server.stderr()), server.stderr()


# -- 3. HEAD of a large streamed response -----------------------------------------------


def test_head_of_a_large_streamed_response_answers_and_keeps_the_connection_usable() -> None:
    with one_worker() as server, server.connect(timeout=5) as sock:
        reader = Reader(sock)
        sock.sendall(build("HEAD", "/gen?n=2&size=300000"))  # 600 kB > 256 KiB
        head = next_response(reader, head_only=True)
        assert head.status == 200
        assert "connection" not in head.headers
        sock.sendall(build("GET", "/seq?i=7"))
        after = next_response(reader)
        assert (after.status, after.body) == (200, b"7")
        assert not problems(server.stderr()), server.stderr()


# -- 4. sendfile with descriptors above 1023 --------------------------------------------


@pytest.fixture
def many_descriptors() -> Iterator[None]:
    """A descriptor limit high enough for 1100 connections, here and in the server."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2400:
        pytest.skip(f"the hard limit of descriptors is {hard}")
    if soft != resource.RLIM_INFINITY and soft < 2400:
        resource.setrlimit(resource.RLIMIT_NOFILE, (2400, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_large_static_download_completes_with_over_1023_descriptors_open(
    tmp_path: Path, many_descriptors: None
) -> None:
    content = os.urandom(8 * MB)
    big = tmp_path / "big.bin"
    big.write_bytes(content)
    with one_worker("--url-alias", "/big.bin", str(big), "--keepalive-timeout", "30") as server:
        (worker,) = worker_pids(server, 1)
        idle: list[socket.socket] = []
        try:
            base = descriptors_of(worker)
            idle.extend(server.connect() for _ in range(1100))
            wait_for(lambda: descriptors_of(worker) >= base + 1100, 10, "1100 connections")
            # The download's socket is numbered above 1023 in the worker; a small receive
            # buffer makes the sending thread wait for it.
            with small_receive_buffer(server, 8192) as sock:
                sock.sendall(build("GET", "/big.bin"))
                reader = Reader(sock)
                response = next_response(reader, head_only=True)
                assert response.status == 200
                assert int(response.headers["content-length"]) == len(content)
                body = bytearray(reader.buf)
                while len(body) < len(content):
                    data = sock.recv(1 << 20)
                    assert data, f"the download stopped after {len(body)} bytes"
                    body += data
                assert body == content
        finally:
            for s in idle:
                s.close()
        assert not problems(server.stderr()), server.stderr()


# -- 5. a status line the server cannot send -------------------------------------------


@pytest.mark.parametrize("kind", ["latin1", "informational"])
def test_a_status_the_server_cannot_send_gives_a_500_not_a_hang(kind: str) -> None:
    with one_worker() as server:
        with server.connect(timeout=5) as sock:
            sock.sendall(build("GET", f"/status?kind={kind}"))
            try:
                response = next_response(Reader(sock))
            except TimeoutError:
                raise AssertionError(f"no answer in 5 s to a {kind} status") from None
        assert response.status == 500
        assert b"must not be sent" not in response.body
        # The worker is fine afterwards.
        assert get(server, "/seq?i=1").body == b"1"


# -- 6. pipelining past MaxKeepAliveRequests --------------------------------------------


def test_pipelining_past_max_keepalive_requests_delivers_every_response_before_the_close() -> None:
    # MaxKeepAliveRequests is 100 by default: all but 100 of these are never answered,
    # and the client is still sending them when the server closes.
    pipelined = b"".join(build("GET", f"/seq?i={i}") for i in range(100_000))
    with one_worker() as server, server.connect(timeout=10) as sock, ThreadPoolExecutor(1) as pool:
        pool.submit(send_ignoring_errors, sock, pipelined)
        # Read nothing until the server has closed its side: a reset would destroy
        # the responses still waiting in our receive buffer.
        wait_for(lambda: tcp_state(sock) != ESTABLISHED, 10, "the server to close")
        reader = Reader(sock)
        for i in range(100):
            try:
                response = next_response(reader)
            except ConnectionError as e:
                raise AssertionError(f"the connection ended after {i} responses: {e!r}") from None
            assert (response.status, response.body) == (200, b"%d" % i)
            closes = response.headers.get("connection") == "close"
            assert closes == (i == 99), (i, response.headers)
        assert reader.buf == b""
        assert read_to_eof(sock, 10) == b""


def send_ignoring_errors(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass  # the server closed


# -- 8. an unknown Transfer-Encoding ----------------------------------------------------


def test_an_unknown_transfer_encoding_gets_a_400_and_never_reaches_the_app(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "app-ran"
    gzip = build("POST", f"/touch?marker={marker}", headers=[("Transfer-Encoding", "gzip")])
    # One app thread; a short graceful timeout bounds the stop if a request hangs.
    with one_worker("--graceful-timeout", "2", threads=1) as server:
        assert exchange(server, gzip).status == 400
        # Behind another request on the same connection, too.
        with server.connect(timeout=5) as sock:
            sock.sendall(build("GET", "/seq?i=1") + gzip)
            reader = Reader(sock)
            assert next_response(reader).body == b"1"
            refusal = answer_or_none(reader)
        # Once a later request is answered, any job handed to the thread before has run.
        with server.connect(timeout=5) as sock:
            sock.sendall(build("GET", "/seq?i=2"))
            later = answer_or_none(Reader(sock))
        assert not marker.exists(), "the app ran for a request that was refused"
        assert refusal is not None, "no answer in 5 s to the refused pipelined request"
        assert refusal.status == 400
        assert later is not None and later.body == b"2"


# -- 9. SIGHUP while stopping -----------------------------------------------------------


def test_sighup_during_a_graceful_stop_does_not_crash_the_master(tmp_path: Path) -> None:
    started, done, closed = (tmp_path / n for n in ("started", "done", "closed"))
    work = f"/work?started={started}&s=1.5&done={done}&closed={closed}"
    with one_worker("--log-level", "info") as server:
        with server.connect(timeout=15) as sock:
            sock.sendall(build("GET", work))
            wait_for(started.exists, 10, "the request in the app")
            server.signal(signal.SIGTERM)
            wait_for(lambda: refused(server), 10, "the master to begin its stop")
            server.signal(signal.SIGHUP)
            response = next_response(Reader(sock))
            assert (response.status, response.body) == (200, b"work done")
        assert server.wait(20) == 0
        assert not problems(server.stderr()), server.stderr()
        assert "replacing the front-end workers" not in server.stderr()


# -- 10. an app that reads its upload slowly ---------------------------------------------


def test_an_upload_the_app_reads_slowly_is_not_answered_408(tmp_path: Path) -> None:
    body = b"a" * (2 * MB)
    with site(tmp_path, "Timeout 2", "ThreadsPerChild 2") as server:
        with server.connect(timeout=20) as sock, ThreadPoolExecutor(1) as pool:
            # The app pauses 3 s (more than Timeout) after its first 64 KiB, while the
            # server holds the rest of the body back in the client.
            sock.sendall(build("POST", "/slowread?pause=3", [("Content-Length", str(len(body)))]))
            sending = pool.submit(sock.sendall, body)
            response = next_response(Reader(sock))
            sending.result()
        assert response.status == 200, response
        assert response.body == str(len(body)).encode()
        assert not problems(server.stderr()), server.stderr()


# -- 11. a request half-sent when the stop begins ----------------------------------------


def test_a_request_half_sent_when_sigterm_arrives_still_gets_its_response() -> None:
    with one_worker("--log-level", "info") as server:
        (worker,) = worker_pids(server, 1)
        log = LogWatch(server)
        before = sockets_of(worker)
        with server.connect(timeout=10) as sock:
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: test.invalid\r\n")
            wait_for(lambda: sockets_of(worker) > before, 10, "the worker to accept")
            server.signal(signal.SIGTERM)
            log.wait_for("front-end worker stopping")
            sock.sendall(b"Content-Length: 2\r\n\r\nhi")
            try:
                response = next_response(Reader(sock))
            except ConnectionError as e:
                raise AssertionError(f"the half-sent request was dropped: {e!r}") from None
            assert (response.status, response.body) == (200, b"hi")
            assert response.headers.get("connection") == "close"
        assert server.wait(20) == 0
        wait_for(lambda: not alive(worker), 10, "the worker to exit")


# -- 12. an app thread whose client went away --------------------------------------------


def test_a_stopping_worker_lets_app_threads_of_departed_clients_finish(tmp_path: Path) -> None:
    started, done, closed = (tmp_path / n for n in ("started", "done", "closed"))
    work = f"/work?started={started}&s=1.5&done={done}&closed={closed}"
    with one_worker() as server:
        (worker,) = worker_pids(server, 1)
        sock = server.connect()
        sock.sendall(build("POST", work, body=b"x"))
        wait_for(started.exists, 10, "the request in the app")
        before = sockets_of(worker)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset: the client is gone
        wait_for(lambda: sockets_of(worker) < before, 10, "the worker to drop the connection")
        assert not done.exists()
        server.signal(signal.SIGTERM)
        assert server.wait(20) == 0
        # The master has reaped its worker: the app's work and its close() ran before.
        assert not alive(worker)
        assert done.exists(), "the worker exited in the middle of the app's work"
        assert closed.exists(), "the response iterable was never closed"


# -- 13. a small static file that changes under the server --------------------------------

# sysfs attributes declare a size (a page) that their content does not fill: to the server
# they are files that shrank between its stat() and its read(), every time.
SHORT_FILES = (
    "/sys/class/net/lo/mtu",
    "/sys/kernel/mm/transparent_hugepage/enabled",
    "/sys/devices/system/cpu/online",
)


def shorter_than_its_size() -> Path:
    for name in SHORT_FILES:
        path = Path(name)
        try:
            if path.is_file() and 0 < len(path.read_bytes()) < path.stat().st_size <= 65536:
                return path
        except OSError:
            continue
    pytest.skip("no sysfs file shorter than its stat size here")


def test_a_small_static_file_that_shrank_is_refused_not_sent_with_a_false_length() -> None:
    path = shorter_than_its_size()
    with one_worker("--url-alias", "/shrunk", str(path)) as server:
        with server.connect(timeout=5) as sock:
            reader = Reader(sock)
            sock.sendall(build("GET", "/shrunk"))
            try:
                response = next_response(reader)
            except TimeoutError:
                raise AssertionError("the body fell short of its Content-Length") from None
            assert response.status == 503
            # The framing held: the connection carries the next request.
            sock.sendall(build("GET", "/seq?i=3"))
            assert next_response(reader).body == b"3"
        assert not problems(server.stderr()), server.stderr()


# -- 14. an embedded worker that an app retires -----------------------------------------


def test_a_worker_retired_by_its_app_is_replaced_at_once(tmp_path: Path) -> None:
    started, go = tmp_path / "started", tmp_path / "go"
    with one_worker("--log-level", "info", threads=4) as server:
        (old,) = worker_pids(server, 1)
        log = LogWatch(server)
        try:
            with server.connect(timeout=25) as retiring:
                # The app SIGINTs its worker, then takes its time (until `go`).
                retiring.sendall(build("GET", f"/retire?started={started}&go={go}"))
                wait_for(started.exists, 10, "the request in the app")
                log.wait_for("front-end worker stopping (SIGINT)")
                asked = time.monotonic()
                with server.connect(timeout=5) as other:
                    other.sendall(build("GET", "/pid"))
                    try:
                        response = next_response(Reader(other))
                    except TimeoutError:
                        raise AssertionError(
                            "a new client waited for the retiring worker to finish"
                        ) from None
                assert response.status == 200
                assert time.monotonic() - asked < 5
                # Its successor starts at once, and once it is ready takes the new
                # clients (until then the retiring worker goes on accepting: no
                # client waits for a worker to start).
                wait_for(lambda: int(get(server, "/pid").body) != old, 15, "the successor's answer")
                # ... and from then on every new client: the retiring worker was
                # told to stop accepting once its successor was ready.
                time.sleep(0.2)
                assert all(int(get(server, "/pid").body) != old for _ in range(5))
                go.touch()
                finished = next_response(Reader(retiring))
                assert (finished.status, finished.body) == (200, str(old).encode())
        finally:
            go.touch()
        wait_for(lambda: not alive(old), 10, "the retired worker to exit")
