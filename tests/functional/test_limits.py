"""The app-side limits of WSGIDaemonProcess, end to end.

request-timeout (a stuck request gets a 504 and its stack is logged while the
other requests are served; the process is replaced, successor first),
queue-timeout (503 before the app sees the request), the replacements
(restart-interval, rss-limit, maximum-requests: one process of a group at a
time, successor first, no failed request), inactivity-timeout, and the
resource limits mod_wsgi documents (memory-limit, virtual-memory-limit,
cpu-time-limit).

Real servers (``serve --config``) on 127.0.0.1 running ``tests/apps/limits.wsgi``;
waits are polls with deadlines, and the only time bounds are the issue's own
("within a few seconds").
"""

from __future__ import annotations

import os
import re
import signal
import socket
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.functional.helpers import (
    Response,
    alive,
    build,
    free_port,
    next_response,
    problems,
    read_to_eof,
    wait_for,
)
from tests.functional.server import APPS, Reader, ServerProcess
from tests.functional.test_daemon import (
    Load,
    daemon_pids,
    stop_and_check_nothing_left,
)

pytestmark = pytest.mark.slow

LIMITS_APP = APPS / "limits.wsgi"
# "Within a few seconds" of request-timeout, on a loaded machine.
FEW_SECONDS = 5.0


@dataclass
class Site:
    server: ServerProcess
    port: int
    folder: Path
    seen: set[int] = field(default_factory=set)

    @property
    def master(self) -> int:
        return self.server.proc.pid

    def fetch(self, target: str, timeout: float = 30.0) -> Response:
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(build("GET", target))
            return next_response(Reader(sock))

    def pid(self) -> int:
        response = self.fetch("/pid")
        assert response.status == 200, response
        self.seen.add(int(response.body))
        return int(response.body)

    def daemons(self) -> set[int]:
        pids = daemon_pids(self.master, "g")
        self.seen |= pids
        return pids

    def log(self) -> str:
        return self.server.stderr()


@contextmanager
def site(folder: Path, options: str, allow: tuple[str, ...] = ()) -> Iterator[Site]:
    """One daemon group ``g`` with ``options``, the limits app at /, LogLevel info.

    The port is picked free and, should another program take it first, picked
    again: the test does not depend on it staying free.
    """
    conf = folder / "site.conf"
    for _ in range(5):
        port = free_port()
        conf.write_text(
            textwrap.dedent(
                f"""\
                Listen 127.0.0.1:{port}
                LogLevel info
                WSGIDaemonProcess g {options}
                WSGIProcessGroup g
                WSGIScriptAlias / {LIMITS_APP}
                """
            )
        )
        server = ServerProcess(["serve", "--config", str(conf)])
        try:
            server.wait_listening()
            break
        except RuntimeError:
            server.close()
            if "Address already in use" not in server.stderr():
                raise
    else:
        raise AssertionError("no free port in five tries")
    running = Site(server, port, folder)
    try:
        wait_for(lambda: running.daemons(), 20, "a daemon process")
        yield running
    finally:
        stop_and_check_nothing_left(server, running.seen)
    assert server.proc.returncode == 0, server.stderr()
    found = problems(server.stderr(), allow=allow)
    assert not found, server.stderr()


# -- the master's record of replacements ---------------------------------------------------

REPLACING = re.compile(r"replacing daemon process \(g\) (\d+) \((.*)\); its successor starts first")
STARTED = re.compile(r"started daemon process (\d+) of group 'g'")
READY = re.compile(r"daemon process \(g\) (\d+) is ready")
RETIRING = re.compile(r"daemon process \(g\) (\d+) retiring")


def replacements(log: str) -> list[tuple[int, str]]:
    """(old pid, why) of each replacement the master began, in order."""
    return [(int(m.group(1)), m.group(2)) for m in REPLACING.finditer(log)]


def assert_one_at_a_time_successor_first(log: str) -> None:
    """Each replacement: the successor started and was ready before the old process retired,
    and the next replacement began only after that."""
    current: int | None = None  # the process being replaced
    successor: int | None = None
    successor_ready = False
    for line in log.splitlines():
        if m := REPLACING.search(line):
            assert current is None, f"{m.group(1)} replaced while {current} still was:\n{log}"
            current, successor, successor_ready = int(m.group(1)), None, False
        elif (m := STARTED.search(line)) and current is not None and successor is None:
            successor = int(m.group(1))
        elif (m := READY.search(line)) and successor is not None and int(m.group(1)) == successor:
            successor_ready = True
        elif (m := RETIRING.search(line)) and current is not None and int(m.group(1)) == current:
            assert successor_ready, f"{current} retired before its successor was ready:\n{log}"
            current = None


