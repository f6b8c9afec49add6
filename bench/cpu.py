"""CPU time per request, split between the application and the server (bench/django.py).

Two readings, taken before and after each measured run:

- every process of a server (its main process and all descendants, as
  servers.memory_snapshot finds them): utime + stime from /proc/PID/stat, all its
  threads included, by role (servers.process_role);
- the app's own CPU time, which apps/djbench/bench.wsgi sums in each process that
  runs it (thread CPU time around each call of Django's handler and its close())
  and writes to ``WORK/cpu/PID.json``.

The difference of the two, per request, is the server's cost: parsing, routing,
the environ, threads and locks, the hop to a daemon process, writing the answer.
Standard library only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import servers

TICKS = os.sysconf("SC_CLK_TCK")  # /proc's unit of CPU time (100 a second on Linux)


@dataclass
class Reading:
    """One server's CPU counters at a moment."""

    processes: dict[int, tuple[str, str, float]]  # pid: (start time, role, CPU seconds)
    app_calls: dict[int, int]  # pid: calls of the app in that process
    app_seconds: float


def process_cpu(pid: int) -> tuple[str, float] | None:
    """(start time, utime + stime in seconds) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()  # fields[0] is stat's 3rd field, the state
    if len(fields) < 20:
        return None
    return fields[19], (int(fields[11]) + int(fields[12])) / TICKS


def app_sums(cpu_dir: Path, pids: set[int]) -> tuple[dict[int, int], float]:
    """({pid: calls}, seconds summed) from the app's counters written by processes in pids."""
    calls: dict[int, int] = {}
    nanoseconds = 0
    for path in cpu_dir.glob("*.json"):
        if not path.stem.isdigit() or int(path.stem) not in pids:
            continue
        try:
            sums = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # replaced while read: os.replace makes that rare, and it is the next's
        calls[int(path.stem)] = int(sums["calls"])
        nanoseconds += int(sums["app_ns"])
    return calls, nanoseconds / 1e9


def read(family: str, main_pid: int, cpu_dir: Path) -> Reading:
    processes: dict[int, tuple[str, str, float]] = {}
    for pid in [main_pid, *sorted(servers.descendants(main_pid))]:
        found = process_cpu(pid)
        if found is not None:
            role = servers.process_role(family, pid, main_pid)
            processes[pid] = (found[0], role, found[1])
    calls, seconds = app_sums(cpu_dir, set(processes))
    return Reading(processes, calls, seconds)


def split(before: Reading, after: Reading, requests: int) -> dict[str, Any]:
    """CPU microseconds per request: total, the app's, the server's (total - app), by role.

    A process that started during the run counts from zero; one that ended during
    it is lost (its CPU time went with it), which the benchmark's servers do not do
    unless they fail.
    """
    per_role: dict[str, float] = {}
    for pid, (start, role, seconds) in after.processes.items():
        earlier = before.processes.get(pid)
        spent = seconds - earlier[2] if earlier and earlier[0] == start else seconds
        per_role[role] = per_role.get(role, 0.0) + spent
    total = sum(per_role.values())
    # How the requests spread over the processes that run the app: a process
    # given more than its share is limited by its one GIL before the CPUs are busy.
    spread = sorted(
        (calls - before.app_calls.get(pid, 0) for pid, calls in after.app_calls.items()),
        reverse=True,
    )
    app_calls = sum(spread)
    app = after.app_seconds - before.app_seconds
    count = max(requests, 1)
    # The app's time per call of its own count (the calls wrk saw finish may be a
    # few fewer: those in flight when wrk stopped).
    app_us = app / app_calls * 1e6 if app_calls > 0 else 0.0
    total_us = total / count * 1e6
    return {
        "requests": requests,
        "app_calls": app_calls,
        "app_calls_per_process": spread,
        "total_cpu_s": round(total, 3),
        "app_cpu_s": round(app, 3),
        "total_us": total_us,
        "app_us": app_us,
        "server_us": total_us - app_us,
        "roles_us": {role: spent / count * 1e6 for role, spent in sorted(per_role.items())},
    }
