#!/usr/bin/env python3
"""Reload-under-load benchmark: does a server reload new code without failing or delaying requests?

One command runs it::

    python bench/reload.py                          # 3 runs x 20 s per server
    python bench/reload.py --runs 1 --duration 8    # a quick smoke run

Each server runs a WSGI script that answers with the version it loaded ("v3 <pid>"),
with 2 processes x 15 threads. 16 keep-alive HTTP/1.1 clients (asyncio, standard library
only, in this process) ask for it in a loop on 127.0.0.1 while, every 3 s, the script is
rewritten with a new version and its mtime set; gunicorn and granian additionally get the
SIGHUP that reloads them. Every answer and every failure is recorded, and the report says,
per server: requests, non-2xx answers, connection errors, whether every version was seen,
the longest time with no completed answer, the steady-state p99 and the worst latency, and
how soon after each change the new code answered. Medians over the runs go to stdout as
markdown, everything to bench/results/reload-*.json (and .md), and plot_reload.py draws
bench/results/reload.png from it. bench/README.md describes the method.

Progress goes to stderr, so ``python bench/reload.py > table.md`` keeps only the report.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import itertools
import math
import os
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# What bench/run.py uses too: server processes, Apache, host facts, the report's plumbing.
import plot_reload
import servers
from servers import HOST

BIN_SECONDS = 0.1  # the timeline's resolution (JSON and plot)
CONNECT_RETRY_PAUSE = 0.01  # after a failed connect, so a server that is down is not hammered
QUIET_TAIL = 2.0  # no change in the last seconds of a run: its version must have time to show
# granian has no readiness signal: on SIGHUP it starts a new worker, waits this long,
# stops an old one, and so on. Its default, 3.5 s, would not let two workers roll
# between two changes 3 s apart.
GRANIAN_RESPAWN_INTERVAL = 1.0

# Issue 5's acceptance bar, checked against each server's medians (errors: over all runs).
BAR_GAP_MS = 50.0
BAR_WORST_MS = 100.0
BAR_NEW_CODE_MS = 1000.0  # plus the app's import time (--import-seconds)

# The application. Every change rewrites it with the next VERSION; it is kept to Python 3.9
# syntax so that any server's interpreter (mod_wsgi embeds Debian's) can load it.
APP_TEMPLATE = '''\
"""Written by bench/reload.py; rewritten with a new VERSION every few seconds."""

import os
import time

VERSION = {version!r}
IMPORT_SECONDS = {import_seconds!r}
if IMPORT_SECONDS:
    time.sleep(IMPORT_SECONDS)  # stands in for an application that is slow to import


def application(environ, start_response):
    body = ("%s %d\\n" % (VERSION, os.getpid())).encode("ascii")
    start_response(
        "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    )
    return [body]
'''


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Settings:
    duration: float
    interval: float
    runs: int
    clients: int
    warmup: float
    settle: float
    timeout: float
    pause: float
    processes: int
    threads: int
    import_seconds: float
    python: Path
    startup_timeout: float


@dataclass
class Plan:
    """How to run one server for one run: its launch, the file to rewrite, how to reload."""

    launch: servers.Launch
    script: Path
    reload_signal: signal.Signals | None = None  # sent to the main process after each rewrite


@dataclass(frozen=True)
class ServerSpec:
    name: str
    title: str
    reload_by: str
    plan: Callable[[Settings, Path], Plan]  # settings, this run's directory


@dataclass
class ServerRecord:
    name: str
    title: str
    reload_by: str
    status: str = "pending"  # ran | skipped | failed
    reason: str = ""
    budget: str = ""
    launcher: str = ""
    command: list[str] = field(default_factory=list)
    log_tail: str = ""


@dataclass
class Change:
    at_s: float  # since the start of the measured window
    version: str
    first_new_ms: float | None  # change to the first answer from the new version
    old_until_ms: float | None  # change to the last answer from older code asked for after it


@dataclass
class RunResult:
    server: str
    run: int
    requests: int  # answers to requests started in the measured window, any status
    requests_per_s: float
    non_2xx: int
    connection_errors: int
    error_kinds: dict[str, int]
    unexpected_bodies: int  # 2xx answers that do not name a version written
    versions_written: list[str]
    versions_seen: list[str]
    longest_gap_ms: float
    longest_gap_at_s: float
    p50_ms: float
    p99_ms: float
    steady_p99_ms: float
    steady_requests: int
    worst_ms: float
    worst_at_s: float
    new_code_median_ms: float | None
    new_code_max_ms: float | None  # None: some version never answered
    changes: list[Change]
    timeline: dict[str, Any]


# --------------------------------------------------------------------------- the app


def write_app(path: Path, version: str, import_seconds: float) -> None:
    """Rewrite the script in place (same inode, one write) and set its mtime to now."""
    data = APP_TEMPLATE.format(version=version, import_seconds=import_seconds).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    path.chmod(0o644)  # world-readable: Apache's daemon processes run as www-data
    now = time.time_ns()
    os.utime(path, ns=(now, now))


def version_name(index: int) -> str:
    return f"v{index + 1}"


def cold_import_ms(python: Path, work: Path, import_seconds: float) -> float | None:
    """Median wall time for a fresh interpreter to start and import the app (3 tries).

    Context for "new code" times: a server cannot answer from new code before a new
    process has at least done this much.
    """
    script = work / "cold.wsgi"
    write_app(script, "v0", import_seconds)
    argv = [str(python), "-c", "import runpy, sys; runpy.run_path(sys.argv[1])", str(script)]
    times = []
    for _ in range(3):
        began = time.monotonic()
        try:
            subprocess.run(argv, check=True, capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return None
        times.append((time.monotonic() - began) * 1000)
    return statistics.median(times)


# --------------------------------------------------------------------------- servers


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # gunicorn re-imports a module: no stale .pyc
    return env


def plan_wsgihost(settings: Settings, work: Path) -> Plan:
    if not (servers.REPO_DIR / "src" / "wsgihost").is_dir():
        raise servers.Unavailable(f"no wsgihost package under {servers.REPO_DIR / 'src'}")
    script = work / "app.wsgi"
    write_app(script, version_name(0), settings.import_seconds)
    config = work / "site.conf"
    config.write_text(
        f"""\
