#!/usr/bin/env python3
"""Touch to new code: how soon after a WSGI script changes does wsgihost answer with the new code?

One command::

    python bench/touch.py                  # 8 changes of each kind, about a minute
    python bench/touch.py --changes 2      # a smoke run of some seconds

wsgihost serves a hello-world script from a daemon group (2 processes x 4 threads)
that answers ``VERSION@T``, T the time its copy was imported. A light load, 2
keep-alive clients in this process (bench/reload.py's) each pausing 5 ms between
requests, asks for it while, every --interval seconds, the script is changed in one
of these ways, in turn:

- ``write``: rewritten in place with the next VERSION (open with O_TRUNC, one write,
  close: what ``cp``, ``echo >`` and most editors do);
- ``rename``: the next VERSION written beside it and renamed over it (deploy tools,
  ``rsync``, ``sed -i``, ``mv``);
- ``touch``: opened, its times set, closed: what ``touch`` does (strace), no new
  content: the new code is a copy imported after it;
- ``utime``: its times set by name only (``touch -c -d``, ``os.utime``): inotify says
  nothing of a writer, so the change waits out the full settle time.

For each change: the time from the change (taken just before the first system call
of it) to the first answer that comes from the new code, that is, with the new
VERSION from a copy of the script imported after the change. Reported per kind:
the median, the fastest and the slowest; for the whole run: answers, failed requests
(connection errors and non-2xx answers) and the longest time with no answer. The
figures go to stdout as markdown, and with --json to a file. bench/README.md says
more.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import reload  # bench/reload.py: the wsgihost launch, the server wrapper, the load
import servers

KINDS = ("write", "rename", "touch", "utime")

APP = '''\
"""Written by bench/touch.py: answers VERSION@(when this copy was imported)."""

import time

VERSION = {version!r}
LOADED = time.monotonic()  # the system-wide clock bench/touch.py reads too


def application(environ, start_response):
    body = ("%s@%.6f\\n" % (VERSION, LOADED)).encode("ascii")
    start_response(
        "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    )
    return [body]
'''


def write(path: Path, version: str) -> None:
    """Rewrite in place: the same inode, truncated, one write, closed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, APP.format(version=version).encode())
    finally:
        os.close(fd)


def rename(path: Path, version: str) -> None:
    new = path.with_name(path.name + ".new")
    write(new, version)
    os.rename(new, path)


def touch(path: Path, version: str) -> None:
    """As touch(1): open for writing, set the times on the descriptor, close."""
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.utime(fd)
    finally:
        os.close(fd)


def utime(path: Path, version: str) -> None:
    os.utime(path)


