#!/usr/bin/env python3
"""mod_deflate: memory while a slow client reads a large compressed response, and
compressed JSON requests/s, wsgihost beside Apache + mod_wsgi on one config.

Issue 18's acceptance for mod_deflate: "memory stays flat while a 1 GB response
is compressed to a slow client". Both servers read the same site file
(``AddOutputFilterByType DEFLATE text/plain application/json``) and run the
same generated app, in daemon mode or embedded. For each server, one after the
other:

1. a client asks for ``--size`` bytes of an app's streamed text/plain response
   with ``Accept-Encoding: gzip`` and reads the compressed bytes at
   ``--rate`` bytes/s (a slow client), inflating them as they come to check
   every byte; meanwhile the server's processes' RSS is sampled every
   ``--interval`` s. Two bodies: ``text`` (repeated lines: zlib makes ~1000:1
   of it) and ``noisy`` (random printable bytes: ~0.8:1, so the compressed
   stream is nearly as large as the body and the client's pace rules);
2. wrk's keep-alive load on ``/json`` (a 20 kB JSON document, compressed),
   requests/s, taking turns between the servers.

It prints, per server and body, the RSS before, the peak during the read and
the growth, with the time taken; then the JSON medians and their ratio.

    python bench/deflate.py                                   # the final run: 1 GB
    python bench/deflate.py --size 20e6 --rate 20e6 --rounds 1 --duration 2   # smoke

The text body's compressed stream is about 1/300 of ``--size`` (1 GB: about
3.3 MB, some 65 s at the default ``--rate`` of 50 kB/s); the noisy body's is
about 0.8 of it (1 GB: some 20 s at the default ``--noisy-rate``, 50 MB/s).
Run it once per mode for the acceptance figures:

    python bench/deflate.py && python bench/deflate.py --mode embedded
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import modules
import servers
from modules import wrk
from servers import APACHE_MODULES, HOST, MB, RunningServer, say

APP = '''\
"""bench/deflate.py's app: hello world at /, a streamed body at /stream, JSON at /json."""
import json
import random
from urllib.parse import parse_qs

