#!/usr/bin/env python3
"""Where a front-end worker's memory goes: a worker built in this process, under tracemalloc.

    python bench/worker_memory.py                  # 1,000 idle connections, embedded mode
    python bench/worker_memory.py --connections 200 --top 25

Runs with the interpreter that runs it (use bench/.peers/venv/bin/python: uvloop and
httptools, as the servers). tracemalloc starts before wsgihost is imported; then this
process builds what ``python -m wsgihost.frontend`` builds, a ``Worker`` for ``wsgihost
serve hello.wsgi --embedded --threads 15`` (the model from the CLI's own serve_model),
on a listening socket of its own, and runs its event loop. Three snapshots:

1. **imports and start-up**: what the Python heap holds once the worker is ready,
   by file (module code, tables built at import, the worker's own state);
2. **per connection**: bench/idle_clients.py opens --connections keep-alive
   connections, each sends one ``GET /`` and then nothing; the growth of the Python
   heap, by line (the line that allocated, in wsgihost or the standard library),
   divided by the connections;
3. the RSS of this process at each step (VmRSS), beside the traced bytes: what
   tracemalloc cannot see (C allocations of uvloop, libuv and httptools, malloc's
   own overhead and fragmentation) is the difference.

No privileges are dropped and no logs installed; tracemalloc's own bookkeeping
inflates this process's RSS, so its RSS is not a server's: bench/idle_memory.py
measures that. Standard library only (beside wsgihost and what it needs).
"""

from __future__ import annotations

import tracemalloc

tracemalloc.start(8)  # before anything of wsgihost is imported

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
sys.path.append(str(BENCH_DIR.parent / "src"))  # after PYTHONPATH: another tree may go first

import servers  # noqa: E402
import uvloop  # noqa: E402

from wsgihost import cli  # noqa: E402
from wsgihost.frontend.worker import Worker  # noqa: E402


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def where(trace: tracemalloc.Traceback) -> str:
    """The innermost frame in wsgihost, and the innermost of all when it is elsewhere
    (the standard library's, say): the line that made the allocation, and why."""
    frames = list(trace)[::-1]  # tracemalloc lists the oldest first
    if not frames:
        return "?"
    ours = next((frame for frame in frames if "/wsgihost/" in frame.filename), None)
    inner = f"{frames[0].filename.rsplit('/', 1)[-1]}:{frames[0].lineno}"
    if ours is None:
        return inner
    place = f"{ours.filename.split('/src/')[-1]}:{ours.lineno}"
    return place if ours is frames[0] else f"{inner} via {place}"


def by_place(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> dict[str, list[int]]:
    """{place: [bytes, blocks]} of what after holds beyond before."""
    places: dict[str, list[int]] = {}
    for stat in after.compare_to(before, "traceback"):
        place = where(stat.traceback)
        entry = places.setdefault(place, [0, 0])
        entry[0] += stat.size_diff
        entry[1] += stat.count_diff
    return places


async def hold(port: int, count: int) -> tuple[asyncio.subprocess.Process, int]:
    helper = await asyncio.create_subprocess_exec(
        sys.executable,
        str(BENCH_DIR / "idle_clients.py"),
        "--port",
        str(port),
        "--count",
        str(count),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert helper.stdout is not None
    line = (await helper.stdout.readline()).decode()
    if not line.startswith("READY "):
        raise SystemExit(f"idle_clients.py said {line!r}")
    return helper, int(line.split()[1])


async def measure(worker: Worker, port: int, args: argparse.Namespace) -> None:
    task = asyncio.ensure_future(worker.run())
    await asyncio.sleep(0.5)
    first, _ = await hold(port, 2)  # requests first: the app and the code paths are loaded
    await asyncio.sleep(1.0)
    gc.collect()
    started, rss_started = tracemalloc.take_snapshot(), rss_kb()
    helper, held = await hold(port, args.connections)
    await asyncio.sleep(1.0)
    gc.collect()
    loaded, rss_loaded = tracemalloc.take_snapshot(), rss_kb()
    for process in (helper, first):
        await process.communicate()  # closes its stdin: it lets go and reports
    worker.stop("done")
    await task

    total = sum(stat.size for stat in started.statistics("filename"))
    print(f"## A front-end worker under tracemalloc ({sys.version.split()[0]})\n")
    print(f"Ready, after one request: {total / 1e6:.1f} MB traced, RSS {rss_started / 1e3:.1f} MB")
    print(f"\n### The Python heap at start, by file (top {args.top})\n")
    print("| file | KB | blocks |\n|---|--:|--:|")
    for stat in started.statistics("filename")[: args.top]:
        name = stat.traceback[0].filename
        name = name.split("/src/")[-1] if "/wsgihost/" in name else name.rsplit("/", 3)[-1]
        print(f"| {name} | {stat.size / 1e3:,.0f} | {stat.count:,} |")
    places = by_place(started, loaded)
    grown = sum(size for size, _ in places.values())
    print(
        f"\n### Per connection: {held:,} idle keep-alive connections held\n\n"
        f"Traced growth {grown / 1e3:,.0f} KB ({grown / max(held, 1):,.0f} bytes per "
        f"connection); RSS growth {rss_loaded - rss_started:,} KB "
        f"({(rss_loaded - rss_started) * 1024 / max(held, 1):,.0f} bytes per connection)\n"
    )
    print("| allocated at | bytes per connection | blocks per connection |\n|---|--:|--:|")
    ranked = sorted(places.items(), key=lambda item: -item[1][0])
    for place, (size, count) in ranked[: args.top]:
        print(f"| {place} | {size / max(held, 1):,.0f} | {count / max(held, 1):.2f} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--top", type=int, default=20, help="rows per table (%(default)s)")
    args = parser.parse_args(argv)
    servers.raise_open_files(4 * args.connections + 1024)
    with tempfile.TemporaryDirectory(prefix="wsgihost-worker-memory-") as tmp:
        script = Path(tmp) / "hello.wsgi"
        script.write_bytes((BENCH_DIR / "apps" / "hello.wsgi").read_bytes())
        listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
        port = listener.getsockname()[1]
        serve = ["serve", str(script), "--embedded", "--processes", "1", "--threads", "15"]
        model = cli.serve_model(cli.build_parser().parse_args([*serve, "--port", str(port)]))
        model = cli.run_as(model, None, None, root=False)[0]
        channel, master_end = socket.socketpair()
        loop = uvloop.new_event_loop()
        asyncio.set_event_loop(loop)
        worker = Worker(model, [os.dup(listener.fileno())], channel, loop)
        loop.run_until_complete(measure(worker, port, args))
        master_end.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
