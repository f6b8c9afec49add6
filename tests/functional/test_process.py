"""The master and its workers as an operator sees them: signals, crashes, reloads, logs.

Real processes, real signals, real sockets on 127.0.0.1; every app runs under
``wsgiref.validate.validator``. Waits are polls with deadlines.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.functional.helpers import (
    APP,
    VERSION_APP,
    LogWatch,
    Response,
    alive,
    build,
    children,
    get,
    kill_all,
    next_response,
    pids_answering,
    problems,
    request,
    running,
    wait_for,
    worker_pids,
)
from tests.functional.server import Reader, ServerProcess

pytestmark = pytest.mark.slow


def refused_within(server: ServerProcess, timeout: float) -> bool:
    """True once a new connection to the server is refused, polling until ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            sock = socket.create_connection((server.host, server.port), timeout=0.5)
        except ConnectionRefusedError:
            return True
        except OSError:
            pass
        else:
            sock.close()
        time.sleep(0.02)
    return False


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


# -- stopping and crashing -------------------------------------------------------


def test_sigterm_lets_every_request_in_flight_finish(tmp_path: Path) -> None:
    started = tmp_path / "started"
    with running(APP, processes=2, threads=8) as srv:
        watch = LogWatch(srv)
        workers = worker_pids(srv, 2)
        # Eight keep-alive connections to each worker, so the 16 requests below
        # run at once on the 16 threads, whatever the kernel's choice of acceptor.
        conns: dict[int, list[tuple[socket.socket, Reader]]] = {pid: [] for pid in workers}
        spare: list[socket.socket] = []

        def one_more() -> bool:
            sock = srv.connect()
            reader = Reader(sock)
            sock.sendall(build("GET", "/pid"))
            pid = int(next_response(reader).body)
            if len(conns[pid]) < 8:
                conns[pid].append((sock, reader))
            else:
                spare.append(sock)
            return all(len(c) == 8 for c in conns.values())

        try:
            wait_for(one_more, 10, "8 connections to each worker", every=0)
            pairs = [pair for pid in workers for pair in conns[pid]]
            for sock, _ in pairs:
                sock.sendall(build("GET", f"/sleep?s=2&started={started}"))
            wait_for(lambda: len(lines_of(started)) == 16, 10, "16 requests to be running")
            srv.signal(signal.SIGTERM)
            refused = refused_within(srv, 1.5)
            responses = [next_response(reader) for _, reader in pairs]
            code = srv.wait(20)
        finally:
            for sock in spare + [s for c in conns.values() for s, _ in c]:
                sock.close()
        watch.check()
    assert [r.status for r in responses] == [200] * 16
    assert all(r.headers.get("connection") == "close" for r in responses)
    assert sorted(int(r.body) for r in responses) == sorted(list(workers) * 8)
    assert code == 0
    # KNOWN SERVER BUG (fails at 2cb71df). During the drain, connect() still
    # succeeds: the request then hangs, and is reset when the master exits.
    # Diagnosis: Worker.stop closes each worker's copy of the listening socket
    # at once, but Master.begin_stop leaves the master's own copy open (it is
    # closed only in Master.run's ``finally``, after the last child exits), so
    # the kernel keeps completing handshakes on a socket nobody accepts from
    # (``ss -ltnp`` shows only the master holding it after SIGTERM).
    # Suggested fix: in Master.begin_stop, close the listening sockets
    # (``bound.sock.close()`` for each; SIGHUP's _replace_all must keep them),
    # so the port refuses as soon as the workers have closed theirs.
    assert refused, "a new connection was accepted by the kernel after the stop began"


