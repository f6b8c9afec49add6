#!/usr/bin/env python3
"""The benchmark suite: wsgihost against Apache + mod_wsgi, gunicorn, uWSGI, granian, waitress.

One command runs everything::

    python bench/run.py --install-peers  # once: Apache, mod_wsgi, wrk; the Python peers
    python bench/run.py                  # the whole suite
    python bench/run.py --quick          # a smoke run: 1 s per run, 1 round

Every server gets the same budget (2 processes x 15 threads by default) to run
bench/apps/hello.wsgi on 127.0.0.1. wrk loads them in turn, round after round (A B C,
then B C A, ...), in each scenario: hello world with keep-alive and with
``Connection: close``, a 100 KB and a 1 MB response, a 1 MB POST, a static 1 KB and
1 MB file, and hello world while 1,000 idle keep-alive connections are held open. Then
bench/groups.py starts 50 daemon groups, and bench/reload.py changes the app under load.
The report (stdout, and bench/results/suite-TIME.md beside its JSON) gives medians,
ratios to Apache + mod_wsgi, each process's resident memory and the targets table.
bench/README.md says what is measured and how each server is configured.

Progress goes to stderr, so ``python bench/run.py > report.md`` keeps only the report.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import selectors
import shutil
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
from typing import Any

import groups
import reload
import report
import servers
from report import DAEMON, EMBEDDED, STATIC
from servers import (
    BENCH_DIR,
    HOST,
    REPO_DIR,
    RESULTS_DIR,
    VENV_DIR,
    WSGIHOST_BOOTSTRAP,
    Launch,
    RunningServer,
    ServerFailed,
    Unavailable,
    say,
)

APP_SOURCE = BENCH_DIR / "apps" / "hello.wsgi"
WRK_SCRIPT = BENCH_DIR / "wrk_report.lua"
IDLE_HELPER = BENCH_DIR / "idle_clients.py"

# uWSGI is compiled by pip: it needs a C compiler and Python's headers.
APT_PACKAGES = ("apache2", "libapache2-mod-wsgi-py3", "wrk", "build-essential", "python3-dev")
PEER_PACKAGES = ("gunicorn", "uwsgi", "granian", "waitress", "matplotlib")
KEEPALIVE_SECONDS = 5  # Apache's KeepAliveTimeout and wsgihost's default; gunicorn gets it too

KIB = 1024
STATIC_FILES = {"1k.txt": KIB, "1m.txt": KIB * KIB}

# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    table: str  # WSGI: each server in its mode's table; STATIC: one table of file servers
    path: str
    response_bytes: int  # the answer's body, checked before the runs
    headers: tuple[str, ...] = ()
    body_bytes: int = 0  # > 0: a POST of this many bytes
    idle: bool = False  # hold --idle-connections open during each run
    volume: bool = False  # big bodies: MB/s is the figure


WSGI = "wsgi"
SCENARIOS = (
    Scenario("keepalive", "hello world, keep-alive", WSGI, "/", 14),
    Scenario("close", "hello world, Connection: close", WSGI, "/", 14, ("Connection: close",)),
    Scenario("response-100k", "100 KB response", WSGI, "/response/100k", 100 * KIB, volume=True),
    Scenario("response-1m", "1 MB response", WSGI, "/response/1m", KIB * KIB, volume=True),
    Scenario("post-1m", "1 MB POST", WSGI, "/upload", 7, body_bytes=KIB * KIB, volume=True),
    Scenario("static-1k", "static 1 KB file", STATIC, "/static/1k.txt", KIB),
    Scenario("static-1m", "static 1 MB file", STATIC, "/static/1m.txt", KIB * KIB, volume=True),
    Scenario("idle", "hello world, keep-alive, beside idle connections", WSGI, "/", 14, idle=True),
)
SCENARIO_NAMES = {scenario.name: scenario for scenario in SCENARIOS}
PARTS = ("groups", "reload")  # the suite's parts that are not wrk runs
ALL_PARTS = (*SCENARIO_NAMES, *PARTS)


@dataclass(frozen=True)
class Settings:
    scenarios: tuple[str, ...]
    duration: int
    warmup: int
    rounds: int
    connections: int
    wrk_threads: int
    pause: float
    processes: int
    threads: int
    idle_connections: int
    python: Path
    wsgihost_cmd: tuple[str, ...]
    wsgihost_args: tuple[str, ...]
    startup_timeout: float
    reload_runs: int
    reload_duration: float
    reload_interval: float
    reload_warmup: float
    groups: int
    groups_idle_seconds: float


@dataclass(frozen=True)
class ServerKind:
    name: str
    title: str
    mode: str  # EMBEDDED or DAEMON: the table (and baseline) of its WSGI figures
    family: str  # one program: its static figures come from one of its kinds only
    plan: Callable[[Settings, Path], Launch]
    static: bool  # serves files itself


@dataclass
class Sample:
    scenario: str
    server: str
    round: int
    requests_per_s: float
    mb_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: dict[str, int]
    idle: dict[str, Any] | None = None


@dataclass
class ServerRecord:
    name: str
    title: str
    mode: str
    family: str
    status: str = "pending"  # ran | skipped | failed
    reason: str = ""
    budget: str = ""
    launcher: str = ""
    command: list[str] = field(default_factory=list)
    interpreter: dict[str, Any] = field(default_factory=dict)
    log_tail: str = ""
    not_run: dict[str, str] = field(default_factory=dict)  # scenario: why it was not run
    memory: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


# --------------------------------------------------------------------------- servers


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"  # a "listening on" line must reach the log at once
    return env


def wsgihost_planner(mode: str) -> Callable[[Settings, Path], Launch]:
    def plan(settings: Settings, work: Path) -> Launch:
        return plan_wsgihost(settings, work, mode)

    return plan


def plan_wsgihost(settings: Settings, work: Path, mode: str) -> Launch:
    env = base_env()
    if settings.wsgihost_cmd:
        command = list(settings.wsgihost_cmd)
        launcher = " ".join(command)
    else:
        if not (REPO_DIR / "src" / "wsgihost").is_dir():
            raise Unavailable(f"no wsgihost package under {REPO_DIR / 'src'}")
        command = [str(settings.python), "-c", WSGIHOST_BOOTSTRAP]
        env["PYTHONPATH"] = servers.prepend_path(str(REPO_DIR / "src"), env.get("PYTHONPATH"))
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
        "--no-access-log",  # as the other servers run here
        # The static files, as Apache's Alias; the app takes every other URL.
        "--url-alias",
        "/static/",
        f"{work / 'static'}/",
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


def need_module(settings: Settings, module: str) -> None:
    if not servers.python_can_import(settings.python, module):
        raise Unavailable(
            f"{module} is not installed for {settings.python} "
            f"(run with --install-peers, or pip install {module} there)"
        )


def gunicorn_planner(worker_class: str) -> Callable[[Settings, Path], Launch]:
    def plan(settings: Settings, work: Path) -> Launch:
        need_module(settings, "gunicorn")
        port = servers.free_port()
        threads = settings.threads if worker_class == "gthread" else None
        argv = servers.gunicorn_argv(
            settings.python,
            port,
            settings.processes,
            worker_class,
            threads,
            work / "app",
            "bench_hello:application",
            keepalive=KEEPALIVE_SECONDS,
        )
        if threads is not None:
            budget = f"{settings.processes} workers x {settings.threads} threads"
        else:
            budget = f"{settings.processes} workers x 1 (sync workers have no threads)"
        return Launch(argv, base_env(), work, port, budget, str(settings.python))

    return plan


def plan_uwsgi(settings: Settings, work: Path) -> Launch:
    binary = servers.find_uwsgi(settings.python)
    port = servers.free_port()
    argv = [
        *servers.uwsgi_argv(
            binary, port, settings.processes, settings.threads, work, work / "app" / "hello.wsgi"
        ),
        "--static-map",
        f"/static={work / 'static'}",
    ]
    budget = (
        f"{settings.processes} workers x {settings.threads} threads behind the HTTP router "
        f"({settings.processes} router processes)"
    )
    return Launch(argv, base_env(), work, port, budget, str(binary))


def plan_granian(settings: Settings, work: Path) -> Launch:
    need_module(settings, "granian")
    port = servers.free_port()
    argv = servers.granian_argv(
        settings.python,
        port,
        settings.processes,
        settings.threads,
        work / "app",
        "bench_hello:application",
        extra=("--static-path-route", "/static", "--static-path-mount", str(work / "static")),
    )
    budget = f"{settings.processes} workers x {settings.threads} blocking threads"
    return Launch(argv, base_env(), work / "app", port, budget, str(settings.python))


def plan_waitress(settings: Settings, work: Path) -> Launch:
    need_module(settings, "waitress")
    port = servers.free_port()
    threads = settings.processes * settings.threads
    argv = servers.waitress_argv(settings.python, port, threads, "bench_hello:application")
    budget = f"1 process x {threads} threads (waitress runs one process)"
    return Launch(argv, base_env(), work / "app", port, budget, str(settings.python))


def apache_wsgi_config(settings: Settings, work: Path, run_dir: Path, mode: str) -> str:
    """The mod_wsgi part of httpd.conf (the app embedded or in a daemon group), and Alias."""
    app_dir = work / "app"
    # In the main interpreter (as under gunicorn; some C extensions need it), either way.
    common = f"""\
