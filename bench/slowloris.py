#!/usr/bin/env python3
"""Slowloris: are 16 normal clients still served while 500 connections drip a request head?

One command::

    python bench/slowloris.py                              # every server, 500 slow, 10 s runs
    python bench/slowloris.py --duration 3 --slow 50 --servers wsgihost,apache-mod_wsgi

For each server (daemon mode, 2 processes x 15 threads, started afresh as bench/run.py
starts it), wrk runs 16 keep-alive connections against ``GET /`` twice: once alone
(the baseline), once while --slow other connections each send a request head one
byte every --interval seconds, never finishing it. Every server that has a head
deadline gets the same one (--deadline, 5 s): wsgihost ``--header-timeout``, Apache
``RequestReadTimeout header=``. Reported: req/s, p50 and p99 of both wrk runs, the
ratio of the p99s (the hardening issue's bar: within 2x), and what became of the slow
connections: answered 408, answered otherwise, closed without an answer, still open.

The report goes to stdout and bench/results/slowloris-TIME.md beside its JSON;
progress goes to stderr. bench/README.md says more.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import heapq
import http.client
import os
import re
import selectors
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import run
import servers
from report import DAEMON
from servers import HOST, RESULTS_DIR, Launch, RunningServer, ServerFailed, Unavailable, say

# A head that would be a valid GET if it ever ended; at one byte per 2 s a run sends
# only its first few bytes.
HEAD = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris.py\r\nX-Slow: " + b"s" * 4000
STATUS_RE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")
BAR = 2.0  # the hardening issue: p99 with the slow connections within 2x the baseline's
CONNECT_TIMEOUT = 5.0  # a slow connection not connected by then counts as failed
# After the last slow connection opened, how long past the deadline its answer may take
# (a server's timer granularity, a busy machine) before it counts as "still open".
GRACE = 3.0
KEEP_RECEIVED = 4096  # bytes of a slow connection's answer kept: its status line is enough
REQTIMEOUT_MODULE = servers.APACHE_MODULES / "mod_reqtimeout.so"


@dataclass(frozen=True)
class Settings:
    servers: tuple[str, ...]
    rounds: int
    duration: int
    warmup: int
    pause: float
    slow: int
    interval: float  # seconds between two head bytes of one slow connection
    deadline: float  # the head deadline of every server that has one
    connections: int
    processes: int
    threads: int
    python: Path
    startup_timeout: float


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    plan: Callable[[Settings, Path], Launch]
    deadline: Callable[[Settings], str]  # how the server gets its head deadline (report)


@dataclass
class ServerRecord:
    name: str
    title: str
    head_deadline: str
    status: str = "pending"  # ran | skipped | failed
    reason: str = ""
    budget: str = ""
    launcher: str = ""
    command: list[str] = field(default_factory=list)
    log_tail: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- servers


def run_settings(settings: Settings) -> run.Settings:
    """run.py's settings, for its planners and run_wrk.

    Those read only the budget, the interpreter, wrk's load and wsgihost's extra
    arguments; the other fields are run.py's own parts and are given neutral values.
    """
    return run.Settings(
        scenarios=("keepalive",),
        duration=settings.duration,
        warmup=settings.warmup,
        rounds=settings.rounds,
        connections=settings.connections,
        wrk_threads=1,
        pause=settings.pause,
        processes=settings.processes,
        threads=settings.threads,
        idle_connections=0,
        python=settings.python,
        wsgihost_cmd=(),
        wsgihost_args=("--header-timeout", f"{settings.deadline:g}"),
        startup_timeout=settings.startup_timeout,
        reload_runs=0,
        reload_duration=0.0,
        reload_interval=0.0,
        reload_warmup=0.0,
        groups=0,
        groups_idle_seconds=0.0,
    )


def plan_wsgihost(settings: Settings, work: Path) -> Launch:
    # run.py's daemon-mode command line; run_settings adds --header-timeout.
    return run.plan_wsgihost(run_settings(settings), work, DAEMON)


def plan_apache(settings: Settings, work: Path) -> Launch:
    """run.py's Apache in daemon mode, plus mod_reqtimeout with the same head deadline."""
    if not REQTIMEOUT_MODULE.exists():
        raise Unavailable(f"{REQTIMEOUT_MODULE} is missing: no way to give Apache a head deadline")
    launch = run.plan_apache(run_settings(settings), work, DAEMON)
    # run.py's httpd.conf loads only the modules its scenarios need; without
    # mod_reqtimeout, Apache would wait for a head as long as Timeout (60 s). The body
    # deadline is written out as wsgihost's defaults (body=20, 500 bytes/s) so that the
    # two differ in nothing but the server.
    with (launch.cwd / "httpd.conf").open("a") as config:
        config.write(
            "\n# Added by bench/slowloris.py: the head deadline every server gets.\n"
            f"LoadModule reqtimeout_module {REQTIMEOUT_MODULE}\n"
            f"RequestReadTimeout header={settings.deadline:g} body=20,MinRate=500\n"
        )
    return launch


