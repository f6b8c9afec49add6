"""Daemon mode end to end (issue 4's acceptance): process groups per site, titles, threads,
SIGINT self-restart and kill -9 under load, big bodies, python-home, a broken app, stops.

Real servers (``serve --config`` with a site file written per test, the two-site example,
and ``serve SCRIPT``) on 127.0.0.1; the app is ``tests/apps/daemon.wsgi`` (standard library
only). Waits are polls with deadlines. Every test checks that no process the server started
outlives it.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.functional.helpers import (
    Response,
    alive,
    build,
    children,
    download_block,
    free_port,
    next_response,
    problems,
    proc_kb,
    wait_for,
)
from tests.functional.server import APPS, Reader, ServerProcess, serve

pytestmark = pytest.mark.slow

DAEMON_APP = APPS / "daemon.wsgi"
BROKEN_APP = APPS / "broken_import.wsgi"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "two-sites" / "site.conf"
MB = 1024 * 1024


# -- processes -----------------------------------------------------------------


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def daemon_pids(master: int, group: str) -> set[int]:
    """The master's live daemon processes of ``group``, by the title on their command line."""
    title = f"wsgihost: daemon {group}"
    return {pid for pid in children(master) if title in cmdline(pid)}


def assert_titled(pid: int, group: str) -> None:
    """``ps`` shows the role and the group: on the command line, and in the kernel's name."""
    title = f"wsgihost: daemon {group}"
    assert title in cmdline(pid), cmdline(pid)
    name = comm(pid)
    assert name and not name.startswith("python") and name in title, name


def threads_at_least(pid: int, count: int) -> Callable[[], bool]:
    return lambda: (proc_kb(pid, "Threads") or 0) >= count


def frontend_pids(master: int) -> set[int]:
    return {pid for pid in children(master) if "wsgihost.frontend" in cmdline(pid)}


def full_strength(master: int, group: str, count: int, timeout: float = 10.0) -> set[int]:
    """Wait until ``group`` has exactly ``count`` daemon processes; return their pids."""

    def check() -> set[int]:
        pids = daemon_pids(master, group)
        return pids if len(pids) == count else set()

    return wait_for(check, timeout, f"{count} daemon processes of {group!r}")


def stop_and_check_nothing_left(server: ServerProcess, seen: Iterable[int] = ()) -> None:
    """Stop the server; fail if any process it started (or that a test saw) is still alive."""
    ours = children(server.proc.pid) | set(seen)
    server.close()
    # Reparented to init once the master is gone, so they are followed by pid.
    try:
        wait_for(lambda: not [p for p in ours if alive(p)], 10, "the server's children to exit")
    except AssertionError:
        left = {p: cmdline(p) for p in ours if alive(p)}
        for pid, line in left.items():
            if not any("wsgihost" in arg for arg in line):
                continue  # the pid was reused by someone else
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        raise AssertionError(f"processes outlived the server: {left}") from None


# -- sites -----------------------------------------------------------------------


@dataclass
class Site:
    """A running ``serve --config`` server with named ports."""

    server: ServerProcess
    ports: dict[str, int]
    folder: Path
    seen: set[int] = field(default_factory=set)

    @property
    def master(self) -> int:
        return self.server.proc.pid

    def fetch(self, port: str, target: str, method: str = "GET", timeout: float = 15.0) -> Response:
        with socket.create_connection(("127.0.0.1", self.ports[port]), timeout=timeout) as sock:
            sock.sendall(build(method, target))
            return next_response(Reader(sock))

    def info(self, port: str) -> dict[str, Any]:
        response = self.fetch(port, "/info")
        assert response.status == 200, response
        return response.json()  # type: ignore[no-any-return]

    def daemons(self, group: str) -> set[int]:
        pids = daemon_pids(self.master, group)
        self.seen |= pids
        return pids


def vhost(port: str, group: str, script: Path, options: str = "") -> str:
    return textwrap.dedent(
        f"""\
        Listen 127.0.0.1:${{{port}}}
        <VirtualHost *:${{{port}}}>
            ServerName {group}.test
            WSGIDaemonProcess {group} {options}
            WSGIProcessGroup {group}
            WSGIScriptAlias / {script}
        </VirtualHost>
        """
    )