WSGIScriptAlias / "{app_dir}/hello.wsgi"
WSGIApplicationGroup %{{GLOBAL}}

# The static files: mod_alias maps /static/ to a directory, the core serves it.
Alias /static/ "{work / "static"}/"
<Directory "{work / "static"}">
    Require all granted
</Directory>"""
    if mode == EMBEDDED:
        return f"""\
# Embedded mode: the application runs inside the Apache children.
{common}
"""
    return f"""\
# Daemon mode: the application runs in {settings.processes} mod_wsgi daemon processes of
# {settings.threads} threads; the Apache children above only pass requests on, over a
# UNIX socket. Started as root, the daemon processes run as User (www-data), and the
# socket is made theirs: its directory must be one they can reach. display-name only
# names them "(wsgi:bench)" in ps, so that their memory is reported as theirs.
WSGISocketPrefix "{run_dir}/wsgi"
WSGIDaemonProcess bench processes={settings.processes} threads={settings.threads} \\
    display-name=%{{GROUP}}
WSGIProcessGroup bench
{common}
"""


def apache_planner(mode: str) -> Callable[[Settings, Path], Launch]:
    def plan(settings: Settings, work: Path) -> Launch:
        return plan_apache(settings, work, mode)

    return plan


def plan_apache(settings: Settings, work: Path, mode: str) -> Launch:
    binary = servers.find_apache()
    port = servers.free_port()
    # Each Apache has its own ServerRoot; www-data must be able to enter it (daemon
    # mode's sockets are there), so it is world-searchable, as is work (prepare_app).
    run_dir = work / f"apache-{mode}"
    run_dir.mkdir(exist_ok=True)
    run_dir.chmod(0o755)  # mkdir's mode is cut by the umask
    config = run_dir / "httpd.conf"
    wsgi = apache_wsgi_config(settings, work, run_dir, mode)
    config.write_text(
        servers.apache_config(
            "bench/run.py for one benchmark run",
            run_dir,
            port,
            settings.processes,
            settings.threads,
            wsgi,
            work / "app",
        )
    )
    argv, env = servers.apache_command(binary, config, run_dir, dict(os.environ))
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
    ServerKind(
        "wsgihost", "wsgihost (embedded)", EMBEDDED, "wsgihost", wsgihost_planner(EMBEDDED), True
    ),
    ServerKind(
        "gunicorn-sync", "gunicorn sync", EMBEDDED, "gunicorn", gunicorn_planner("sync"), False
    ),
    ServerKind(
        "gunicorn-gthread",
        "gunicorn gthread",
        EMBEDDED,
        "gunicorn",
        gunicorn_planner("gthread"),
        False,
    ),
    ServerKind("granian", "granian (WSGI)", EMBEDDED, "granian", plan_granian, True),
    ServerKind("waitress", "waitress", EMBEDDED, "waitress", plan_waitress, False),
    ServerKind(
        "apache-mod_wsgi",
        "Apache + mod_wsgi (embedded)",
        EMBEDDED,
        "apache",
        apache_planner(EMBEDDED),
        True,
    ),
    ServerKind(
        "wsgihost-daemon", "wsgihost (daemon)", DAEMON, "wsgihost", wsgihost_planner(DAEMON), True
    ),
    ServerKind("uwsgi", "uWSGI (HTTP router)", DAEMON, "uwsgi", plan_uwsgi, True),
    ServerKind(
        "apache-mod_wsgi-daemon",
        "Apache + mod_wsgi (daemon)",
        DAEMON,
        "apache",
        apache_planner(DAEMON),
        True,
    ),
)
SERVER_NAMES = [kind.name for kind in SERVER_KINDS]
# reload.py's server for each of ours (reload.py runs every server in daemon-like form).
RELOAD_SERVERS = {
    "wsgihost": "wsgihost",
    "wsgihost-daemon": "wsgihost",
    "apache-mod_wsgi": "apache-mod_wsgi",
    "apache-mod_wsgi-daemon": "apache-mod_wsgi",
    "gunicorn-sync": "gunicorn",
    "gunicorn-gthread": "gunicorn",
    "uwsgi": "uwsgi",
    "granian": "granian",
}


# --------------------------------------------------------------------------- checks


def ask(port: int, scenario: Scenario, timeout: float = 30.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        if scenario.body_bytes:
            body = b"x" * scenario.body_bytes
            conn.request("POST", scenario.path, body, {"Content-Type": "application/octet-stream"})
        else:
            conn.request("GET", scenario.path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def check_scenario(port: int, scenario: Scenario) -> str:
    """ "" when the server answers the scenario's request rightly, else what is wrong."""
    try:
        status, body = ask(port, scenario)
    except (OSError, http.client.HTTPException) as exc:
        return f"{scenario.path}: {exc}"
    if status != 200:
        return f"{scenario.path} answered {status}"
    if scenario.body_bytes and body != str(scenario.body_bytes).encode():
        return f"POST {scenario.path} answered {body[:40]!r}, not {scenario.body_bytes}"
    if len(body) != scenario.response_bytes:
        return f"{scenario.path} answered {len(body)} bytes, not {scenario.response_bytes}"
    return ""


