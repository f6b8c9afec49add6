#!/usr/bin/env python3
"""Hello world through Apache modules: wsgihost beside Apache + mod_wsgi on one config.

Issue 16's acceptance 3: a site with three ``Header`` lines, one
``RewriteRule`` and one ``SetEnv`` (mod_headers, mod_rewrite, mod_env) in
front of the benchmark's hello-world app, served by wsgihost and by Apache +
mod_wsgi from the same configuration file, in daemon or embedded mode. Both
servers run at once, each on its own port; they take turns under wrk's
keep-alive load (the first one alternates each round), and the report gives
each one's median requests/s and the ratio. ``--no-modules`` runs the same
site without the module lines, for the cost of the modules themselves.

    python bench/modules.py                      # daemon mode, 3 rounds of 5 s
    python bench/modules.py --mode embedded --rounds 5

Started as root, Apache's children run as www-data (the config's ``User``,
read by Apache only: ``-D WSGIHOST`` hides it from wsgihost, whose Python
may sit where www-data cannot read, as the other benchmarks run it; the
thread-budget lines too, see the config).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import servers
from servers import APACHE_MODULES, HOST, Launch, RunningServer, say

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
APP_SOURCE = BENCH_DIR / "apps" / "hello.wsgi"
WRK_SCRIPT = BENCH_DIR / "wrk_report.lua"

# The modules' lines: three Header, one RewriteRule (matching every request, so
# it is evaluated in full), one SetEnv.
MODULE_LINES = """\
SetEnv BENCH_SITE hello
RewriteEngine On
RewriteRule ^/$ - [E=REWRITTEN:1]
Header set X-Content-Type-Options nosniff
Header always set X-Frame-Options DENY
Header set Cache-Control "no-store"
"""
EXPECTED_HEADERS = {"x-content-type-options", "x-frame-options", "cache-control"}

SITE = """\
# Written by bench/modules.py; deleted afterwards.
ServerRoot "{run_dir}"
DefaultRuntimeDir "{run_dir}"
PidFile "{run_dir}/server.pid"
ErrorLog "{run_dir}/error.log"
LogLevel warn
ServerName {host}
Listen {host}:{port}
<IfDefine !WSGIHOST>
{identity}
</IfDefine>
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule alias_module {modules}/mod_alias.so
LoadModule mime_module {modules}/mod_mime.so
LoadModule wsgi_module {modules}/mod_wsgi.so
LoadModule env_module {modules}/mod_env.so
LoadModule headers_module {modules}/mod_headers.so
LoadModule rewrite_module {modules}/mod_rewrite.so
TypesConfig /etc/mime.types

StartServers {processes}
ThreadsPerChild {threads}
# Apache's thread budget. wsgihost reads MaxRequestWorkers as the client
# connections it holds at once (its threads are not tied to connections), which
# would refuse wrk's 32: the lines are Apache's only.
<IfDefine !WSGIHOST>
ServerLimit {processes}
ThreadLimit {threads}
MaxRequestWorkers {total}
MinSpareThreads {threads}
MaxSpareThreads {total}
AsyncRequestWorkerFactor 4
</IfDefine>
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
WSGISocketPrefix "{run_dir}/wsgi"

{wsgi}
WSGIScriptAlias / "{app}"
WSGIApplicationGroup %{{GLOBAL}}
<Directory "{app_dir}">
    Require all granted
</Directory>