def plan_gunicorn(settings: Settings, work: Path) -> Launch:
    return run.gunicorn_planner("gthread")(run_settings(settings), work)


KINDS = (
    Kind(
        "wsgihost",
        "wsgihost (daemon group)",
        plan_wsgihost,
        lambda s: f"`--header-timeout {s.deadline:g}`",
    ),
    Kind(
        "apache-mod_wsgi",
        "Apache + mod_wsgi (daemon mode)",
        plan_apache,
        lambda s: f"`RequestReadTimeout header={s.deadline:g}` (mod_reqtimeout)",
    ),
    Kind(
        "gunicorn-gthread",
        "gunicorn gthread",
        plan_gunicorn,
        lambda s: "none: gunicorn has no head deadline",
    ),
)
KIND_NAMES = [kind.name for kind in KINDS]


# --------------------------------------------------------------------------- slow clients


@dataclass
class Slow:
    """One slow connection and what happened to it (times from time.monotonic())."""

    sock: socket.socket
    connected_at: float = 0.0  # 0: the connect failed
    sent: int = 0
    received: bytes = b""
    answered_at: float = 0.0  # its first byte from the server
    closed_at: float = 0.0  # EOF or reset from the server
    error: str = ""


class SlowClients:
    """Connections that each send HEAD one byte per interval, from a thread of this process.

    A thread, not a helper process: it sends a few hundred single bytes a second and
    reads what comes back, which costs next to nothing, and this process only waits
    for wrk meanwhile. Every connection keeps what it receives, so a 408, another
    answer, a close without an answer and a connection still open can be told apart.
    """

    def __init__(self, port: int, count: int, interval: float) -> None:
        self.port = port
        self.count = count
        self.interval = interval
        self.conns: list[Slow] = []
        self.selector = selectors.DefaultSelector()
        self.started_at = 0.0  # open() began
        self.opened_at = 0.0  # open() returned: every connect done or given up
        self.ended_at = 0.0
        self._closed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self, timeout: float) -> int:
        """Connect all at once (non-blocking), each sending its first byte; how many connected.

        Non-blocking, so that a server whose listen backlog is full (SYNs dropped,
        retried by the kernel) delays the run by at most timeout, not timeout per socket.
        """
        self.started_at = time.monotonic()
        waiting = 0
        for i in range(self.count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each byte goes at once
            conn = Slow(sock)
            self.conns.append(conn)
            code = sock.connect_ex((HOST, self.port))
            if code not in (0, errno.EINPROGRESS):
                conn.error = f"connect: {os.strerror(code)}"
                continue
            self.selector.register(sock, selectors.EVENT_WRITE, i)
            waiting += 1
        deadline = time.monotonic() + timeout
        while waiting and (left := deadline - time.monotonic()) > 0:
            for key, _ in self.selector.select(left):
                conn = self.conns[key.data]
                waiting -= 1
                code = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    conn.error = f"connect: {os.strerror(code)}"
                    self.selector.unregister(conn.sock)
                    continue
                conn.connected_at = time.monotonic()
                self._send_byte(conn)
                self.selector.modify(conn.sock, selectors.EVENT_READ, key.data)
        for conn in self.conns:
            if not conn.connected_at and not conn.error:
                conn.error = "connect: timed out"
                self.selector.unregister(conn.sock)
        self.opened_at = time.monotonic()
        return sum(1 for conn in self.conns if conn.connected_at)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._drip, name="slowloris", daemon=True)
        self._thread.start()

    def _send_byte(self, conn: Slow) -> None:
        try:
            conn.sent += conn.sock.send(HEAD[conn.sent : conn.sent + 1])
        except BlockingIOError:
            pass  # never with one byte in flight; the next turn sends it
        except OSError as exc:
            # The server is gone from this connection; its EOF or reset is read next.
            conn.error = f"send: {exc.strerror or exc}"

    def _receive(self, conn: Slow) -> None:
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as exc:  # a reset: closed; what came before it is kept
            data = b""
            conn.error = f"recv: {exc.strerror or exc}"
        if data:
            if not conn.received:
                conn.answered_at = time.monotonic()
            conn.received = (conn.received + data)[:KEEP_RECEIVED]
            return
        conn.closed_at = time.monotonic()
        self.selector.unregister(conn.sock)

    def _drip(self) -> None:
        # The second byte of connection i is due i/count of an interval after it opened,
        # then one per interval: bytes arrive evenly, not in bursts of --slow at once.
        due = [
            (conn.connected_at + self.interval * (i + 1) / self.count, i)
            for i, conn in enumerate(self.conns)
            if conn.connected_at
        ]
        heapq.heapify(due)
        while not self._stop.is_set():
            wait = min(0.1, max(0.0, due[0][0] - time.monotonic())) if due else 0.1
            for key, _ in self.selector.select(wait):
                self._receive(self.conns[key.data])
            now = time.monotonic()
            while due and due[0][0] <= now:
                at, i = heapq.heappop(due)
                conn = self.conns[i]
                if conn.received or conn.closed_at or conn.error or conn.sent >= len(HEAD):
                    continue  # answered or gone: it only listens now
                self._send_byte(conn)
                heapq.heappush(due, (at + self.interval, i))

    def settled(self) -> bool:
        """Whether every connection has been closed (or never connected)."""
        return all(conn.closed_at or not conn.connected_at for conn in self.conns)

    def finish(self, until: float) -> None:
        """Keep dripping until the monotonic time until, or until all are closed; then stop."""
        while time.monotonic() < until and not self.settled():
            time.sleep(0.1)
        self.ended_at = time.monotonic()
        self.close()

    def close(self) -> None:
        if self._closed:  # finish() closes, and so does the caller's clean-up
            return
        self._closed = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if not self.ended_at:
            self.ended_at = time.monotonic()
        for conn in self.conns:
            conn.sock.close()
        self.selector.close()

    def summary(self) -> dict[str, Any]:
        """What became of the connections, as of finish()."""
        answers: Counter[str] = Counter()
        to_408: list[float] = []
        closed_unanswered = still_open = closed_after_answer = 0
        for conn in self.conns:
            if not conn.connected_at:
                continue
            if conn.received:
                match = STATUS_RE.match(conn.received)
                status = match.group(1).decode() if match else "not HTTP"
                answers[status] += 1
                closed_after_answer += bool(conn.closed_at)
                if status == "408":
                    to_408.append(conn.answered_at - conn.connected_at)
            elif conn.closed_at:
                closed_unanswered += 1
            else:
                still_open += 1
        connected = [conn for conn in self.conns if conn.connected_at]
        got_408 = answers.pop("408", 0)
        return {
            "connections": self.count,
            "connect_failed": self.count - len(connected),
            "connect_errors": dict(Counter(c.error for c in self.conns if not c.connected_at)),
            "got_408": got_408,
            "other_answers": dict(answers),
            "closed_unanswered": closed_unanswered,
            "still_open": still_open,
            "closed_after_answer": closed_after_answer,
            "seconds_to_408": (
                {
                    "min": round(min(to_408), 3),
                    "median": round(statistics.median(to_408), 3),
                    "max": round(max(to_408), 3),
                }
                if to_408
                else None
            ),
            "head_bytes_sent_max": max((conn.sent for conn in connected), default=0),
            "opening_s": round(self.opened_at - self.started_at, 3),
            "observed_s": round(self.ended_at - self.opened_at, 3),
        }