def participants(
    scenario: Scenario, running: dict[str, RunningServer], records: dict[str, ServerRecord]
) -> list[str]:
    """The servers that run a scenario: every WSGI server, or one per program for files."""
    kinds = {kind.name: kind for kind in SERVER_KINDS}
    names = [name for name in running if scenario.name not in records[name].not_run]
    if scenario.table != STATIC:
        return names
    chosen: list[str] = []
    families: set[str] = set()
    for name in names:
        kind = kinds[name]
        if kind.static and kind.family not in families:
            families.add(kind.family)
            chosen.append(name)
    return chosen


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
        "--timeout",
        "10s",
        "--script",
        str(WRK_SCRIPT),
    ]
    for header in scenario.headers:
        argv += ["--header", header]
    argv.append(f"http://{HOST}:{port}{scenario.path}")
    env = dict(os.environ)
    env["WRK_BODY_BYTES"] = str(scenario.body_bytes)
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + 60, check=False, env=env
    )
    for line in result.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            wrk_report: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
            return wrk_report
    output = (result.stdout + result.stderr).strip()
    raise ServerFailed(f"wrk exited {result.returncode} without a report: {output[-300:]}")


class IdleClients:
    """bench/idle_clients.py holding idle connections to a server, for one run."""

    READY_TIMEOUT = 20.0

    def __init__(self, port: int, count: int) -> None:
        argv = [
            sys.executable,
            str(IDLE_HELPER),
            "--port",
            str(port),
            "--count",
            str(count),
            "--ready-timeout",
            str(self.READY_TIMEOUT),
        ]
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.held_at_start = self._wait_ready()

    def _wait_ready(self) -> int:
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(self.READY_TIMEOUT + 15):
                self.kill()
                raise ServerFailed("the idle-connection helper never said READY")
        line = self.process.stdout.readline()
        if not line.startswith("READY "):
            self.kill()
            raise ServerFailed(f"the idle-connection helper said {line.strip()!r}")
        return int(line.split()[1])

    def finish(self) -> dict[str, Any]:
        """Let go of the connections (communicate closes the helper's stdin); what it saw."""
        try:
            out, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServerFailed("the idle-connection helper did not finish") from None
        for line in out.splitlines():
            if line.startswith("IDLE_JSON "):
                found: dict[str, Any] = json.loads(line.removeprefix("IDLE_JSON "))
                return found
        raise ServerFailed(f"the idle-connection helper failed: {err.strip()[-300:]}")

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        self.process.wait()