def test_kill_9_of_the_master_makes_every_worker_exit(tmp_path: Path) -> None:
    started = tmp_path / "started"
    with running(APP, processes=2, threads=2) as srv:
        watch = LogWatch(srv)
        from_proc = worker_pids(srv, 2)
        try:
            assert pids_answering(srv, 2) == from_proc
            # A request in flight when the master dies is still answered.
            with srv.connect() as sock:
                sock.sendall(build("GET", f"/sleep?s=1&started={started}"))
                wait_for(started.exists, 10, "the request to start")
                os.kill(srv.proc.pid, signal.SIGKILL)
                assert srv.wait(5) == -signal.SIGKILL
                response = next_response(Reader(sock))
            wait_for(
                lambda: not any(alive(pid) for pid in from_proc),
                5,
                "the workers to exit after the master was killed",
            )
        finally:
            kill_all(pid for pid in from_proc if alive(pid))
        watch.check()
    assert response.status == 200


def test_kill_9_of_a_worker_is_replaced_and_service_goes_on() -> None:
    with running(APP, processes=2, threads=2) as srv:
        watch = LogWatch(srv)
        before = worker_pids(srv, 2)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        # Every request is answered meanwhile: the other worker takes those the
        # kernel gives its socket, the victim's wait on its own for the replacement.
        assert all(get(srv, "/fixed").status == 200 for _ in range(5))

        def replaced() -> set[int] | None:
            now = children(srv.proc.pid)
            return now if len(now) == 2 and victim not in now else None

        after = wait_for(replaced, 10, "a replacement worker")
        assert len(after & before) == 1
        assert pids_answering(srv, 2) == after
        watch.wait_for("killed by SIGKILL")
        watch.check()


# -- logs ----------------------------------------------------------------------------


def test_sigusr1_reopens_the_log_files(tmp_path: Path) -> None:
    access, error = tmp_path / "access.log", tmp_path / "error.log"
    args = ["--access-log", str(access), "--error-log", str(error)]
    with running(APP, *args, processes=2, threads=2) as srv:
        watch = LogWatch(srv)
        workers = worker_pids(srv, 2)
        # Both workers up and serving (for a signal during a worker's start,
        # see the next test).
        assert pids_answering(srv, 2) == workers
        assert get(srv, "/errors?token=before").status == 200
        wait_for(lambda: "/errors?token=before" in access.read_text(), 5, "the access log line")
        access.rename(tmp_path / "access.log.1")
        error.rename(tmp_path / "error.log.1")
        srv.signal(signal.SIGUSR1)

        # Each worker reopens on its own: ask until both have written to the
        # new error log (its lines name the pid).
        def both_reopened() -> bool:
            assert get(srv, f"/errors?token=after-{uuid.uuid4().hex}").status == 200
            pids = set(map(int, re.findall(r"\[pid (\d+):", "\n".join(lines_of(error)))))
            return pids >= workers

        wait_for(both_reopened, 10, "both workers to reopen their logs", every=0)
        tokens = [f"final-{i}" for i in range(6)]
        for token in tokens:
            assert get(srv, f"/errors?token={token}").status == 200

        def all_logged() -> bool:
            text = access.read_text() if access.exists() else ""
            return all(f"/errors?token={t} " in text for t in tokens)

        wait_for(all_logged, 5, "the new access log to get every line")
        old_access = (tmp_path / "access.log.1").read_text()
        old_error = (tmp_path / "error.log.1").read_text()
        watch.check()
    assert "/errors?token=before " in old_access
    assert "app message before" in old_error
    assert not any(t in old_access or t in old_error for t in tokens)
    assert all(f"app message {t}" in error.read_text() for t in tokens)
    assert not problems(old_error + error.read_text())