@contextmanager
def site(
    folder: Path,
    *vhosts: str,
    ports: tuple[str, ...],
    env: dict[str, str] | None = None,
    allow: tuple[str, ...] = (),
) -> Iterator[Site]:
    """Write the site file, run it, and afterwards check the stop and the error log."""
    conf = folder / "site.conf"
    conf.write_text("\n".join(vhosts))
    numbers = {name: free_port() for name in ports}
    server = ServerProcess(
        ["serve", "--config", str(conf)],
        env={**{k: str(v) for k, v in numbers.items()}, **(env or {})},
    )
    running = Site(server, numbers, folder)
    try:
        server.wait_listening(count=len(ports))
        yield running
    finally:
        stop_and_check_nothing_left(server, running.seen)
    assert server.proc.returncode == 0, server.stderr()
    found = problems(server.stderr(), allow=allow)
    assert not found, server.stderr()


# -- load ------------------------------------------------------------------------


@dataclass
class Outcome:
    target: str
    status: int | None  # None: the connection failed or the body was cut short
    body: bytes = b""
    error: str = ""

    @property
    def pid(self) -> int:
        return int(self.body.split()[0])


class Load:
    """``clients`` threads, each sending requests on new connections until ``stop``."""

    def __init__(
        self,
        port: int,
        choose: Callable[[int, int], str],
        clients: int = 16,
        check: Callable[[str, Response], str] | None = None,
    ) -> None:
        self.port = port
        self.choose = choose
        self.check = check
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(clients)
        ]

    def _client(self, index: int) -> None:
        n = 0
        while not self.stopping.is_set():
            target = self.choose(index, n)
            n += 1
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=20) as sock:
                    sock.sendall(build("GET", target))
                    response = next_response(Reader(sock))
                outcome = Outcome(target, response.status, response.body)
                if self.check is not None and response.status == 200:
                    problem = self.check(target, response)
                    if problem:
                        outcome = Outcome(target, None, response.body[:100], problem)
            except (OSError, ValueError) as e:
                outcome = Outcome(target, None, error=repr(e))
            with self.lock:
                self.outcomes.append(outcome)

    def count(self, target_prefix: str = "/") -> int:
        with self.lock:
            return sum(1 for o in self.outcomes if o.target.startswith(target_prefix))

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def run_until(self, deadline: float) -> list[Outcome]:
        """Keep the load going until ``deadline``, then let every request in flight end."""
        while time.monotonic() < deadline and all(t.is_alive() for t in self.threads):
            self.threads[0].join(min(0.05, max(0.0, deadline - time.monotonic())))
        return self.stop()

    def stop(self) -> list[Outcome]:
        self.stopping.set()
        for t in self.threads:
            t.join(30)
        assert not any(t.is_alive() for t in self.threads), "a client hung"
        return list(self.outcomes)

    def __exit__(self, *exc: object) -> None:
        self.stop()


def barrier_round(site: Site, port: str, threads: int, processes: int) -> Counter[int]:
    """threads * processes requests at once, each waiting for ``threads`` in its process.

    A request passes its process's barrier only once ``threads`` of them are in that
    process, and then stays until the test has seen all of them pass: so each process
    must run exactly ``threads`` at once, whatever the timing.
    """
    key = uuid.uuid4().hex
    total = threads * processes
    folder = site.folder
    target = f"/barrier?key={key}&n={threads}&dir={folder}"
    with ThreadPoolExecutor(total) as pool:
        futures = [pool.submit(site.fetch, port, target) for _ in range(total)]
        try:
            wait_for(
                lambda: len(list(folder.glob(f"passed-{key}-*"))) == total,
                15,
                f"{total} requests to pass their barriers",
            )
        finally:
            (folder / f"go-{key}").touch()
        responses = [f.result() for f in futures]
    assert all(r.status == 200 and r.body.endswith(b" ok") for r in responses), [
        (r.status, r.body) for r in responses
    ]
    return Counter(int(r.body.split()[0]) for r in responses)


# -- 1. groups, titles, threads ----------------------------------------------------