# Written by bench/reload.py for one run. ${{PORT}} comes from the environment.
Listen {HOST}:${{PORT}}
WSGIScriptReloading On
WSGIDaemonProcess bench processes={settings.processes} threads={settings.threads}
WSGIProcessGroup bench
WSGIScriptAlias / {script}
"""
    )
    env = base_env()
    env["PORT"] = str(servers.free_port())
    env["PYTHONPATH"] = servers.prepend_path(str(servers.REPO_DIR / "src"), env.get("PYTHONPATH"))
    argv = [
        str(settings.python),
        "-c",
        servers.WSGIHOST_BOOTSTRAP,
        "serve",
        "--config",
        str(config),
    ]
    budget = (
        f"daemon group: {settings.processes} processes x {settings.threads} threads; "
        "its default front-end workers"
    )
    launcher = f"{settings.python} (wsgihost from {servers.REPO_DIR / 'src'})"
    # port None: wait for its "listening on http://HOST:PORT" line, as for run.py.
    return Plan(servers.Launch(argv, env, work, None, budget, launcher), script)


def plan_apache(settings: Settings, work: Path) -> Plan:
    binary = servers.find_apache()
    script = work / "app.wsgi"
    write_app(script, version_name(0), settings.import_seconds)
    port = servers.free_port()
    config = work / "httpd.conf"
    config.write_text(apache_config(settings, work, script, port))
    argv, env = servers.apache_command(binary, config, work, base_env())
    budget = (
        f"mpm_event: {settings.processes} children x {settings.threads} threads; "
        f"mod_wsgi daemon group: {settings.processes} processes x {settings.threads} threads"
    )
    return Plan(servers.Launch(argv, env, work, port, budget, f"{binary} + mod_wsgi"), script)


def apache_config(settings: Settings, work: Path, script: Path, port: int) -> str:
    """httpd.conf for mod_wsgi's daemon mode, with run.py's mpm_event budget."""
    wsgi = f"""\