{module_lines}
"""

DAEMON_LINES = """\
WSGIDaemonProcess bench processes={processes} threads={threads}
WSGIProcessGroup bench"""


def site(run_dir: Path, port: int, args: argparse.Namespace, app: Path) -> str:
    identity = "User www-data\nGroup www-data" if os.geteuid() == 0 else ""
    wsgi = DAEMON_LINES.format(processes=args.processes, threads=args.threads)
    return SITE.format(
        run_dir=run_dir,
        host=HOST,
        port=port,
        identity=identity,
        modules=APACHE_MODULES,
        processes=args.processes,
        threads=args.threads,
        total=args.processes * args.threads,
        wsgi=wsgi if args.mode == "daemon" else "",
        app=app,
        app_dir=app.parent,
        module_lines="" if args.no_modules else MODULE_LINES,
    )


def prepare(work: Path) -> Path:
    """A world-readable copy of the app (Apache's children run as www-data)."""
    work.chmod(0o755)
    app_dir = work / "app"
    app_dir.mkdir(mode=0o755)
    app = app_dir / "hello.wsgi"
    shutil.copyfile(APP_SOURCE, app)
    app.chmod(0o644)
    return app


def wsgihost_launch(python: Path, config: Path, port: int, work: Path) -> Launch:
    env = dict(os.environ, PYTHONUNBUFFERED="1", WSGIHOST_KEEP_ROOT="1")
    env["PYTHONPATH"] = servers.prepend_path(str(REPO_DIR / "src"), env.get("PYTHONPATH"))
    argv = [str(python), "-m", "wsgihost", "serve", "--config", str(config), "-D", "WSGIHOST"]
    argv.append("--no-access-log")
    return Launch(argv, env, work, port, "the config's", f"{python} (wsgihost from src/)")


def apache_launch(config: Path, port: int, run_dir: Path) -> Launch:
    binary = servers.find_apache()
    argv, env = servers.apache_command(binary, config, run_dir, dict(os.environ))
    return Launch(argv, env, run_dir, port, "the config's", str(binary))


def start(name: str, launch: Launch, work: Path, modules: bool) -> RunningServer:
    server = RunningServer(name, launch, work / f"{name}.log")
    server.start(60.0)
    # The module lines must act on both, or the comparison says nothing.
    status, headers = head(server.port or 0)
    missing = EXPECTED_HEADERS - headers if modules else set()
    if status != 200 or missing:
        server.stop()
        raise servers.ServerFailed(f"{name}: GET / gave {status}, headers missing: {missing}")
    return server


def head(port: int) -> tuple[int, set[str]]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        response.read()
        return response.status, {name.lower() for name, _ in response.getheaders()}
    finally:
        conn.close()


def wrk(
    server: RunningServer,
    seconds: float,
    connections: int,
    path: str = "/",
    header: tuple[str, str] | None = None,
) -> float:
    """Requests per second of one keep-alive run of wrk against ``GET path`` (with
    ``header``, if given)."""
    port = server.port or 0
    extra = ["--header", f"{header[0]}: {header[1]}"] if header else []
    argv = [
        shutil.which("wrk") or "wrk",
        *extra,
        "--threads",
        "1",
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(seconds))}s",
        "--script",
        str(WRK_SCRIPT),
        f"http://{HOST}:{port}{path}",
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in result.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            report = json.loads(line.removeprefix("WRK_JSON "))
            # A connection the server closed is counted (as run.py counts it); a
            # wrong status means the figures are not those of the page asked for.
            errors = report["errors"]
            if errors["status"]:
                raise servers.ServerFailed(f"{server.name}: wrk saw errors: {errors}")
            if any(errors.values()):
                say(f"  ({server.name}: wrk saw {errors})")
            return float(report["requests"]) / (report["duration_us"] / 1e6)
    raise servers.ServerFailed(f"wrk gave no report: {(result.stdout + result.stderr)[-300:]}")


def launch_for(
    name: str, work: Path, python: Path, site_text: Callable[[Path, int], str]
) -> Launch:
    """Write server ``name``'s config (``site_text(run_dir, port)``) under ``work`` and
    say how to start it: wsgihost from src/, or Apache."""
    run_dir = work / name
    run_dir.mkdir(mode=0o755)
    port = servers.free_port()
    config = run_dir / "site.conf"
    config.write_text(site_text(run_dir, port))
    config.chmod(0o644)
    if name == "wsgihost":
        return wsgihost_launch(python, config, port, work)
    return apache_launch(config, port, run_dir)


def take_turns(
    running: Sequence[RunningServer],
    rounds: int,
    pause: float,
    measure: Callable[[RunningServer], float],
) -> dict[str, list[float]]:
    """``rounds`` measures of each server, taking turns (the first alternates)."""
    figures: dict[str, list[float]] = {s.name: [] for s in running}
    for round_no in range(rounds):
        order = [*running[round_no % 2 :], *running[: round_no % 2]]
        for server in order:
            time.sleep(pause)
            figures[server.name].append(measure(server))
    return figures


def say_medians(figures: dict[str, list[float]]) -> None:
    """Each server's median requests/s and its runs, then wsgihost's ratio to Apache."""
    medians = {name: statistics.median(values) for name, values in figures.items()}
    for name, values in figures.items():
        runs = ", ".join(f"{v:,.0f}" for v in values)
        say(f"  {name:9} median {medians[name]:>9,.0f} req/s  ({runs})")
    if "wsgihost" in medians and "apache" in medians:
        say(f"  wsgihost / apache: {medians['wsgihost'] / medians['apache']:.2f}x")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("daemon", "embedded"), default="daemon")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--pause", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=15)
    parser.add_argument("--no-modules", action="store_true", help="the site without them")
    parser.add_argument("--python", type=Path, default=Path(sys.executable))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    servers.stop_on_signals()
    if shutil.which("wrk") is None:
        say("wrk not found: apt-get install wrk")
        return 2
    work = Path(tempfile.mkdtemp(prefix="wsgihost-bench-modules-"))
    running: list[RunningServer] = []
    try:
        app = prepare(work)
        for name in ("wsgihost", "apache"):
            launch = launch_for(
                name, work, args.python, lambda run_dir, port: site(run_dir, port, args, app)
            )
            running.append(start(name, launch, work, not args.no_modules))
        for server in running:
            wrk(server, args.warmup, args.connections)
        figures = take_turns(
            running,
            args.rounds,
            args.pause,
            lambda server: wrk(server, args.duration, args.connections),
        )
        what = (
            "without the module lines" if args.no_modules else "3 Header, 1 RewriteRule, 1 SetEnv"
        )
        say(f"hello world, keep-alive, {args.mode} mode, {what}; {args.rounds} rounds")
        say_medians(figures)
        return 0
    except (servers.ServerFailed, servers.Unavailable) as e:
        say(f"failed: {e}")
        return 1
    finally:
        for server in running:
            server.stop()
        if os.environ.get("WSGIHOST_BENCH_KEEP"):
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    servers.entry_point(main, "Interrupted; both servers were stopped.")
