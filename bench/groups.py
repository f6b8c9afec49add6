#!/usr/bin/env python3
"""Many daemon groups: how soon are they all READY, and how idle is the master then?

One command runs it (``python bench/run.py --scenarios groups`` runs it too)::

    python bench/groups.py                 # 50 groups, 10 s of idle measurement
    python bench/groups.py --idle-seconds 3

It writes a configuration with --groups ``WSGIDaemonProcess`` groups of one process
each, every one with its own location (``WSGIScriptAlias /gNN app.wsgi
process-group=gNN``), starts ``wsgihost serve --config`` on it and polls ``wsgihost
status --config F --json`` until every group's process is READY. Then it checks that
each location answers, lets the server settle for a second and measures, from
/proc/PID/stat, the CPU time the master uses over --idle-seconds with nothing to do
(the front-end workers' and the daemon processes' too). The report gives the time
from start to all READY, the master's idle CPU in percent of one core, and every
process's resident memory. Targets: all READY within 10 s, master < 1% of a core.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import servers
from servers import HOST

APP_SOURCE = servers.BENCH_DIR / "apps" / "hello.wsgi"
READY_TARGET_S = 10.0
MASTER_CPU_TARGET_PERCENT = 1.0
POLL_SECONDS = 0.25


@dataclass(frozen=True)
class Settings:
    groups: int
    threads: int
    idle_seconds: float
    ready_timeout: float
    python: Path


class GroupsServer(servers.RunningServer):
    """wsgihost with nothing mounted at /: ready as soon as its port takes connections."""

    def _check_hello(self, deadline: float) -> None:
        return


def group_name(index: int) -> str:
    return f"g{index:02d}"


def config_text(settings: Settings, script: Path) -> str:
    lines = [
        f"# Written by bench/groups.py: {settings.groups} daemon groups of one process.",
        f"Listen {HOST}:${{PORT}}",
    ]
    for index in range(1, settings.groups + 1):
        name = group_name(index)
        lines += [
            f"WSGIDaemonProcess {name} processes=1 threads={settings.threads}",
            f"WSGIScriptAlias /{name} {script} process-group={name}",
        ]
    return "\n".join(lines) + "\n"


def wsgihost_command(settings: Settings, *args: str) -> list[str]:
    return [str(settings.python), "-c", servers.WSGIHOST_BOOTSTRAP, *args]


def wsgihost_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = servers.prepend_path(str(servers.REPO_DIR / "src"), env.get("PYTHONPATH"))
    return env


def status(settings: Settings, config: Path, env: dict[str, str]) -> dict[str, Any] | None:
    """What ``wsgihost status --config F --json`` says, or None while it cannot answer."""
    argv = wsgihost_command(settings, "status", "--config", str(config), "--json")
    try:
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    try:
        answer: dict[str, Any] = json.loads(result.stdout)
    except ValueError:
        return None
    return answer


def ready_groups(answer: dict[str, Any]) -> int:
    """How many groups have all their processes READY."""
    count = 0
    for group in answer.get("groups", []):
        members = [m for m in group.get("members", []) if m.get("state") == "ready"]
        if group.get("status") == "ready" and len(members) >= group.get("processes", 1):
            count += 1
    return count


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process so far, from /proc/PID/stat."""
    text = servers.proc_text(pid, "stat")
    if not text:
        return None
    fields = text.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def check_groups(port: int, groups: int) -> list[str]:
    """Each location's answer; the names of the groups that did not say hello."""
    wrong = []
    for index in range(1, groups + 1):
        name = group_name(index)
        try:
            code, body = servers.http_get(port, f"/{name}/")
        except (OSError, http.client.HTTPException):
            code, body = 0, b""
        if code != 200 or body != servers.HELLO_BODY:
            wrong.append(name)
    return wrong