# Daemon mode; a changed script restarts the daemon processes (WSGIScriptReloading).
WSGISocketPrefix "{work}/wsgi"
WSGIDaemonProcess bench processes={settings.processes} threads={settings.threads}
WSGIProcessGroup bench
WSGIApplicationGroup %{{GLOBAL}}
WSGIScriptReloading On
WSGIScriptAlias / "{script}"
"""
    return servers.apache_config(
        "bench/reload.py for one run", work, port, settings.processes, settings.threads, wsgi, work
    )


def plan_gunicorn(settings: Settings, work: Path) -> Plan:
    if not servers.python_can_import(settings.python, "gunicorn"):
        raise servers.Unavailable(
            f"gunicorn is not installed for {settings.python} "
            "(python bench/run.py --install-peers, or pip install gunicorn there)"
        )
    module = "bench_reload_app"  # gunicorn imports modules: the script as a .py file
    script = work / f"{module}.py"
    write_app(script, version_name(0), settings.import_seconds)
    port = servers.free_port()
    # No --preload: each new worker imports the module afresh.
    argv = servers.gunicorn_argv(
        settings.python,
        port,
        settings.processes,
        "gthread",
        settings.threads,
        work,
        f"{module}:application",
    )
    budget = f"gthread: {settings.processes} workers x {settings.threads} threads"
    launch = servers.Launch(argv, base_env(), work, port, budget, str(settings.python))
    return Plan(launch, script, signal.SIGHUP)


def plan_uwsgi(settings: Settings, work: Path) -> Plan:
    binary = servers.find_uwsgi(settings.python)
    script = work / "app.wsgi"
    write_app(script, version_name(0), settings.import_seconds)
    port = servers.free_port()
    argv = [
        *servers.uwsgi_argv(binary, port, settings.processes, settings.threads, work, script),
        "--lazy-apps",  # each worker imports the app itself, so a reload loads new code
        "--touch-chain-reload",  # a touch replaces the workers one after the other
        str(script),
    ]
    budget = (
        f"{settings.processes} workers x {settings.threads} threads, lazy-apps; "
        f"{settings.processes} HTTP router processes"
    )
    return Plan(servers.Launch(argv, base_env(), work, port, budget, str(binary)), script)


def plan_granian(settings: Settings, work: Path) -> Plan:
    if not servers.python_can_import(settings.python, "granian"):
        raise servers.Unavailable(
            f"granian is not installed for {settings.python} "
            "(python bench/run.py --install-peers, or pip install granian there)"
        )
    module = "bench_reload_app"  # granian imports modules: the script as a .py file
    script = work / f"{module}.py"
    write_app(script, version_name(0), settings.import_seconds)
    port = servers.free_port()
    argv = servers.granian_argv(
        settings.python,
        port,
        settings.processes,
        settings.threads,
        work,
        f"{module}:application",
        extra=("--respawn-interval", str(GRANIAN_RESPAWN_INTERVAL)),
    )
    budget = (
        f"{settings.processes} workers x {settings.threads} blocking threads, "
        f"--respawn-interval {GRANIAN_RESPAWN_INTERVAL:g}"
    )
    launch = servers.Launch(argv, base_env(), work, port, budget, str(settings.python))
    return Plan(launch, script, signal.SIGHUP)


SERVER_SPECS = (
    ServerSpec("wsgihost", "wsgihost (daemon group)", "touch", plan_wsgihost),
    ServerSpec("apache-mod_wsgi", "Apache + mod_wsgi (daemon mode)", "touch", plan_apache),
    ServerSpec("gunicorn", "gunicorn gthread", "rewrite + `kill -HUP`", plan_gunicorn),
    ServerSpec("uwsgi", "uWSGI (HTTP router, lazy-apps)", "touch-chain-reload", plan_uwsgi),
    ServerSpec("granian", "granian (WSGI)", "rewrite + `kill -HUP`", plan_granian),
)


class VersionedServer(servers.RunningServer):
    """A server process (own process group, stopped by pid) that answers a version."""

    def __init__(
        self, spec: ServerSpec, launch: servers.Launch, log_path: Path, expect: str
    ) -> None:
        super().__init__(spec.name, launch, log_path)
        self.expect = expect

    def _check_hello(self, deadline: float) -> None:
        """Wait until GET / answers 200 with the first version (daemons may still start)."""
        assert self.port is not None
        last = ""
        while True:
            try:
                status, body = servers.http_get(self.port, "/")
            except (OSError, http.client.HTTPException) as exc:
                last = f"error {exc}"
            else:
                # The version is the first word (bench/touch.py's app adds "@T" to it).
                word = body.split(b" ", 1)[0].split(b"@", 1)[0]
                if status == 200 and word.rstrip() == self.expect.encode():
                    return
                last = f"{status} {body[:80]!r}"
            self._check_progress(deadline, f"GET / to answer {self.expect} (last: {last})")
            time.sleep(0.2)

    def signal(self, signum: signal.Signals) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signum)


# --------------------------------------------------------------------------- load


class ConnectionFailed(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass
class Response:
    status: int
    body: bytes
    close: bool  # the server will close the connection after it
    end: float  # time.monotonic() when it was complete


CHUNKED = -1
UNTIL_CLOSE = -2


def parse_chunked(buffer: bytearray) -> bytes | None:
    """The body of a complete chunked message in buffer, or None while it is incomplete."""
    body = bytearray()
    pos = 0
    while True:
        eol = buffer.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buffer[pos:eol]).split(b";", 1)[0], 16)
        pos = eol + 2
        if size == 0:
            if buffer[pos : pos + 2] == b"\r\n" or buffer.find(b"\r\n\r\n", pos - 2) >= 0:
                return bytes(body)
            return None
        if len(buffer) < pos + size + 2:
            return None
        body += buffer[pos : pos + size]
        pos += size + 2


class HttpClient(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Response] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._status = 0
        self._length: int | None = None  # None until the head is in
        self._close = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def request(self, payload: bytes, timeout: float) -> asyncio.Future[Response]:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Response] = loop.create_future()
        if self.closed or self.transport is None:
            waiter.set_exception(ConnectionFailed("closed before sending"))
            return waiter
        self._waiter = waiter
        self._buffer.clear()
        self._length = None
        self._timer = loop.call_later(timeout, self._timed_out)
        self.transport.write(payload)
        return waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:
            return  # nothing asked: ignored
        self._buffer += data
        try:
            self._parse()
        except ValueError:
            self._fail("bad response")
            self.close()

    def _parse(self) -> None:
        if self._length is None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
            del self._buffer[: end + 4]
            version, _, rest = lines[0].partition(" ")
            self._status = int(rest[:3])
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip().lower()
            connection = headers.get("connection", "")
            self._close = "close" in connection or (
                version == "HTTP/1.0" and "keep-alive" not in connection
            )
            if "chunked" in headers.get("transfer-encoding", ""):
                self._length = CHUNKED
            elif "content-length" in headers:
                self._length = int(headers["content-length"])
            else:
                self._length = UNTIL_CLOSE
        if self._length == CHUNKED:
            body = parse_chunked(self._buffer)
            if body is not None:
                self._finish(body)
        elif self._length >= 0 and len(self._buffer) >= self._length:
            self._finish(bytes(self._buffer[: self._length]))

    def _finish(self, body: bytes) -> None:
        waiter, self._waiter = self._waiter, None
        if self._timer is not None:
            self._timer.cancel()
        if waiter is not None and not waiter.done():
            waiter.set_result(Response(self._status, body, self._close, time.monotonic()))

    def _fail(self, kind: str) -> None:
        waiter, self._waiter = self._waiter, None
        if self._timer is not None:
            self._timer.cancel()
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionFailed(kind))

    def _timed_out(self) -> None:
        self._fail("timeout")
        self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None:
            return
        if exc is None and self._length == UNTIL_CLOSE:
            self._finish(bytes(self._buffer))
        elif isinstance(exc, ConnectionResetError):
            self._fail("connection reset")
        elif exc is None:
            self._fail("closed before the answer")
        else:
            self._fail(type(exc).__name__)


@dataclass
class LoadRecord:
    answers: list[tuple[float, float, int, str]] = field(default_factory=list)
    errors: list[tuple[float, float, str]] = field(default_factory=list)
    changes: list[tuple[float, str]] = field(default_factory=list)  # (time written, version)


class Load:
    """settings.clients keep-alive clients asking for / until stop_at (pausing ``pause`` s
    after each answer: bench/touch.py's light load)."""

    def __init__(
        self,
        port: int,
        settings: Settings,
        stop_at: float,
        record: LoadRecord,
        pause: float = 0.0,
    ) -> None:
        self.port = port
        self.pause = pause
        self.settings = settings
        self.stop_at = stop_at
        self.record = record
        self.payload = f"GET / HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: reload.py\r\n\r\n"

    async def connect(self, timeout: float) -> HttpClient:
        loop = asyncio.get_running_loop()
        connecting = loop.create_connection(HttpClient, HOST, self.port)
        _, protocol = await asyncio.wait_for(connecting, timeout)
        return protocol

    async def client(self) -> None:
        payload = self.payload.encode()
        timeout = self.settings.timeout
        answers, errors = self.record.answers, self.record.errors
        conn: HttpClient | None = None
        while time.monotonic() < self.stop_at:
            # A request that needs a new connection counts the connect in its latency.
            start = time.monotonic()
            connecting = conn is None or conn.closed
            try:
                if conn is None or conn.closed:
                    conn = await self.connect(timeout)
                current: HttpClient = conn
                response = await current.request(payload, timeout)
            except (ConnectionFailed, OSError, TimeoutError) as exc:
                errors.append((start, time.monotonic(), error_kind(exc, connecting)))
                if conn is not None:
                    conn.close()
                    conn = None
                if connecting:
                    await asyncio.sleep(CONNECT_RETRY_PAUSE)
                continue
            version = ""
            if 200 <= response.status < 300:
                version = response.body.split(b" ", 1)[0].decode("ascii", "replace")
            answers.append((start, response.end, response.status, version))
            if response.close:
                current.close()
                conn = None
            if self.pause:
                await asyncio.sleep(self.pause)
        if conn is not None:
            conn.close()


def error_kind(exc: BaseException, connecting: bool) -> str:
    if isinstance(exc, ConnectionFailed):
        return exc.kind
    if isinstance(exc, TimeoutError):
        return "connect timeout" if connecting else "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    return type(exc).__name__


async def drive(
    server: VersionedServer, plan: Plan, settings: Settings
) -> tuple[LoadRecord, float, float]:
    """Load the server, rewriting the script on schedule; (record, window start, window end)."""
    assert server.port is not None
    record = LoadRecord()
    t0 = time.monotonic() + settings.warmup
    t_end = t0 + settings.duration
    load = Load(server.port, settings, t_end, record)
    clients = [asyncio.create_task(load.client()) for _ in range(settings.clients)]
    try:
        for index, at in enumerate(change_times(settings), start=1):
            await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
            version = version_name(index)
            write_app(plan.script, version, settings.import_seconds)
            record.changes.append((time.monotonic(), version))
            if plan.reload_signal is not None:
                server.signal(plan.reload_signal)
        await asyncio.gather(*clients)
    finally:
        for task in clients:
            task.cancel()
    return record, t0, t_end


def change_times(settings: Settings) -> list[float]:
    """Offsets of the changes in the measured window: every interval, none in the quiet tail."""
    times: list[float] = []
    at = settings.interval
    while at <= settings.duration - QUIET_TAIL - settings.import_seconds:
        times.append(at)
        at += settings.interval
    return times


# --------------------------------------------------------------------------- analysis


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def analyse(
    name: str, run_no: int, record: LoadRecord, t0: float, t_end: float, settings: Settings
) -> RunResult:
    written = [version_name(0)] + [version for _, version in record.changes]
    order = {version: index for index, version in enumerate(written)}
    answers = [a for a in record.answers if a[0] >= t0]  # the warm-up's are left out
    errors = [e for e in record.errors if e[0] >= t0]
    ok = [a for a in answers if 200 <= a[2] < 300]
    non_2xx = len(answers) - len(ok)
    unexpected = sum(1 for a in ok if a[3] not in order)

    # The longest time in the window with no successful answer completing.
    ends = sorted(a[1] for a in record.answers if 200 <= a[2] < 300 and t0 <= a[1] <= t_end)
    points = [t0, *ends, t_end]
    gap, gap_at = 0.0, t0
    for before, after in itertools.pairwise(points):
        if after - before > gap:
            gap, gap_at = after - before, before

    latencies = sorted(a[1] - a[0] for a in ok)
    change_at = [at for at, _ in record.changes]
    steady = sorted(
        a[1] - a[0]
        for a in ok
        if not any(a[0] < at + settings.settle and a[1] > at for at in change_at)
    )
    worst = max(ok, key=lambda a: a[1] - a[0], default=None)

    changes: list[Change] = []
    for index, (at, version) in enumerate(record.changes):
        next_at = change_at[index + 1] if index + 1 < len(change_at) else math.inf
        first_new = min((a[1] for a in ok if a[3] == version and a[1] >= at), default=None)
        # Older code still answering requests sent after the change (before the next one).
        old_until = max(
            (a[1] for a in ok if at <= a[0] < next_at and order.get(a[3], 1 << 30) < index + 1),
            default=None,
        )
        changes.append(
            Change(
                at_s=at - t0,
                version=version,
                first_new_ms=None if first_new is None else (first_new - at) * 1000,
                old_until_ms=None if old_until is None else (old_until - at) * 1000,
            )
        )
    new_code = [c.first_new_ms for c in changes]
    seen = {a[3] for a in ok}
    kinds: dict[str, int] = {}
    for _, _, kind in errors:
        kinds[kind] = kinds.get(kind, 0) + 1
    seconds = t_end - t0
    return RunResult(
        server=name,
        run=run_no,
        requests=len(answers),
        requests_per_s=len(answers) / seconds if seconds else 0.0,
        non_2xx=non_2xx,
        connection_errors=len(errors),
        error_kinds=kinds,
        unexpected_bodies=unexpected,
        versions_written=written,
        versions_seen=[v for v in written if v in seen],
        longest_gap_ms=gap * 1000,
        longest_gap_at_s=gap_at - t0,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        steady_p99_ms=percentile(steady, 0.99) * 1000,
        steady_requests=len(steady),
        worst_ms=(worst[1] - worst[0]) * 1000 if worst else 0.0,
        worst_at_s=worst[0] - t0 if worst else 0.0,
        new_code_median_ms=(
            statistics.median(x for x in new_code if x is not None)
            if any(x is not None for x in new_code)
            else None
        ),
        new_code_max_ms=(
            max(x for x in new_code if x is not None)
            if new_code and all(x is not None for x in new_code)
            else None
        ),
        changes=changes,
        timeline=timeline(record, t0, t_end),
    )


def timeline(record: LoadRecord, t0: float, t_end: float) -> dict[str, Any]:
    """Per BIN_SECONDS of the window: answers completed, their p99 and worst latency, errors.

    An answer counts in the bin in which it completed; a bin with no answer has a
    latency of 0 (the plot leaves it out).
    """
    bins = max(1, math.ceil((t_end - t0) / BIN_SECONDS))
    latencies: list[list[float]] = [[] for _ in range(bins)]
    errors = [0] * bins
    for start, end, status, _ in record.answers:
        index = int((end - t0) / BIN_SECONDS)
        if 0 <= index < bins and 200 <= status < 300:
            latencies[index].append((end - start) * 1000)
    for _, end, _ in record.errors:
        index = int((end - t0) / BIN_SECONDS)
        if 0 <= index < bins:
            errors[index] += 1
    ordered = [sorted(values) for values in latencies]
    return {
        "bin_s": BIN_SECONDS,
        "completed": [len(values) for values in ordered],
        "p99_ms": [round(percentile(values, 0.99), 2) for values in ordered],
        "worst_ms": [round(values[-1], 2) if values else 0.0 for values in ordered],
        "errors": errors,
        "changes_s": [round(at - t0, 4) for at, _ in record.changes],
    }


def median_or_none(values: Sequence[float | None]) -> float | None:
    """Median, with None (a version never seen) counting as infinitely late."""
    if not values:
        return None
    middle = statistics.median(math.inf if v is None else v for v in values)
    return None if math.isinf(middle) else middle


def summarise(results: list[RunResult], settings: Settings) -> dict[str, Any]:
    def med(key: str) -> float:
        return float(statistics.median(getattr(r, key) for r in results))

    written = max(len(r.versions_written) for r in results)
    fewest_seen = min(len(r.versions_seen) for r in results)
    missing_runs = sum(1 for r in results if len(r.versions_seen) < len(r.versions_written))
    summary: dict[str, Any] = {
        "runs": len(results),
        "requests": med("requests"),
        "requests_per_s": med("requests_per_s"),
        "non_2xx": med("non_2xx"),
        "non_2xx_total": sum(r.non_2xx for r in results),
        "connection_errors": med("connection_errors"),
        "connection_errors_total": sum(r.connection_errors for r in results),
        "unexpected_bodies_total": sum(r.unexpected_bodies for r in results),
        "versions_written": written,
        "fewest_versions_seen": fewest_seen,
        "runs_missing_a_version": missing_runs,
        "longest_gap_ms": med("longest_gap_ms"),
        "p99_ms": med("p99_ms"),
        "steady_p99_ms": med("steady_p99_ms"),
        "worst_ms": med("worst_ms"),
        "worst_ms_max": max(r.worst_ms for r in results),
        "new_code_median_ms": median_or_none([r.new_code_median_ms for r in results]),
        "new_code_max_ms": median_or_none([r.new_code_max_ms for r in results]),
    }
    new_code_bar = BAR_NEW_CODE_MS + settings.import_seconds * 1000
    missed = []
    if summary["non_2xx_total"] or summary["unexpected_bodies_total"]:
        missed.append("non-2xx")
    if summary["connection_errors_total"]:
        missed.append("errors")
    if missing_runs:
        missed.append("versions")
    if summary["longest_gap_ms"] > BAR_GAP_MS:
        missed.append("gap")
    if summary["worst_ms"] >= BAR_WORST_MS:
        missed.append("worst")
    if summary["new_code_max_ms"] is None or summary["new_code_max_ms"] >= new_code_bar:
        missed.append("new code")
    summary["bar_missed"] = missed
    return summary


# --------------------------------------------------------------------------- report


def ms(value: float | None) -> str:
    if value is None:
        return "never"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def count_text(median: float, total: int, runs: int) -> str:
    text = f"{median:,.0f}"
    return f"{text} ({total:,} in {runs} runs)" if runs > 1 and total else text


def markdown(result: dict[str, Any], records: dict[str, ServerRecord]) -> str:
    settings = result["settings"]
    host = result["host"]
    changes = len(result["change_times_s"])
    lines = [
        "## wsgihost reload-under-load benchmark",
        "",
        f"- {result['started']} on {host['cpu']} ({host['cpus']} CPUs), {host['platform']}, "
        f"commit {host['git_commit'][:12] or '?'}",
        f"- {settings['clients']} keep-alive HTTP/1.1 clients (asyncio, in the benchmark's "
        f"process) on {HOST} for {settings['duration']:g} s after a {settings['warmup']:g} s "
        f"warm-up; the script rewritten with a new VERSION and its mtime set every "
        f"{settings['interval']:g} s: {changes} changes, {changes + 1} versions",
        f"- {settings['processes']} processes x {settings['threads']} threads per server; "
        f"medians over {settings['runs']} run(s); counts in brackets are totals over the runs",
        f"- steady p99: answers to requests that overlap no change's first "
        f"{settings['settle']:g} s; worst: the slowest answer; gap: the longest time with no "
        "successful answer completing; new code: change to the first answer from the new "
        "version, median / max over the changes",
        f"- a fresh `{settings['python']}` starts and imports the app in "
        f"{ms(result['cold_import_ms'])} ms (median of 3; the floor for any new process)",
        f"- issue 5's bar: no non-2xx, no connection error, every version seen, gap <= "
        f"{BAR_GAP_MS:g} ms, worst < {BAR_WORST_MS:g} ms, new code < "
        f"{BAR_NEW_CODE_MS + settings['import_seconds'] * 1000:g} ms",
        "",
        "| server | reload by | req/s | non-2xx | conn. errors | versions seen | longest gap ms "
        "| steady p99 ms | worst ms | new code ms | issue 5 bar |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for name, summary in result["summary"].items():
        record = records[name]
        missed = summary["bar_missed"]
        runs = summary["runs"]
        non_2xx = count_text(summary["non_2xx"], summary["non_2xx_total"], runs)
        errors = count_text(summary["connection_errors"], summary["connection_errors_total"], runs)
        lines.append(
            f"| {record.title} | {record.reload_by} | {summary['requests_per_s']:,.0f} "
            f"| {non_2xx} | {errors} "
            f"| {summary['fewest_versions_seen']}/{summary['versions_written']} "
            f"| {ms(summary['longest_gap_ms'])} | {ms(summary['steady_p99_ms'])} "
            f"| {ms(summary['worst_ms'])} "
            f"| {ms(summary['new_code_median_ms'])} / {ms(summary['new_code_max_ms'])} "
            f"| {'met' if not missed else 'missed: ' + ', '.join(missed)} |"
        )
    if result["runs"]:
        lines += [
            "",
            "### Every run",
            "",
            "| server | run | requests | non-2xx | conn. errors | versions | gap ms (at s) "
            "| p50 ms | steady p99 ms | worst ms (at s) | new code ms | old code until ms |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for entry in result["runs"]:
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(entry["error_kinds"].items()))
            old = [c["old_until_ms"] for c in entry["changes"] if c["old_until_ms"] is not None]
            lines.append(
                f"| {records[entry['server']].title} | {entry['run']} | {entry['requests']:,} "
                f"| {entry['non_2xx']} "
                f"| {entry['connection_errors']}{f' ({kinds})' if kinds else ''} "
                f"| {len(entry['versions_seen'])}/{len(entry['versions_written'])} "
                f"| {ms(entry['longest_gap_ms'])} ({entry['longest_gap_at_s']:.1f}) "
                f"| {ms(entry['p50_ms'])} | {ms(entry['steady_p99_ms'])} "
                f"| {ms(entry['worst_ms'])} ({entry['worst_at_s']:.1f}) "
                f"| {ms(entry['new_code_median_ms'])} / {ms(entry['new_code_max_ms'])} "
                f"| {ms(max(old)) if old else '-'} |"
            )
    lines += servers.not_measured(records.values())
    return "\n".join(lines) + "\n"


def plot(result_path: Path, result: dict[str, Any], out: Path, python: Path) -> str:
    """Draw out with plot_reload.py; what became of it, in words.

    In this process when it can import matplotlib, else with the first of --python and
    the bench's venv that can (matplotlib is in the bench extra, not a dependency).
    """
    try:
        plot_reload.draw(result, out)
    except ImportError:
        pass
    except ValueError as exc:
        return f"No plot: {exc}"
    else:
        return f"Plot written to {out}"
    for candidate in dict.fromkeys([python, servers.VENV_DIR / "bin" / "python"]):
        if os.access(candidate, os.X_OK) and servers.python_can_import(candidate, "matplotlib"):
            script = servers.BENCH_DIR / "plot_reload.py"
            argv = [str(candidate), str(script), str(result_path), "--output", str(out)]
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            if done.returncode == 0:
                return f"Plot written to {out} (by {candidate})"
            return f"No plot: {candidate} {script.name} failed: {done.stderr.strip()[-300:]}"
    return "No plot: matplotlib is importable neither here nor by --python (the bench extra)"


# --------------------------------------------------------------------------- running


def measure(
    spec: ServerSpec,
    record: ServerRecord,
    settings: Settings,
    work: Path,
    run_no: int,
) -> RunResult | None:
    """One run of one server: start it, load it while rewriting its script, stop it."""
    run_dir = work / f"{spec.name}-{run_no}"
    run_dir.mkdir(mode=0o755)
    run_dir.chmod(0o755)  # www-data (Apache's daemons) must get through
    try:
        plan = spec.plan(settings, run_dir)
    except servers.Unavailable as exc:
        record.status, record.reason = "skipped", str(exc)
        servers.say(f"{spec.name}: skipped: {exc}")
        return None
    launch = plan.launch
    record.budget, record.launcher, record.command = launch.budget, launch.launcher, launch.argv
    server = VersionedServer(spec, launch, run_dir / "server.log", version_name(0))
    try:
        servers.say(
            f"[run {run_no}/{settings.runs}] {spec.name}: starting: {' '.join(launch.argv)}"
        )
        try:
            server.start(settings.startup_timeout)
        except (servers.ServerFailed, OSError) as exc:
            servers.fail(record, server, str(exc))
            return None
        load, t0, t_end = asyncio.run(drive(server, plan, settings))
        if not server.alive():
            servers.fail(record, server, "died during the run")
            return None
    finally:
        server.stop()
    record.status = "ran"
    record.log_tail = servers.tail(server.log_path)
    result = analyse(spec.name, run_no, load, t0, t_end, settings)
    servers.say(
        f"[run {run_no}/{settings.runs}] {spec.name}: {result.requests:,} answers, "
        f"{result.non_2xx} non-2xx, {result.connection_errors} connection errors, "
        f"versions {len(result.versions_seen)}/{len(result.versions_written)}, "
        f"gap {ms(result.longest_gap_ms)} ms, steady p99 {ms(result.steady_p99_ms)} ms, "
        f"worst {ms(result.worst_ms)} ms, new code {ms(result.new_code_median_ms)} / "
        f"{ms(result.new_code_max_ms)} ms"
    )
    return result


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Reload under load: wsgihost vs Apache + mod_wsgi, gunicorn, uWSGI, granian.",
    )
    names = [spec.name for spec in SERVER_SPECS]
    add = parser.add_argument
    add("--duration", type=float, default=20.0, help="measured seconds per run (%(default)s)")
    add("--runs", type=int, default=3, help="runs per server; medians are reported (%(default)s)")
    add("--interval", type=float, default=3.0, help="seconds between changes (%(default)s)")
    add("--clients", type=int, default=16, help="concurrent keep-alive clients (%(default)s)")
    add("--warmup", type=float, default=2.0, help="seconds of load before each run (%(default)s)")
    add(
        "--settle",
        type=float,
        default=1.5,
        help="seconds after a change left out of the steady-state p99 (%(default)s)",
    )
    add("--timeout", type=float, default=10.0, help="per-request timeout (%(default)s)")
    add("--pause", type=float, default=1.0, help="seconds of quiet between runs (%(default)s)")
    add("--processes", type=int, default=2, help="processes per server (%(default)s)")
    add("--threads", type=int, default=15, help="threads per process (%(default)s)")
    add(
        "--import-seconds",
        type=float,
        default=0.0,
        help="make the app sleep this long when imported, as a slow app would (%(default)s)",
    )
    add("--servers", default=",".join(names), help=f"comma-separated subset of: {', '.join(names)}")
    add(
        "--python",
        type=Path,
        help="interpreter for wsgihost, gunicorn (and uWSGI's lookup) "
        f"(default: {servers.VENV_DIR.relative_to(servers.REPO_DIR)}/bin/python if it exists)",
    )
    add("--startup-timeout", type=float, default=30.0, help="seconds to come up (%(default)s)")
    add("--output-dir", type=Path, default=servers.RESULTS_DIR, help="JSON and plot (%(default)s)")
    add("--no-plot", action="store_true", help="do not draw reload.png even with matplotlib")
    args = parser.parse_args(argv)
    servers.check_servers(parser, args.servers, names)
    for option in ("runs", "clients", "processes", "threads"):
        if getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    if args.interval <= 0 or args.settle < 0 or args.warmup < 0 or args.import_seconds < 0:
        parser.error("--interval must be positive; --settle, --warmup, --import-seconds >= 0")
    if args.duration < args.interval + QUIET_TAIL + args.import_seconds:
        parser.error(
            f"--duration must leave room for one change and {QUIET_TAIL:g} s after it "
            f"(at least --interval + {QUIET_TAIL:g} + --import-seconds)"
        )
    return args


@dataclass
class Outcome:
    """What a reload benchmark came to: exit status, results, report, where they went."""

    code: int
    result: dict[str, Any]
    report: str
    path: Path | None


def execute(args: argparse.Namespace, python: Path, echo: bool = True) -> Outcome:
    """Run the benchmark as args say; write JSON, markdown and plot; the report to stdout
    with echo (bench/run.py prints it itself)."""
    settings = Settings(
        duration=args.duration,
        interval=args.interval,
        runs=args.runs,
        clients=args.clients,
        warmup=args.warmup,
        settle=args.settle,
        timeout=args.timeout,
        pause=args.pause,
        processes=args.processes,
        threads=args.threads,
        import_seconds=args.import_seconds,
        python=python,
        startup_timeout=args.startup_timeout,
    )
    chosen = args.servers.split(",")
    specs = [spec for spec in SERVER_SPECS if spec.name in chosen]
    records = {s.name: ServerRecord(s.name, s.title, s.reload_by) for s in specs}
    started = datetime.now(UTC)
    per_run = settings.warmup + settings.duration + settings.pause
    servers.say(
        f"Reload under load: {', '.join(s.name for s in specs)}; "
        f"about {len(specs) * settings.runs * per_run / 60:.1f} min of load, plus start-ups"
    )
    results: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="wsgihost-reload-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        cold_ms = cold_import_ms(settings.python, work, settings.import_seconds)
        for run_no in range(1, settings.runs + 1):
            active = [s for s in specs if records[s.name].status in ("pending", "ran")]
            shift = (run_no - 1) % len(active) if active else 0
            for spec in active[shift:] + active[:shift]:  # rotate who goes first
                outcome = measure(spec, records[spec.name], settings, work, run_no)
                if outcome is not None:
                    results.append(outcome)
                    time.sleep(settings.pause)

    summary = {
        spec.name: summarise([r for r in results if r.server == spec.name], settings)
        for spec in specs
        if any(r.server == spec.name for r in results)
    }
    result: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "host": servers.host_facts(),
        "versions": servers.software_versions(settings.python),
        "settings": servers.settings_json(settings),
        "change_times_s": change_times(settings),
        "cold_import_ms": cold_ms,
        "servers": {name: asdict(record) for name, record in records.items()},
        "summary": summary,
        "runs": [asdict(r) for r in results],
    }
    report = markdown(result, records)
    path = servers.publish(args.output_dir, "reload", started, result, report, echo=False)
    if not args.no_plot and results:
        picture = args.output_dir / "reload.png"
        said = plot(path, result, picture, settings.python)
        servers.say(said)
        if said.startswith("Plot written"):
            report += f"\n![Reload under load, each server's last run]({picture.name})\n"
            path.with_suffix(".md").write_text(report)
    if echo:
        print(report)
    failed = servers.report_failed(records.values())
    return Outcome(1 if failed or not results else 0, result, report, path)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    servers.stop_on_signals()
    python = servers.chosen_python(args.python)
    if python is None:
        return 2
    return execute(args, python).code


if __name__ == "__main__":
    servers.entry_point(main, "Interrupted; every server started was stopped.")
