#!/usr/bin/env python3
"""What idle keep-alive connections cost in memory: each server's processes, before and
while --connections (1,000) of them are held open, and after they are let go.

    python bench/idle_memory.py                    # wsgihost and Apache, both modes
    python bench/idle_memory.py --connections 2000 --servers wsgihost-daemon

Issue 15's targets: a front-end worker under 40 MB with 1,000 idle connections, a
daemon process under 25 MB beyond the app. Each server, one after the other, is
started afresh with run.py's command line and budget on hello world, answers a few
requests, then: a snapshot of every process (VmRSS, and its open descriptors, which
tell how many of the connections each process holds) once the server has been quiet
for --settle seconds (wsgihost's processes give freed heap back every 2 s); the idle
connections (bench/idle_clients.py: one GET each, then silence) and, --settle seconds
after the last one was answered, a second snapshot; then the same after they closed.
The per-connection cost is the growth of a role's processes over the connections they
hold. The daemon process's figure "beyond the app" is its RSS less that of a bare
--python that has loaded the app (servers.python_rss_with_app), as run.py's targets.
Standard library only; progress on stderr, the markdown report on stdout and with its
JSON in --output-dir (idle-memory-TIME.json/.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import report
import run
import servers
from servers import ServerFailed, say

SERVER_CHOICES = ("wsgihost", "wsgihost-daemon", "apache-mod_wsgi", "apache-mod_wsgi-daemon")
FRONT_END_ROLES = ("front-end worker", "child (mpm_event)")  # the processes that hold them
DAEMON_ROLES = ("daemon process", "mod_wsgi daemon process")


def snapshot(family: str, main_pid: int) -> list[dict[str, Any]]:
    """servers.memory_snapshot, with each process's count of open descriptors."""
    found = servers.memory_snapshot(family, main_pid)
    for entry in found:
        with contextlib.suppress(OSError):
            entry["fds"] = len(os.listdir(f"/proc/{entry['pid']}/fd"))
    return found


