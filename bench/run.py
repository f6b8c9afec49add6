#!/usr/bin/env python3
"""Throughput benchmark: wsgihost against gunicorn and Apache + mod_wsgi.

One command runs everything::

    python bench/run.py                  # all servers that are available
    python bench/run.py --install-peers  # first install wrk, Apache, mod_wsgi, gunicorn

Every server gets the same budget (2 processes x 15 threads by default) to run
bench/apps/hello.wsgi on 127.0.0.1: wsgihost and Apache + mod_wsgi each in embedded and
in daemon mode, gunicorn with sync and gthread workers. wrk loads them in turn, round
after round, and the medians go to stdout as markdown and to bench/results/*.json.
Daemon-mode servers are compared to Apache + mod_wsgi in daemon mode, the others to
Apache + mod_wsgi in embedded mode. bench/README.md says what is measured and how each
server is configured.

Progress goes to stderr, so ``python bench/run.py > table.md`` keeps only the report.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
APP_SOURCE = BENCH_DIR / "apps" / "hello.wsgi"
WRK_SCRIPT = BENCH_DIR / "wrk_report.lua"
VENV_DIR = BENCH_DIR / ".peers" / "venv"
RESULTS_DIR = BENCH_DIR / "results"

APACHE_MODULES = Path("/usr/lib/apache2/modules")
APT_PACKAGES = ("apache2", "libapache2-mod-wsgi-py3", "wrk")
HOST = "127.0.0.1"
HELLO_BODY = b"Hello, World!\n"
INTERPRETER_PATH = "/__interpreter__"
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
LISTENING_RE = re.compile(r"listening on http://(?:\[[^\]]*\]|[^\s:/]+):(?P<port>\d+)")

# Runs wsgihost's CLI from the interpreter under test, whether or not a console
# script was installed for it (the repository's src/ is put on PYTHONPATH).
WSGIHOST_BOOTSTRAP = (
    "import sys; sys.argv[0] = 'wsgihost'; from wsgihost.cli import main; sys.exit(main())"
)


# --------------------------------------------------------------------------- model


class Unavailable(Exception):
    """A server cannot run on this machine (not installed); the message says why."""


class ServerFailed(Exception):
    """A server did not come up, answered wrongly or died; the message says why."""


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    headers: tuple[str, ...]


SCENARIOS = (
    Scenario("keepalive", "keep-alive", ()),
    Scenario("close", "Connection: close", ("Connection: close",)),
)

# Where the application runs. gunicorn counts as embedded: its app runs in the very
# processes that speak HTTP, as with mod_wsgi's embedded mode.
EMBEDDED = "embedded"
DAEMON = "daemon"
MODES = (EMBEDDED, DAEMON)
MODE_TITLES = {EMBEDDED: "embedded mode and gunicorn", DAEMON: "daemon mode"}
MODE_NOTES = {
    EMBEDDED: "The app runs in the processes that speak HTTP",
    DAEMON: "The app runs in a daemon process group, behind the HTTP front end",
}


@dataclass(frozen=True)
class Settings:
    duration: int
    warmup: int
    rounds: int
    connections: int
    wrk_threads: int
    pause: float
    processes: int
    threads: int
    python: Path
    wsgihost_cmd: tuple[str, ...]
    wsgihost_args: tuple[str, ...]
    startup_timeout: float


@dataclass
class Launch:
    """How to start one server: the command, and where it will listen."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    port: int | None  # None: the server picks a port and prints "listening on ..."
    budget: str
    launcher: str


@dataclass(frozen=True)
class ServerKind:
    name: str
    title: str
    mode: str  # EMBEDDED or DAEMON: decides which baseline its ratios are to
    plan: Callable[[Settings, Path], Launch]


@dataclass
class Sample:
    scenario: str
    server: str
    round: int
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    errors: dict[str, int]


@dataclass
class ServerRecord:
    name: str
    title: str
    mode: str
    status: str = "pending"  # ran | skipped | failed
    reason: str = ""
    budget: str = ""
    launcher: str = ""
    command: list[str] = field(default_factory=list)
    interpreter: dict[str, Any] = field(default_factory=dict)
    log_tail: str = ""