def measure(settings: Settings, work: Path) -> dict[str, Any]:
    """Start the server, wait for all READY, measure it idle, stop it."""
    result: dict[str, Any] = {"status": "failed", "reason": ""}
    if not (servers.REPO_DIR / "src" / "wsgihost").is_dir():
        result.update(status="skipped", reason=f"no wsgihost under {servers.REPO_DIR / 'src'}")
        return result
    script = work / "app.wsgi"
    shutil.copyfile(APP_SOURCE, script)
    config = work / "site.conf"
    config.write_text(config_text(settings, script))
    env = wsgihost_env()
    port = servers.free_port()
    env["PORT"] = str(port)
    argv = wsgihost_command(settings, "serve", "--config", str(config))
    launch = servers.Launch(argv, env, work, port, "", str(settings.python))
    server = GroupsServer("wsgihost-groups", launch, work / "server.log")
    result["command"] = argv
    servers.say(f"groups: starting {settings.groups} daemon groups: {' '.join(argv)}")
    began = time.monotonic()
    try:
        server.start(settings.ready_timeout)
        answer: dict[str, Any] | None = None
        ready = polls = 0
        ready_at: float | None = None
        deadline = began + settings.ready_timeout
        while time.monotonic() < deadline and server.alive():
            answer = status(settings, config, env)
            polls += 1
            ready = ready_groups(answer) if answer else 0
            if ready == settings.groups:
                ready_at = time.monotonic() - began
                break
            time.sleep(POLL_SECONDS)
        result["status_polls"] = polls
        result["groups_ready"] = ready
        result["all_ready_s"] = None if ready_at is None else round(ready_at, 3)
        if ready_at is None or answer is None:
            result["reason"] = (
                f"{ready} of {settings.groups} groups READY after {settings.ready_timeout:g} s"
            )
            result["log_tail"] = servers.tail(server.log_path)
            return result
        servers.say(f"groups: all {settings.groups} READY {ready_at:.2f} s after start")
        result["groups_not_answering"] = check_groups(port, settings.groups)

        time.sleep(1.0)  # the checks' requests are over before the idle window opens
        master = int(answer["pid"])
        workers = [int(w["pid"]) for w in answer.get("workers", [])]
        daemons = [int(m["pid"]) for g in answer["groups"] for m in g["members"]]
        before = {pid: cpu_seconds(pid) for pid in [master, *workers, *daemons]}
        start = time.monotonic()
        time.sleep(settings.idle_seconds)
        elapsed = time.monotonic() - start
        after = {pid: cpu_seconds(pid) for pid in before}

        def percent(pids: Sequence[int]) -> float | None:
            used = [
                after[p] - before[p]  # type: ignore[operator]
                for p in pids
                if before.get(p) is not None and after.get(p) is not None
            ]
            return round(100 * sum(used) / elapsed, 3) if used else None

        result["idle_window_s"] = round(elapsed, 2)
        result["master_cpu_percent"] = percent([master])
        result["front_end_cpu_percent"] = percent(workers)
        result["daemons_cpu_percent"] = percent(daemons)
        result["memory"] = servers.memory_snapshot("wsgihost", master)
        result["app_alone_mb"] = servers.python_rss_with_app(settings.python, script)
        if not server.alive():
            result["reason"] = "the server died"
            return result
        result["status"] = "ran"
        return result
    except servers.ServerFailed as exc:
        result["reason"] = str(exc)
        result["log_tail"] = servers.tail(server.log_path)
        return result
    finally:
        server.stop()


def run(settings: Settings) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wsgihost-groups-") as tmp:
        return measure(settings, Path(tmp))