def growth(before: list[dict[str, Any]], during: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per process present in both: RSS then and now, and descriptors gained."""
    earlier = {entry["pid"]: entry for entry in before}
    rows = []
    for entry in during:
        was = earlier.get(entry["pid"])
        if was is None:
            continue
        rows.append(
            {
                "pid": entry["pid"],
                "role": entry["role"],
                "rss_before_mb": was["rss_mb"],
                "rss_mb": entry["rss_mb"],
                "grew_mb": round(entry["rss_mb"] - was["rss_mb"], 2),
                "connections": entry.get("fds", 0) - was.get("fds", 0),
            }
        )
    return rows


def measure(
    kind: run.ServerKind, settings: run.Settings, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    record = run.ServerRecord(kind.name, kind.title, kind.mode, kind.family)
    with contextlib.ExitStack() as stack:
        server = run.start_server(kind, settings, work, record, stack)
        if server is None or server.process is None or server.port is None:
            return {"status": record.status, "reason": record.reason, "tail": record.log_tail}
        for _ in range(2 * settings.processes * settings.threads):  # every process answers
            servers.http_get(server.port, "/")
        main_pid = server.process.pid
        time.sleep(args.settle)
        idle = snapshot(kind.family, main_pid)
        clients = run.IdleClients(server.port, args.connections)
        try:
            time.sleep(args.settle)
            held = snapshot(kind.family, main_pid)
            if not server.alive():
                raise ServerFailed("died holding the idle connections")
        finally:
            seen = clients.finish() if clients.process.poll() is None else {}
            clients.kill()
        time.sleep(args.settle)
        after = snapshot(kind.family, main_pid)
    rows = growth(idle, held)
    result: dict[str, Any] = {
        "status": "ran",
        "title": kind.title,
        "held_at_start": clients.held_at_start,
        "idle_clients": seen,
        "idle": idle,
        "held": held,
        "after": after,
        "growth": rows,
        "released": growth(held, after),
    }
    front = [row for row in rows if row["role"] in FRONT_END_ROLES]
    taken = sum(row["connections"] for row in front)
    if front and taken > 0:
        result["front_end_bytes_per_connection"] = (
            sum(row["grew_mb"] for row in front) * servers.MB / taken
        )
        result["largest_front_end_mb"] = max(row["rss_mb"] for row in front)
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"## Idle keep-alive connections and memory ({result['connections']:,} connections)",
        "",
        f"- {result['started']}, {result['host']['cpu']} ({result['host']['cpus']} CPUs), "
        f"commit {result['host']['git_commit'][:12]}; hello world, "
        f"{result['settings']['processes']} processes x {result['settings']['threads']} threads",
        "- MB of 10^6 bytes, VmRSS; connections per process: its open descriptors gained",
        f"- a bare `--python` that has loaded the app: {result['app_alone_mb']:.1f} MB",
        "",
        "| server | process | idle MB | with the connections MB | grew MB | connections "
        "| bytes per connection | after they closed MB |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for name, entry in result["servers"].items():
        if entry["status"] != "ran":
            lines.append(f"| {name} | **{entry['status']}**: {entry['reason']} | | | | | | |")
            continue
        after = {p["pid"]: p["rss_mb"] for p in entry["after"]}
        for row in entry["growth"]:
            per = (
                f"{row['grew_mb'] * servers.MB / row['connections']:,.0f}"
                if row["connections"] > 10
                else ""
            )
            lines.append(
                f"| {entry['title']} | {row['role']} {row['pid']} | {row['rss_before_mb']:.1f} | "
                f"{row['rss_mb']:.1f} | {row['grew_mb']:+.1f} | {row['connections']:,} | {per} | "
                f"{after.get(row['pid'], float('nan')):.1f} |"
            )
    lines += ["", "| target | wanted | measured | result |", "|---|---|---|---|"]
    for name, entry in result["servers"].items():
        if "largest_front_end_mb" in entry and name.startswith("wsgihost"):
            largest = entry["largest_front_end_mb"]
            ok = report.MET if largest < report.FRONT_END_MB else f"**{report.MISSING}**"
            lines.append(
                f"| {entry['title']}: front-end worker with {result['connections']:,} idle "
                f"connections | < {report.FRONT_END_MB:.0f} MB | {largest:.1f} MB (largest; "
                f"{entry['front_end_bytes_per_connection']:,.0f} bytes per connection) | {ok} |"
            )
        daemons = [p["rss_mb"] for p in entry.get("held", []) if p["role"] in DAEMON_ROLES]
        if daemons and result["app_alone_mb"] and name.startswith("wsgihost"):
            beyond = max(daemons) - result["app_alone_mb"]
            ok = report.MET if beyond < report.DAEMON_BEYOND_APP_MB else f"**{report.MISSING}**"
            lines.append(
                f"| daemon process beyond the app | < {report.DAEMON_BEYOND_APP_MB:.0f} MB | "
                f"{beyond:.1f} MB ({max(daemons):.1f} less {result['app_alone_mb']:.1f}) | {ok} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    servers.add_server_options(parser, SERVER_CHOICES, SERVER_CHOICES, "wsgihost")
    parser.add_argument("--connections", type=int, default=1000, help="(%(default)s)")
    parser.add_argument("--settle", type=float, default=3.0, help="quiet seconds (%(default)s)")
    parser.add_argument("--wsgihost-cmd", help="an installed wsgihost instead of src/ (run.py's)")
    args = parser.parse_args(argv)
    servers.check_servers(parser, args.servers, SERVER_CHOICES)
    servers.stop_on_signals()
    python = servers.chosen_python(args.python)
    if python is None:
        return 2
    servers.raise_open_files(4 * args.connections + 1024)
    run_argv = ["--servers", args.servers, "--processes", str(args.processes), "--threads",
                str(args.threads), "--startup-timeout", str(args.startup_timeout)]  # fmt: skip
    if args.wsgihost_cmd:
        run_argv += ["--wsgihost-cmd", args.wsgihost_cmd]
    settings = run.settings_from(run.parse_args(run_argv), python)
    started = datetime.now(UTC)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="wsgihost-idle-memory-") as tmp:
        work = Path(tmp)
        run.prepare_app(work)
        for kind in run.SERVER_KINDS:
            if kind.name in args.servers.split(","):
                say(f"{kind.name}: {args.connections} idle connections")
                try:
                    results[kind.name] = measure(kind, settings, work, args)
                except ServerFailed as exc:
                    results[kind.name] = {"status": "failed", "reason": str(exc)}
    result = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "host": servers.host_facts(),
        "settings": servers.settings_json(settings),
        "connections": args.connections,
        "app_alone_mb": servers.python_rss_with_app(python, run.APP_SOURCE),
        "servers": results,
    }
    servers.publish(args.output_dir, "idle-memory", started, result, markdown(result))
    return 0 if all(entry["status"] == "ran" for entry in results.values()) else 1


if __name__ == "__main__":
    servers.entry_point(main, "Interrupted; all servers were stopped.")
