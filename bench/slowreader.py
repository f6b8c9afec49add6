#!/usr/bin/env python3
"""Slow reader: how much memory does a server take while one client reads a large stream slowly?

One command::

    python bench/slowreader.py                         # 256 MB at 1 MB/s, about 9 min
    python bench/slowreader.py --size 16 --rate 4      # a smoke run, a few seconds per server
    python bench/slowreader.py --servers wsgihost,apache-mod_wsgi   # embedded mode

Issue 11: a streamed response used to be buffered whole in wsgihost's front end (a
300 MB stream to a 100 KB/s client grew one front-end worker by 320 MB). Its
acceptance: the server's total memory under a slow reader (about 1 MB/s) of a 256 MB
stream, beside Apache; growth under 64 MB.

For each server (started afresh as bench/run.py starts it, 2 processes x 15 threads;
by default wsgihost and Apache + mod_wsgi in daemon mode, optionally both in embedded
mode), one connection asks for ``GET /stream?size=N`` (bench/apps/hello.wsgi: a
generator of 64 KiB blocks, no Content-Length) and reads it at --rate, 64 KiB reads
paced by the clock, checking every byte. Meanwhile the resident memory of every one of
the server's processes is sampled every 0.5 s: the baseline is the median over a few
quiet seconds after a warm-up, the peak the largest total during the read. Reported:
growth (peak - baseline) against the target, its ratio to Apache's, which role and
which process grew, and how far ahead of the reader the app got (each block says when
the app yielded it).

The report goes to stdout and bench/results/slowreader-TIME.md beside its JSON;
progress goes to stderr. bench/README.md says more.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import os
import runpy
import socket
import stat
import statistics
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import run
import servers
from report import DAEMON, EMBEDDED, MET, MISSING
from servers import HOST, MB, RunningServer, ServerFailed, Unavailable, say

TARGET_MB = 64.0  # issue 11: growth under 64 MB
# The four servers this benchmark can run: bench/run.py's, by its names. Daemon mode
# is what the issue measures; embedded mode is there for comparison.
NAMES = ("wsgihost-daemon", "apache-mod_wsgi-daemon", "wsgihost", "apache-mod_wsgi")
DEFAULT_NAMES = NAMES[:2]


def plan_wsgihost_daemon(settings: run.Settings, work: Path) -> servers.Launch:
    """run.py's daemon group, from a site file, with request-timeout off as in Apache.

    wsgihost's request-timeout defaults to mod_wsgi-express's 60 s and cuts a longer
    response; mod_wsgi's own default, Apache's here, is off. `serve` has no flag for
    it, hence the file (the shape of reload.py's).
    """
    launch = run.plan_wsgihost(settings, work, DAEMON)
    config = work / "wsgihost-site.conf"
    config.write_text(
        f"""\
# Written by bench/slowreader.py for one run. ${{PORT}} comes from the environment.
Listen {HOST}:${{PORT}}
WSGIDaemonProcess bench processes={settings.processes} threads={settings.threads} \\
    request-timeout=0
WSGIProcessGroup bench
WSGIScriptAlias / {work / "app" / "hello.wsgi"}
"""
    )
    launch.env["PORT"] = str(servers.free_port())
    serve = launch.argv.index("serve")
    launch.argv[serve + 1 :] = ["--config", str(config)]
    launch.budget += "; request-timeout=0"
    return launch


KINDS = sorted(
    (
        dataclasses.replace(kind, plan=plan_wsgihost_daemon)
        if kind.name == "wsgihost-daemon"
        else kind
        for kind in run.SERVER_KINDS
        if kind.name in NAMES
    ),
    key=lambda k: NAMES.index(k.name),
)
APACHE = {DAEMON: "apache-mod_wsgi-daemon", EMBEDDED: "apache-mod_wsgi"}  # ratios are to these
PROGRESS_SECONDS = 15.0  # how often a line of progress goes to stderr during a read
# The baseline waits for the server to be quiet: its total RSS within QUIET_MB over
# --settle seconds (wsgihost's processes give freed heap back a moment after work, so
# the warm-up's leftovers must be gone first), for at most QUIET_MAX seconds more.
QUIET_MB = 0.25
QUIET_MAX = 30.0

# What the app sends, from the app itself, so that the reader checks exactly that.
_APP = runpy.run_path(str(run.APP_SOURCE))
BLOCK: int = _APP["STREAM_BLOCK"]
HEADER: struct.Struct = _APP["STREAM_HEADER"]
FILLER: bytes = _APP["STREAM_FILLER"]


@dataclass(frozen=True)
class Settings:
    servers: tuple[str, ...]
    size: int  # bytes of the measured stream
    rate: float  # bytes per second the reader takes
    read_size: int  # bytes per recv()
    warmup_size: int  # bytes of each warm-up stream, read at once
    settle: float  # quiet seconds after the warm-up: the baseline's samples
    quiet_mb: float  # how far the total RSS may move in those seconds
    after: float  # seconds sampled after the read
    interval: float  # seconds between memory samples
    processes: int
    threads: int
    python: Path
    startup_timeout: float
    timeout: float  # seconds a recv() may wait


@dataclass
class ServerRecord(run.ServerRecord):
    """run.py's record of a server (its memory and not_run stay empty), and this run's."""

    warmup: dict[str, Any] = field(default_factory=dict)
    quiet: bool = False  # the baseline's samples were within quiet_mb of each other
    stream: dict[str, Any] = field(default_factory=dict)  # Reader.figures()
    rss: dict[str, Any] = field(default_factory=dict)  # rss_figures()
    samples: list[dict[str, Any]] = field(default_factory=list)


def run_settings(settings: Settings) -> run.Settings:
    """run.py's settings for its planners: its defaults, with this budget and interpreter."""
    args = run.parse_args(
        [
            "--scenarios",
            "keepalive",
            "--processes",
            str(settings.processes),
            "--threads",
            str(settings.threads),
            "--startup-timeout",
            str(settings.startup_timeout),
        ]
    )
    return run.settings_from(args, settings.python)


def closed_to_others(python: Path) -> str:
    """A directory on python's way that other users cannot enter, or "".

    Started as root, wsgihost runs its front ends and daemon processes as the web user
    (www-data), as Apache runs its children: they must be able to run python, and a
    venv of a pyenv build under /root (mode 0700) is out of their reach.
    """
    for path in (Path(os.path.abspath(python)), Path(os.path.realpath(python))):
        for directory in reversed(path.parents):
            with contextlib.suppress(OSError):
                if not os.stat(directory).st_mode & stat.S_IXOTH:
                    return str(directory)
    return ""


# --------------------------------------------------------------------------- the reader


class BadStream(Exception):
    """The answer is not the stream the app sends; the message says where it differs."""


class Chunked:
    """Decodes a chunked body (RFC 9112, section 7.1) fed in pieces of any size."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._left = 0  # bytes of the current chunk still to come
        self._state = "size"  # size | data | crlf | trailer
        self.done = False

    def feed(self, data: bytes) -> bytes:
        self._buffer += data
        out = bytearray()
        while not self.done:
            if self._state == "data":
                take = min(self._left, len(self._buffer))
                if not take:
                    break
                out += self._buffer[:take]
                del self._buffer[:take]
                self._left -= take
                if not self._left:
                    self._state = "crlf"
                continue
            end = self._buffer.find(b"\r\n")
            if end < 0:
                if len(self._buffer) > 4096:
                    raise BadStream(f"no CRLF in {len(self._buffer)} bytes ({self._state})")
                break
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 2]
            if self._state == "crlf":
                if line:
                    raise BadStream(f"chunk data followed by {line[:40]!r}, not CRLF")
                self._state = "size"
            elif self._state == "size":
                try:
                    self._left = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise BadStream(f"chunk size line {line[:40]!r}") from None
                self._state = "data" if self._left else "trailer"
            elif not line:  # the empty line that ends the trailer
                self.done = True
        if self.done and self._buffer:
            raise BadStream(f"{len(self._buffer)} bytes after the last chunk")
        return bytes(out)


@dataclass(frozen=True)
class Block:
    offset: int
    length: int
    yielded_at: float  # the app's time.monotonic() when it yielded the block
    pid: int  # the app's process
    read_at: float  # when the reader had its last byte


class Reader:
    """One ``GET /stream?size=N`` on a connection of its own, read at rate bytes/s.

    rate None reads as fast as the server sends. The payload is checked block by
    block against what the app sends (each block's offset, then its filler bytes);
    payload and wire are read by the memory sampler's thread as the read goes.
    """

    def __init__(
        self, port: int, size: int, rate: float | None, read_size: int, timeout: float
    ) -> None:
        self.port = port
        self.size = size
        self.rate = rate
        self.read_size = read_size
        self.timeout = timeout
        self.payload = 0  # body bytes received
        self.wire = 0  # bytes received, head and chunk framing included
        self.checked = 0  # body bytes checked (whole blocks)
        self.blocks: list[Block] = []
        self.framing = ""
        self.started_at = 0.0
        self.ended_at = 0.0
        self.error = ""
        self._pending = bytearray()  # payload not yet a whole block

    def run(self) -> Reader:
        """Reads the whole stream; errors end up in self.error, never raised."""
        try:
            self._read()
        except (OSError, BadStream) as exc:
            self.error = str(exc) or type(exc).__name__
        self.ended_at = time.monotonic()
        if not self.error and self.checked != self.size:
            self.error = f"{self.checked:,} of {self.size:,} bytes"
        return self

    def _read(self) -> None:
        request = (
            f"GET /stream?size={self.size} HTTP/1.1\r\nHost: {HOST}\r\n"
            "User-Agent: slowreader.py\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection((HOST, self.port), timeout=self.timeout) as sock:
            sock.sendall(request)
            self.started_at = time.monotonic()
            head = bytearray()
            while b"\r\n\r\n" not in head:
                data = self._recv(sock)
                if not data:
                    raise BadStream(f"closed before the end of the head: {bytes(head[:80])!r}")
                head += data
            head_bytes, _, rest = bytes(head).partition(b"\r\n\r\n")
            chunked, left = self._framing(head_bytes)
            data = rest
            while True:
                body = chunked.feed(data) if chunked else data[:left]
                if left is not None and not chunked:
                    left -= len(body)
                self._take(body)
                if (chunked and chunked.done) or left == 0:
                    break
                data = self._recv(sock)
                if not data:
                    if chunked or left:
                        raise BadStream("closed before the end of the body")
                    break
        if self._pending:
            raise BadStream(f"{len(self._pending)} bytes past {self.size:,}")

    def _framing(self, head: bytes) -> tuple[Chunked | None, int | None]:
        """(a chunked decoder, or None and the body's length, None: up to the close)."""
        status_line, *lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or parts[1] != "200":
            raise BadStream(f"answered {status_line!r}")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        if "chunked" in headers.get("transfer-encoding", ""):
            self.framing = "chunked"
            return Chunked(), None
        if "content-length" in headers:
            self.framing = "Content-Length"
            return None, int(headers["content-length"])
        self.framing = "up to the close"
        return None, None

    def _recv(self, sock: socket.socket) -> bytes:
        if self.rate:
            # Paced by the clock: the n-th byte is not taken before started + n / rate.
            delay = self.started_at + self.wire / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        data = sock.recv(self.read_size)
        self.wire += len(data)
        return data

    def _take(self, payload: bytes) -> None:
        self.payload += len(payload)
        self._pending += payload
        now = time.monotonic()
        while True:
            length = min(BLOCK, self.size - self.checked)
            if length <= 0 or len(self._pending) < length:
                return
            block = bytes(self._pending[:length])
            del self._pending[:length]
            self._check(block, now)
            self.checked += length

    def _check(self, block: bytes, now: float) -> None:
        offset, length = self.checked, len(block)
        if length < HEADER.size:  # a last block shorter than a header: its offset's bytes
            if block[:8] != offset.to_bytes(8, "big")[:length]:
                raise BadStream(f"the last {length} bytes, at {offset:,}, are wrong")
            return
        said, yielded_at, pid = HEADER.unpack_from(block)
        if said != offset:
            raise BadStream(f"the block at {offset:,} says it is at {said:,}")
        if block[HEADER.size :] != FILLER[HEADER.size : length]:
            raise BadStream(f"the block at {offset:,} has wrong bytes")
        self.blocks.append(Block(offset, length, yielded_at, pid, now))

    def figures(self) -> dict[str, Any]:
        seconds = max(self.ended_at - self.started_at, 1e-9)
        ahead = app_ahead(self.blocks)
        return {
            "bytes": self.size,
            "checked": self.checked,
            "complete": not self.error,
            "error": self.error,
            "framing": self.framing,
            "seconds": round(seconds, 2),
            "mb_per_s": round(self.payload / seconds / MB, 3),
            "app_pids": sorted({block.pid for block in self.blocks}),
            "app_ahead_mb": {
                "median": round(statistics.median(ahead) / MB, 2),
                "max": round(max(ahead) / MB, 2),
            }
            if ahead
            else None,
        }


def app_ahead(blocks: Sequence[Block]) -> list[int]:
    """For each block, when the reader had it: bytes the app had yielded beyond it.

    What the server (and the kernel's socket buffers on both sides) held for the
    reader at that moment, seen from the app's side. The app's clock and ours are the
    machine's one CLOCK_MONOTONIC.
    """
    ahead: list[int] = []
    yielded = 0
    next_block = 0
    for block in blocks:
        while next_block < len(blocks) and blocks[next_block].yielded_at <= block.read_at:
            yielded += blocks[next_block].length
            next_block += 1
        ahead.append(yielded - (block.offset + block.length))
    return ahead


# --------------------------------------------------------------------------- memory


class Sampler:
    """The server's processes' RSS every interval, from a thread of this process.

    Each sample notes the phase it was taken in (settle, read, after), so the
    baseline and the peak come from the right ones; settle samples from before the
    server was quiet become "warm-down".
    """

    def __init__(
        self, name: str, family: str, main_pid: int, interval: float, reader: Callable[[], Reader]
    ) -> None:
        self.name = name
        self.family = family
        self.main_pid = main_pid
        self.interval = interval
        self.reader = reader  # the current read, for its progress
        self.phase = "settle"
        self.samples: list[dict[str, Any]] = []
        self.processes: dict[int, dict[str, str]] = {}  # pid: role and title
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._last_said = time.monotonic()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def settle(self, seconds: float, tolerance: float, longest: float) -> bool:
        """Waits until the total RSS has moved at most tolerance MB over seconds; whether it did.

        Gives up after seconds + longest. The settle samples before the last seconds
        become "warm-down": the baseline is the median of the quiet ones.
        """
        begun = time.monotonic()
        quiet = False
        while True:
            time.sleep(self.interval)
            now = time.monotonic()
            window = [s for s in self.samples if s["t"] >= now - seconds]
            if now - begun >= seconds and len(window) >= 2:
                totals = [s["total_mb"] for s in window]
                quiet = max(totals) - min(totals) <= tolerance
            if quiet or now - begun >= seconds + longest:
                for sample in self.samples:
                    if sample["t"] < now - seconds:
                        sample["phase"] = "warm-down"
                return quiet

    def _run(self) -> None:
        while True:
            self._take()
            if self._stop.wait(self.interval):
                return

    def _take(self) -> None:
        snapshot = servers.memory_snapshot(self.family, self.main_pid)
        for process in snapshot:
            self.processes.setdefault(
                process["pid"], {"role": process["role"], "title": process["title"]}
            )
        reader = self.reader()
        sample = {
            "t": time.monotonic(),
            "phase": self.phase,
            "read_mb": round(reader.payload / MB, 3),
            "total_mb": round(sum(p["rss_mb"] for p in snapshot), 2),
            "rss_mb": {str(p["pid"]): p["rss_mb"] for p in snapshot},
        }
        self.samples.append(sample)
        if self.phase == "read" and sample["t"] - self._last_said >= PROGRESS_SECONDS:
            self._last_said = sample["t"]
            say(
                f"  {self.name}: {sample['read_mb']:,.0f} of {reader.size / MB:,.0f} MB read, "
                f"total RSS {sample['total_mb']:,.1f} MB"
            )


def rss_figures(
    samples: Sequence[dict[str, Any]], processes: dict[int, dict[str, str]]
) -> dict[str, Any]:
    """Baseline (median of the settle samples), peak (during the read), growth; per role and pid."""
    settle = [s for s in samples if s["phase"] == "settle"]
    reading = [s for s in samples if s["phase"] == "read"]
    after = [s for s in samples if s["phase"] == "after"]
    if not settle or not reading:
        raise ServerFailed("too few memory samples (is --interval longer than --settle?)")
    warm_down = [s for s in samples if s["phase"] == "warm-down"]

    def role_total(sample: dict[str, Any], role: str) -> float:
        rss: dict[str, float] = sample["rss_mb"]
        return sum(mb for pid, mb in rss.items() if processes[int(pid)]["role"] == role)

    def pid_mb(sample: dict[str, Any], pid: int) -> float:
        value: float = sample["rss_mb"].get(str(pid), 0.0)
        return value

    baseline = statistics.median(s["total_mb"] for s in settle)
    peak = max(reading, key=lambda s: s["total_mb"])
    roles = {}
    for role in sorted({info["role"] for info in processes.values()}):
        role_base = statistics.median(role_total(s, role) for s in settle)
        role_peak = max(role_total(s, role) for s in reading)
        roles[role] = {
            "processes": sum(1 for info in processes.values() if info["role"] == role),
            "baseline_mb": round(role_base, 2),
            "peak_mb": round(role_peak, 2),
            "growth_mb": round(role_peak - role_base, 2),
        }
    pids: list[dict[str, Any]] = []
    for pid, info in processes.items():
        pid_base = statistics.median(pid_mb(s, pid) for s in settle)
        pid_peak = max(pid_mb(s, pid) for s in reading)
        pids.append(
            {
                "pid": pid,
                **info,
                "baseline_mb": round(pid_base, 2),
                "peak_mb": round(pid_peak, 2),
                "growth_mb": round(pid_peak - pid_base, 2),
            }
        )
    pids.sort(key=lambda p: -p["growth_mb"])
    start = reading[0]["t"]
    return {
        "baseline_mb": round(baseline, 2),
        "peak_mb": peak["total_mb"],
        "growth_mb": round(peak["total_mb"] - baseline, 2),
        "peak_at_s": round(peak["t"] - start, 1),
        "peak_at_read_mb": peak["read_mb"],
        "after_mb": after[-1]["total_mb"] if after else None,
        "warm_down_s": round(settle[0]["t"] - warm_down[0]["t"], 1) if warm_down else 0.0,
        # How far above its baseline the server was after the warm-up, before it was quiet.
        "warm_down_mb": (
            round(max(s["total_mb"] for s in warm_down) - baseline, 2) if warm_down else 0.0
        ),
        "roles": roles,
        "processes": pids,
    }


# --------------------------------------------------------------------------- measuring


def warm_up(port: int, settings: Settings) -> dict[str, Any]:
    """Small streams at full speed until every one of the app's processes has served one.

    So that no process loads the app, or first runs this code, during the measured
    read. Several at once: a server gives one process many requests in a row.
    """
    pids: set[int] = set()
    streams = 0
    for _ in range(10):
        with ThreadPoolExecutor(max_workers=2 * settings.processes) as pool:
            readers = list(
                pool.map(
                    lambda _: Reader(
                        port, settings.warmup_size, None, settings.read_size, settings.timeout
                    ).run(),
                    range(2 * settings.processes),
                )
            )
        for reader in readers:
            if reader.error:
                raise ServerFailed(f"warm-up stream: {reader.error}")
            pids.update(block.pid for block in reader.blocks)
        streams += len(readers)
        if len(pids) >= settings.processes:
            break
    return {"streams": streams, "app_pids": sorted(pids)}


def measure(kind: run.ServerKind, record: ServerRecord, settings: Settings, work: Path) -> None:
    """One server, started afresh: warm-up, quiet baseline, the slow read, a few seconds after."""
    launch = kind.plan(run_settings(settings), work)  # Unavailable goes to the caller
    record.budget, record.launcher, record.command = launch.budget, launch.launcher, launch.argv
    server = RunningServer(kind.name, launch, work / f"{kind.name}.log")
    try:
        with contextlib.ExitStack() as stack:
            stack.callback(server.stop)
            say(f"{kind.name}: starting: {' '.join(launch.argv)}")
            server.start(settings.startup_timeout)
            assert server.port is not None and server.process is not None
            port = server.port
            record.interpreter = server.interpreter()
            record.warmup = warm_up(port, settings)
            say(f"{kind.name}: up on port {port}; warmed up {record.warmup}")
            reader = Reader(
                port, settings.size, settings.rate, settings.read_size, settings.timeout
            )
            sampler = Sampler(
                kind.name, kind.family, server.process.pid, settings.interval, lambda: reader
            )
            sampler.start()
            stack.callback(sampler.stop)
            record.quiet = sampler.settle(settings.settle, settings.quiet_mb, QUIET_MAX)
            if not record.quiet:
                say(f"{kind.name}: never quiet; the baseline is the last {settings.settle:g} s")
            sampler.phase = "read"
            reader.run()
            sampler.phase = "after"
            time.sleep(settings.after)
            sampler.stop()
            if not server.alive():
                raise ServerFailed("died during the run")
        record.log_tail = servers.tail(server.log_path)
    except (ServerFailed, OSError, ValueError, http.client.HTTPException) as exc:
        servers.fail(record, server, str(exc))
        return
    start = sampler.samples[0]["t"]
    record.samples = [{**s, "t": round(s["t"] - start, 2)} for s in sampler.samples]
    record.stream = reader.figures()
    record.rss = rss_figures(sampler.samples, sampler.processes)
    if reader.error:
        servers.fail(record, server, f"the stream: {reader.error}")
        return
    record.status = "ran"
    say(
        f"{kind.name}: read {settings.size / MB:,.0f} MB at {record.stream['mb_per_s']} MB/s; "
        f"RSS {record.rss['baseline_mb']:,.1f} -> {record.rss['peak_mb']:,.1f} MB "
        f"(growth {record.rss['growth_mb']:+,.1f} MB)"
    )


def execute(settings: Settings, records: dict[str, ServerRecord]) -> None:
    with tempfile.TemporaryDirectory(prefix="wsgihost-slowreader-") as tmp:
        work = Path(tmp)
        run.prepare_app(work)
        for kind in KINDS:
            if kind.name not in settings.servers:
                continue
            record = records[kind.name]
            try:
                measure(kind, record, settings, work)
            except Unavailable as exc:
                record.status, record.reason = "skipped", str(exc)
                say(f"{kind.name}: skipped: {exc}")


# --------------------------------------------------------------------------- report


def ratio_to_apache(
    record: ServerRecord, records: dict[str, ServerRecord]
) -> tuple[float | None, str]:
    """The growth's ratio to Apache's in the same mode (else the other), and as text."""
    order = [
        APACHE[record.mode],
        *(name for name in APACHE.values() if name != APACHE[record.mode]),
    ]
    apache = next((records[n] for n in order if n in records and records[n].status == "ran"), None)
    if apache is None:
        return None, "no Apache measured"
    if apache is record:
        return 1.0, "1.00x"
    growth, theirs = record.rss["growth_mb"], apache.rss["growth_mb"]
    # Within a sample's noise of nothing (or below it), a ratio says nothing: the
    # difference does.
    versus = f"{growth - theirs:+,.1f} MB beside {apache.title}'s {theirs:+,.1f} MB"
    if theirs < 0.1 or growth < 0:
        return None, f"n/a: {versus}"
    return growth / theirs, f"{growth / theirs:,.1f}x: {versus}"


def markdown(settings: Settings, records: dict[str, ServerRecord]) -> str:
    ran = [record for record in records.values() if record.status == "ran"]
    lines = [
        "## Slow reader",
        "",
        f"One connection reads `GET /stream?size={settings.size}` ({settings.size / MB:,.0f} MB: "
        f"the app yields {BLOCK // 1024} KiB blocks, no Content-Length) at "
        f"{settings.rate / MB:g} MB/s ({settings.read_size // 1024} KiB reads paced by the "
        "clock), checking every byte. Server memory: the RSS of all its processes, every "
        f"{settings.interval:g} s. Baseline: after a warm-up ({settings.warmup_size / MB:g} MB "
        "streams at full speed, until each of the app's processes has served one), the "
        f"median of the first {settings.settle:g} s in which the total moved by at most "
        f"{settings.quiet_mb:g} MB; peak: the largest total during the read. Budget "
        f"{settings.processes} processes x {settings.threads} threads. Target (issue 11): "
        f"growth under {TARGET_MB:g} MB.",
        "",
        "| server | read | MB/s | baseline MB | peak MB | growth MB | target < "
        f"{TARGET_MB:g} MB | ratio to Apache | grew most | app ahead MB, median / max "
        f"| {settings.after:g} s after MB |",
        "|---|---|--:|--:|--:|--:|---|---|---|--:|--:|",
    ]
    for record in ran:
        memory, stream = record.rss, record.stream
        growth = memory["growth_mb"]
        top = memory["processes"][0]
        ahead = stream["app_ahead_mb"]
        ahead_text = "-" if ahead is None else f"{ahead['median']:,.1f} / {ahead['max']:,.1f}"
        after = memory["after_mb"]
        lines.append(
            f"| {record.title} | {stream['checked'] / MB:,.0f} MB, {stream['framing']}, "
            f"every byte right | {stream['mb_per_s']:.2f} | {memory['baseline_mb']:,.1f} "
            f"| {memory['peak_mb']:,.1f} | {growth:+,.1f} "
            f"| {MET if growth < TARGET_MB else MISSING} | {ratio_to_apache(record, records)[1]} "
            f"| {top['role']} {top['pid']}: {top['growth_mb']:+,.1f} "
            f"| {ahead_text} | {'-' if after is None else format(after, ',.1f')} |"
        )
    if ran:
        lines += [
            "",
            "Per role (each role's own peak, which may fall at another moment than the total's):",
            "",
            "| server | role | processes | baseline MB | peak MB | growth MB |",
            "|---|---|--:|--:|--:|--:|",
        ]
        for record in ran:
            for role, figures in record.rss["roles"].items():
                lines.append(
                    f"| {record.title} | {role} | {figures['processes']} "
                    f"| {figures['baseline_mb']:,.1f} | {figures['peak_mb']:,.1f} "
                    f"| {figures['growth_mb']:+,.1f} |"
                )
        lines += [
            "",
            "RSS counts pages shared between processes (Apache's forked children, the "
            "interpreter's) in each of them, so totals overstate what the machine gives; "
            'growth is new memory either way. "App ahead": for each block, the bytes the '
            "app had yielded beyond it when the reader had it, i.e. what waited for the "
            "reader in the server and in the kernel's socket buffers (not in RSS) on both "
            "sides. The app ran on: "
            + "; ".join(
                f"{record.title}: Python {record.interpreter.get('version', '?')}" for record in ran
            )
            + ".",
        ]
    notes: list[str] = []
    for record in ran:
        memory = record.rss
        if not record.quiet:
            notes.append(
                f"- {record.title} was never quiet: the baseline is the median of its last "
                f"{settings.settle:g} s of waiting ({QUIET_MAX:g} s at most)."
            )
        if memory["warm_down_mb"] > settings.quiet_mb:
            notes.append(
                f"- {record.title} was up to {memory['warm_down_mb']:,.1f} MB above its "
                f"baseline in the {memory['warm_down_s']:g} s after the warm-up, before it "
                "was quiet."
            )
    if notes:
        lines += ["", *notes]
    lines += servers.not_measured(records.values())
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Server memory while one client reads a large stream slowly, beside Apache."
    )
    servers.add_server_options(parser, NAMES, DEFAULT_NAMES, "wsgihost")
    add = parser.add_argument
    add("--size", type=float, default=256, help="MB (10^6 bytes) of the stream (%(default)s)")
    add("--rate", type=float, default=1, help="MB/s the reader takes (%(default)s)")
    add("--read-size", type=int, default=BLOCK, help="bytes per read (%(default)s)")
    add("--warmup-size", type=float, default=1, help="MB of each warm-up stream (%(default)s)")
    add("--settle", type=float, default=3, help="quiet seconds for the baseline (%(default)s)")
    add(
        "--quiet-mb",
        type=float,
        default=QUIET_MB,
        help="MB the total RSS may move in those seconds (%(default)s)",
    )
    add("--after", type=float, default=5, help="seconds sampled after the read (%(default)s)")
    add("--interval", type=float, default=0.5, help="seconds between samples (%(default)s)")
    add("--timeout", type=float, default=30.0, help="seconds one read may wait (%(default)s)")
    args = parser.parse_args(argv)
    servers.check_servers(parser, args.servers, NAMES)
    for option in ("size", "rate", "read_size", "warmup_size", "interval", "processes", "threads"):
        if getattr(args, option) <= 0:
            parser.error(f"--{option.replace('_', '-')} must be positive")
    if args.settle < args.interval:
        parser.error("--settle must be at least --interval (the baseline needs a sample)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    servers.stop_on_signals()
    python = servers.chosen_python(args.python)
    if python is None:
        return 2
    chosen = args.servers.split(",")
    closed = closed_to_others(python) if os.geteuid() == 0 else ""
    if closed and any(name.startswith("wsgihost") for name in chosen):
        say(
            f"warning: {closed} is closed to other users, and wsgihost started as root runs "
            f"its children as the web user: they cannot run {python}. Give --python a venv "
            "they can reach, e.g. python3 -m venv /tmp/venv (Debian's /usr/bin/python3) "
            "with wsgihost's dependencies."
        )
    settings = Settings(
        servers=tuple(name for name in NAMES if name in chosen),
        size=int(args.size * MB),
        rate=args.rate * MB,
        read_size=args.read_size,
        warmup_size=int(args.warmup_size * MB),
        settle=args.settle,
        quiet_mb=args.quiet_mb,
        after=args.after,
        interval=args.interval,
        processes=args.processes,
        threads=args.threads,
        python=python,
        startup_timeout=args.startup_timeout,
        timeout=args.timeout,
    )
    records = {
        kind.name: ServerRecord(kind.name, kind.title, kind.mode, kind.family)
        for kind in KINDS
        if kind.name in settings.servers
    }
    minutes = len(records) * (settings.size / settings.rate + settings.settle + 10) / 60
    say(f"Slow reader: {', '.join(settings.servers)}, about {minutes:.1f} min")
    started = datetime.now(UTC)
    execute(settings, records)
    result: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "host": servers.host_facts(),
        "versions": servers.software_versions(python),
        "settings": servers.settings_json(settings),
        "target_growth_mb": TARGET_MB,
        "servers": {name: asdict(record) for name, record in records.items()},
    }
    for name, record in records.items():
        if record.status == "ran":
            ratio = ratio_to_apache(record, records)[0]
            result["servers"][name]["target"] = (
                MET if record.rss["growth_mb"] < TARGET_MB else MISSING
            )
            result["servers"][name]["ratio_to_apache"] = ratio
    servers.publish(args.output_dir, "slowreader", started, result, markdown(settings, records))
    failed = servers.report_failed(records.values())
    measured = any(record.status == "ran" for record in records.values())
    return 1 if failed or not measured else 0


if __name__ == "__main__":
    servers.entry_point(main, "Interrupted; all servers were stopped.")
