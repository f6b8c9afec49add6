"""Rolling restarts of a daemon group when its WSGI script changes.

A touch replaces every process of the group, one at a time and new before
old, while clients keep getting answers; new code that does not import
leaves the old processes serving until the script is fixed.
"""

from __future__ import annotations

import os
import socket
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.functional.helpers import build, children, free_port, next_response, wait_for
from tests.functional.server import Reader, ServerProcess

pytestmark = pytest.mark.slow

APP = """\
import os
import signal
VERSION = {version!r}

def application(environ, start_response):
    if environ["PATH_INFO"] == "/sigint" and environ["mod_wsgi.process_group"]:
        os.kill(os.getpid(), signal.SIGINT)  # mod_wsgi's self-restart idiom
    body = ("%s %d" % (VERSION, os.getpid())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
"""


def write_app(path: Path, version: str, mtime_ns: int | None = None) -> None:
    path.write_text(APP.format(version=version))
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


@contextmanager
def group_server(
    tmp_path: Path, reloading: str = "On", log_level: str = "warn"
) -> Iterator[tuple[ServerProcess, Path]]:
    script = tmp_path / "app.wsgi"
    write_app(script, "v1")
    conf = tmp_path / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:{free_port()}
            LogLevel {log_level}
            WSGIScriptReloading {reloading}
            WSGIDaemonProcess g processes=2 threads=4
            WSGIProcessGroup g
            WSGIScriptAlias / {script}
            """
        )
    )
    server = ServerProcess(["serve", "--config", str(conf)])
    try:
        server.wait_listening()
        wait_for(lambda: ask(server) is not None, 20, "the group to answer")
        yield server, script
    finally:
        server.close()


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def ask(server: ServerProcess, path: str = "/") -> tuple[str, int] | None:
    """(version, pid) from one request, or None if it failed in any way."""
    try:
        with socket.create_connection((server.host, server.port), timeout=10) as sock:
            sock.sendall(build("GET", path))
            resp = next_response(Reader(sock))
    except OSError:
        return None
    if resp.status != 200:
        return None
    version, pid = resp.body.decode().split()
    return version, int(pid)


class Load:
    """Clients asking in a loop; every answer (or failure) is recorded."""

    def __init__(self, server: ServerProcess, clients: int = 8, path: str = "/") -> None:
        self.server = server
        self.path = path
        self.answers: list[tuple[str, int]] = []
        self.failures = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(clients)]

    def _run(self) -> None:
        while not self._stop.is_set():
            got = ask(self.server, self.path)
            if got is None:
                self.failures += 1
            else:
                self.answers.append(got)

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def versions_since(self, start: int) -> set[str]:
        return {v for v, _ in self.answers[start:]}


def test_a_touch_rolls_every_process_with_no_failed_request(tmp_path: Path) -> None:
    with group_server(tmp_path) as (server, script), Load(server) as load:
        wait_for(lambda: len(load.answers) > 20, 20, "answers from v1")
        old_pids = {pid for _, pid in load.answers}
        write_app(script, "v2")
        # Every answer is v2, from processes that did not serve v1, once the roll is done.
        wait_for(
            lambda: (n := len(load.answers)) > 50 and load.versions_since(n - 20) == {"v2"},
            30,
            "the roll to finish",
        )
        mark = len(load.answers)
        wait_for(lambda: len(load.answers) > mark + 40, 20, "more answers")
        new_pids = {pid for _, pid in load.answers[mark:]}

        # Both processes were replaced (front ends reuse daemon connections, so a
        # light load may well be served by one of them alone).
        def replaced() -> bool:
            daemons = {p for p in children(server.proc.pid) if b"wsgihost: daemon" in cmdline(p)}
            return len(daemons) == 2 and not daemons & old_pids

        wait_for(replaced, 20, "two daemon processes, none of them old")
    assert load.failures == 0
    assert load.versions_since(mark) == {"v2"}
    assert new_pids and not new_pids & old_pids


def test_rename_and_rollback_to_an_older_mtime_both_reload(tmp_path: Path) -> None:
    with group_server(tmp_path) as (server, script):
        new = tmp_path / "app.wsgi.new"
        write_app(new, "v2", mtime_ns=1_000_000_000_000_000_000)
        os.rename(new, script)
        wait_for(lambda: (a := ask(server)) and a[0] == "v2", 20, "v2 after a rename")
        write_app(script, "v1-again", mtime_ns=900_000_000_000_000_000)  # older than before
        wait_for(lambda: (a := ask(server)) and a[0] == "v1-again", 20, "the rollback")


def test_a_broken_new_script_leaves_the_old_code_serving_until_fixed(tmp_path: Path) -> None:
    with group_server(tmp_path) as (server, script), Load(server, clients=4) as load:
        wait_for(lambda: len(load.answers) > 10, 20, "answers from v1")
        script.write_text("this is not python(\n")
        wait_for(lambda: "the roll stops" in server.stderr(), 20, "the failed start to be logged")
        mark = len(load.answers)
        wait_for(lambda: len(load.answers) > mark + 20, 20, "answers after the failure")
        assert load.versions_since(mark) == {"v1"}
        assert load.failures == 0
        write_app(script, "v3")
        wait_for(
            lambda: (n := len(load.answers)) > mark + 40 and load.versions_since(n - 10) == {"v3"},
            30,
            "the fixed script to complete the roll",
        )
    assert load.failures == 0
    assert "SyntaxError" in server.stderr()


def test_reloading_off_makes_a_touch_do_nothing(tmp_path: Path) -> None:
    # Notices logged, so that a roll would show in the log.
    with group_server(tmp_path, reloading="Off", log_level="notice") as (server, script):
        first = ask(server)
        write_app(script, "v2")
        # The roll would start within a second; give it three and see nothing move.
        deadline = time.monotonic() + 3
        seen = set()
        while time.monotonic() < deadline:
            got = ask(server)
            assert got is not None
            seen.add(got)
        assert {v for v, _ in seen} == {"v1"}
        assert first is not None
        assert "rolling" not in server.stderr()


def test_reload_on_changes_rolls_when_an_imported_module_changes(tmp_path: Path) -> None:
    (tmp_path / "helper_mod.py").write_text('WORD = "alpha"\n')
    script = tmp_path / "app.wsgi"
    script.write_text(
        textwrap.dedent(
            f"""\
            import sys
            sys.path.insert(0, {str(tmp_path)!r})
            import helper_mod

            def application(environ, start_response):
                body = helper_mod.WORD.encode()
                start_response("200 OK", [("Content-Type", "text/plain"),
                                          ("Content-Length", str(len(body)))])
                return [body]
            """
        )
    )
    server = ServerProcess(
        ["serve", str(script), "--port", "0", "--processes", "1", "--reload-on-changes"]
    )
    try:
        server.wait_listening()

        def word() -> str | None:
            try:
                with socket.create_connection((server.host, server.port), timeout=10) as sock:
                    sock.sendall(build("GET", "/"))
                    return next_response(Reader(sock)).body.decode()
            except OSError:
                return None

        wait_for(lambda: word() == "alpha", 20, "the first answer")
        (tmp_path / "helper_mod.py").write_text('WORD = "beta"\n')
        wait_for(lambda: word() == "beta", 20, "the module change to roll the group")
    finally:
        server.close()


def test_sigint_self_restarts_during_a_roll_lose_nothing(tmp_path: Path) -> None:
    with (
        group_server(tmp_path) as (server, script),
        Load(server, clients=6) as load,
        Load(server, clients=2, path="/sigint") as restarts,
    ):
        wait_for(lambda: len(load.answers) > 20 and len(restarts.answers) > 5, 20, "load")
        for version in ("v2", "v3"):
            write_app(script, version)
            wait_for(
                lambda v=version: (
                    (n := len(load.answers)) > 30 and load.versions_since(n - 10) == {v}
                ),
                30,
                f"the roll to {version}",
            )
    assert load.failures == 0
    assert restarts.failures == 0
    assert len({pid for _, pid in restarts.answers}) > 2  # processes really restarted


def test_a_roll_completes_even_if_the_app_took_sigint_for_itself(tmp_path: Path) -> None:
    script = tmp_path / "app.wsgi"
    stubborn = (
        "import signal\nsignal.signal(signal.SIGINT, lambda *a: None)  # the app's own handler\n"
    )
    script.write_text(stubborn + APP.format(version="v1"))
    conf = tmp_path / "site.conf"
    conf.write_text(
        f"Listen 127.0.0.1:{free_port()}\n"
        # Else the app's signal.signal() is ignored, as mod_wsgi ignores it.
        "WSGIRestrictSignal Off\n"
        "WSGIDaemonProcess g processes=1 threads=2\n"
        f"WSGIProcessGroup g\nWSGIScriptAlias / {script}\n"
    )
    server = ServerProcess(["serve", "--config", str(conf)])
    try:
        server.wait_listening()
        wait_for(lambda: (a := ask(server)) and a[0] == "v1", 20, "v1")
        old_pid = ask(server)[1]  # type: ignore[index]
        script.write_text(stubborn + APP.format(version="v2"))
        # SIGINT is ignored by the old process: the master escalates to SIGTERM.
        wait_for(lambda: (a := ask(server)) and a[0] == "v2", 20, "v2")
        wait_for(lambda: not Path(f"/proc/{old_pid}").exists(), 30, "the old process to go")
    finally:
        server.close()
