"""wsgihost.daemon.watchdog: request-timeout, inactivity-timeout, cpu-time-limit, rlimits.

The watchdog's ``check(now)`` is driven by hand with a chosen clock; the
requests are real threads (their stacks are what gets logged), the sink and
the master are stand-ins. FrameSink.interrupt is tested on a socketpair with
the real frame codec.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wsgihost.daemon import watchdog as wd
from wsgihost.daemon.process import FrameSink
from wsgihost.daemon.protocol import (
    NEED_DATA,
    Abort,
    Accept,
    Channel,
    Data,
    End,
    Request,
    Response,
)
from wsgihost.logs import ErrorLog, LogFile


class Sink:
    def __init__(self, outcome: str = wd.ANSWERED) -> None:
        self.outcome = outcome
        self.calls: list[tuple[str, list[tuple[str, str]], bytes]] = []

    def interrupt(self, status: str, headers: list[tuple[str, str]], body: bytes) -> str:
        self.calls.append((status, headers, body))
        return self.outcome


class Harness:
    """A watchdog with its master, process state and exit replaced by recorders."""

    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        self.log_path = tmp_path / "error.log"
        self.told: list[dict[str, Any]] = []
        self.retired: list[str] = []
        self.exits: list[int] = []
        self.draining = False
        self.busy = 0
        self.dog = wd.Watchdog(
            {"group": "g", "request_timeout": 0, "shutdown_timeout": 5.0, **settings},
            ErrorLog(LogFile(path=str(self.log_path)), "info"),
            lambda **message: self.told.append(message),
            lambda: (self.draining, self.busy),
            self.retired.append,
            self.exits.append,
        )

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


def stuck_here(started: threading.Event, release: threading.Event) -> None:
    started.set()
    release.wait(30)


@pytest.fixture
def stuck_thread() -> Iterator[Any]:
    """Run ``begin`` in a thread that then blocks in stuck_here(); yields a starter."""
    release = threading.Event()
    threads: list[threading.Thread] = []

    def start(dog: wd.Watchdog, environ: dict[str, Any], sink: Any) -> wd.Running:
        box: list[wd.Running] = []
        started = threading.Event()

        def body() -> None:
            box.append(dog.begin(environ, sink))
            stuck_here(started, release)

        thread = threading.Thread(target=body, name="wsgi-7")
        threads.append(thread)
        thread.start()
        assert started.wait(10)
        return box[0]

    yield start
    release.set()
    for thread in threads:
        thread.join(10)


GET = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/slow?x=1", "REMOTE_ADDR": "10.0.0.9"}


def test_a_request_past_request_timeout_is_answered_logged_and_reported_once(
    tmp_path: Path, stuck_thread: Any
) -> None:
    h = Harness(tmp_path, request_timeout=2)
    sink = Sink()
    running = stuck_thread(h.dog, GET, sink)
    assert h.dog.check(running.started + 1.0) == pytest.approx(1.0)
    assert not sink.calls and not h.told
    h.dog.check(running.started + 2.0)
    ((status, headers, body),) = sink.calls
    assert status == "504 Gateway Timeout"
    assert ("Content-Length", str(len(body))) in headers and b"Gateway Timeout" in body
    assert h.told == [
        {
            "recycle": True,
            "reason": "request-timeout",
            "why": "a request ran past request-timeout (2 s)",
        }
    ]
    log = h.log()
    assert "[client 10.0.0.9:-] GET /slow?x=1 has run for 2.0 s" in log
    assert "the client gets a 504" in log and "thread wsgi-7" in log
    # The app's frames, from the first one on: not the thread's start or our loop.
    assert "in stuck_here" in log and "release.wait(30)" in log
    assert "in body" in log and "threading.py" in log.split("in body")[1]
    assert "_bootstrap" not in log
    # Once is enough: neither the same request nor a second one asks again.
    h.dog.check(running.started + 5.0)
    assert len(sink.calls) == 1
    other = Sink(wd.CUT)
    second = stuck_thread(h.dog, {**GET, "REQUEST_URI": "/other"}, other)
    h.dog.check(second.started + 3.0)
    assert len(other.calls) == 1 and len(h.told) == 1
    assert "GET /other has run" in h.log() and "the client's connection is cut" in h.log()


def test_a_request_that_ended_is_left_alone(tmp_path: Path) -> None:
    h = Harness(tmp_path, request_timeout=1)
    sink = Sink()
    running = h.dog.begin(GET, sink)
    h.dog.end(running)
    h.dog.check(running.started + 10)
    assert not sink.calls and not h.told and h.log() == ""


def test_inactivity_counts_only_after_a_request_and_asks_once(tmp_path: Path) -> None:
    h = Harness(tmp_path, inactivity_timeout=30)
    start = h.dog.begin(GET, Sink()).started
    # Never asked while a request runs, however long.
    h.dog.check(start + 100)
    assert not h.told
    running = next(iter(h.dog._running))
    h.dog.end(running)
    ended = h.dog._last_activity
    h.busy = 1  # a thread has a connection, not yet the app
    h.dog.check(ended + 31)
    assert not h.told
    h.busy = 0
    h.dog.check(ended + 29)
    assert not h.told
    h.dog.check(ended + 31)
    h.dog.check(ended + 62)
    assert h.told == [
        {
            "recycle": True,
            "reason": "inactivity-timeout",
            "why": "no request for 30 s (inactivity-timeout)",
        }
    ]


def test_a_fresh_process_is_never_inactive(tmp_path: Path) -> None:
    h = Harness(tmp_path, inactivity_timeout=1)
    h.dog.check(h.dog._last_activity + 1000)
    assert not h.told


def test_a_retiring_process_with_only_lost_requests_exits_after_shutdown_timeout(
    tmp_path: Path, stuck_thread: Any
) -> None:
    h = Harness(tmp_path, request_timeout=1, shutdown_timeout=3)
    running = stuck_thread(h.dog, GET, Sink())
    t = running.started + 1
    h.dog.check(t)  # timed out
    h.draining, h.busy = True, 2  # another request is still running: wait for it
    h.dog.check(t + 1)
    h.dog.check(t + 10)
    assert not h.exits
    h.busy = 1  # only the lost one is left
    h.dog.check(t + 11)
    h.dog.check(t + 13.9)
    assert not h.exits
    h.dog.check(t + 14)
    assert h.exits == [0]
    assert "1 request(s) past request-timeout" in h.log()


def test_cpu_time_limit_retires_the_process(tmp_path: Path) -> None:
    h = Harness(tmp_path, cpu_time_limit=1e-9)
    assert h.dog.needed
    h.dog.check(0)
    assert h.retired == ["cpu-time-limit reached"]
    assert "past cpu-time-limit" in h.log()
    h.draining = True
    h.dog.check(1)
    assert len(h.retired) == 1


def test_nothing_to_watch_without_limits(tmp_path: Path) -> None:
    assert not Harness(tmp_path).dog.needed
    assert Harness(tmp_path, request_timeout=60).dog.needed


def test_rlimits_wanted() -> None:
    assert wd.limits_wanted({}) == []
    assert wd.limits_wanted(
        {"memory_limit": 100, "virtual_memory_limit": 200, "cpu_time_limit": 10}
    ) == [
        ("memory-limit", "RLIMIT_DATA", 100, 100),
        ("virtual-memory-limit", "RLIMIT_AS", 200, 200),
        ("cpu-time-limit", "RLIMIT_CPU", 10, 15),  # shutdown-timeout's default: 5 s more
    ]
    assert wd.limits_wanted({"cpu_time_limit": 10, "shutdown_timeout": 0})[0][3] == 11


def test_request_url() -> None:
    assert wd.request_url({"REQUEST_URI": "/a%20b?c"}) == "/a%20b?c"
    environ = {"SCRIPT_NAME": "/app", "PATH_INFO": "/x", "QUERY_STRING": "q=1"}
    assert wd.request_url(environ) == "/app/x?q=1"


# -- FrameSink.interrupt -------------------------------------------------------------------


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket, Channel, Channel]]:
    """A daemon socket whose request was ACCEPTed, and the front end's end of it."""
    daemon_sock, front_sock = socket.socketpair()
    front, daemon = Channel("front"), Channel("daemon")
    daemon.receive_data(front.send(Request({"environ": {}})) + front.send(End()))
    assert isinstance(daemon.next_event(), Request)
    front.receive_data(daemon.send(Accept()))
    assert isinstance(front.next_event(), Accept)
    yield daemon_sock, front_sock, front, daemon
    daemon_sock.close()
    front_sock.close()