def to_sample(wrk_report: dict[str, Any], scenario: Scenario, server: str, round_no: int) -> Sample:
    seconds = wrk_report["duration_us"] / 1e6 or 1.0
    latency = wrk_report["latency_us"]
    requests = wrk_report["requests"]
    # What moved: the request bodies for a POST, the answers otherwise.
    moved = requests * scenario.body_bytes if scenario.body_bytes else wrk_report["bytes"]
    return Sample(
        scenario=scenario.name,
        server=server,
        round=round_no,
        requests_per_s=requests / seconds,
        mb_per_s=moved / seconds / servers.MB,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        requests=requests,
        errors=dict(wrk_report["errors"]),
    )


def benchmark(
    wrk: str,
    running: dict[str, RunningServer],
    records: dict[str, ServerRecord],
    scenarios: list[Scenario],
    settings: Settings,
) -> list[Sample]:
    samples: list[Sample] = []

    def measure(name: str, scenario: Scenario, seconds: int, round_no: int) -> Sample | None:
        server = running[name]
        assert server.port is not None
        idle: IdleClients | None = None
        try:
            if scenario.idle and round_no:
                idle = IdleClients(server.port, settings.idle_connections)
            wrk_report = run_wrk(wrk, server.port, scenario, seconds, settings)
            held = idle.finish() if idle is not None else None
            if not server.alive():
                raise ServerFailed("died during the run")
        except ServerFailed as exc:
            servers.fail(records[name], server, f"{scenario.name}: {exc}")
            del running[name]
            return None
        finally:
            if idle is not None:
                idle.kill()
        sample = to_sample(wrk_report, scenario, name, round_no)
        sample.idle = held
        return sample

    for scenario in scenarios:
        names = participants(scenario, running, records)
        for name in names:
            say(f"[{scenario.name}] warm-up {name} ({settings.warmup} s)")
            measure(name, scenario, settings.warmup, 0)
        for round_no in range(1, settings.rounds + 1):
            order = [name for name in names if name in running]
            shift = (round_no - 1) % len(order) if order else 0
            for name in order[shift:] + order[:shift]:  # rotate who goes first
                if name not in running:
                    continue
                time.sleep(settings.pause)
                sample = measure(name, scenario, settings.duration, round_no)
                if sample is None:
                    continue
                samples.append(sample)
                errors = sum(sample.errors.values())
                held = (
                    f", idle held {sample.idle['held_min']}-{sample.idle['held_at_end']}"
                    if sample.idle
                    else ""
                )
                say(
                    f"[{scenario.name}] round {round_no}/{settings.rounds} {name}: "
                    f"{sample.requests_per_s:,.0f} req/s, {sample.mb_per_s:,.1f} MB/s, "
                    f"p50 {sample.p50_ms:.2f} ms, p99 {sample.p99_ms:.2f} ms"
                    + (f", {errors} errors" if errors else "")
                    + held
                )
    return samples