# -- request-timeout ---------------------------------------------------------------------------


def test_a_stuck_request_gets_a_504_its_stack_is_logged_and_others_are_served(
    tmp_path: Path,
) -> None:
    with site(tmp_path, "processes=1 threads=4 request-timeout=2 shutdown-timeout=2") as s:
        old = s.pid()
        others: list[Response] = []
        with ThreadPoolExecutor(1) as pool:
            started = time.monotonic()
            stuck = pool.submit(s.fetch, "/stuck")
            # The other threads keep serving while one is stuck, and after.
            while not stuck.done():
                others.append(s.fetch("/work?ms=20"))
            waited = time.monotonic() - started
            response = stuck.result()
        assert response.status == 504, response
        assert waited < 2 + FEW_SECONDS, f"the 504 came after {waited:.1f} s"
        assert len(others) >= 10
        assert all(r.status == 200 for r in others), [r for r in others if r.status != 200][:3]
        # The stack of the stuck thread, with the request's URL, in the error log.
        log = wait_for(lambda: "time.sleep(3600)" in s.log() and s.log(), 10, "the stack")
        assert "GET /stuck has run for" in log
        assert "past request-timeout (2 s)" in log
        assert "in stuck_forever" in log and "limits.wsgi" in log
        # Replaced, successor first: a new process serves, and the old one goes.
        new = wait_for(lambda: (pid := s.pid()) != old and pid, 20, "the successor to serve")
        assert all(r.status == 200 for r in (s.fetch("/pid") for _ in range(5)))
        wait_for(lambda: not alive(old), 20, "the stuck process to exit")
        assert s.daemons() == {new}
        assert [pid for pid, _ in replacements(s.log())] == [old]
        assert_one_at_a_time_successor_first(s.log())


def test_a_request_stuck_after_its_response_began_has_its_connection_cut(tmp_path: Path) -> None:
    with site(tmp_path, "processes=1 threads=2 request-timeout=2 shutdown-timeout=2") as s:
        old = s.pid()
        with socket.create_connection(("127.0.0.1", s.port), timeout=30) as sock:
            sock.sendall(build("GET", "/stuck-streaming"))
            reader = Reader(sock)
            status, headers, _ = reader.response(head_only=True)
            assert status == 200
            assert headers.get("transfer-encoding") == "chunked"
            rest = reader.buf + read_to_eof(sock, 2 + FEW_SECONDS + 5)
        # Cut: never the last chunk that would make the response look complete.
        assert b"first part" in rest
        assert not rest.endswith(b"0\r\n\r\n"), rest
        wait_for(lambda: "time.sleep(3600)" in s.log(), 10, "the stack")
        assert "its response had begun" in s.log()
        wait_for(lambda: s.pid() != old, 20, "the successor to serve")


def test_graceful_and_shutdown_timeouts_bound_a_retiring_process(tmp_path: Path) -> None:
    hold = tmp_path / "hold"
    hold.mkdir()
    options = "processes=1 threads=2 request-timeout=0 graceful-timeout=1 shutdown-timeout=1"
    with site(tmp_path, options) as s:
        old = s.pid()
        with ThreadPoolExecutor(1) as pool:
            held = pool.submit(s.fetch, f"/hold?dir={hold}&id=long")
            wait_for(lambda: (hold / "started-long").exists(), 10, "the long request to run")
            os.kill(old, signal.SIGINT)  # as mod_wsgi's self-restart does, from outside
            # The request would hold it for 20 s: it is killed after 1 + 1 s instead.
            wait_for(lambda: not alive(old), 2 + FEW_SECONDS, "the retiring process to be killed")
            response = held.result()
        assert response.status == 502, response  # accepted, then its process died
        assert "after graceful-timeout and shutdown-timeout; killing it" in s.log()
        assert s.pid() != old


# -- queue-timeout ----------------------------------------------------------------------------