# --------------------------------------------------------------------------- measuring


def figures(wrk_report: dict[str, Any]) -> dict[str, Any]:
    """wrk's JSON line as the report's figures; served: answers that were not errors."""
    seconds = wrk_report["duration_us"] / 1e6 or 1.0
    latency = wrk_report["latency_us"]
    errors = dict(wrk_report["errors"])
    requests = int(wrk_report["requests"])
    return {
        "requests": requests,
        "served": requests - errors.get("status", 0),  # wrk counts non-2xx/3xx as "status"
        "requests_per_s": requests / seconds,
        "p50_ms": latency["p50"] / 1000,
        "p90_ms": latency["p90"] / 1000,
        "p99_ms": latency["p99"] / 1000,
        "max_ms": latency["max"] / 1000,
        "errors": errors,
    }


def verdict(baseline: dict[str, Any], with_slow: dict[str, Any]) -> tuple[float | None, str]:
    """The p99 ratio and what it means for the bar."""
    if with_slow["served"] <= 0:
        return None, "served no normal client"
    if baseline["served"] <= 0 or baseline["p99_ms"] <= 0:
        return None, "no baseline (wrk served nothing without the slow connections)"
    ratio = with_slow["p99_ms"] / baseline["p99_ms"]
    return ratio, f"within {BAR:g}x" if ratio <= BAR else f"over {BAR:g}x"