# --------------------------------------------------------------------------- results


def summarise(
    samples: list[Sample], records: dict[str, ServerRecord]
) -> dict[str, dict[str, dict[str, Any]]]:
    """{scenario: {server: medians and spread over the rounds, its table}}."""
    runs: dict[str, dict[str, list[Sample]]] = {}
    for sample in samples:
        runs.setdefault(sample.scenario, {}).setdefault(sample.server, []).append(sample)
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for scenario_name, per_server in runs.items():
        scenario = SCENARIO_NAMES[scenario_name]
        summary[scenario_name] = {}
        for name, mine in per_server.items():
            rates = [run.requests_per_s for run in mine]
            entry: dict[str, Any] = {
                "table": STATIC if scenario.table == STATIC else records[name].mode,
                "rounds": len(mine),
                "requests_per_s": statistics.median(rates),
                "requests_per_s_min": min(rates),
                "requests_per_s_max": max(rates),
                "mb_per_s": statistics.median(run.mb_per_s for run in mine),
                "p50_ms": statistics.median(run.p50_ms for run in mine),
                "p99_ms": statistics.median(run.p99_ms for run in mine),
                "max_ms": max(run.max_ms for run in mine),
                "errors": sum(sum(run.errors.values()) for run in mine),
                "requests": sum(run.requests for run in mine),
            }
            idles = [run.idle for run in mine if run.idle]
            if idles:
                entry["idle"] = {
                    "slots": idles[0]["slots"],
                    "held_min": min(i["held_min"] for i in idles),
                    "held_median": statistics.median(i["held_median"] for i in idles),
                    "reconnects": sum(i["reconnects"] for i in idles),
                    "failures": sum(i["failures"] for i in idles),
                }
            summary[scenario_name][name] = entry
    report.add_ratios(summary)
    return summary


def snapshot_memory(
    running: dict[str, RunningServer], records: dict[str, ServerRecord], when: str
) -> None:
    for name, server in running.items():
        if server.process is not None:
            records[name].memory[when] = servers.memory_snapshot(
                records[name].family, server.process.pid
            )


# --------------------------------------------------------------------------- setup


def install_peers(python: Path | None) -> int:
    """apt-get the system peers and wrk; pip-install the Python peers into a venv.

    The venv is --python's own when that interpreter runs in one, else the bench's
    (bench/.peers/venv, created from --python or this interpreter). Everything these
    commands print goes to stderr. The exit status: 0, or 1 when a step failed (the
    others still ran; a peer that is missing is later skipped with the reason).
    """
    ok = True
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
        ok &= setup_step([*prefix, "apt-get", "update"], env=env)
        ok &= setup_step([*prefix, "apt-get", "install", "-y", *APT_PACKAGES], env=env)
    target = python if python is not None and in_venv(python) else VENV_DIR / "bin" / "python"
    if not target.exists():
        base = python or Path(sys.executable)
        say(f"--install-peers: creating {VENV_DIR} from {base}")
        if not setup_step([str(base), "-m", "venv", str(VENV_DIR)]):
            return 1
    say(f"--install-peers: installing the Python peers for {target}")
    peers, server_deps = bench_requirements()
    pip = [str(target), "-m", "pip", "install", "--upgrade", "--quiet"]
    # One at a time: one that cannot be installed (uWSGI is compiled, it needs a C
    # compiler and the interpreter's headers) does not keep the others out.
    for requirement in peers:
        if not setup_step([*pip, requirement]):
            ok = False
            say(f"--install-peers: could not install {requirement}; it will be skipped")
    # wsgihost itself runs from src/ in this venv, so it needs its own dependencies there.
    if server_deps and not setup_step([*pip, *server_deps]):
        ok = False
        say("--install-peers: could not install wsgihost's dependencies: " + " ".join(server_deps))
    return 0 if ok else 1


