"""An app's output lands in its virtual host's ErrorLog, as Apache + mod_wsgi 4.9 write it.

What Apache 2.4 + mod_wsgi 4.9 wrote for tests/apps/output.wsgi, run beside
us (times and ids masked):

* daemon mode, the group defined in the virtual host, in that host's log:
  ``[T] [wsgi:error] [pid P:tid T] [remote 127.0.0.1:PORT] PRINT grpa`` for
  print(), sys.stderr, logging and wsgi.errors alike, and for every line of
  a failed request's traceback; what the script prints at import, and a
  thread of its own, without ``[remote ...]``; ``os.write(2, ...)`` as is;
* embedded mode: the same in the request's host's log with ``[client
  127.0.0.1:PORT]``; what the script prints at import in the main server's
  log (no client), and ``os.write(2, ...)`` there too;
* every write with a newline flushes (``print("PM1\\nPM2")`` is three lines,
  the last empty), a partial line waits for the end of the request;
* ``LogLevel crit`` hides them all (they are ``error``).

Nothing of the app's reaches the other host's log or the master's terminal.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.functional.helpers import Response, build, free_port, members, next_response, wait_for
from tests.functional.server import APPS, Reader, ServerProcess, serve

pytestmark = pytest.mark.slow

APP = APPS / "output.wsgi"
# Where output.wsgi raises, for the traceback's frame.
RAISE_LINE = APP.read_text().splitlines().index('        raise RuntimeError("BOOM %s" % tag)') + 1
STAMP = r"\[\w{3} \w{3} \d\d \d\d:\d\d:\d\d\.\d{6} \d{4}\]"


@dataclass
class Site:
    server: ServerProcess
    dir: Path
    port: int  # where daemon.test, embedded.test and crit.test answer
    other_port: int  # another daemon.test, with a log of its own, sharing group grpa

    def log(self, name: str, since: int = 0) -> str:
        """The log's text from byte `since` on (a mark() taken earlier)."""
        path = self.dir / name
        if not path.exists():
            return ""
        with path.open("rb") as f:
            f.seek(since)
            return f.read().decode(errors="replace")

    def mark(self, name: str) -> int:
        # A client port recurs across the module's many requests (the kernel
        # hands ephemeral ports round again), so "this request's port is not
        # in that log" may only look at what was written after the request.
        path = self.dir / name
        return path.stat().st_size if path.exists() else 0


@dataclass(frozen=True)
class Mode:
    host: str
    log: str  # the host's ErrorLog
    peer: str  # the word before the client's address
    tag: str  # what the app calls itself
    role: str  # the kind of process that runs the app
    process_log: str  # where output outside a request goes


DAEMON = Mode("daemon.test", "a_error.log", "remote", "grpa", "daemon", "a_error.log")
EMBEDDED = Mode("embedded.test", "b_error.log", "client", "embedded", "front", "main_error.log")
MODES = [pytest.param(DAEMON, id="daemon"), pytest.param(EMBEDDED, id="embedded")]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("error-logs")
    port, other = free_port(), free_port()
    conf = root / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:{port}
            Listen 127.0.0.1:{other}
            ServerName main.test
            ErrorLog {root}/main_error.log
            <VirtualHost *:{port}>
                ServerName daemon.test
                ErrorLog {root}/a_error.log
                WSGIDaemonProcess grpa processes=1 threads=2
                WSGIProcessGroup grpa
                WSGIScriptAlias / {APP}
            </VirtualHost>
            <VirtualHost *:{port}>
                ServerName embedded.test
                ErrorLog {root}/b_error.log
                WSGIScriptAlias / {APP}
            </VirtualHost>
            <VirtualHost *:{port}>
                ServerName crit.test
                ErrorLog {root}/c_error.log
                LogLevel crit
                WSGIDaemonProcess grpc processes=1 threads=2
                WSGIScriptAlias /d {APP} process-group=grpc
                WSGIScriptAlias /e {APP}
            </VirtualHost>
            <VirtualHost *:{other}>
                ServerName daemon.test
                ErrorLog {root}/d_error.log
                WSGIProcessGroup grpa
                WSGIScriptAlias / {APP}
            </VirtualHost>
            """
        )
    )
    server = ServerProcess(["serve", "--config", str(conf)])
    try:
        server.wait_listening(2)
        yield Site(server, root, port, other)
    finally:
        server.close()
    # Nothing of the app's went to the master's terminal, in any test, nor to
    # another host's log.
    for text in (server.stdout(), server.stderr()):
        for marker in ("PRINT", "STDERR", "LOGGING", "ERRORS", "BOOM", "IMPORT", "FD2", "THREAD"):
            assert marker not in text, text
    a_log, b_log = (root / "a_error.log").read_text(), (root / "b_error.log").read_text()
    assert "embedded" not in a_log and "grpc" not in a_log
    assert "grpa" not in b_log and "grpc" not in b_log and "IMPORT" not in b_log


def call(
    site: Site,
    host: str,
    path: str,
    port: int | None = None,
    headers: tuple[tuple[str, str], ...] = (),
) -> tuple[Response, int]:
    """One request; the response and the client's port (which the log lines name)."""
    with socket.create_connection(("127.0.0.1", port or site.port), timeout=30) as sock:
        client_port = sock.getsockname()[1]
        sock.sendall(build("GET", path, headers, host=host))
        return next_response(Reader(sock)), client_port


