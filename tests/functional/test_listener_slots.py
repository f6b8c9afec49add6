"""Each front-end worker accepts from its own socket of every listener
(SO_REUSEPORT, wsgihost.supervisor.listeners): a burst of connections is
shared between the workers, a connection queued for a worker that died is
served by its successor, a restart with more or fewer workers keeps every
connection served, and a second server on a busy port is still refused.

Real servers, real connections: the app answers with the pid of the process
that ran it, which in embedded mode is the front-end worker that accepted.
"""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import children, free_port, pids_answering, wait_for, worker_pids
from tests.functional.server import ServerProcess, read_response

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the kernel shares connections out on Linux"
)

APP = """\
import os


def application(environ, start_response):
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


def burst(host: str, port: int, count: int, timeout: float = 20) -> collections.Counter[int]:
    """Open ``count`` connections at once, then ask each which process serves it."""
    socks = [socket.create_connection((host, port), timeout=timeout) for _ in range(count)]
    try:
        for sock in socks:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        served: collections.Counter[int] = collections.Counter()
        for sock in socks:
            status, _headers, body = read_response(sock)
            assert status == 200, body
            served[int(body)] += 1
        return served
    finally:
        for sock in socks:
            sock.close()


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[ServerProcess]:
    script = tmp_path / "pid.wsgi"
    script.write_text(APP)
    os.chmod(tmp_path, 0o755)
    args = ["serve", str(script), "--embedded", "--port", "0", "--processes", "2"]
    server = ServerProcess([*args, "--threads", "4"])
    try:
        yield server.wait_listening()
    finally:
        server.close()


def test_a_burst_of_keepalive_connections_is_shared_by_the_workers(
    embedded: ServerProcess,
) -> None:
    workers = worker_pids(embedded, 2)
    served = burst(embedded.host, embedded.port, 32)
    # One shared socket let the first worker to wake take the whole burst; with a
    # socket each, the kernel's hash gives each worker about half (at least 4 of
    # 32 but for a chance of about 3 in a million).
    assert set(served) == workers, served
    assert min(served.values()) >= 4, served


def test_connections_queued_for_a_killed_worker_are_served_by_its_successor(
    embedded: ServerProcess,
) -> None:
    workers = worker_pids(embedded, 2)
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    # Made at once, while the victim is gone: those the kernel queues on its
    # socket wait there for the successor, which the master starts on the same one.
    served = burst(embedded.host, embedded.port, 24)
    assert victim not in served
    assert sum(served.values()) == 24
    now = worker_pids(embedded, 2)
    assert set(served) == now, (served, now)


def test_a_second_server_on_a_busy_port_is_refused(embedded: ServerProcess, tmp_path: Path) -> None:
    script = tmp_path / "pid.wsgi"
    where = ["--host", embedded.host, "--port", str(embedded.port)]
    second = subprocess.run(
        [sys.executable, "-m", "wsgihost", "serve", str(script), "--embedded", *where],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode != 0
    assert "Address already in use" in second.stderr, second.stderr
    # ... and the first still has every connection.
    assert set(burst(embedded.host, embedded.port, 8)) <= worker_pids(embedded, 2)


def site_conf(conf: Path, port: int, script: Path, workers: int) -> None:
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:{port}
            StartServers {workers}
            WSGIScriptAlias / {script}
            """
        )
    )


def test_a_restart_with_more_then_fewer_workers_serves_every_connection(tmp_path: Path) -> None:
    script = tmp_path / "pid.wsgi"
    script.write_text(APP)
    os.chmod(tmp_path, 0o755)
    conf = tmp_path / "site.conf"
    port = free_port()
    site_conf(conf, port, script, 2)
    server = ServerProcess(["serve", "--config", str(conf)])
    try:
        server.wait_listening()
        old = worker_pids(server, 2)

        def restart(workers: int) -> set[int]:
            site_conf(conf, port, script, workers)
            server.signal(signal.SIGHUP)
            fresh = wait_for(
                lambda: len(now := children(server.proc.pid)) == workers and not now & old and now,
                30,
                f"{workers} fresh workers",
            )
            # Each serving: a socket added for a new worker listens once it does.
            assert pids_answering(server, workers) == fresh
            return fresh

        for workers in (3, 2, 1):
            fresh = restart(workers)
            served = burst(server.host, server.port, 16 * workers)
            # Each worker has sockets of its own, as many as the others (3 sockets
            # for 2 workers become 4), so each gets connections; the last one alone
            # accepts from all of them: no connection is left on a socket nobody serves.
            assert set(served) == fresh, (workers, served)
            assert min(served.values()) >= 4 or workers == 1, served
            assert sum(served.values()) == 16 * workers
            old = fresh
    finally:
        server.close()


# Run by every interpreter the server starts (it is on their PYTHONPATH): once the
# file "slow" is beside it, a new process takes seconds to start, as one whose
# imports are slow would.
SLOW_START = """\
import os
import time

if os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), "slow")):
    time.sleep(4)
"""


def test_a_graceful_restart_keeps_answering_while_the_new_workers_start(tmp_path: Path) -> None:
    script = tmp_path / "pid.wsgi"
    script.write_text(APP)
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "sitecustomize.py").write_text(SLOW_START)
    os.chmod(tmp_path, 0o755)
    conf = tmp_path / "site.conf"
    port = free_port()

    def configure(workers: int) -> None:
        site_conf(conf, port, script, workers)
        # Long enough that the old workers can only have gone because they were
        # told their successors are ready.
        conf.write_text(conf.read_text() + "GracefulShutdownTimeout 120\n")

    configure(2)
    path = os.pathsep.join(filter(None, [str(site_dir), os.environ.get("PYTHONPATH")]))
    server = ServerProcess(["serve", "--config", str(conf)], env={"PYTHONPATH": path})
    try:
        server.wait_listening()
        old = pids_answering(server, 2)  # both ready
        (site_dir / "slow").write_text("")
        configure(3)  # one more worker: a socket more on the port
        server.signal(signal.SIGHUP)
        wait_for(lambda: len(children(server.proc.pid)) == 5, 10, "the new workers started")
        # The old workers were told to stop with the new ones still starting: they
        # hand over, accepting until the new ones are ready, and the socket added
        # for the third does not listen before it does, so nobody waits.
        for _ in range(12):
            served = burst(server.host, server.port, 1, timeout=2)
            assert set(served) <= old, served
        (site_dir / "slow").unlink()
        new = worker_pids_after(server, old, 3, 20)
        # The third worker's socket listens once it serves (the old workers may go
        # before that: their own sockets had their successors): then all three answer.
        assert pids_answering(server, 3) == new
    finally:
        server.close()


def worker_pids_after(server: ServerProcess, old: set[int], count: int, timeout: float) -> set[int]:
    """The ``count`` workers once those in ``old`` have all exited."""
    return wait_for(
        lambda: len(now := children(server.proc.pid)) == count and not now & old and now,
        timeout,
        "the old workers to hand over and exit",
    )