def measure(
    kind: Kind, record: ServerRecord, settings: Settings, work: Path, wrk: str, round_no: int
) -> dict[str, Any] | None:
    """One round for one server, started afresh: warm-up, baseline, the run with slow ones."""
    launch = kind.plan(settings, work)  # Unavailable goes to the caller
    record.budget, record.launcher, record.command = launch.budget, launch.launcher, launch.argv
    server = RunningServer(kind.name, launch, work / f"{kind.name}-{round_no}.log")
    wrk_settings = run_settings(settings)
    scenario = run.SCENARIO_NAMES["keepalive"]  # GET /, keep-alive: what the issue asks
    try:
        with contextlib.ExitStack() as stack:
            stack.callback(server.stop)  # runs last: the slow sockets are closed first
            say(f"{kind.name}: starting: {' '.join(launch.argv)}")
            server.start(settings.startup_timeout)
            assert server.port is not None
            port = server.port
            say(f"{kind.name}: up on port {port}; warm-up ({settings.warmup} s)")
            run.run_wrk(wrk, port, scenario, settings.warmup, wrk_settings)
            time.sleep(settings.pause)
            baseline = figures(run.run_wrk(wrk, port, scenario, settings.duration, wrk_settings))
            say(
                f"{kind.name}: baseline {baseline['requests_per_s']:,.0f} req/s, "
                f"p99 {baseline['p99_ms']:.2f} ms"
            )
            time.sleep(settings.pause)
            slow = SlowClients(port, settings.slow, settings.interval)
            stack.callback(slow.close)
            connected = slow.open(CONNECT_TIMEOUT)
            slow.start()
            say(f"{kind.name}: {connected}/{settings.slow} slow connections open; wrk again")
            with_slow = figures(run.run_wrk(wrk, port, scenario, settings.duration, wrk_settings))
            # The 408s are awaited even when --duration is shorter than the deadline.
            slow.finish(until=slow.opened_at + settings.deadline + GRACE)
            slow_summary = slow.summary()
            if not server.alive():
                raise ServerFailed("died during the run")
        record.log_tail = servers.tail(server.log_path)
    except (ServerFailed, OSError, ValueError, http.client.HTTPException) as exc:
        servers.fail(record, server, str(exc))
        return None
    ratio, meaning = verdict(baseline, with_slow)
    say(
        f"{kind.name}: with slow {with_slow['requests_per_s']:,.0f} req/s, "
        f"p99 {with_slow['p99_ms']:.2f} ms: {meaning}; slow: {slow_summary['got_408']} x 408, "
        f"{slow_summary['closed_unanswered']} closed unanswered, "
        f"{slow_summary['still_open']} open"
    )
    return {
        "round": round_no,
        "baseline": baseline,
        "with_slow": with_slow,
        "p99_ratio": ratio,
        "verdict": meaning,
        "slow": slow_summary,
    }