def test_sigusr1_while_workers_start_does_not_kill_them(tmp_path: Path) -> None:
    # logrotate does not wait for a worker that is starting (after a crash,
    # or SIGHUP): the signal must not kill it.
    #
    # KNOWN SERVER BUG (fails at 2cb71df): both workers die ("front-end worker
    # N was killed by SIGUSR1; starting a replacement").
    # Diagnosis: a worker installs its SIGUSR1 handler only in Worker.run
    # (loop.add_signal_handler), after interpreter start-up, its imports, the
    # configuration hand-over and create_server: for ~100 ms SIGUSR1 has its
    # default action, which is to terminate. Master._on_signals forwards
    # SIGUSR1 to every child, starting ones included.
    # Suggested fix: block SIGUSR1 in the master around the Popen in
    # Master._spawn (signal.pthread_sigmask(SIG_BLOCK, {SIGUSR1}), restored
    # right after; the blocked mask survives fork and exec), and unblock it in
    # the worker right after add_signal_handler in Worker.run: a signal that
    # came meanwhile is then delivered to the handler (one harmless reopen).
    error = tmp_path / "error.log"
    with running(APP, "--error-log", str(error), processes=2, threads=2) as srv:
        workers = worker_pids(srv, 2)  # just started: still importing
        srv.signal(signal.SIGUSR1)
        answering = pids_answering(srv, 2)
        text = error.read_text()
    assert "killed by SIGUSR1" not in text, text
    assert answering == workers


COMBINED = re.compile(
    r"(?P<host>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] "
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?P<bytes>\d+|-) '
    r'"(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)"'
)


def test_access_log_is_in_apache_combined_format(tmp_path: Path) -> None:
    access = tmp_path / "access.log"
    with running(APP, "--access-log", str(access), processes=1, threads=2) as srv:
        watch = LogWatch(srv)
        got = get(
            srv,
            "/fixed?x=1",
            headers=[("Referer", "http://ref.test/page"), ("User-Agent", 'agent "q" 1.0')],
        )
        posted = request(srv, "POST", "/env", body=b"12345")
        head = request(srv, "HEAD", "/fixed")
        with srv.connect() as sock:
            sock.sendall(b"GET /fixed HTTP/1.1\r\nUser-Agent: no-host\r\n\r\n")
            refused = next_response(Reader(sock))
        lines = wait_for(lambda: len(lines_of(access)) == 4 and lines_of(access), 5, "4 lines")
        watch.check()
    assert [r.status for r in (got, posted, head, refused)] == [200, 200, 200, 400]
    fields = []
    for line in lines:
        match = COMBINED.fullmatch(line)
        assert match, f"not in combined format: {line!r}"
        fields.append(match.groupdict())
    for f in fields:
        assert (f["host"], f["ident"], f["user"]) == ("127.0.0.1", "-", "-")
        stamp = datetime.strptime(f["time"], "%d/%b/%Y:%H:%M:%S %z")
        assert abs((stamp - datetime.now(UTC)).total_seconds()) < 30
    first, second, third, fourth = fields
    assert first["request"] == "GET /fixed?x=1 HTTP/1.1"
    assert (first["status"], first["bytes"]) == ("200", "13")
    assert first["referer"] == "http://ref.test/page"
    assert first["agent"] == r"agent \"q\" 1.0"
    assert second["request"] == "POST /env HTTP/1.1"
    assert second["bytes"] == str(len(posted.body))
    assert (second["referer"], second["agent"]) == ("-", "-")
    assert third["request"] == "HEAD /fixed HTTP/1.1"
    assert third["bytes"] == "-"  # %b: '-' when no body bytes were sent
    # A request refused before any app ran is logged like any other (Apache's
    # %r is the request line as received, %b the error page's size).
    #
    # KNOWN SERVER BUG (fails at 2cb71df): the line reads "GET /fixed" 400 -.
    # Diagnosis: Connection.reject builds record.request_line as
    # f"{method} {url}" without the protocol, and never sets
    # record.bytes_sent, so %b shows "-" though an error page went out.
    # Suggested fix: in reject(), append " HTTP/" + parser.get_http_version()
    # when the request line was parsed, and set record.bytes_sent to the
    # length of the error page's body (httpcore.error_body(status)).
    assert (fourth["status"], fourth["agent"]) == ("400", "no-host")
    assert (fourth["request"], fourth["bytes"]) == ("GET /fixed HTTP/1.1", str(len(refused.body)))