def request_lines(site: Site, log: str, peer: str, client_port: int, count: int) -> list[str]:
    """The ``count`` lines of one request in ``log``, once they are all there."""
    tag = f"[{peer} 127.0.0.1:{client_port}] "

    def found() -> list[str]:
        lines = [line for line in site.log(log).splitlines() if tag in line]
        return lines if len(lines) >= count else []

    return wait_for(found, 10, f"{count} lines with {tag!r} in {log}")


def assert_prefixed(line: str, site: Site, mode: Mode, peer: str | None) -> str:
    """``line`` has Apache's prefix, names a process of the right kind; returns the message."""
    client = rf"\[{peer} 127\.0\.0\.1:\d+\] " if peer else ""
    match = re.fullmatch(rf"{STAMP} \[wsgi:error\] \[pid (\d+):tid (\d+)\] {client}(.*)", line)
    assert match, line
    assert members(site.server.proc.pid).get(int(match[1])) == mode.role, line
    return match[3]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "path, messages",
    [
        ("/print", ["PRINT {tag}"]),
        ("/stderr", ["STDERR {tag}"]),
        ("/logging", ["ERROR:myapp:LOGGING {tag}"]),
        ("/errors", ["ERRORS {tag}"]),
        # A partial line waits for the end of the request, still as the request's.
        ("/stderr-partial", ["STDERR-PARTIAL {tag}"]),
        ("/print-partial", ["PARTIAL-A PARTIAL-B {tag}", "DANGLING {tag}"]),
        # Each write with a newline flushes: print()'s own newline is a line of its own.
        ("/print-multi", ["PM1 {tag}", "PM2", ""]),
        ("/errors-multi", ["ML1 {tag}", "ML2", "", "ML4"]),
    ],
)
def test_request_output_lands_in_the_hosts_log_with_the_client(
    site: Site, mode: Mode, path: str, messages: list[str]
) -> None:
    other = "b_error.log" if mode is DAEMON else "a_error.log"
    marks = {name: site.mark(name) for name in (other, "main_error.log")}
    response, client_port = call(site, mode.host, path)
    assert response.status == 200
    expected = [m.format(tag=mode.tag) for m in messages]
    lines = request_lines(site, mode.log, mode.peer, client_port, len(expected))
    assert [assert_prefixed(line, site, mode, mode.peer) for line in lines] == expected
    for name, since in marks.items():
        assert f":{client_port}]" not in site.log(name, since)


@pytest.mark.parametrize("mode", MODES)
def test_lines_are_escaped_and_embedded_ones_name_the_referer_as_in_apache(
    site: Site, mode: Mode
) -> None:
    # What Apache wrote for the same print() and Referer (UTF-8 bytes, sent raw).
    referer = 'http://ref.test/\xc3\xa9"x'  # latin-1 text of the bytes of http://ref.test/é"x
    response, client_port = call(site, mode.host, "/escape", headers=(("Referer", referer),))
    assert response.status == 200
    (line,) = request_lines(site, mode.log, mode.peer, client_port, 1)
    message = f'caf\\xc3\\xa9\\ttab \\\\ back "q" \\x01 end {mode.tag}'
    # mod_wsgi's daemon processes do not have the request's headers for the log.
    if mode is EMBEDDED:
        message += ', referer: http://ref.test/\\xc3\\xa9"x'
    assert assert_prefixed(line, site, mode, mode.peer) == message


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_requests_traceback_lands_in_the_hosts_log(site: Site, mode: Mode) -> None:
    response, client_port = call(site, mode.host, "/raise")
    assert response.status == 500
    tag = f"[{mode.peer} 127.0.0.1:{client_port}] "
    wait_for(lambda: f"{tag}RuntimeError: BOOM" in site.log(mode.log), 10, "the traceback")
    lines = [line for line in site.log(mode.log).splitlines() if tag in line]
    messages = [assert_prefixed(line, site, mode, mode.peer) for line in lines]
    pid = re.search(r"\[pid (\d+):", lines[0])
    assert pid
    # Apache's five lines: mod_wsgi's header, then the app's frames only.
    assert messages == [
        f"mod_wsgi (pid={pid[1]}): Exception occurred processing WSGI script '{APP}'.",
        "Traceback (most recent call last):",
        f'  File "{APP}", line {RAISE_LINE}, in application',
        '    raise RuntimeError("BOOM %s" % tag)',
        f"RuntimeError: BOOM {mode.tag}",
    ]
    assert f"BOOM {mode.tag}" not in site.log("main_error.log")


