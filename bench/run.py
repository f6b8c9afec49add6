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
    apache_command,
    apache_config,
    check_servers,
    chosen_python,
    command_output,
    entry_point,
    fail,
    find_apache,
    free_port,
    gunicorn_argv,
    host_facts,
    not_measured,
    prepend_path,
    publish,
    python_can_import,
    report_failed,
    say,
    settings_json,
    stop_on_signals,
    tail,
)

APP_SOURCE = BENCH_DIR / "apps" / "hello.wsgi"
WRK_SCRIPT = BENCH_DIR / "wrk_report.lua"

APT_PACKAGES = ("apache2", "libapache2-mod-wsgi-py3", "wrk")

# --------------------------------------------------------------------------- model


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
        threads = settings.threads if worker_class == "gthread" else None
        argv = gunicorn_argv(
            settings.python,
            port,
            settings.processes,
            worker_class,
            threads,
            work / "app",
            "bench_hello:application",
        )
        if threads is not None:
            budget = f"{settings.processes} workers x {settings.threads} threads"
        else:
            budget = f"{settings.processes} workers x 1 (sync workers have no threads)"
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        return Launch(argv, env, work, port, budget, str(settings.python))

    return plan


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
    wsgi = apache_wsgi_config(settings, work / "app", run_dir, mode)
    config.write_text(
        apache_config(
            "bench/run.py for one benchmark run",
            run_dir,
            port,
            settings.processes,
            settings.threads,
            wsgi,
            work / "app",
        )
    )
    argv, env = apache_command(binary, config, run_dir, dict(os.environ))
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
    lines += not_measured(records.values())
    return "\n".join(lines) + "\n"


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
    check_servers(parser, args.servers, names)
    for option in ("duration", "warmup", "rounds", "connections", "wrk_threads"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1")
    if args.wrk_threads > args.connections:
        parser.error("--wrk-threads cannot exceed --connections")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    if args.install_peers:
        install_peers(args.python or Path(sys.executable))
    wrk = shutil.which("wrk")
    if wrk is None:
        say("wrk not found: apt-get install wrk, or run with --install-peers")
        return 2
    python = chosen_python(args.python)
    if python is None:
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
            server = RunningServer(kind.name, launch, work / f"{kind.name}.log")
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
        "settings": settings_json(settings),
        "baselines": baselines,
        "servers": {name: asdict(record) for name, record in records.items()},
        "summary": summary,
        "samples": [asdict(sample) for sample in samples],
    }
    publish(args.output_dir, "throughput", started, result, markdown(result, records))
    failed = report_failed(records.values())
    return 1 if failed or not samples else 0


if __name__ == "__main__":
    entry_point(main, "Interrupted; all servers were stopped.")