def execute(settings: Settings, wrk: str, records: dict[str, ServerRecord]) -> None:
    kinds = [kind for kind in KINDS if kind.name in settings.servers]
    with tempfile.TemporaryDirectory(prefix="wsgihost-slowloris-") as tmp:
        work = Path(tmp)
        run.prepare_app(work)
        for round_no in range(1, settings.rounds + 1):
            # A B, then B A: no server always goes first.
            shift = (round_no - 1) % len(kinds)
            for kind in kinds[shift:] + kinds[:shift]:
                record = records[kind.name]
                if record.status in ("skipped", "failed"):
                    continue
                say(f"[round {round_no}/{settings.rounds}] {kind.name}")
                try:
                    result = measure(kind, record, settings, work, wrk, round_no)
                except Unavailable as exc:
                    record.status, record.reason = "skipped", str(exc)
                    say(f"{kind.name}: skipped: {exc}")
                    continue
                if result is not None:
                    record.status = "ran"
                    record.runs.append(result)


# --------------------------------------------------------------------------- report


def markdown(settings: Settings, records: dict[str, ServerRecord]) -> str:
    lines = [
        "## Slowloris",
        "",
        f"wrk, {settings.connections} keep-alive connections, `GET /` for "
        f"{settings.duration} s: alone (baseline), then while {settings.slow} other "
        f"connections each send a request head one byte every {settings.interval:g} s, "
        f"never finishing it. Head deadline {settings.deadline:g} s; budget "
        f"{settings.processes} processes x {settings.threads} threads, daemon mode. "
        f"Bar: p99 with the slow connections within {BAR:g}x the baseline's.",
        "",
        "| server | round | req/s | p50 ms | p99 ms | with slow: req/s | p50 ms | p99 ms "
        "| wrk errors | p99 ratio | slow: 408 | other answer | closed, no answer | open "
        "| not connected | 408 after s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|",
    ]
    for record in records.values():
        for result in record.runs:
            base, slow, gone = result["baseline"], result["with_slow"], result["slow"]
            ratio = result["p99_ratio"]
            ratio_text = (
                result["verdict"] if ratio is None else f"{ratio:.2f}x, {result['verdict']}"
            )
            to_408 = gone["seconds_to_408"]
            other = sum(gone["other_answers"].values())
            lines.append(
                f"| {record.title} | {result['round']} "
                f"| {base['requests_per_s']:,.0f} | {base['p50_ms']:.2f} | {base['p99_ms']:.2f} "
                f"| {slow['requests_per_s']:,.0f} | {slow['p50_ms']:.2f} | {slow['p99_ms']:.2f} "
                f"| {sum(slow['errors'].values())} | {ratio_text} | {gone['got_408']} "
                f"| {other} | {gone['closed_unanswered']} | {gone['still_open']} "
                f"| {gone['connect_failed']} "
                f"| {'-' if to_408 is None else format(to_408['median'], '.1f')} |"
            )
    lines += [
        "",
        "Head deadlines: "
        + "; ".join(
            f"{record.title}: {record.head_deadline}"
            for record in records.values()
            if record.status == "ran"
        )
        + ".",
        "",
        "The slow connections' fate is as of the end of the run with them, or of the "
        f"deadline plus {GRACE:g} s after the last one opened if that is later; "
        '"408 after" is the median time from a slow connection\'s connect to its 408, '
        "its wait in the listen backlog included. wrk counts only answers: a wrk "
        "connection never served lowers req/s but is not in the p99.",
    ]
    others = {
        f"{record.title} round {result['round']}": result["slow"]["other_answers"]
        for record in records.values()
        for result in record.runs
        if result["slow"]["other_answers"]
    }
    for where, answers in others.items():
        lines.append(f"- other answers to slow connections, {where}: {answers}")
    lines += servers.not_measured(records.values())
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Slowloris: wrk's p99 with and without connections dripping a request head."
    )
    add = parser.add_argument
    add(
        "--servers",
        default=",".join(KIND_NAMES),
        help=f"comma-separated subset of: {', '.join(KIND_NAMES)} (default: all)",
    )
    add("--duration", type=int, default=10, help="seconds per wrk run (%(default)s)")
    add("--slow", type=int, default=500, help="slow connections (%(default)s)")
    add(
        "--interval",
        type=float,
        default=2.0,
        help="seconds between two head bytes of a slow connection (%(default)s)",
    )
    add(
        "--deadline",
        type=float,
        default=5.0,
        help="head deadline given to the servers, in seconds (%(default)s)",
    )
    add("--rounds", type=int, default=1, help="rounds, servers alternating (%(default)s)")
    add("--warmup", type=int, default=2, help="seconds of wrk before the baseline (%(default)s)")
    add("--pause", type=float, default=1.0, help="seconds of quiet before each run (%(default)s)")
    add("--connections", type=int, default=16, help="wrk connections (%(default)s)")
    add("--processes", type=int, default=2, help="processes per server (%(default)s)")
    add("--threads", type=int, default=15, help="threads per process (%(default)s)")
    add(
        "--python",
        type=Path,
        help="interpreter for wsgihost and gunicorn "
        "(default: bench/.peers/venv/bin/python if it exists, else this one)",
    )
    add("--startup-timeout", type=float, default=30.0, help="seconds to come up (%(default)s)")
    add("--output-dir", type=Path, default=RESULTS_DIR, help="where JSON and markdown go")
    args = parser.parse_args(argv)
    servers.check_servers(parser, args.servers, KIND_NAMES)
    for option in ("duration", "slow", "rounds", "warmup", "connections"):
        if getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    if args.interval <= 0 or args.deadline <= 0:
        parser.error("--interval and --deadline must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    servers.stop_on_signals()
    python = servers.chosen_python(args.python)
    if python is None:
        return 2
    wrk = shutil.which("wrk")
    if wrk is None:
        say("wrk not found: apt-get install wrk, or run bench/run.py --install-peers")
        return 2
    chosen = args.servers.split(",")
    settings = Settings(
        servers=tuple(name for name in KIND_NAMES if name in chosen),
        rounds=args.rounds,
        duration=args.duration,
        warmup=args.warmup,
        pause=args.pause,
        slow=args.slow,
        interval=args.interval,
        deadline=args.deadline,
        connections=args.connections,
        processes=args.processes,
        threads=args.threads,
        python=python,
        startup_timeout=args.startup_timeout,
    )
    # The slow sockets and wrk's here; the servers inherit the limit (wsgihost's default
    # --max-connections is its open-file limit: it must not be what turns them away).
    servers.raise_open_files(4 * (settings.slow + settings.connections) + 1024)
    if settings.duration <= settings.deadline:
        say(
            f"--duration {settings.duration} is not longer than the {settings.deadline:g} s "
            "deadline: the 408s come after wrk's run (they are still awaited and counted)"
        )
    records = {
        kind.name: ServerRecord(kind.name, kind.title, kind.deadline(settings))
        for kind in KINDS
        if kind.name in settings.servers
    }
    started = datetime.now(UTC)
    execute(settings, wrk, records)
    result: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "host": servers.host_facts(),
        "versions": servers.software_versions(python),
        "settings": servers.settings_json(settings),
        "bar_p99_ratio": BAR,
        "head": HEAD[:80].decode(),
        "servers": {name: asdict(record) for name, record in records.items()},
    }
    servers.publish(args.output_dir, "slowloris", started, result, markdown(settings, records))
    failed = servers.report_failed(records.values())
    measured = any(record.runs for record in records.values())
    return 1 if failed or not measured else 0


if __name__ == "__main__":
    servers.entry_point(main, "Interrupted; all servers were stopped.")