# --------------------------------------------------------------------------- helpers


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_get(port: int, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def python_can_import(python: Path, module: str) -> bool:
    result = subprocess.run(
        [str(python), "-c", f"import {module}"],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def command_output(argv: Sequence[str]) -> str:
    """First line a command prints (on either stream), or "" when it cannot run."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = (result.stdout + result.stderr).strip().splitlines()
    return lines[0].strip() if lines else ""


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def default_python() -> Path:
    venv_python = VENV_DIR / "bin" / "python"
    return venv_python if venv_python.exists() else Path(sys.executable)


def prepend_path(value: str, existing: str | None) -> str:
    return value if not existing else f"{value}{os.pathsep}{existing}"


# --------------------------------------------------------------------------- servers


def wsgihost_planner(mode: str) -> Callable[[Settings, Path], Launch]:
    def plan(settings: Settings, work: Path) -> Launch:
        return plan_wsgihost(settings, work, mode)

    return plan


def plan_wsgihost(settings: Settings, work: Path, mode: str) -> Launch:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"  # the "listening on" line must reach the log at once
    if settings.wsgihost_cmd:
        command = list(settings.wsgihost_cmd)
        launcher = " ".join(command)
    else:
        if not (REPO_DIR / "src" / "wsgihost").is_dir():
            raise Unavailable(f"no wsgihost package under {REPO_DIR / 'src'}")
        command = [str(settings.python), "-c", WSGIHOST_BOOTSTRAP]
        env["PYTHONPATH"] = prepend_path(str(REPO_DIR / "src"), env.get("PYTHONPATH"))
        launcher = f"{settings.python} (wsgihost from {REPO_DIR / 'src'})"
    argv = [
        *command,
        "serve",
        str(work / "app" / "hello.wsgi"),
        *(["--embedded"] if mode == EMBEDDED else []),
        "--host",
        HOST,
        "--port",
        "0",
        "--processes",
        str(settings.processes),
        "--threads",
        str(settings.threads),
        *settings.wsgihost_args,
    ]
    if mode == EMBEDDED:
        budget = (
            f"{settings.processes} front-end workers x {settings.threads} app threads (--embedded)"
        )
    else:
        budget = (
            f"daemon group: {settings.processes} processes x {settings.threads} threads; "
            "up to 2 front-end workers (event loops)"
        )
    return Launch(argv, env, work, None, budget, launcher)


def gunicorn_planner(worker_class: str) -> Callable[[Settings, Path], Launch]:
    def plan(settings: Settings, work: Path) -> Launch:
        if not python_can_import(settings.python, "gunicorn"):
            raise Unavailable(
                f"gunicorn is not installed for {settings.python} "
                "(run with --install-peers, or pip install gunicorn there)"
            )
        port = free_port()
        argv = [
            str(settings.python),
            "-m",
            "gunicorn",
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            str(settings.processes),
            "--worker-class",
            worker_class,
            "--log-level",
            "warning",
            "--chdir",
            str(work / "app"),
        ]
        if worker_class == "gthread":
            argv += ["--threads", str(settings.threads)]
            budget = f"{settings.processes} workers x {settings.threads} threads"
        else:
            budget = f"{settings.processes} workers x 1 (sync workers have no threads)"
        argv.append("bench_hello:application")
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        return Launch(argv, env, work, port, budget, str(settings.python))

    return plan


def find_apache() -> Path:
    found = shutil.which("apache2") or shutil.which("apache2", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise Unavailable("apache2 is not installed (run with --install-peers)")
    needed = ("mod_mpm_event.so", "mod_authz_core.so", "mod_wsgi.so")
    missing = [name for name in needed if not (APACHE_MODULES / name).exists()]
    if missing:
        raise Unavailable(
            f"{', '.join(missing)} missing from {APACHE_MODULES} "
            "(libapache2-mod-wsgi-py3 not installed? run with --install-peers)"
        )
    return Path(found)


def apache_wsgi_config(settings: Settings, app_dir: Path, run_dir: Path, mode: str) -> str:
    """The mod_wsgi part of httpd.conf: the app embedded, or in one daemon process group."""
    # In the main interpreter (as under gunicorn; some C extensions need it), either way.
    common = f"""\
WSGIScriptAlias / "{app_dir}/hello.wsgi"
WSGIApplicationGroup %{{GLOBAL}}"""
    if mode == EMBEDDED:
        return f"""\
# Embedded mode: the application runs inside the Apache children.
{common}
"""
    return f"""\
# Daemon mode: the application runs in {settings.processes} mod_wsgi daemon processes of
# {settings.threads} threads; the Apache children above only pass requests on, over a
# UNIX socket. Started as root, the daemon processes run as User (www-data), and the
# socket is made theirs: its directory must be one they can reach.
WSGISocketPrefix "{run_dir}/wsgi"
WSGIDaemonProcess bench processes={settings.processes} threads={settings.threads}
WSGIProcessGroup bench
{common}
"""


def apache_config(settings: Settings, work: Path, run_dir: Path, port: int, mode: str) -> str:
    """A self-contained httpd.conf: mpm_event, mod_wsgi (embedded or daemon), nothing else."""
    app_dir = work / "app"
    total = settings.processes * settings.threads
    # Root may not serve requests with Debian's Apache; the children (and mod_wsgi's
    # daemon processes) switch to www-data, which can read the world-readable copy of
    # the app. A non-root Apache stays as is.
    identity = "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""
    return f"""\
# Written by bench/run.py for one benchmark run; deleted afterwards.
ServerRoot "{run_dir}"
DefaultRuntimeDir "{run_dir}"
PidFile "{run_dir}/apache2.pid"
ErrorLog "{run_dir}/error.log"
LogLevel warn
ServerName {HOST}
Listen {HOST}:{port}
{identity}
LoadModule mpm_event_module {APACHE_MODULES}/mod_mpm_event.so
LoadModule authz_core_module {APACHE_MODULES}/mod_authz_core.so
LoadModule wsgi_module {APACHE_MODULES}/mod_wsgi.so

# The budget: exactly {settings.processes} child processes of {settings.threads} request
# threads, in both modes. MinSpareThreads/MaxSpareThreads keep both children alive when idle.
StartServers {settings.processes}
ServerLimit {settings.processes}
ThreadLimit {settings.threads}
ThreadsPerChild {settings.threads}
MaxRequestWorkers {total}
MinSpareThreads {settings.threads}
MaxSpareThreads {total}
MaxConnectionsPerChild 0

# Like the Python servers: no cap on requests per connection, no access log.
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5

{apache_wsgi_config(settings, app_dir, run_dir, mode)}
<Directory "{app_dir}">
    Require all granted
</Directory>
"""


def apache_planner(mode: str) -> Callable[[Settings, Path], Launch]:
    def plan(settings: Settings, work: Path) -> Launch:
        return plan_apache(settings, work, mode)

    return plan


def plan_apache(settings: Settings, work: Path, mode: str) -> Launch:
    binary = find_apache()
    port = free_port()
    # Each Apache has its own ServerRoot; www-data must be able to enter it (daemon
    # mode's sockets are there), so it is world-searchable, as is work (prepare_app).
    run_dir = work / f"apache-{mode}"
    run_dir.mkdir(exist_ok=True)
    run_dir.chmod(0o755)  # mkdir's mode is cut by the umask
    config = run_dir / "httpd.conf"
    config.write_text(apache_config(settings, work, run_dir, port, mode))
    env = dict(os.environ)
    # Debian's apache2 reads these through its envvars file; point them all at our dir.
    for variable in ("APACHE_RUN_DIR", "APACHE_LOCK_DIR", "APACHE_LOG_DIR"):
        env[variable] = str(run_dir)
    env["APACHE_PID_FILE"] = str(run_dir / "apache2.pid")
    env["APACHE_RUN_USER"] = env["APACHE_RUN_GROUP"] = "www-data"
    env["LANG"] = "C"
    argv = [str(binary), "-f", str(config), "-DFOREGROUND"]
    budget = (
        f"mpm_event: {settings.processes} children x {settings.threads} threads "
        f"(MaxRequestWorkers {settings.processes * settings.threads})"
    )
    if mode == EMBEDDED:
        budget += ", mod_wsgi embedded"
    else:
        budget += (
            f"; mod_wsgi daemon group: {settings.processes} processes x {settings.threads} threads"
        )
    return Launch(argv, env, run_dir, port, budget, f"{binary} + mod_wsgi")


SERVER_KINDS = (
    ServerKind("wsgihost", "wsgihost (embedded)", EMBEDDED, wsgihost_planner(EMBEDDED)),
    ServerKind("gunicorn-sync", "gunicorn sync", EMBEDDED, gunicorn_planner("sync")),
    ServerKind("gunicorn-gthread", "gunicorn gthread", EMBEDDED, gunicorn_planner("gthread")),
    ServerKind(
        "apache-mod_wsgi", "Apache + mod_wsgi (embedded)", EMBEDDED, apache_planner(EMBEDDED)
    ),
    ServerKind("wsgihost-daemon", "wsgihost (daemon)", DAEMON, wsgihost_planner(DAEMON)),
    ServerKind(
        "apache-mod_wsgi-daemon", "Apache + mod_wsgi (daemon)", DAEMON, apache_planner(DAEMON)
    ),
)
# Each mode's ratios are to the first of these that ran: like is compared with like.
PREFERRED_BASELINES = {
    EMBEDDED: ("apache-mod_wsgi", "gunicorn-sync"),
    DAEMON: ("apache-mod_wsgi-daemon",),
}


class RunningServer:
    """One server process in its own process group, from start to a certain stop."""

    def __init__(self, kind: ServerKind, launch: Launch, log_path: Path) -> None:
        self.kind = kind
        self.launch = launch
        self.log_path = log_path
        self.port = launch.port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.launch.argv,
                cwd=self.launch.cwd,
                env=self.launch.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stopped as a whole, by id
            )
        deadline = time.monotonic() + timeout
        if self.port is None:
            self.port = self._wait_for_listening_line(deadline)
        while not accepts_connections(self.port):
            self._check_progress(deadline, f"port {self.port} to accept connections")
            time.sleep(0.1)
        self._check_hello(deadline)

    def _check_progress(self, deadline: float, waiting_for: str) -> None:
        assert self.process is not None
        code = self.process.poll()
        if code is not None:
            raise ServerFailed(f"exited with status {code} while waiting for {waiting_for}")
        if time.monotonic() > deadline:
            raise ServerFailed(f"timed out waiting for {waiting_for}")

    def _wait_for_listening_line(self, deadline: float) -> int:
        while True:
            match = LISTENING_RE.search(self.log_path.read_text(errors="replace"))
            if match:
                return int(match.group("port"))
            self._check_progress(deadline, "its 'listening on http://HOST:PORT' line")
            time.sleep(0.1)

    def _check_hello(self, deadline: float) -> None:
        assert self.port is not None
        while True:
            try:
                status, body = http_get(self.port, "/")
            except (OSError, http.client.HTTPException) as exc:
                self._check_progress(deadline, f"an answer to GET / (last error: {exc})")
                time.sleep(0.2)
                continue
            if status == 200 and body == HELLO_BODY:
                return
            raise ServerFailed(f"GET / answered {status} {body[:80]!r}, not 200 {HELLO_BODY!r}")

    def interpreter(self) -> dict[str, Any]:
        assert self.port is not None
        status, body = http_get(self.port, INTERPRETER_PATH)
        if status != 200:
            raise ServerFailed(f"GET {INTERPRETER_PATH} answered {status}")
        report: dict[str, Any] = json.loads(body)
        return report

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM to the server's main process, then SIGKILL to whatever of its group is left."""
        process = self.process
        if process is None:
            return
        # A second Ctrl-C must not cut the clean-up short; every wait below is bounded.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            self._stop(process)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        self.process = None

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        group = process.pid  # start_new_session made it the group leader
        # wsgihost puts its workers and daemon processes in process groups of their own,
        # out of reach of killpg: they are noted here, to be killed too if they linger.
        family = descendants(process.pid)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                say(f"  {self.kind.name}: no exit 15 s after SIGTERM, killing its group")
        # Children that outlive their parent get a few seconds, then SIGKILL.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (
            group_exists(group) or any(same_process(pid, start) for pid, start in family.items())
        ):
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
        for pid, start in family.items():
            if same_process(pid, start):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        process.wait()


def proc_stat(pid: int | str) -> tuple[int, str] | None:
    """(parent pid, start time) of a process, from /proc; None when it is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after it.
    fields = text.rpartition(")")[2].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), fields[19]


def descendants(root: int) -> dict[int, str]:
    """{pid: start time} of every live descendant of root (Linux /proc; {} elsewhere)."""
    children: dict[int, list[tuple[int, str]]] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                stat = proc_stat(entry.name)
                if stat is not None:
                    children.setdefault(stat[0], []).append((int(entry.name), stat[1]))
    found: dict[int, str] = {}
    pending = [root]
    while pending:
        for pid, start in children.get(pending.pop(), []):
            if pid not in found:
                found[pid] = start
                pending.append(pid)
    return found


def same_process(pid: int, start: str) -> bool:
    """Whether pid still is the process that started at start (not a reused pid)."""
    stat = proc_stat(pid)
    return stat is not None and stat[1] == start


def group_exists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------- load


def run_wrk(
    wrk: str, port: int, scenario: Scenario, seconds: int, settings: Settings
) -> dict[str, Any]:
    argv = [
        wrk,
        "--threads",
        str(settings.wrk_threads),
        "--connections",
        str(settings.connections),
        "--duration",
        f"{seconds}s",
        "--latency",
        "--script",
        str(WRK_SCRIPT),
    ]
    for header in scenario.headers:
        argv += ["--header", header]
    argv.append(f"http://{HOST}:{port}/")
    result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in result.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            report: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
            return report
    output = (result.stdout + result.stderr).strip()
    raise ServerFailed(f"wrk exited {result.returncode} without a report: {output[-300:]}")


def to_sample(report: dict[str, Any], scenario: str, server: str, round_no: int) -> Sample:
    seconds = report["duration_us"] / 1e6
    latency = report["latency_us"]
    return Sample(
        scenario=scenario,
        server=server,
        round=round_no,
        requests_per_s=report["requests"] / seconds if seconds else 0.0,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        requests=report["requests"],
        errors=dict(report["errors"]),
    )


def benchmark(
    wrk: str,
    servers: dict[str, RunningServer],
    records: dict[str, ServerRecord],
    settings: Settings,
) -> list[Sample]:
    samples: list[Sample] = []

    def measure(name: str, scenario: Scenario, seconds: int) -> dict[str, Any] | None:
        server = servers[name]
        assert server.port is not None
        try:
            report = run_wrk(wrk, server.port, scenario, seconds, settings)
            if not server.alive():
                raise ServerFailed("died during the run")
        except ServerFailed as exc:
            fail(records[name], server, str(exc))
            del servers[name]
            return None
        return report

    for scenario in SCENARIOS:
        for name in list(servers):
            say(f"[{scenario.name}] warm-up {name} ({settings.warmup} s)")
            measure(name, scenario, settings.warmup)
        for round_no in range(1, settings.rounds + 1):
            order = list(servers)
            shift = (round_no - 1) % len(order) if order else 0
            for name in order[shift:] + order[:shift]:  # rotate who goes first
                if name not in servers:
                    continue
                time.sleep(settings.pause)
                report = measure(name, scenario, settings.duration)
                if report is None:
                    continue
                sample = to_sample(report, scenario.name, name, round_no)
                samples.append(sample)
                errors = sum(sample.errors.values())
                say(
                    f"[{scenario.name}] round {round_no}/{settings.rounds} {name}: "
                    f"{sample.requests_per_s:,.0f} req/s, p50 {sample.p50_ms:.2f} ms, "
                    f"p99 {sample.p99_ms:.2f} ms" + (f", {errors} errors" if errors else "")
                )
    return samples


def fail(record: ServerRecord, server: RunningServer, reason: str) -> None:
    server.stop()
    record.status = "failed"
    record.reason = reason
    record.log_tail = tail(server.log_path)
    say(f"  {record.name} FAILED: {reason}")
    if record.log_tail:
        say("  last lines of its output:\n    " + record.log_tail.replace("\n", "\n    "))


# --------------------------------------------------------------------------- report


def summarise(samples: list[Sample]) -> dict[str, dict[str, dict[str, Any]]]:
    """{scenario: {server: medians and spread over the rounds}}."""
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for sample in samples:
        summary.setdefault(sample.scenario, {}).setdefault(sample.server, {"runs": []})
        summary[sample.scenario][sample.server]["runs"].append(sample)
    for per_server in summary.values():
        for name, entry in per_server.items():
            runs: list[Sample] = entry.pop("runs")
            rates = [run.requests_per_s for run in runs]
            per_server[name] = {
                "rounds": len(runs),
                "requests_per_s": statistics.median(rates),
                "requests_per_s_min": min(rates),
                "requests_per_s_max": max(rates),
                "p50_ms": statistics.median(run.p50_ms for run in runs),
                "p99_ms": statistics.median(run.p99_ms for run in runs),
                "errors": sum(sum(run.errors.values()) for run in runs),
                "requests": sum(run.requests for run in runs),
            }
    return summary


def pick_baselines(records: dict[str, ServerRecord]) -> dict[str, str | None]:
    """{mode: the server that mode's ratios are to, or None when none of its candidates ran}."""
    baselines: dict[str, str | None] = {}
    for mode in MODES:
        ran = (
            name
            for name in PREFERRED_BASELINES[mode]
            if name in records and records[name].status == "ran"
        )
        baselines[mode] = next(ran, None)
    return baselines


def add_ratios(
    summary: dict[str, dict[str, dict[str, Any]]],
    baselines: dict[str, str | None],
    records: dict[str, ServerRecord],
) -> None:
    for per_server in summary.values():
        for name, entry in per_server.items():
            baseline = baselines[records[name].mode]
            base = per_server.get(baseline or "")
            entry["ratios_to"] = baseline if base else None
            for key in ("requests_per_s", "p50_ms", "p99_ms"):
                ratio = entry[key] / base[key] if base and base[key] else None
                entry[f"{key}_ratio"] = ratio


def errors_text(errors: int, requests: int) -> str:
    if not errors:
        return "0"
    share = 100 * errors / max(requests, 1)
    return f"{errors} ({share:.1f}%)" if share >= 0.1 else f"{errors} (<0.1%)"


def ratio_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def table_row(title: str, entry: dict[str, Any]) -> str:
    return (
        f"| {title} | {entry['requests_per_s']:,.0f} | {entry['p50_ms']:.2f} "
        f"| {entry['p99_ms']:.2f} | {ratio_text(entry['requests_per_s_ratio'])} "
        f"| {ratio_text(entry['p50_ms_ratio'])} | {ratio_text(entry['p99_ms_ratio'])} "
        f"| {entry['requests_per_s_min']:,.0f}-{entry['requests_per_s_max']:,.0f} "
        f"| {errors_text(entry['errors'], entry['requests'])} |"
    )


def markdown(result: dict[str, Any], records: dict[str, ServerRecord]) -> str:
    settings = result["settings"]
    titles = {name: record.title for name, record in records.items()}

    def against(mode: str) -> str:
        baseline: str | None = result["baselines"][mode]
        return titles.get(baseline, baseline) if baseline else "nothing (no baseline ran)"

    lines = [
        "## wsgihost throughput benchmark",
        "",
        f"- {result['started']} on {result['host']['cpu']} "
        f"({result['host']['cpus']} CPUs), {result['host']['platform']}",
        f"- {result['wrk']}: {settings['connections']} connections, "
        f"{settings['wrk_threads']} thread(s), on {HOST}, sharing the CPUs with the servers",
        f"- {settings['rounds']} rounds x {settings['duration']} s per server and scenario, "
        f"servers alternating, after a {settings['warmup']} s warm-up; medians over the rounds",
        f"- budget: {settings['processes']} processes x {settings['threads']} threads "
        "running the app, per server",
    ]
    references = {
        EMBEDDED: f"embedded mode and gunicorn to {against(EMBEDDED)}",
        DAEMON: f"daemon mode to {against(DAEMON)}",
    }
    chosen_modes = [mode for mode in MODES if any(r.mode == mode for r in records.values())]
    lines.append(
        "- ratios, like with like: "
        + ", ".join(references[mode] for mode in chosen_modes)
        + "; req/s above 1.00x is faster, latency below 1.00x is faster"
    )
    for scenario in SCENARIOS:
        per_server = result["summary"].get(scenario.name, {})
        for mode in MODES:
            # In the order of --servers' default, not in the order the rounds ran them.
            rows = [name for name, record in records.items() if record.mode == mode]
            rows = [name for name in rows if name in per_server]
            if not rows:
                continue
            lines += [
                "",
                f"### {scenario.title} ({settings['connections']} connections): "
                f"{MODE_TITLES[mode]}",
                "",
                f"{MODE_NOTES[mode]}; ratios to {against(mode)}.",
                "",
                "| server | req/s | p50 ms | p99 ms | req/s ratio | p50 ratio | p99 ratio "
                "| req/s min-max | errors |",
                "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
            ]
            lines += [table_row(titles[name], per_server[name]) for name in rows]
    ran = [record for record in records.values() if record.status == "ran"]
    if ran:
        lines += [
            "",
            "### Servers and interpreters",
            "",
            "| server | budget | started | app's Python | SERVER_SOFTWARE |",
            "|---|---|---|---|---|",
        ]
    for record in ran:
        info = record.interpreter
        python = (
            f"{info.get('implementation', '?')} {info.get('version', '?')} "
            f"at {info.get('executable') or '?'} ({info.get('compiler', '?')}"
            + "".join(f", {flag}" for flag in info.get("speed_flags", []))
            + ")"
        )
        lines.append(
            f"| {record.title} | {record.budget} | {record.launcher} | {python} "
            f"| {info.get('server_software', '')} |"
        )
    others = [record for record in records.values() if record.status != "ran"]
    if others:
        lines += ["", "### Not measured", ""]
        for record in others:
            line = f"- {record.title}: **{record.status}**: {record.reason}"
            last_output = record.log_tail.splitlines()[-1:] if record.log_tail else []
            if record.status == "failed" and last_output:
                line += f"; its last output: `{last_output[0].strip()}`"
            lines.append(line)
    return "\n".join(lines) + "\n"


def host_facts() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python_running_bench": f"{sys.executable} {platform.python_version()}",
        "git_commit": command_output(["git", "-C", str(REPO_DIR), "rev-parse", "HEAD"]),
    }


# --------------------------------------------------------------------------- setup


def install_peers(python: Path) -> None:
    """apt-get the system peers and wrk; pip-install gunicorn into the bench's own venv.

    Everything these commands print goes to stderr, leaving stdout to the report.
    """
    prefix: list[str] = []
    if os.geteuid() != 0:
        sudo = shutil.which("sudo")
        if sudo is None:
            say("--install-peers: not root and no sudo: skipping " + " ".join(APT_PACKAGES))
        prefix = [sudo] if sudo else []
    if shutil.which("apt-get") is None:
        say("--install-peers: no apt-get here; install Apache, mod_wsgi and wrk by hand")
    elif os.geteuid() == 0 or prefix:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        setup_step([*prefix, "apt-get", "update"], env=env)
        setup_step([*prefix, "apt-get", "install", "-y", *APT_PACKAGES], env=env)
    venv_python = VENV_DIR / "bin" / "python"
    if not venv_python.exists():
        say(f"--install-peers: creating {VENV_DIR} from {python}")
        setup_step([str(python), "-m", "venv", str(VENV_DIR)])
    gunicorn, server_deps = bench_requirements()
    pip = [str(venv_python), "-m", "pip", "install", "--upgrade", "--quiet"]
    setup_step([*pip, gunicorn])
    # wsgihost itself runs from src/ in this venv, so it needs its own dependencies there.
    if server_deps and not setup_step([*pip, *server_deps], check=False):
        say("--install-peers: could not install wsgihost's dependencies: " + " ".join(server_deps))


def setup_step(argv: list[str], env: dict[str, str] | None = None, check: bool = True) -> bool:
    say("+ " + " ".join(argv))
    result = subprocess.run(argv, env=env, stdout=sys.stderr, check=check)
    return result.returncode == 0


def bench_requirements() -> tuple[str, list[str]]:
    """gunicorn's requirement from the bench extra, and wsgihost's own dependencies."""
    try:
        project = tomllib.loads((REPO_DIR / "pyproject.toml").read_text())["project"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "gunicorn", []
    extra = project.get("optional-dependencies", {}).get("bench", [])
    gunicorn = next((req for req in extra if req.lower().startswith("gunicorn")), "gunicorn")
    return gunicorn, list(project.get("dependencies", []))


def prepare_app(work: Path) -> None:
    """World-readable copies of the app (Apache's children run as www-data)."""
    work.chmod(0o755)
    app_dir = work / "app"
    app_dir.mkdir(mode=0o755)
    for name in ("hello.wsgi", "bench_hello.py"):  # gunicorn can only import modules
        target = app_dir / name
        shutil.copyfile(APP_SOURCE, target)
        target.chmod(0o644)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Throughput benchmark: wsgihost vs gunicorn vs Apache + mod_wsgi.",
    )
    names = [kind.name for kind in SERVER_KINDS]
    parser.add_argument(
        "--duration", type=int, default=5, help="seconds per measured run (default: %(default)s)"
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of warm-up per server (default: %(default)s)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="measured runs per server (default: %(default)s)"
    )
    parser.add_argument(
        "--connections", type=int, default=32, help="wrk connections (default: %(default)s)"
    )
    parser.add_argument(
        "--wrk-threads", type=int, default=1, help="wrk threads (default: %(default)s)"
    )
    parser.add_argument(
        "--pause",
        type=float,
        default=1.0,
        help="seconds of quiet between runs (default: %(default)s)",
    )
    parser.add_argument(
        "--processes", type=int, default=2, help="processes per server (default: %(default)s)"
    )
    parser.add_argument(
        "--threads", type=int, default=15, help="threads per process (default: %(default)s)"
    )
    parser.add_argument(
        "--servers",
        default=",".join(names),
        help=f"comma-separated subset of: {', '.join(names)}",
    )
    parser.add_argument(
        "--python",
        type=Path,
        help="interpreter for wsgihost and gunicorn "
        f"(default: {VENV_DIR.relative_to(REPO_DIR)}/bin/python if it exists, else this one)",
    )
    parser.add_argument(
        "--wsgihost-cmd",
        help="command that starts wsgihost instead of the src/ checkout, e.g. 'wsgihost'",
    )
    parser.add_argument(
        "--wsgihost-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for 'wsgihost serve' (repeatable)",
    )
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=30.0,
        help="seconds for a server to come up (default: %(default)s)",
    )
    parser.add_argument(
        "--install-peers",
        action="store_true",
        help="first apt-get install " + " ".join(APT_PACKAGES) + f" and pip install "
        f"gunicorn into {VENV_DIR.relative_to(REPO_DIR)}",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=RESULTS_DIR,
        help="where JSON goes (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.servers.split(",")) - set(names)
    if unknown:
        parser.error(f"unknown server(s): {', '.join(sorted(unknown))}")
    for option in ("duration", "warmup", "rounds", "connections", "wrk_threads"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1")
    if args.wrk_threads > args.connections:
        parser.error("--wrk-threads cannot exceed --connections")
    return args


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):  # so that the clean-up runs for these too
        signal.signal(signum, _interrupt)
    if args.install_peers:
        install_peers(args.python or Path(sys.executable))
    wrk = shutil.which("wrk")
    if wrk is None:
        say("wrk not found: apt-get install wrk, or run with --install-peers")
        return 2
    # Absolute, but not resolved: a venv's python is a symlink out of the venv.
    python = Path(os.path.abspath(args.python)) if args.python else default_python()
    if not os.access(python, os.X_OK):
        say(f"--python {python}: no such interpreter")
        return 2
    settings = Settings(
        duration=args.duration,
        warmup=args.warmup,
        rounds=args.rounds,
        connections=args.connections,
        wrk_threads=args.wrk_threads,
        pause=args.pause,
        processes=args.processes,
        threads=args.threads,
        python=python,
        wsgihost_cmd=tuple(args.wsgihost_cmd.split()) if args.wsgihost_cmd else (),
        wsgihost_args=tuple(args.wsgihost_arg),
        startup_timeout=args.startup_timeout,
    )
    chosen = args.servers.split(",")
    kinds = [kind for kind in SERVER_KINDS if kind.name in chosen]
    records = {kind.name: ServerRecord(kind.name, kind.title, kind.mode) for kind in kinds}
    started = datetime.now(UTC)
    runs = len(kinds) * len(SCENARIOS) * (settings.rounds * (settings.duration + settings.pause))
    say(f"Benchmarking {', '.join(chosen)}: about {runs / 60:.1f} min of load, plus warm-ups")

    with (
        tempfile.TemporaryDirectory(prefix="wsgihost-bench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        work = Path(tmp)
        prepare_app(work)
        servers: dict[str, RunningServer] = {}
        for kind in kinds:
            record = records[kind.name]
            try:
                launch = kind.plan(settings, work)
            except Unavailable as exc:
                record.status, record.reason = "skipped", str(exc)
                say(f"{kind.name}: skipped: {exc}")
                continue
            record.budget, record.launcher, record.command = (
                launch.budget,
                launch.launcher,
                launch.argv,
            )
            server = RunningServer(kind, launch, work / f"{kind.name}.log")
            stack.callback(server.stop)
            say(f"{kind.name}: starting: {' '.join(launch.argv)}")
            try:
                server.start(settings.startup_timeout)
                record.interpreter = server.interpreter()
            except (ServerFailed, OSError, ValueError, http.client.HTTPException) as exc:
                fail(record, server, str(exc))
                continue
            record.status = "ran"
            say(f"{kind.name}: up on port {server.port}")
            servers[kind.name] = server

        samples = benchmark(wrk, servers, records, settings) if servers else []
        for name, server in servers.items():
            records[name].log_tail = tail(server.log_path)

    baselines = pick_baselines(records)
    summary = summarise(samples)
    add_ratios(summary, baselines, records)
    result: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "host": host_facts(),
        "wrk": command_output([wrk, "--version"]).split(" Copyright")[0],
        "settings": {
            key: str(value) if isinstance(value, Path) else value
            for key, value in asdict(settings).items()
        },
        "baselines": baselines,
        "servers": {name: asdict(record) for name, record in records.items()},
        "summary": summary,
        "samples": [asdict(sample) for sample in samples],
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    out = args.output_dir / f"throughput-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result, records))
    say(f"Results written to {out}")
    failed = [record.name for record in records.values() if record.status == "failed"]
    if failed:
        say(f"FAILED: {', '.join(failed)} (see 'Not measured' above)")
    return 1 if failed or not samples else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("Interrupted; all servers were stopped.")
        sys.exit(130)