@pytest.mark.parametrize("mode", MODES)
def test_output_outside_a_request_lands_in_the_process_log_without_a_client(
    site: Site, mode: Mode
) -> None:
    # The script's import (caused by a request or not) and a thread of the app's own.
    assert call(site, mode.host, "/thread")[0].status == 200
    for message in ("IMPORT-STDERR", f"THREAD {mode.tag}"):
        assert assert_prefixed(process_line(site, mode, message), site, mode, None) == message
    imported = [line for line in site.log(mode.process_log).splitlines() if "IMPORT-PRINT" in line]
    assert imported
    for line in imported:
        pid = re.search(r"\[pid (\d+):", line)
        # Printed by the process that logged it.
        assert pid and assert_prefixed(line, site, mode, None) == f"IMPORT-PRINT from {pid[1]}"


def process_line(site: Site, mode: Mode, message: str) -> str:
    """The line of the mode's process log that ends with ``message``, once it is there."""

    def found() -> str:
        lines = site.log(mode.process_log).splitlines()
        return next((line for line in lines if line.endswith(message)), "")

    return wait_for(found, 10, f"{message!r} in {mode.process_log}")


@pytest.mark.parametrize("mode", MODES)
def test_descriptor_2_leads_to_the_process_log(site: Site, mode: Mode) -> None:
    # Below Python (C extensions, child programs): the raw line, as Apache has it.
    assert call(site, mode.host, "/fd2")[0].status == 200
    wait_for(
        lambda: f"FD2 {mode.tag}" in site.log(mode.process_log).splitlines(),
        10,
        f"the raw line in {mode.process_log}",
    )


def test_wsgi_errors_of_another_host_sharing_the_group_lands_in_that_hosts_log(
    site: Site,
) -> None:
    # Apache + mod_wsgi lose these (the daemon closed the other hosts' logs);
    # the group's processes opened every log of the hosts that may use it.
    for path, message in (("/errors", "ERRORS grpa"), ("/print", "PRINT grpa")):
        since = site.mark("a_error.log")
        response, client_port = call(site, "daemon.test", path, site.other_port)
        assert response.status == 200
        (line,) = request_lines(site, "d_error.log", "remote", client_port, 1)
        assert assert_prefixed(line, site, DAEMON, "remote") == message
        assert f":{client_port}]" not in site.log("a_error.log", since)


def test_log_level_crit_hides_the_apps_output_in_both_modes(site: Site) -> None:
    for prefix in ("/d", "/e"):
        assert call(site, "crit.test", prefix + "/print")[0].status == 200
        assert call(site, "crit.test", prefix + "/errors")[0].status == 200
        assert call(site, "crit.test", prefix + "/raise")[0].status == 500
    # Written before the answers, so they would be there by now.
    text = site.log("c_error.log")
    assert "grpc" not in text and "embedded" not in text and "Traceback" not in text
    assert "IMPORT" not in text  # the group's own output: its host's LogLevel too
    assert "grpc" not in site.log("main_error.log")


def test_reopened_logs_take_the_output_and_descriptor_2_with_them(site: Site) -> None:
    old = site.dir / "a_error.log"
    moved = site.dir / "a_error.log.1"
    os.rename(old, moved)
    site.server.signal(signal.SIGUSR1)
    # Every process reopens its logs by path: poll until the daemon has.
    wait_for(
        lambda: call(site, "daemon.test", "/print")[0].status == 200 and old.exists(),
        10,
        "a new a_error.log",
    )
    since = site.mark(moved.name)
    _, client_port = call(site, "daemon.test", "/print")
    (line,) = request_lines(site, "a_error.log", "remote", client_port, 1)
    assert assert_prefixed(line, site, DAEMON, "remote") == "PRINT grpa"
    assert call(site, "daemon.test", "/fd2")[0].status == 200
    wait_for(lambda: "FD2 grpa" in site.log("a_error.log"), 10, "descriptor 2 in the new file")
    assert f":{client_port}]" not in site.log(moved.name, since)


def test_serve_without_an_error_log_keeps_the_output_on_standard_error() -> None:
    # As mod_wsgi-express in the foreground: daemon mode, nothing configured.
    server = serve(APP, processes=1, threads=2, mode="daemon")
    try:
        with server.connect() as sock:
            client_port = sock.getsockname()[1]
            sock.sendall(build("GET", "/print"))
            assert next_response(Reader(sock)).status == 200
        tag = f"[remote 127.0.0.1:{client_port}] PRINT localhost:"
        wait_for(lambda: tag in server.stderr(), 10, "the line on standard error")
        assert "IMPORT-PRINT" in server.stderr()
    finally:
        server.close()