def in_venv(python: Path) -> bool:
    """Whether python is a virtual environment's interpreter (pyvenv.cfg beside its bin/)."""
    return (Path(os.path.abspath(python)).parent.parent / "pyvenv.cfg").exists()


def setup_step(argv: list[str], env: dict[str, str] | None = None) -> bool:
    say("+ " + " ".join(argv))
    try:
        result = subprocess.run(argv, env=env, stdout=sys.stderr, check=False)
    except OSError as exc:
        say(f"  {exc}")
        return False
    return result.returncode == 0


def bench_requirements() -> tuple[list[str], list[str]]:
    """The bench extra's requirements (peers, plotting) and wsgihost's own dependencies."""
    try:
        project = tomllib.loads((REPO_DIR / "pyproject.toml").read_text())["project"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return list(PEER_PACKAGES), []
    extra = project.get("optional-dependencies", {}).get("bench", []) or list(PEER_PACKAGES)
    return list(extra), list(project.get("dependencies", []))


def prepare_app(work: Path) -> None:
    """World-readable copies of the app and the static files (Apache runs as www-data)."""
    work.chmod(0o755)
    app_dir = work / "app"
    app_dir.mkdir(mode=0o755)
    # gunicorn, granian and waitress can only import modules.
    for name in ("hello.wsgi", "bench_hello.py"):
        target = app_dir / name
        shutil.copyfile(APP_SOURCE, target)
        target.chmod(0o644)
    static = work / "static"
    static.mkdir(mode=0o755)
    for name, size in STATIC_FILES.items():
        line = b"wsgihost benchmark static file, served as it is by every server.\n"
        target = static / name
        target.write_bytes((line * (size // len(line) + 1))[:size])
        target.chmod(0o644)


# --------------------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="The benchmark suite: wsgihost against Apache + mod_wsgi, gunicorn, "
        "uWSGI, granian and waitress.",
    )
    add = parser.add_argument
    add(
        "--scenarios",
        default=",".join(ALL_PARTS),
        help=f"comma-separated subset of: {', '.join(ALL_PARTS)} (default: all)",
    )
    add(
        "--servers",
        default=",".join(SERVER_NAMES),
        help=f"comma-separated subset of: {', '.join(SERVER_NAMES)} (default: all)",
    )
    add(
        "--quick",
        action="store_true",
        help="a smoke run: --duration 1 --warmup 1 --rounds 1 --pause 0.2, 100 idle "
        "connections, reload 1 run x 5 s, groups idle 2 s (options given win)",
    )
    add("--duration", type=int, help="seconds per measured run (5)")
    add("--warmup", type=int, help="seconds of warm-up per server and scenario (2)")
    add("--rounds", type=int, help="measured runs per server and scenario (3)")
    add("--pause", type=float, help="seconds of quiet before each run (1)")
    add("--connections", type=int, default=32, help="wrk connections (%(default)s)")
    add("--wrk-threads", type=int, default=1, help="wrk threads (%(default)s)")
    add("--processes", type=int, default=2, help="processes per server (%(default)s)")
    add("--threads", type=int, default=15, help="threads per process (%(default)s)")
    add("--idle-connections", type=int, help="held open in the idle scenario (1000)")
    add("--reload-runs", type=int, help="reload runs per server (--rounds)")
    add("--reload-duration", type=float, help="measured seconds per reload run (20)")
    add("--reload-interval", type=float, help="seconds between script changes (3)")
    add("--groups", type=int, default=50, help="daemon groups in the groups part (%(default)s)")
    add("--groups-idle-seconds", type=float, help="the master's idle CPU window (10)")
    add(
        "--python",
        type=Path,
        help="interpreter for wsgihost and the Python peers "
        f"(default: {VENV_DIR.relative_to(REPO_DIR)}/bin/python if it exists, else this one)",
    )
    add(
        "--wsgihost-cmd",
        help="command that starts wsgihost instead of the src/ checkout, e.g. 'wsgihost'",
    )
    add(
        "--wsgihost-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for 'wsgihost serve' (repeatable)",
    )
    add(
        "--startup-timeout",
        type=float,
        default=30.0,
        help="seconds for a server to come up (%(default)s)",
    )
    add(
        "--install-peers",
        action="store_true",
        help="only install: apt-get install " + " ".join(APT_PACKAGES) + "; pip install the "
        f"bench extra into --python's venv, else {VENV_DIR.relative_to(REPO_DIR)}",
    )
    add(
        "--output-dir",
        type=Path,
        default=RESULTS_DIR,
        help="where JSON, markdown and the plot go (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    servers.check_servers(parser, args.servers, SERVER_NAMES)
    unknown = set(args.scenarios.split(",")) - set(ALL_PARTS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    quick = args.quick
    defaults = {
        "duration": 1 if quick else 5,
        "warmup": 1 if quick else 2,
        "rounds": 1 if quick else 3,
        "pause": 0.2 if quick else 1.0,
        "idle_connections": 100 if quick else 1000,
        "reload_duration": 5.0 if quick else 20.0,
        "reload_interval": 2.0 if quick else 3.0,
        "groups_idle_seconds": 2.0 if quick else 10.0,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.reload_runs is None:
        args.reload_runs = args.rounds
    for option in ("duration", "warmup", "rounds", "connections", "wrk_threads", "reload_runs"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1")
    if args.wrk_threads > args.connections:
        parser.error("--wrk-threads cannot exceed --connections")
    return args


def settings_from(args: argparse.Namespace, python: Path) -> Settings:
    return Settings(
        scenarios=tuple(args.scenarios.split(",")),
        duration=args.duration,
        warmup=args.warmup,
        rounds=args.rounds,
        connections=args.connections,
        wrk_threads=args.wrk_threads,
        pause=args.pause,
        processes=args.processes,
        threads=args.threads,
        idle_connections=args.idle_connections,
        python=python,
        wsgihost_cmd=tuple(args.wsgihost_cmd.split()) if args.wsgihost_cmd else (),
        wsgihost_args=tuple(args.wsgihost_arg),
        startup_timeout=args.startup_timeout,
        reload_runs=args.reload_runs,
        reload_duration=args.reload_duration,
        reload_interval=args.reload_interval,
        reload_warmup=1.0 if args.quick else 2.0,
        groups=args.groups,
        groups_idle_seconds=args.groups_idle_seconds,
    )


# --------------------------------------------------------------------------- the parts


def throughput(
    settings: Settings,
    kinds: list[ServerKind],
    records: dict[str, ServerRecord],
    scenarios: list[Scenario],
    wrk: str,
) -> list[Sample]:
    """Start every server, check it, run the wrk scenarios, note memory, stop them all."""
    with (
        tempfile.TemporaryDirectory(prefix="wsgihost-bench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        work = Path(tmp)
        prepare_app(work)
        running: dict[str, RunningServer] = {}
        for kind in kinds:
            record = records[kind.name]
            server = start_server(kind, settings, work, record, stack)
            if server is None:
                continue
            assert server.port is not None
            for scenario in scenarios:
                if scenario.table == STATIC and not kind.static:
                    record.not_run[scenario.name] = "serves no static files"
                    continue
                problem = check_scenario(server.port, scenario)
                if problem:
                    record.not_run[scenario.name] = problem
                    say(f"{kind.name}: {scenario.name} not run: {problem}")
            record.status = "ran"
            say(f"{kind.name}: up on port {server.port}")
            running[kind.name] = server

        snapshot_memory(running, records, "idle")
        samples = benchmark(wrk, running, records, scenarios, settings) if running else []
        snapshot_memory(running, records, "loaded")
        for name, server in running.items():
            records[name].log_tail = servers.tail(server.log_path)
    return samples


def start_server(
    kind: ServerKind,
    settings: Settings,
    work: Path,
    record: ServerRecord,
    stack: contextlib.ExitStack,
) -> RunningServer | None:
    """Plan, start and check one server (GET /, then its interpreter); its stop goes on
    stack. None when it is not installed or failed: record says why."""
    try:
        launch = kind.plan(settings, work)
    except Unavailable as exc:
        record.status, record.reason = "skipped", str(exc)
        say(f"{kind.name}: skipped: {exc}")
        return None
    record.budget, record.launcher, record.command = launch.budget, launch.launcher, launch.argv
    server = RunningServer(kind.name, launch, work / f"{kind.name}.log")
    stack.callback(server.stop)
    say(f"{kind.name}: starting: {' '.join(launch.argv)}")
    try:
        server.start(settings.startup_timeout)
        record.interpreter = server.interpreter()
    except (ServerFailed, OSError, ValueError, http.client.HTTPException) as exc:
        servers.fail(record, server, str(exc))
        return None
    return server


def run_reload(settings: Settings, chosen: list[str], output_dir: Path) -> dict[str, Any]:
    names = list(dict.fromkeys(RELOAD_SERVERS[name] for name in chosen if name in RELOAD_SERVERS))
    if not names:
        return {"status": "skipped", "reason": "none of --servers has a reload to measure"}
    argv = [
        "--runs",
        str(settings.reload_runs),
        "--duration",
        str(settings.reload_duration),
        "--interval",
        str(settings.reload_interval),
        "--warmup",
        str(settings.reload_warmup),
        "--processes",
        str(settings.processes),
        "--threads",
        str(settings.threads),
        "--servers",
        ",".join(names),
        "--python",
        str(settings.python),
        "--output-dir",
        str(output_dir),
    ]
    try:
        args = reload.parse_args(argv)
    except SystemExit:
        return {"status": "failed", "reason": f"reload.py refused {' '.join(argv)}"}
    outcome = reload.execute(args, settings.python, echo=False)
    return {
        "status": "ran" if outcome.code == 0 else "failed",
        "reason": "" if outcome.code == 0 else "a server failed (see its report)",
        "result_file": str(outcome.path) if outcome.path else None,
        "summary": outcome.result.get("summary", {}),
        "servers": outcome.result.get("servers", {}),
        "report": outcome.report,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    servers.stop_on_signals()
    if args.install_peers:
        return install_peers(args.python)
    python = servers.chosen_python(args.python)
    if python is None:
        return 2
    settings = settings_from(args, python)
    scenarios = [SCENARIO_NAMES[name] for name in SCENARIO_NAMES if name in settings.scenarios]
    wrk = shutil.which("wrk")
    if scenarios and wrk is None:
        say("wrk not found: apt-get install wrk, or run with --install-peers")
        return 2
    servers.raise_open_files(4 * settings.idle_connections + 1024)
    chosen = args.servers.split(",")
    kinds = [kind for kind in SERVER_KINDS if kind.name in chosen]
    records = {
        kind.name: ServerRecord(kind.name, kind.title, kind.mode, kind.family) for kind in kinds
    }
    started = datetime.now(UTC)
    per_scenario = len(kinds) * (
        settings.rounds * (settings.duration + settings.pause) + settings.warmup
    )
    say(
        f"Benchmarking {', '.join(chosen)} in {', '.join(settings.scenarios)}: about "
        f"{len(scenarios) * per_scenario / 60:.1f} min of wrk load, plus the other parts"
    )

    samples: list[Sample] = []
    if scenarios:
        assert wrk is not None
        samples = throughput(settings, kinds, records, scenarios, wrk)
    groups_result: dict[str, Any] | None = None
    groups_report = ""
    if "groups" in settings.scenarios:
        if any(kind.family == "wsgihost" for kind in kinds):
            groups_settings = groups.Settings(
                groups=settings.groups,
                threads=settings.threads,
                idle_seconds=settings.groups_idle_seconds,
                ready_timeout=60.0,
                python=python,
            )
            groups_result, groups_report = groups.execute(groups_settings, args.output_dir)
        else:
            groups_result = {"status": "skipped", "reason": "wsgihost is not in --servers"}
    reload_result: dict[str, Any] | None = None
    if "reload" in settings.scenarios:
        reload_result = run_reload(settings, chosen, args.output_dir)

    app_alone = {
        "python": servers.python_rss_with_app(python, APP_SOURCE),
        "mod_wsgi_python": servers.python_rss_with_app(Path("/usr/bin/python3"), APP_SOURCE),
    }
    summary = summarise(samples, records)
    targets = report.targets(summary, records, groups_result, app_alone)
    result: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "host": servers.host_facts(),
        "versions": servers.software_versions(python),
        "settings": servers.settings_json(settings),
        "scenarios": [asdict(scenario) for scenario in scenarios],
        "servers": {name: asdict(record) for name, record in records.items()},
        "app_alone_rss_mb": app_alone,
        "summary": summary,
        "samples": [asdict(sample) for sample in samples],
        "groups": groups_result,
        "reload": {k: v for k, v in (reload_result or {}).items() if k != "report"} or None,
        "targets": targets,
    }
    text = report.markdown(result, records, scenarios)
    started_or_skipped = [r for r in records.values() if r.status != "pending"]
    text += "\n".join(servers.not_measured(started_or_skipped)) + "\n"
    if groups_report:
        text += "\n" + groups_report
    elif groups_result is not None:
        text += f"\n## Daemon groups\n\n**{groups_result['status']}**: {groups_result['reason']}\n"
    if reload_result is not None:
        text += "\n" + reload_result.get(
            "report", f"## Reload\n\n**{reload_result['status']}**: {reload_result['reason']}\n"
        )
    text += "\n" + report.targets_markdown(targets)
    servers.publish(args.output_dir, "suite", started, result, text)
    failed = servers.report_failed(records.values())
    for part in (groups_result, reload_result):
        failed |= part is not None and part["status"] == "failed"
    measured = samples or any(p and p["status"] == "ran" for p in (groups_result, reload_result))
    return 1 if failed or not measured else 0


if __name__ == "__main__":
    servers.entry_point(main, "Interrupted; all servers were stopped.")
