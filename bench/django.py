#!/usr/bin/env python3
"""A real-app benchmark beside hello world: a Django view rendering a template from SQLite.

    python bench/django.py            # 6 servers x 3 rounds x 5 s, about 3 minutes
    python bench/django.py --quick    # a smoke run: 1 round of 1 s, about 1 minute

The project is the differential suite's djsite with one table and one view added
(bench/apps/djbench): ``GET /posts/`` reads the latest 20 posts from SQLite through
Django's ORM and renders them with a template, through djsite's middleware. Every
server runs it with run.py's command line and budget (2 processes x 15 threads):
wsgihost and Apache + mod_wsgi in both modes, gunicorn gthread and uWSGI behind its
HTTP router, from one world-readable temporary copy of the project, its database and
Django. wrk loads them in alternating rounds as run.py does; the report gives medians,
ratios to Apache + mod_wsgi in the same mode, and the CPU time per request split
between the app (measured inside the app, bench/cpu.py) and the server.

Note: run this file as a script. Its name would hide the real Django from any Python
that has bench/ on its path; no server started here has.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cpu
import djapp
import report
import run
import servers
from djapp import SCENARIO
from report import DAEMON, EMBEDDED
from servers import RunningServer, ServerFailed, Unavailable, say

SERVER_CHOICES = (
    "wsgihost",
    "apache-mod_wsgi",
    "gunicorn-gthread",
    "wsgihost-daemon",
    "uwsgi",
    "apache-mod_wsgi-daemon",
)
TARGET_RATIO = 1.05  # issue 15: Django view, daemon mode, to Apache's daemon mode
APP_ROLES = ("daemon process", "mod_wsgi daemon process", "worker")  # daemon-mode app processes
FLUSH_WAIT = 0.5  # > bench.wsgi's FLUSH_SECONDS: the app's sums are on disk


# --------------------------------------------------------------------------- the runs


def measure(
    wrk: str, settings: run.Settings, server: RunningServer, family: str, work: Path, seconds: int
) -> tuple[run.Sample, dict[str, Any]]:
    assert server.port is not None and server.process is not None
    before = cpu.read(family, server.process.pid, work / "cpu")
    wrk_report = run.run_wrk(wrk, server.port, SCENARIO, seconds, settings)
    ticks = cpu.read(family, server.process.pid, work / "cpu")  # the processes' CPU: now
    time.sleep(FLUSH_WAIT)
    sums = cpu.read(family, server.process.pid, work / "cpu")  # the app's: once written
    after = cpu.Reading(ticks.processes, sums.app_calls, sums.app_seconds)
    if not server.alive():
        raise ServerFailed("died during the run")
    sample = run.to_sample(wrk_report, SCENARIO, server.name, 0)
    return sample, cpu.split(before, after, sample.requests)


def rounds(
    wrk: str,
    settings: run.Settings,
    running: dict[str, RunningServer],
    records: dict[str, run.ServerRecord],
    work: Path,
) -> list[dict[str, Any]]:
    """Warm-up, then --rounds rounds, the first slot rotating (as run.py): every run."""
    runs: list[dict[str, Any]] = []
    for round_no in range(0, settings.rounds + 1):
        order = list(running)
        shift = (round_no - 1) % len(order) if order and round_no else 0
        for name in order[shift:] + order[:shift]:
            seconds = settings.duration if round_no else settings.warmup
            time.sleep(settings.pause)
            try:
                sample, split = measure(
                    wrk, settings, running[name], records[name].family, work, seconds
                )
            except ServerFailed as exc:
                servers.fail(records[name], running.pop(name), str(exc))
                continue
            if not round_no:
                say(f"warm-up {name}: {sample.requests_per_s:,.0f} req/s")
                continue
            sample.round = round_no
            runs.append({"sample": asdict(sample), "cpu": split})
            say(
                f"round {round_no}/{settings.rounds} {name}: {sample.requests_per_s:,.0f} req/s, "
                f"p99 {sample.p99_ms:.2f} ms; CPU/request {split['total_us']:.0f} us = app "
                f"{split['app_us']:.0f} + server {split['server_us']:.0f}; app calls per "
                f"process {split['app_calls_per_process']}"
            )
    return runs


def summarise(
    runs: list[dict[str, Any]], records: dict[str, run.ServerRecord]
) -> dict[str, dict[str, Any]]:
    """{server: medians over the rounds}, with ratios to Apache in the same mode."""
    per_server: dict[str, dict[str, Any]] = {}
    for name in records:
        mine = [r for r in runs if r["sample"]["server"] == name]
        if not mine:
            continue
        samples, splits = [r["sample"] for r in mine], [r["cpu"] for r in mine]
        rates = [s["requests_per_s"] for s in samples]
        roles = sorted({role for split in splits for role in split["roles_us"]})
        per_server[name] = {
            "table": records[name].mode,
            "rounds": len(mine),
            "requests_per_s": statistics.median(rates),
            "requests_per_s_min": min(rates),
            "requests_per_s_max": max(rates),
            "mb_per_s": statistics.median(s["mb_per_s"] for s in samples),
            "p50_ms": statistics.median(s["p50_ms"] for s in samples),
            "p99_ms": statistics.median(s["p99_ms"] for s in samples),
            "errors": sum(sum(s["errors"].values()) for s in samples),
            "requests": sum(s["requests"] for s in samples),
            "cpu_us": {
                key: statistics.median(split[key] for split in splits)
                for key in ("total_us", "app_us", "server_us")
            },
            # The share of the app's calls taken by its busiest process (1/2: even).
            "busiest_share": statistics.median(
                max(split["app_calls_per_process"], default=0) / max(split["app_calls"], 1)
                for split in splits
            ),
            "roles_us": {
                role: statistics.median(split["roles_us"].get(role, 0.0) for split in splits)
                for role in roles
            },
        }
    summary = {SCENARIO.name: per_server}
    report.add_ratios(summary)
    return per_server


# --------------------------------------------------------------------------- the report


def markdown(result: dict[str, Any], records: dict[str, run.ServerRecord]) -> str:
    summary = result["summary"]
    settings = result["settings"]
    lines = [
        f"## {SCENARIO.title} (`GET {SCENARIO.path}`, {settings['connections']} connections)",
        "",
        f"- {result['started']}, {result['host']['cpu']} ({result['host']['cpus']} CPUs), "
        f"commit {result['host']['git_commit'][:12]}; Django {result['django']}",
        f"- {settings['rounds']} rounds x {settings['duration']} s per server, alternating, "
        f"after {settings['warmup']} s of warm-up; medians over the rounds",
        f"- budget: {settings['processes']} processes x {settings['threads']} threads per server",
        "- CPU per request: all the server's processes (/proc utime + stime) over wrk's "
        "answers; app: the thread CPU time of Django's handler, measured in the app; "
        "server = total - app",
    ]
    for table in (EMBEDDED, DAEMON):
        names = [name for name in summary if summary[name]["table"] == table]
        if not names:
            continue
        lines += ["", f"### {report.TABLE_TITLES[table]}", ""]
        reference = summary[names[0]].get("ratios_to")
        lines.append(f"Ratios to {records[reference].title}." if reference else "No reference.")
        lines += [
            "",
            "| server | req/s | p50 ms | p99 ms | req/s ratio | p99 ratio | req/s min-max | "
            "errors | CPU us/req | app us/req | server us/req | server's processes, us/req | "
            "busiest app process |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|",
        ]
        for name in names:
            entry = summary[name]
            roles = ", ".join(
                f"{role} {value:.0f}" for role, value in entry["roles_us"].items() if value >= 0.5
            )
            lines.append(
                report.table_row(records[name].title, entry, False, False)[:-2]
                + f" | {entry['cpu_us']['total_us']:.0f} | {entry['cpu_us']['app_us']:.0f}"
                f" | {entry['cpu_us']['server_us']:.0f} | {roles} | "
                f"{100 * entry['busiest_share']:.0f}% |"
            )
    lines += ["", "### Memory after the runs (MB, VmRSS)", ""]
    for record in records.values():
        if "loaded" in record.memory:
            rss = ", ".join(f"{p['role']} {p['rss_mb']:.1f}" for p in record.memory["loaded"])
            lines.append(f"- {record.title}: {rss}")
    alone = result["app_alone_rss_mb"]
    if alone:
        lines.append(f"- a bare `--python` that has loaded the app (bench.wsgi): {alone:.1f}")
        for record in records.values():
            apps = [p["rss_mb"] for p in record.memory.get("loaded", []) if p["role"] in APP_ROLES]
            if apps and record.mode == DAEMON:
                lines.append(
                    f"- {record.title}: the largest process running the app, beyond the app: "
                    f"{max(apps) - alone:.1f} (target for wsgihost's daemon processes: "
                    f"< {report.DAEMON_BEYOND_APP_MB:.0f})"
                )
    lines += ["", "### Target", "", *targets(summary)]
    lines += servers.not_measured(records.values())
    return "\n".join(lines) + "\n"


def targets(summary: dict[str, dict[str, Any]]) -> list[str]:
    ours, base = summary.get("wsgihost-daemon"), summary.get("apache-mod_wsgi-daemon")
    if not ours or not base:
        return ["Django view, daemon mode >= 1.05x Apache daemon mode: not measured"]
    ratio, p99 = ours["requests_per_s_ratio"], ours["p99_ms_ratio"]
    return [
        "| target | wanted | measured | result |",
        "|---|---|---|---|",
        f"| Django view, daemon mode vs Apache daemon mode | >= {TARGET_RATIO:.2f}x req/s | "
        f"{ratio:.2f}x ({ours['requests_per_s']:,.0f} vs {base['requests_per_s']:,.0f} req/s) | "
        f"{report.MET if ratio >= TARGET_RATIO else '**' + report.MISSING + '**'} |",
        f"| Django view, daemon mode: p99 no worse | <= 1.00x | {p99:.2f}x "
        f"({ours['p99_ms']:.2f} vs {base['p99_ms']:.2f} ms) | "
        f"{report.MET if p99 <= 1.0 else '**' + report.MISSING + '**'} |",
    ]


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    servers.add_server_options(parser, SERVER_CHOICES, SERVER_CHOICES, "wsgihost and gunicorn")
    add = parser.add_argument
    add("--quick", action="store_true", help="a smoke run: 1 round of 1 s, 1 s warm-up")
    add("--duration", type=int, help="seconds per measured run (5)")
    add("--warmup", type=int, help="seconds of warm-up per server (2)")
    add("--rounds", type=int, help="measured runs per server (3)")
    add("--pause", type=float, help="seconds of quiet before each run (1)")
    add("--connections", type=int, default=32, help="wrk connections (%(default)s)")
    add("--wsgihost-cmd", help="start an installed wsgihost instead of src/, as run.py's")
    args = parser.parse_args(argv)
    servers.check_servers(parser, args.servers, SERVER_CHOICES)
    for key, full, quick in (
        ("duration", 5, 1),
        ("warmup", 2, 1),
        ("rounds", 3, 1),
        ("pause", 1.0, 0.2),
    ):
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    servers.stop_on_signals()
    python = servers.chosen_python(args.python)
    wrk = shutil.which("wrk")
    if python is None or wrk is None:
        say("wrk not found: apt-get install wrk" if python else "no --python")
        return 2
    chosen = args.servers.split(",")
    # run.py's Settings, so that its command lines (and budget) are the very same.
    options = {"scenarios": "keepalive", "servers": args.servers, "duration": args.duration,
               "warmup": args.warmup, "rounds": args.rounds, "pause": args.pause,
               "connections": args.connections, "processes": args.processes,
               "threads": args.threads, "startup-timeout": args.startup_timeout,
               "wsgihost-cmd": args.wsgihost_cmd}  # fmt: skip
    run_argv = [str(x) for k, v in options.items() if v is not None for x in (f"--{k}", v)]
    settings = run.settings_from(run.parse_args(run_argv), python)
    kinds = [kind for kind in run.SERVER_KINDS if kind.name in chosen]
    records = {k.name: run.ServerRecord(k.name, k.title, k.mode, k.family) for k in kinds}
    started = datetime.now(UTC)
    say(
        f"About {len(kinds) * (args.rounds * (args.duration + args.pause + 1) + args.warmup)}"
        " s of load, plus start-up"
    )
    with (
        tempfile.TemporaryDirectory(prefix="wsgihost-django-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        work = Path(tmp)
        try:
            django_version = djapp.prepare(work, python)
        except Unavailable as exc:
            say(str(exc))
            return 2
        running: dict[str, RunningServer] = {}
        expected: bytes | None = None
        for kind in kinds:
            record = records[kind.name]
            server = run.start_server(kind, settings, work, record, stack)
            if server is None:
                continue
            assert server.port is not None
            problem, body = djapp.check(server.port, expected)
            if problem:
                servers.fail(record, server, problem)
                continue
            expected = expected or body
            record.status = "ran"
            running[kind.name] = server
        runs = rounds(wrk, settings, running, records, work) if running else []
        run.snapshot_memory(running, records, "loaded")
        for name, server in running.items():
            records[name].log_tail = servers.tail(server.log_path)
        alone = servers.python_rss_with_app(python, work / "app" / "hello.wsgi")
    summary = summarise(runs, records)
    result: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "host": servers.host_facts(),
        "versions": servers.software_versions(python),
        "django": django_version,
        "settings": servers.settings_json(settings),
        "servers": {name: asdict(record) for name, record in records.items()},
        "app_alone_rss_mb": alone,
        "runs": runs,
        "summary": summary,
    }
    text = markdown(result, records)
    servers.publish(args.output_dir, "django", started, result, text)
    failed = servers.report_failed(records.values())
    return 1 if failed or not runs else 0


if __name__ == "__main__":
    servers.entry_point(main, "Interrupted; all servers were stopped.")
