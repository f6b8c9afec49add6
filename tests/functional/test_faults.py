"""Faults the server must ride out by itself (issue 7): a full disk for its logs, a script
deleted while it runs, its socket directory removed, and several processes killed at once.

Real servers on 127.0.0.1 with ``serve --config``; waits are polls with deadlines.
"""

from __future__ import annotations

import os
import shutil
import signal
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import alive, free_port, get, members, wait_for
from tests.functional.server import APPS, Reader, ServerProcess

pytestmark = pytest.mark.slow

DAEMON_APP = APPS / "daemon.wsgi"
VERSIONED = """\
import os
VERSION = {version!r}

def application(environ, start_response):
    if environ["PATH_INFO"] == "/fail":
        raise RuntimeError("the app fails on purpose")
    environ["wsgi.errors"].write("a line for the error log\\n")
    body = ("%s %d" % (VERSION, os.getpid())).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
"""


def start(site: Path, directives: str) -> ServerProcess:
    """``serve --config`` on a site file of ``directives`` after a Listen on a free port."""
    conf = site / "site.conf"
    conf.write_text(f"Listen 127.0.0.1:{free_port()}\n" + textwrap.dedent(directives))
    return ServerProcess(["serve", "--config", str(conf)]).wait_listening()


def body(server: ServerProcess, path: str = "/") -> str:
    response = get(server, path)
    assert response.status == 200, (response.status, response.body[:200])
    return response.body.decode()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "app.wsgi").write_text(VERSIONED.format(version="v1"))
    yield tmp_path


def test_a_full_disk_for_the_logs_loses_no_request(site: Path) -> None:
    # /dev/full: every write fails with ENOSPC, as on a full disk.
    server = start(
        site,
        f"""\
            ErrorLog /dev/full
            CustomLog /dev/full combined
            LogLevel info
            WSGIDaemonProcess full processes=1 threads=2
            WSGIScriptAlias /d {site}/app.wsgi process-group=full
            WSGIScriptAlias /e {site}/app.wsgi
        """,
    )
    try:
        for _ in range(20):
            assert body(server, "/d").startswith("v1")  # the app writes to wsgi.errors
            assert body(server, "/e").startswith("v1")  # embedded, the same
        # An app error still gets its 500 with nowhere to log the traceback.
        assert get(server, "/d/fail").status == 500
        assert get(server, "/e/fail").status == 500
        assert body(server, "/d").startswith("v1")
        assert server.proc.poll() is None
    finally:
        server.close()


def test_a_script_deleted_while_running_keeps_serving_until_it_returns(site: Path) -> None:
    server = start(
        site,
        f"""\
            ErrorLog {site}/error.log
            WSGIDaemonProcess gone processes=2 threads=2
            WSGIScriptAlias / {site}/app.wsgi process-group=gone
        """,
    )
    try:
        wait_for(lambda: get(server, "/").status == 200, 20, "the app to answer")
        pids = {int(body(server).split()[1]) for _ in range(10)}
        (site / "app.wsgi").unlink()
        # A missing file is not a change: the loaded code goes on serving, in the same processes.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            version, pid = body(server).split()
            assert version == "v1"
            pids.add(int(pid))
        assert len(pids) <= 2
        # Deployed again (a new version): the group rolls to it.
        (site / "app.wsgi").write_text(VERSIONED.format(version="v2"))
        wait_for(lambda: body(server).startswith("v2"), 20, "the new version to serve")
    finally:
        server.close()


def test_the_socket_directory_removed_is_made_again(site: Path) -> None:
    run = site / "run"
    run.mkdir(mode=0o700)
    server = start(
        site,
        f"""\
            ErrorLog {site}/error.log
            WSGISocketPrefix {run}/wsgi
            WSGIDaemonProcess lost processes=2 threads=2
            WSGIScriptAlias / {site}/app.wsgi process-group=lost
        """,
    )
    try:
        wait_for(lambda: get(server, "/").status == 200, 20, "the app to answer")
        old = {p for p, kind in members(server.proc.pid).items() if kind == "daemon"}
        assert len(old) == 2
        shutil.rmtree(run)
        # Requests keep being answered, on new client connections every time (so on
        # new daemon connections too, once the front end's idle ones are used up).
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            assert body(server).startswith("v1")
        wait_for(lambda: list(run.glob("*.sock")), 10, "the group's socket made again")
        # Served through the new socket by new processes: a roll replaced the old ones.
        wait_for(lambda: not old & set(members(server.proc.pid)), 30, "the old processes replaced")
        for _ in range(10):
            assert body(server).startswith("v1")
        assert "was removed: making it again" in (site / "error.log").read_text()
    finally:
        server.close()


def test_killing_every_worker_and_daemon_at_once_recovers_by_itself(site: Path) -> None:
    server = start(
        site,
        f"""\
            StartServers 2
            ErrorLog {site}/error.log
            WSGIDaemonProcess all processes=2 threads=4
            WSGIScriptAlias / {site}/app.wsgi process-group=all
        """,
    )
    master = server.proc.pid
    try:
        wait_for(lambda: len(members(master)) == 4, 20, "two workers and two daemons")
        wait_for(lambda: get(server, "/").status == 200, 20, "the app to answer")
        stop = threading.Event()
        results: list[tuple[float, float, int]] = []

        def load() -> None:
            while not stop.is_set():
                start_at = time.monotonic()
                try:
                    with server.connect(timeout=30) as sock:
                        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        status = Reader(sock).response()[0]
                except OSError:
                    status = 0
                results.append((start_at, time.monotonic(), status))

        threads = [threading.Thread(target=load, daemon=True) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        killed_at = time.monotonic()
        victims = set(members(master))
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        # A process goes on for a moment after SIGKILL is sent: it may still take a request.
        wait_for(lambda: not any(alive(p) for p in victims), 10, "the killed processes gone")
        gone_at = time.monotonic()
        time.sleep(3.0)
        stop.set()
        for t in threads:
            t.join(60)
        wait_for(lambda: len(members(master)) == 4, 30, "the workers and daemons replaced")
        assert not victims & set(members(master))
        failed = [r for r in results if r[2] != 200]
        # Only requests in flight while the processes died may fail.
        assert all(r[0] <= gone_at and r[1] >= killed_at for r in failed), failed
        assert len(failed) <= 8
        assert any(r[0] > killed_at and r[2] == 200 for r in results), "nothing served after"
        assert body(server).startswith("v1")
    finally:
        server.close()