def test_each_port_is_served_by_its_own_group_with_its_processes_and_threads(
    tmp_path: Path,
) -> None:
    with site(
        tmp_path,
        vhost("P1", "one", DAEMON_APP, "processes=2 threads=3"),
        vhost("P2", "two", DAEMON_APP, "processes=2 threads=2"),
        ports=("P1", "P2"),
    ) as s:
        for port, group in (("P1", "one"), ("P2", "two")):
            info = s.info(port)
            assert info["group"] == group
            assert info["multithread"] is True
            assert info["multiprocess"] is True
        one = full_strength(s.master, "one", 2)
        two = full_strength(s.master, "two", 2)
        s.seen |= one | two
        for pid in one:
            assert_titled(pid, "one")
        for pid in two:
            assert_titled(pid, "two")
        # Proven without timing: each process answers exactly `threads` of the requests,
        # since a barrier of `threads` only opens once that many arrived in one process.
        assert barrier_round(s, "P1", threads=3, processes=2) == dict.fromkeys(one, 3)
        assert barrier_round(s, "P2", threads=2, processes=2) == dict.fromkeys(two, 2)
        assert s.daemons("one") == one and s.daemons("two") == two  # nobody restarted


def test_the_two_sites_example_runs_as_written() -> None:
    ports = {"PORT1": free_port(), "PORT2": free_port()}
    server = ServerProcess(
        ["serve", "--config", str(EXAMPLE)], env={k: str(v) for k, v in ports.items()}
    )
    seen: set[int] = set()
    try:
        server.wait_listening(count=2)
        for number, site_name in (
            (ports["PORT1"], "example1.com"),
            (ports["PORT2"], "example2.com"),
        ):
            with socket.create_connection(("127.0.0.1", number), timeout=15) as sock:
                sock.sendall(build("GET", "/"))
                response = next_response(Reader(sock))
            assert response.status == 200, response
            assert f"{site_name} served by group '{site_name}'" in response.text
            pids = full_strength(server.proc.pid, site_name, 2)
            seen |= pids
            assert int(response.text.split()[-1]) in pids
            # Cheap for 15 and 25 threads: each process has at least that many threads.
            wanted = 15 if site_name == "example1.com" else 25
            for pid in pids:
                assert_titled(pid, site_name)
                wait_for(threads_at_least(pid, wanted), 10, f"{wanted} threads in {pid}")
        with socket.create_connection(("127.0.0.1", ports["PORT2"]), timeout=15) as sock:
            sock.sendall(build("GET", "/static/site.css"))
            assert next_response(Reader(sock)).status == 200
        assert comm(server.proc.pid).startswith("wsgihost")
    finally:
        stop_and_check_nothing_left(server, seen)
    assert not problems(server.stderr()), server.stderr()


# -- 2. SIGINT self-restart under load ---------------------------------------------


@pytest.mark.parametrize("processes", [2, 1])
def test_sigint_self_restart_under_load_loses_no_request(tmp_path: Path, processes: int) -> None:
    with site(
        tmp_path, vhost("P", "g", DAEMON_APP, f"processes={processes} threads=4"), ports=("P",)
    ) as s:
        before = full_strength(s.master, "g", processes)
        s.seen |= before

        def choose(client: int, n: int) -> str:
            return "/sigint" if client < 2 else "/work?ms=2"

        with Load(s.ports["P"], choose) as load:
            end = time.monotonic() + 3.0
            while time.monotonic() < end:  # record the processes as they come and go
                s.daemons("g")
                load.threads[0].join(0.05)
            outcomes = load.stop()
        failed = [o for o in outcomes if o.status != 200]
        assert not failed, failed[:5]
        signalled = [o for o in outcomes if o.target == "/sigint"]
        assert len(signalled) >= 3, len(signalled)
        answering = {o.pid for o in outcomes}
        assert answering - before, "no new process ever answered"
        retired = {o.pid for o in signalled}
        assert len(retired) >= 3, retired
        s.seen |= answering
        # Every process that answered a /sigint retired and exited; the group is whole.
        wait_for(lambda: not [p for p in retired if alive(p)], 10, "the retired to exit")
        after = full_strength(s.master, "g", processes)
        assert not after & retired


# -- 3. kill -9 of a daemon under load ------------------------------------------------