LINE = b"The quick brown fox jumps over the lazy dog; pack my box with jugs.\\n"
TEXT = LINE * (65536 // len(LINE) + 1)
_rng = random.Random(18)
# Sixteen 64 KiB blocks of random printable bytes: repeats lie past zlib's
# 32 KiB window, so the stream stays hard to compress.
NOISY = [bytes(_rng.randrange(32, 127) for _ in range(65536)) for _ in range(16)]
DOCUMENT = json.dumps(
    {"items": [{"id": i, "name": f"item {i}", "tags": ["a", "b"], "price": i * 1.5}
               for i in range(300)]}
).encode()


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/json":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [DOCUMENT]
    if path == "/stream":
        query = parse_qs(environ.get("QUERY_STRING", ""))
        size = int(float(query.get("size", ["1e6"])[0]))
        noisy = query.get("kind", ["text"])[0] == "noisy"
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body():
            sent, i = 0, 0
            while sent < size:
                block = NOISY[i % 16] if noisy else TEXT[:65536]
                block = block[: size - sent]
                sent += len(block)
                i += 1
                yield block

        return body()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, World!\\n"]
'''

# The modules' lines, in bench/modules.py's site in place of its Header lines.
DEFLATE_LINES = """\
LoadModule filter_module {modules}/mod_filter.so
LoadModule deflate_module {modules}/mod_deflate.so
AddOutputFilterByType DEFLATE text/plain application/json
DeflateCompressionLevel {level}
"""


def site(run_dir: Path, port: int, args: argparse.Namespace, app: Path) -> str:
    """bench/modules.py's site (hello world's budget and keep-alive settings) with
    mod_deflate's lines for its module lines."""
    return modules.SITE.format(
        run_dir=run_dir,
        host=HOST,
        port=port,
        identity="User www-data\nGroup www-data" if os.geteuid() == 0 else "",
        modules=APACHE_MODULES,
        processes=args.processes,
        threads=args.threads,
        total=args.processes * args.threads,
        wsgi=(
            modules.DAEMON_LINES.format(processes=args.processes, threads=args.threads)
            if args.mode == "daemon"
            else ""
        ),
        app=app,
        app_dir=app.parent,
        module_lines=DEFLATE_LINES.format(modules=APACHE_MODULES, level=args.level),
    )


def slow_read(port: int, size: int, kind: str, rate: float, timeout: float) -> dict[str, Any]:
    """GET /stream with gzip accepted, reading at ``rate`` bytes/s; inflates and checks
    the length. A small receive buffer, so the server feels the pace."""
    sock = socket.create_connection((HOST, port), timeout=timeout)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    request = (
        f"GET /stream?size={size}&kind={kind} HTTP/1.1\r\nHost: {HOST}\r\n"
        "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(request.encode())
    began = time.monotonic()
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        more = sock.recv(65536)
        if not more:
            raise servers.ServerFailed("the connection closed before the head")
        buffer += more
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").lower().split("\r\n")
    if "content-encoding: gzip" not in lines or "transfer-encoding: chunked" not in lines:
        raise servers.ServerFailed(f"not a chunked gzip answer: {lines}")
    inflate = zlib.decompressobj(31)
    pending, inflated, wire = rest, 0, len(rest)
    step = 16 * 1024
    while True:
        # Chunked framing: size line, data, CRLF; 0 ends it.
        while b"\r\n" not in pending:
            more = sock.recv(step)
            if not more:
                raise servers.ServerFailed("the connection closed mid-body")
            wire += len(more)
            pending += more
        line, _, pending = pending.partition(b"\r\n")
        length = int(line.split(b";")[0], 16)
        if length == 0:
            break
        while len(pending) < length + 2:
            more = sock.recv(step)
            if not more:
                raise servers.ServerFailed("the connection closed mid-chunk")
            wire += len(more)
            pending += more
            # The client's pace: sleep until the bytes read so far are "due".
            due = began + wire / rate
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
        inflated += len(inflate.decompress(pending[:length]))
        pending = pending[length + 2 :]
    inflated += len(inflate.flush())
    sock.close()
    if inflated != size:
        raise servers.ServerFailed(f"inflated {inflated} bytes, not {size}")
    return {"seconds": time.monotonic() - began, "wire_bytes": wire}


class Sampler:
    """The server's processes' total RSS every ``interval`` s, on a thread."""

    def __init__(self, family: str, pid: int, interval: float) -> None:
        self.family, self.pid, self.interval = family, pid, interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            snapshot = servers.memory_snapshot(self.family, self.pid)
            self.samples.append((time.monotonic(), sum(p["rss_mb"] for p in snapshot)))
            self._stop.wait(self.interval)


def memory_run(server: RunningServer, args: argparse.Namespace, kind: str) -> dict[str, Any]:
    assert server.process is not None and server.port is not None
    family = "wsgihost" if server.name == "wsgihost" else "apache"
    rate = args.rate if kind == "text" else args.noisy_rate
    before = sum(p["rss_mb"] for p in servers.memory_snapshot(family, server.process.pid))
    with Sampler(family, server.process.pid, args.interval) as sampler:
        read = slow_read(server.port, int(args.size), kind, rate, args.timeout)
    peak = max(mb for _, mb in sampler.samples)
    return {
        "before_mb": before,
        "peak_mb": peak,
        "growth_mb": peak - before,
        "samples": len(sampler.samples),
        **read,
    }


def check_json(port: int) -> None:
    sock = socket.create_connection((HOST, port), timeout=10)
    sock.sendall(f"GET /json HTTP/1.1\r\nHost: {HOST}\r\nAccept-Encoding: gzip\r\n\r\n".encode())
    head = sock.recv(65536).split(b"\r\n\r\n")[0].lower()
    sock.close()
    if b"content-encoding: gzip" not in head:
        raise servers.ServerFailed(f"/json is not compressed: {head!r}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("daemon", "embedded"), default="daemon")
    parser.add_argument("--size", type=float, default=1e9, help="bytes of each streamed body")
    parser.add_argument("--rate", type=float, default=50e3, help="text body: bytes/s read")
    parser.add_argument("--noisy-rate", type=float, default=50e6, help="noisy body: bytes/s")
    parser.add_argument("--bodies", default="text,noisy")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--level", type=int, default=6, help="DeflateCompressionLevel")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--pause", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=15)
    parser.add_argument("--servers", default="wsgihost,apache")
    parser.add_argument(
        "--identity",
        action="store_true",
        help="the JSON part without Accept-Encoding (not compressed), for a baseline",
    )
    parser.add_argument("--python", type=Path, default=Path(sys.executable))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    servers.stop_on_signals()
    work = Path(tempfile.mkdtemp(prefix="wsgihost-bench-deflate-"))
    running: list[RunningServer] = []
    try:
        work.chmod(0o755)
        (work / "app").mkdir(mode=0o755)
        app = work / "app" / "deflate.wsgi"
        app.write_text(APP)
        app.chmod(0o644)
        for name in args.servers.split(","):
            launch = modules.launch_for(
                name, work, args.python, lambda run_dir, port: site(run_dir, port, args, app)
            )
            server = RunningServer(name, launch, work / f"{name}.log")
            running.append(server)
            server.start(60.0)
        size_text = f"{args.size / MB:,.0f} MB"
        say(f"a slow client reading {size_text} compressed, {args.mode} mode")
        for kind in args.bodies.split(","):
            for server in running:
                got = memory_run(server, args, kind)
                say(
                    f"  {server.name:9} {kind:6} RSS {got['before_mb']:,.1f} -> peak "
                    f"{got['peak_mb']:,.1f} MB (growth {got['growth_mb']:+,.1f}); "
                    f"{got['wire_bytes'] / MB:,.1f} MB on the wire in {got['seconds']:,.1f} s"
                )
        accept = None if args.identity else GZIP
        for server in running:
            if accept is not None:
                check_json(server.port or 0)
            wrk(server, args.warmup, args.connections, "/json", accept)
        figures = modules.take_turns(
            running,
            args.rounds,
            args.pause,
            lambda server: wrk(server, args.duration, args.connections, "/json", accept),
        )
        what = "JSON (20 kB), not compressed" if args.identity else "compressed JSON (20 kB)"
        say(f"{what}, keep-alive, {args.rounds} rounds")
        modules.say_medians(figures)
        return 0
    except (servers.ServerFailed, servers.Unavailable, OSError) as e:
        say(f"failed: {e!r}")
        return 1
    finally:
        for server in running:
            server.stop()
        if os.environ.get("WSGIHOST_BENCH_KEEP"):
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


GZIP = ("Accept-Encoding", "gzip")

if __name__ == "__main__":
    servers.entry_point(main, "Interrupted; the servers were stopped.")
