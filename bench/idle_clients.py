#!/usr/bin/env python3
"""Hold many idle keep-alive connections open to a server (bench/run.py's idle scenario).

Runs as a process of its own beside wrk::

    python bench/idle_clients.py --port 8000 --count 1000

Each of --count slots connects, sends one ``GET`` (HTTP/1.1, keep-alive), reads the
whole answer and then keeps the connection open, sending nothing more: an idle
keep-alive client. When the server closes a slot's connection (its keep-alive
timeout, a server that does not keep connections alive), the slot connects again
and asks again, but no sooner than --reopen-after seconds after its last connect,
so that a server that closes at once is not flooded with new connections.

Once every slot has had its first answer or failure (or --ready-timeout has passed),
it prints ``READY <held>`` on stdout. It then holds the connections until its standard input
closes (or SIGTERM), and prints one line ``IDLE_JSON {...}``: the slots, how many
were held at READY, the fewest and the median held while it ran (sampled every
50 ms), how many were held at the end, how many reconnects it made and how many
connects or requests failed. Standard library only; raises its own open-files limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import signal
import statistics
import sys
import time
from collections.abc import Sequence

SAMPLE_SECONDS = 0.05
CONNECT_CONCURRENCY = 64  # connects in flight while opening: no SYN storm


def raise_open_files(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


class Slots:
    """The state shared by the slots: how many hold a connection, what happened."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.held = 0
        self.first_tries = 0  # slots past their first connect and request
        self.reconnects = 0
        self.failures = 0
        self.all_tried = asyncio.Event()
        self.stop = asyncio.Event()


async def read_answer(reader: asyncio.StreamReader) -> bool:
    """Read one whole answer (Content-Length or chunked); whether the server keeps the line."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    if "chunked" in headers.get("transfer-encoding", ""):
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    keep = "close" not in headers.get("connection", "")
    return keep and not lines[0].startswith("HTTP/1.0")


async def slot(
    slots: Slots,
    host: str,
    port: int,
    request: bytes,
    gate: asyncio.Semaphore,
    args: argparse.Namespace,
) -> None:
    last_connect = -1e9
    first = True
    while not slots.stop.is_set():
        wait = last_connect + args.reopen_after - time.monotonic()
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(slots.stop.wait(), wait)
            continue
        last_connect = time.monotonic()
        writer: asyncio.StreamWriter | None = None
        try:
            async with gate:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port), args.timeout
                )
                writer.write(request)
                keep = await asyncio.wait_for(read_answer(reader), args.timeout)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            slots.failures += 1
            keep = False
        if first:
            first = False
            slots.first_tries += 1
            if slots.first_tries == slots.count:
                slots.all_tried.set()
        else:
            slots.reconnects += 1
        if keep and writer is not None:
            slots.held += 1
            try:
                # Idle: nothing is sent; b"" (or an error) when the server closes.
                closed = asyncio.ensure_future(reader.read(1))
                stopping = asyncio.ensure_future(slots.stop.wait())
                await asyncio.wait({closed, stopping}, return_when=asyncio.FIRST_COMPLETED)
                closed.cancel()
                stopping.cancel()
            finally:
                slots.held -= 1
        if writer is not None:
            writer.close()


async def hold(args: argparse.Namespace) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    slots = Slots(args.count)
    request = (
        f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
        "User-Agent: idle_clients.py\r\n\r\n"
    ).encode()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    tasks = [
        asyncio.create_task(slot(slots, args.host, args.port, request, gate, args))
        for _ in range(args.count)
    ]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(slots.all_tried.wait(), args.ready_timeout)
    held_at_ready = slots.held
    print(f"READY {held_at_ready}", flush=True)

    # Until stdin closes (the benchmark is done with wrk) or SIGTERM.
    stdin_closed = asyncio.Event()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def watch_stdin() -> None:
        while await reader.read(4096):
            pass
        stdin_closed.set()

    watcher = asyncio.create_task(watch_stdin())
    loop.add_signal_handler(signal.SIGTERM, stdin_closed.set)
    samples: list[int] = []
    while not stdin_closed.is_set():
        samples.append(slots.held)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stdin_closed.wait(), SAMPLE_SECONDS)
    held_at_end = slots.held
    slots.stop.set()
    watcher.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "slots": args.count,
        "held_at_ready": held_at_ready,
        "held_min": min(samples, default=held_at_end),
        "held_median": statistics.median(samples) if samples else held_at_end,
        "held_at_end": held_at_end,
        "reconnects": slots.reconnects,
        "failures": slots.failures,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Hold idle keep-alive connections open.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--count", type=int, default=1000, help="connections (%(default)s)")
    parser.add_argument(
        "--reopen-after",
        type=float,
        default=1.0,
        help="a slot connects at most once per this many seconds (%(default)s)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="per connect or answer")
    parser.add_argument(
        "--ready-timeout", type=float, default=20.0, help="READY after this at the latest"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    raise_open_files(args.count + 64)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the benchmark stops us; Ctrl-C is its
    result = asyncio.run(hold(args))
    print("IDLE_JSON " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