def markdown(result: dict[str, Any]) -> str:
    settings = result["settings"]
    lines = [
        f"## {settings['groups']} daemon groups of one process",
        "",
        f"`wsgihost serve --config` with {settings['groups']} `WSGIDaemonProcess` groups "
        f"(processes=1 threads={settings['threads']}), one location each; `wsgihost status "
        f"--json` polled every {POLL_SECONDS:g} s; the idle CPU measured over "
        f"{settings['idle_seconds']:g} s from /proc/PID/stat.",
        "",
    ]
    if result["status"] != "ran":
        lines.append(f"**{result['status']}**: {result['reason']}")
        return "\n".join(lines) + "\n"
    memory = result["memory"]
    by_role: dict[str, list[float]] = {}
    for process in memory:
        by_role.setdefault(process["role"], []).append(process["rss_mb"])
    daemons = by_role.get("daemon process", [])
    app_alone = result.get("app_alone_mb")

    def cpu(value: float | None) -> str:
        return "?" if value is None else f"{value:.2f}%"

    lines += [
        "| measure | value | target |",
        "|---|--:|---|",
        f"| all READY after start | {result['all_ready_s']:.2f} s | < {READY_TARGET_S:g} s |",
        f"| master CPU while idle | {cpu(result['master_cpu_percent'])} of a core "
        f"| < {MASTER_CPU_TARGET_PERCENT:g}% |",
        f"| front-end workers' CPU while idle (together) "
        f"| {cpu(result['front_end_cpu_percent'])} | |",
        f"| daemon processes' CPU while idle (together) | {cpu(result['daemons_cpu_percent'])} | |",
        f"| locations that did not answer hello | {len(result['groups_not_answering'])} | 0 |",
    ]
    for role, values in by_role.items():
        if len(values) == 1:
            text = f"{values[0]:.1f} MB"
        else:
            text = (
                f"{len(values)} processes: min {min(values):.1f}, median "
                f"{statistics.median(values):.1f}, max {max(values):.1f} MB"
            )
        lines.append(f"| RSS, {role} | {text} | |")
    if daemons and app_alone:
        lines.append(
            f"| RSS of a daemon process beyond the app (a bare Python with the app: "
            f"{app_alone:.1f} MB) | {max(daemons) - app_alone:.1f} MB (max) | |"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Many daemon groups: time to READY, idle CPU.")
    add = parser.add_argument
    add("--groups", type=int, default=50, help="daemon groups (%(default)s)")
    add("--threads", type=int, default=15, help="threads per daemon process (%(default)s)")
    add("--idle-seconds", type=float, default=10.0, help="idle CPU window (%(default)s)")
    add("--ready-timeout", type=float, default=60.0, help="give up after (%(default)s)")
    add("--python", type=Path, help="interpreter for wsgihost (default: as bench/run.py)")
    add("--output-dir", type=Path, default=servers.RESULTS_DIR, help="JSON (%(default)s)")
    args = parser.parse_args(argv)
    if args.groups < 1 or args.threads < 1 or args.idle_seconds <= 0:
        parser.error("--groups, --threads and --idle-seconds must be positive")
    return args


def settings_from(args: argparse.Namespace, python: Path) -> Settings:
    return Settings(
        groups=args.groups,
        threads=args.threads,
        idle_seconds=args.idle_seconds,
        ready_timeout=args.ready_timeout,
        python=python,
    )


def execute(settings: Settings, output_dir: Path) -> tuple[dict[str, Any], str]:
    """Measure, write groups-TIME.json and .md; (the result, the markdown report)."""
    started = datetime.now(UTC)
    result = run(settings)
    result["settings"] = servers.settings_json(settings)
    result["started"] = started.strftime("%Y-%m-%d %H:%M UTC")
    result["host"] = servers.host_facts()
    report = markdown(result)
    servers.publish(output_dir, "groups", started, result, report, echo=False)
    return result, report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    servers.stop_on_signals()
    python = servers.chosen_python(args.python)
    if python is None:
        return 2
    result, report = execute(settings_from(args, python), args.output_dir)
    print(report)
    return 0 if result["status"] == "ran" else 1


if __name__ == "__main__":
    servers.entry_point(main, "Interrupted; the server was stopped.")