def received(sock: socket.socket, channel: Channel) -> list[object]:
    """Every event the front end gets until the daemon side is shut down."""
    sock.settimeout(5)
    events: list[object] = []
    while True:
        data = sock.recv(65536)
        channel.receive_data(data)
        while (event := channel.next_event()) is not NEED_DATA and isinstance(
            event, (Response, Data, End, Abort)
        ):
            events.append(event)
        if not data:
            return events


def test_interrupt_before_the_head_answers_504(pair: Any) -> None:
    daemon_sock, front_sock, front, daemon = pair
    sink = FrameSink(daemon_sock, daemon)
    status, headers, body = wd.timeout_response()
    assert sink.interrupt(status, headers, body) == wd.ANSWERED
    assert received(front_sock, front) == [Response(status, headers), Data(body), End()]
    sink.send(("200 OK", []), b"late", True)  # the app, later: nothing more goes out
    assert sink.closed


def test_interrupt_after_the_head_aborts(pair: Any) -> None:
    daemon_sock, front_sock, front, daemon = pair
    sink = FrameSink(daemon_sock, daemon)
    sink.send(("200 OK", [("Content-Type", "text/plain")]), b"part", False)
    assert sink.interrupt(*wd.timeout_response()) == wd.CUT
    assert received(front_sock, front) == [
        Response("200 OK", [("Content-Type", "text/plain")]),
        Data(b"part"),
        Abort(),
    ]


def test_interrupt_after_the_end_sends_nothing(pair: Any) -> None:
    daemon_sock, front_sock, front, daemon = pair
    sink = FrameSink(daemon_sock, daemon)
    sink.send(("204 No Content", []), b"", True)
    assert sink.interrupt(*wd.timeout_response()) == wd.FINISHED
    assert received(front_sock, front) == [Response("204 No Content", []), End()]