CHANGERS: dict[str, Callable[[Path, str], None]] = {
    "write": write,
    "rename": rename,
    "touch": touch,
    "utime": utime,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Touch to new code, under a light load.")
    add = parser.add_argument
    add("--changes", type=int, default=8, help="changes of each kind (%(default)s)")
    add("--kinds", default=",".join(KINDS), help=f"a subset of {','.join(KINDS)}")
    add("--interval", type=float, default=1.5, help="seconds between changes (%(default)s)")
    add("--clients", type=int, default=2, help="keep-alive clients (%(default)s)")
    add(
        "--pause",
        type=float,
        default=0.005,
        help="each client's pause between requests (%(default)s)",
    )
    add("--processes", type=int, default=2, help="daemon processes (%(default)s)")
    add("--threads", type=int, default=4, help="threads per daemon process (%(default)s)")
    add("--warmup", type=float, default=2.0, help="seconds of load first (%(default)s)")
    add("--python", type=Path, help="interpreter for wsgihost (default: the bench venv's)")
    add("--json", type=Path, help="also write the figures and every change here")
    args = parser.parse_args(argv)
    kinds = args.kinds.split(",")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown --kinds {','.join(unknown)}; known: {','.join(KINDS)}")
    if args.changes < 1 or args.clients < 1 or args.interval <= 0:
        parser.error("--changes and --clients must be at least 1, --interval positive")
    args.kinds = kinds
    return args


def split(word: str) -> tuple[str, float]:
    """(VERSION, when the code answering was imported) from an answer."""
    version, _, loaded = word.strip().partition("@")
    try:
        return version, float(loaded)
    except ValueError:
        return version, 0.0


async def drive(
    port: int, script: Path, args: argparse.Namespace, settings: reload.Settings
) -> tuple[reload.LoadRecord, list[tuple[float, str, str]], float]:
    """Load the server and change the script on schedule: (record, changes, window start)."""
    record = reload.LoadRecord()
    plan = [kind for _ in range(args.changes) for kind in args.kinds]
    t0 = time.monotonic() + args.warmup
    stop_at = t0 + args.interval * (len(plan) + 1)
    load = reload.Load(port, settings, stop_at, record, args.pause)
    clients = [asyncio.create_task(load.client()) for _ in range(args.clients)]
    changes: list[tuple[float, str, str]] = []  # (when, kind, the version answering after)
    version = "v1"
    try:
        for index, kind in enumerate(plan, start=1):
            await asyncio.sleep(max(0.0, t0 + index * args.interval - time.monotonic()))
            if kind in ("write", "rename"):
                version = f"v{index + 1}"
            at = time.monotonic()
            CHANGERS[kind](script, version)
            changes.append((at, kind, version))
        await asyncio.gather(*clients)
    finally:
        for task in clients:
            task.cancel()
    return record, changes, t0


def analyse(
    record: reload.LoadRecord, changes: list[tuple[float, str, str]], t0: float
) -> dict[str, Any]:
    ok = [(start, end, *split(word)) for start, end, status, word in record.answers if status < 300]
    per_change = []
    nexts = [at for at, _, _ in changes[1:]] + [float("inf")]
    for (at, kind, version), until in zip(changes, nexts, strict=True):
        # Before the next change: a later change's new code must not count for this one.
        first = min(
            (e for _, e, v, loaded in ok if until > loaded >= at and v == version), default=None
        )
        per_change.append(
            {"kind": kind, "ms": None if first is None else round((first - at) * 1000, 1)}
        )
    kinds: dict[str, dict[str, Any]] = {}
    for kind in dict.fromkeys(c["kind"] for c in per_change):
        times = [c["ms"] for c in per_change if c["kind"] == kind]
        seen = [t for t in times if t is not None]
        kinds[kind] = {
            "changes": len(times),
            "never": len(times) - len(seen),
            "median_ms": round(statistics.median(seen), 1) if seen else None,
            "min_ms": min(seen, default=None),
            "max_ms": max(seen, default=None),
        }
    ends = sorted(end for _, end, _, _ in ok if end >= t0)
    gap, gap_at = max(((b - a, a) for a, b in itertools.pairwise(ends)), default=(0.0, t0))
    # Where it began, after which change: a gap that rolls cause comes soon after one.
    after = max((c for c in changes if c[0] <= gap_at), default=None, key=lambda c: c[0])
    measured = [a for a in record.answers if a[0] >= t0]
    return {
        "kinds": kinds,
        "answers": len(measured),
        "failed": sum(1 for a in measured if a[2] >= 300)
        + sum(1 for e in record.errors if e[0] >= t0),
        "longest_gap_ms": round(gap * 1000, 1),
        "longest_gap_after": (
            None if after is None else f"{(gap_at - after[0]) * 1000:.0f} ms after a {after[1]}"
        ),
        "changes": per_change,
    }


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def markdown(result: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        "## Touch to new code (bench/touch.py)",
        "",
        f"wsgihost daemon group, {args.processes} processes x {args.threads} threads; "
        f"{args.clients} keep-alive clients; a change every {args.interval:g} s.",
        "",
        "| change | changes | median ms | fastest ms | slowest ms | never answered |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, k in result["kinds"].items():
        lines.append(
            f"| {kind} | {k['changes']} | {ms(k['median_ms'])} | {ms(k['min_ms'])} "
            f"| {ms(k['max_ms'])} | {k['never']} |"
        )
    lines += [
        "",
        f"Answers: {result['answers']:,}; failed requests: {result['failed']}; "
        f"longest time with no answer: {result['longest_gap_ms']:.0f} ms"
        f" ({result['longest_gap_after'] or 'before the first change'}).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    servers.stop_on_signals()
    python = servers.chosen_python(args.python)
    if python is None:
        return 2
    settings = reload.Settings(
        duration=0.0,
        interval=args.interval,
        runs=1,
        clients=args.clients,
        warmup=args.warmup,
        settle=0.0,
        timeout=10.0,
        pause=0.0,
        processes=args.processes,
        threads=args.threads,
        import_seconds=0.0,
        python=python,
        startup_timeout=30.0,
    )
    with tempfile.TemporaryDirectory(prefix="wsgihost-touch-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # the front ends (User, when started as root) must get through
        plan = reload.plan_wsgihost(settings, work)
        write(plan.script, "v1")
        spec = next(s for s in reload.SERVER_SPECS if s.name == "wsgihost")
        server = reload.VersionedServer(spec, plan.launch, work / "server.log", "v1")
        try:
            server.start(settings.startup_timeout)
            assert server.port is not None
            record, changes, t0 = asyncio.run(drive(server.port, plan.script, args, settings))
            if not server.alive():
                raise servers.ServerFailed("died during the run")
        except (servers.ServerFailed, OSError) as exc:
            servers.say(f"wsgihost failed: {exc}\n{servers.tail(server.log_path)}")
            return 1
        finally:
            server.stop()
    result = analyse(record, changes, t0)
    print(markdown(result, args))
    if args.json:
        report = {"settings": vars(args) | {"python": str(python)}, **result}
        args.json.write_text(json.dumps(report, default=str, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    servers.entry_point(main, "Interrupted; the server was stopped.")