# -- reloading -------------------------------------------------------------------------


def version_of(response: Response) -> tuple[str, int]:
    version, pid = response.text.split()
    return version, int(pid)


def test_script_changes_reach_the_next_requests_under_load(tmp_path: Path) -> None:
    script = tmp_path / "app.wsgi"
    source = VERSION_APP.read_text()
    script.write_text(source)
    mtime = script.stat().st_mtime
    # (started, ended, status or error, version, pid) of every request made under load.
    results: list[tuple[float, float, object, str, int]] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                response = get(srv, "/")
            except OSError as e:
                results.append((started, time.monotonic(), repr(e), "", 0))
                continue
            ended = time.monotonic()
            if response.status != 200:
                results.append((started, ended, response.status, response.text, 0))
                continue
            results.append((started, ended, 200, *version_of(response)))

    def wait_requests_since(t: float) -> None:
        """Until at least 150 requests began after ``t``, for half a second at least."""
        wait_for(
            lambda: (
                time.monotonic() - t >= 0.5 and sum(1 for r in list(results) if r[0] > t) >= 150
            ),
            20,
            "requests to go on under load",
        )

    with running(script, processes=2, threads=4) as srv:
        watch = LogWatch(srv)
        workers = worker_pids(srv, 2)
        threads = [threading.Thread(target=load) for _ in range(8)]
        for t in threads:
            t.start()
        try:
            began = time.monotonic()
            wait_requests_since(began)
            # 1. Touch: the script loads again, the answer stays.
            os.utime(script, (mtime + 1, mtime + 1))
            wait_requests_since(time.monotonic())
            # 2. Rewrite in place, as an editor does.
            v2_begins = time.monotonic()
            script.write_text(source.replace('"v1"', '"v2"'))
            os.utime(script, (mtime + 2, mtime + 2))
            v2 = time.monotonic()
            wait_requests_since(v2)
            # 3. Replace by rename, as a deployment does.
            v3_begins = time.monotonic()
            new = tmp_path / "app.wsgi.new"
            new.write_text(source.replace('"v1"', '"v3"'))
            os.utime(new, (mtime + 3, mtime + 3))
            os.replace(new, script)
            v3 = time.monotonic()
            wait_requests_since(v3)
        finally:
            stop.set()
            for t in threads:
                t.join(20)
        watch.check()
    failures = [r for r in results if r[2] != 200]
    assert not failures, f"{len(failures)} of {len(results)} requests failed: {failures[:5]}"

    def versions(after: float, before: float) -> set[str]:
        """The versions served to requests made wholly between two moments."""
        return {r[3] for r in results if after < r[0] and r[1] < before}

    assert versions(began, v2_begins) == {"v1"}
    assert versions(v2, v3_begins) == {"v2"}
    assert versions(v3, float("inf")) == {"v3"}
    assert {r[4] for r in results if r[0] > v3} == workers


def test_no_reload_keeps_the_loaded_script(tmp_path: Path) -> None:
    script = tmp_path / "app.wsgi"
    source = VERSION_APP.read_text()
    script.write_text(source)
    mtime = script.stat().st_mtime
    with running(script, "--no-reload", processes=2, threads=2) as srv:
        watch = LogWatch(srv)
        workers = worker_pids(srv, 2)
        seen: dict[int, str] = {}

        def ask() -> bool:
            response = get(srv, "/")
            assert response.status == 200
            version, pid = version_of(response)
            seen[pid] = version
            return set(seen) == workers

        # Both workers load the script (on their first request), then it changes.
        wait_for(ask, 10, "both workers to answer", every=0)
        assert set(seen.values()) == {"v1"}
        script.write_text(source.replace('"v1"', '"v2"'))
        os.utime(script, (mtime + 2, mtime + 2))
        seen.clear()
        wait_for(ask, 10, "both workers to answer again", every=0)
        for _ in range(10):
            ask()
        watch.check()
    assert set(seen.values()) == {"v1"}