def test_kill_9_of_a_daemon_under_load_fails_only_what_it_had_accepted(tmp_path: Path) -> None:
    threads = 4
    download = 256 * 1024
    expected = b"".join(download_block(i) for i in range(download // 65536))

    def check(target: str, response: Response) -> str:
        if target.startswith("/download") and response.body != expected:
            return f"download body wrong ({len(response.body)} bytes)"
        return ""

    def choose(client: int, n: int) -> str:
        return f"/download?size={download}" if client < 4 else "/work?ms=5"

    with site(
        tmp_path, vhost("P", "g", DAEMON_APP, f"processes=2 threads={threads}"), ports=("P",)
    ) as s:
        before = full_strength(s.master, "g", 2)
        s.seen |= before
        with Load(s.ports["P"], choose, check=check) as load:
            end = time.monotonic() + 3.0
            wait_for(lambda: load.count() >= 40, 10, "the load to flow")
            victim = min(before)
            os.kill(victim, signal.SIGKILL)
            after_kill = load.count()
            outcomes = load.run_until(end)
        failed = [o for o in outcomes if o.status != 200]
        assert len(failed) <= threads, failed
        # Only requests the killed process had taken: a 502, or a cut connection.
        assert all(o.status in (None, 502) for o in failed), failed
        assert len(outcomes) > after_kill + 20, "the load stopped after the kill"
        pids = full_strength(s.master, "g", 2)
        assert victim not in pids
        s.seen |= pids
        new = (pids - before).pop()

        def replacement_serves() -> bool:
            # More requests at once than one process has threads: front ends reuse
            # their daemon connections, so a light load may stay on the survivor.
            with ThreadPoolExecutor(3 * threads) as pool:
                answers = pool.map(lambda _: s.fetch("P", "/work?ms=100").body, range(3 * threads))
                return str(new).encode() in set(answers)

        wait_for(replacement_serves, 20, "the replacement to serve")


# -- 4. big bodies stream through -------------------------------------------------------


def test_50_mb_up_and_down_through_a_daemon_keep_memory_flat() -> None:
    server = serve(DAEMON_APP, processes=1, threads=2, mode="daemon")
    seen: set[int] = set()
    try:
        frontend = wait_for(lambda: frontend_pids(server.proc.pid), 10, "the front end")
        seen |= frontend | children(server.proc.pid)

        def upload(size: int) -> dict[str, Any]:
            digest = hashlib.sha256()
            with server.connect(timeout=60) as sock:
                sock.sendall(build("POST", "/upload", headers=[("Content-Length", str(size))]))
                for i in range(size // 65536):
                    block = download_block(i)
                    digest.update(block)
                    sock.sendall(block)
                response = next_response(Reader(sock))
            assert response.status == 200, response
            answer = response.json()
            assert answer["length"] == size
            assert answer["sha256"] == digest.hexdigest()
            return answer  # type: ignore[no-any-return]

        def download(size: int) -> int:
            digest = hashlib.sha256()
            expected = hashlib.sha256()
            for i in range(size // 65536):
                expected.update(download_block(i))
            with server.connect(timeout=60) as sock:
                sock.sendall(build("GET", f"/download?size={size}"))
                reader = Reader(sock)
                status, headers, _ = reader.response(head_only=True)
                assert status == 200
                length = int(headers["content-length"])
                got, pending = 0, reader.buf
                while got < length:
                    if not pending:
                        pending = sock.recv(262144)
                        assert pending, f"connection closed after {got} bytes"
                    digest.update(pending)
                    got += len(pending)
                    pending = b""
            assert got == size
            assert digest.hexdigest() == expected.hexdigest()
            return int(headers["x-pid"])

        # Warm up both processes, then take the baseline.
        daemon = int(upload(MB)["pid"])
        assert download(MB) == daemon
        seen.add(daemon)
        # Either front end may carry a transfer: watch them all.
        fronts0 = {pid: proc_kb(pid, "VmHWM") for pid in frontend}
        daemon0 = proc_kb(daemon, "VmHWM")
        assert all(fronts0.values()) and daemon0

        assert upload(50 * MB)["pid"] == daemon
        assert download(50 * MB) == daemon

        front_growth = max((proc_kb(p, "VmHWM") or 0) - (k or 0) for p, k in fronts0.items())
        daemon_growth = (proc_kb(daemon, "VmHWM") or 0) - daemon0
        assert front_growth < 20 * 1024, f"front end peak RSS grew {front_growth} kB"
        assert daemon_growth < 20 * 1024, f"daemon peak RSS grew {daemon_growth} kB"
    finally:
        stop_and_check_nothing_left(server, seen)
    assert not problems(server.stderr()), server.stderr()


# -- 5. python-home ---------------------------------------------------------------------


def test_each_group_runs_under_its_own_python_home(tmp_path: Path) -> None:
    venvs = [tmp_path / "venv-a", tmp_path / "venv-b"]
    makers = [
        subprocess.Popen([sys.executable, "-m", "venv", "--without-pip", str(v)]) for v in venvs
    ]
    assert [m.wait(60) for m in makers] == [0, 0]
    with site(
        tmp_path,
        vhost("PA", "a", DAEMON_APP, f"processes=1 threads=2 python-home={venvs[0]}"),
        vhost("PB", "b", DAEMON_APP, f"processes=1 threads=2 python-home={venvs[1]}"),
        ports=("PA", "PB"),
    ) as s:
        for port, group, venv in (("PA", "a", venvs[0]), ("PB", "b", venvs[1])):
            info = s.info(port)
            assert info["group"] == group
            assert os.path.realpath(str(info["prefix"])) == os.path.realpath(venv)
            assert str(info["executable"]).startswith(str(venv))
            assert info["prefix"] != sys.prefix
            # Nothing of the server's own environment (its site-packages) on sys.path.
            server_env = os.path.realpath(sys.prefix)
            leaked = [p for p in info["path"] if os.path.realpath(p).startswith(server_env)]
            assert not leaked, leaked
            s.seen.add(int(str(info["pid"])))


# -- 6. an app that fails to import ------------------------------------------------------

FAILED_START = "before it was ready"
BROKEN_LOG = ("Traceback",)  # checked by count_tracebacks


def count_tracebacks(log: str) -> int:
    """The tracebacks in ``log``, all of them the broken import's."""
    count = log.count("Traceback (most recent call last)")
    assert count == log.count("RuntimeError: broken_import.wsgi fails at import on purpose"), log
    return count


def test_a_group_whose_app_fails_to_import_answers_503_and_backs_off(tmp_path: Path) -> None:
    with site(
        tmp_path,
        vhost("GOOD", "good", DAEMON_APP, "processes=1 threads=2"),
        vhost("BAD", "bad", BROKEN_APP, "processes=2 threads=2"),
        ports=("GOOD", "BAD"),
        allow=BROKEN_LOG,
    ) as s:
        started = time.monotonic()
        wait_for(lambda: FAILED_START in s.server.stderr(), 10, "the first failed start")
        log = s.server.stderr()
        assert "Traceback (most recent call last)" in log
        assert "broken_import.wsgi fails at import on purpose" in log
        # From now on, for ~8 s: a 503 at once, every time, while the good group serves.
        pace = threading.Event()  # never set: its wait() paces the loop
        asked = 0
        while time.monotonic() < started + 8.0:
            t0 = time.monotonic()
            bad = s.fetch("BAD", "/info")
            took = time.monotonic() - t0
            assert bad.status == 503, bad
            assert took < 3.0, f"the 503 took {took:.1f} s"
            assert "retry-after" in bad.headers
            assert "temporarily unable to service your" in bad.text  # Apache's 503 page
            good = s.fetch("GOOD", "/info")
            assert good.status == 200 and good.json()["group"] == "good"
            assert s.server.proc.poll() is None, "the server stopped"
            asked += 1
            pace.wait(0.25)
        assert asked >= 10
        log = s.server.stderr()
        spawns = log.count(FAILED_START)
        # A start fails in about 0.1 s: without a back-off there would be dozens by now.
        assert 2 <= spawns <= 10, spawns
        assert count_tracebacks(log) == spawns


def test_a_request_queued_while_the_first_start_fails_gets_its_503_soon(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.touch()
    with site(
        tmp_path,
        # A short Timeout bounds the request's deadline, so a server that only answers at
        # the deadline fails this test in seconds rather than a minute.
        "Timeout 4\nGracefulShutdownTimeout 3\n",
        vhost("BAD", "bad", BROKEN_APP, "processes=1 threads=2"),
        ports=("BAD",),
        env={"BROKEN_FIXTURE_GATE": str(gate)},
        allow=BROKEN_LOG,
    ) as s:
        # The first process is importing (held by the gate): nothing can serve yet,
        # and the group has not failed yet, so the request waits in the backlog.
        wait_for(lambda: list(tmp_path.glob("gate.waiting-*")), 10, "the import to begin")
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(s.fetch, "BAD", "/info", "GET", 8.0)
            (path,) = group_socket_paths(s.master)
            wait_for(lambda: queued(path) >= 1, 10, "the request in the group's backlog")
            gate.unlink()  # the import fails now
            wait_for(lambda: FAILED_START in s.server.stderr(), 10, "the failed start")
            failed_at = time.monotonic()
            response = pending.result()
            waited = time.monotonic() - failed_at
            assert response.status == 503, response
            assert waited < 2.0, f"the 503 came {waited:.1f} s after the group's start failed"
        count_tracebacks(s.server.stderr())


# -- stops and restarts ------------------------------------------------------------------


def unix_sockets() -> list[list[str]]:
    return [line.split() for line in Path("/proc/net/unix").read_text().splitlines()[1:]]


def group_socket_paths(master: int) -> list[str]:
    """The paths of the group sockets the master holds (not its control socket)."""
    inodes = set()
    for fd in Path(f"/proc/{master}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    return [
        f[7]
        for f in unix_sockets()
        if len(f) >= 8
        and f[3] == "00010000"
        and f[6] in inodes
        and f[7].endswith(".sock")
        and not Path(f[7]).name.startswith("ctl.")  # the control socket
    ]


def queued(path: str) -> int:
    """Connections waiting in the backlog of the listener at ``path``, not yet accepted.

    /proc/net/unix lists them under the listener's path, in state 02 (connecting).
    """
    return sum(1 for f in unix_sockets() if len(f) >= 8 and f[7] == path and f[5] == "02")


def test_sigterm_lets_daemon_requests_in_flight_finish(tmp_path: Path) -> None:
    hold = tmp_path / "hold"
    hold.mkdir()
    with site(tmp_path, vhost("P", "g", DAEMON_APP, "processes=2 threads=2"), ports=("P",)) as s:
        daemons = full_strength(s.master, "g", 2)
        s.seen |= children(s.master)
        with ThreadPoolExecutor(3) as pool:
            futures = [pool.submit(s.fetch, "P", f"/hold?dir={hold}&id={i}") for i in range(3)]
            wait_for(lambda: len(list(hold.glob("started-*"))) == 3, 10, "3 requests in the app")
            s.server.signal(signal.SIGTERM)

            def refused() -> bool:
                try:
                    socket.create_connection(("127.0.0.1", s.ports["P"]), timeout=1).close()
                except ConnectionRefusedError:
                    return True
                except OSError:
                    pass
                return False

            wait_for(refused, 10, "the listener to close")
            assert not any(f.done() for f in futures)
            assert s.server.proc.poll() is None
            (hold / "go").touch()
            responses = [f.result() for f in futures]
        assert [r.status for r in responses] == [200, 200, 200]
        assert {int(r.body) for r in responses} <= daemons
        assert s.server.wait(20) == 0


def test_a_request_during_a_sigint_restart_waits_in_the_backlog(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    with site(
        tmp_path,
        vhost("P", "g", DAEMON_APP, "processes=1 threads=2"),
        ports=("P",),
        env={"DAEMON_FIXTURE_GATE": str(gate)},
    ) as s:
        old = int(s.fetch("P", "/pid").body)  # imported: the gate is for the successor
        assert full_strength(s.master, "g", 1) == {old}
        s.seen.add(old)
        gate.touch()  # the replacement will wait in its import until the gate goes
        first = s.fetch("P", "/sigint")
        assert first.status == 200 and int(first.body) == old
        waiting = wait_for(lambda: list(tmp_path.glob("gate.waiting-*")), 10, "the successor")
        new = int(waiting[0].name.rsplit("-", 1)[1])
        s.seen.add(new)
        wait_for(lambda: not alive(old), 10, "the retired process to exit")
        # No process can serve now: the old one is gone, the new one is not READY.
        (path,) = group_socket_paths(s.master)
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(s.fetch, "P", "/pid")
            wait_for(lambda: queued(path) >= 1, 10, "the request in the group's backlog")
            assert not pending.done()
            gate.unlink()
            response = pending.result()
        assert response.status == 200, response
        assert int(response.body) == new