def test_a_request_that_waited_past_queue_timeout_gets_503_and_never_runs(
    tmp_path: Path,
) -> None:
    hold = tmp_path / "hold"
    hold.mkdir()
    with site(tmp_path, "processes=1 threads=1 queue-timeout=1") as s:
        s.pid()
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(s.fetch, f"/hold?dir={hold}&id=first")
            wait_for(lambda: (hold / "started-first").exists(), 10, "the first request to run")
            sent = time.monotonic()
            second = pool.submit(s.fetch, f"/hold?dir={hold}&id=second")
            # It waits for the only thread (in the group's backlog, or on a connection
            # the front end keeps to the process). Free the thread once the request is
            # past its queue-timeout, so that the daemon sees it and refuses it; had
            # the front end given up on it first, it is a 503 all the same.
            while time.monotonic() < sent + 1.2:
                time.sleep(0.05)
            (hold / "go").touch()
            refused = second.result()
            assert first.result().status == 200
        assert refused.status == 503, refused
        assert s.fetch("/pid").status == 200
        assert not (hold / "started-second").exists(), "the app ran a request it refused"


# -- replacements: one process of a group at a time, successor first --------------------------


@pytest.mark.parametrize(
    ("options", "target", "why"),
    [
        ("restart-interval=2", "/work?ms=10", "restart-interval (2 s)"),
        ("maximum-requests=15", "/work?ms=10", "maximum-requests (15) reached"),
        ("rss-limit=64M", "/grow?mb=2&ms=20", "rss-limit (64M)"),
    ],
    ids=["restart-interval", "maximum-requests", "rss-limit"],
)
def test_replacements_go_one_at_a_time_successor_first_and_lose_nothing(
    tmp_path: Path, options: str, target: str, why: str
) -> None:
    with site(tmp_path, f"processes=2 threads=2 {options}") as s:
        wait_for(lambda: len(s.daemons()) == 2, 20, "two processes")
        with Load(s.port, lambda client, n: target, clients=2) as load:
            wait_for(lambda: len(replacements(s.log())) >= 4, 60, "four replacements", every=0.1)
            outcomes = load.stop()
        failed = [o for o in outcomes if o.status != 200]
        assert not failed, failed[:5]
        done = replacements(s.log())
        assert {reason for _, reason in done} == {why}, done
        assert len({pid for pid, _ in done}) == len(done)  # each process replaced once
        assert_one_at_a_time_successor_first(s.log())
        s.seen |= {o.pid for o in outcomes}


# -- inactivity-timeout -----------------------------------------------------------------------


def test_inactivity_timeout_replaces_a_process_that_served_and_went_quiet(
    tmp_path: Path,
) -> None:
    with site(tmp_path, "processes=1 threads=2 inactivity-timeout=1") as s:
        (fresh,) = wait_for(lambda: s.daemons(), 20, "the daemon process")
        # A process that has served nothing is as fresh as a new one: left alone.
        time.sleep(2.5)
        assert s.daemons() == {fresh}
        assert "inactivity-timeout" not in s.log()
        assert s.pid() == fresh
        wait_for(lambda: "(inactivity-timeout)" in s.log(), 10, "the inactivity-timeout")
        wait_for(lambda: not alive(fresh), 20, "the idle process to go")
        (new,) = wait_for(lambda: s.daemons(), 20, "its successor")
        assert s.pid() == new != fresh
        assert_one_at_a_time_successor_first(s.log())


# -- mod_wsgi's resource limits -----------------------------------------------------------


def test_memory_and_cpu_limits_are_the_processes_rlimits(tmp_path: Path) -> None:
    gib = 1 << 30
    with site(
        tmp_path,
        f"processes=1 threads=2 memory-limit={4 * gib} virtual-memory-limit={16 * gib} "
        "cpu-time-limit=1 shutdown-timeout=3",
    ) as s:
        response = s.fetch("/limits")
        assert response.status == 200, response
        assert response.json() == {
            "RLIMIT_DATA": [4 * gib, 4 * gib],
            "RLIMIT_AS": [16 * gib, 16 * gib],
            "RLIMIT_CPU": [1, 4],  # SIGXCPU at 1 s; killed shutdown-timeout CPU seconds later
        }
        old = s.pid()
        # Past its CPU time the process retires: the request that crossed the line
        # still gets its answer, and a successor takes over.
        spun = s.fetch("/spin?s=1.5")
        assert spun.status == 200 and int(spun.body) == old
        wait_for(lambda: "cpu-time-limit reached" in s.log(), 10, "the retirement")
        wait_for(lambda: not alive(old), 20, "the process to go")
        assert wait_for(lambda: (pid := s.pid()) != old and pid, 20, "the successor")
