"""Replay the hostile-request corpus (tests/hostile) against the real server.

Every case (``AREA/NAME.http`` with ``AREA/NAME.expect``; the format is in
tests/hostile/README.md) is sent to one ``wsgihost serve`` of
``tests/apps/corpus_echo.wsgi`` (two workers), in embedded and in daemon mode,
twice: in one ``sendall``, and in small pieces with TCP_NODELAY (one byte per
send up to 4 KiB, 1000 bytes per send beyond), so that no check depends on
where a read happens to end. The client never half-closes: the server must
give the expected answer and then close the connection by itself. After each
case a normal request on a new connection must still be served, and at the
end the workers must be the ones the server started with and the error log
must hold no traceback.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.functional.helpers import alive, children, kill_all
from tests.functional.server import APPS, Reader, ServerProcess, serve

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).resolve().parents[1] / "hostile"
READ_TIMEOUT = 5.0  # seconds to wait for an answer or a close
BYTEWISE_UP_TO = 4096

_MACRO = re.compile(rb"\{\{(\d+)\*(.*?)\}\}")
_ESCAPE = re.compile(rb"\\(r\\n|n|t|0|x[0-9A-Fa-f]{2})")
_SIMPLE = {b"r\\n": b"\r\n", b"n": b"\n", b"t": b"\t", b"0": b"\0"}


def decode(text: bytes) -> bytes:
    """The corpus text form -> the bytes on the wire (see tests/hostile/README.md)."""
    text = text.replace(b"\r", b"").replace(b"\n", b"")
    text = _MACRO.sub(lambda m: m.group(2) * int(m.group(1)), text)

    def sub(m: re.Match[bytes]) -> bytes:
        esc = m.group(1)
        return _SIMPLE.get(esc) or bytes([int(esc[1:], 16)])

    assert b"\\" not in _ESCAPE.sub(b"", text), "unknown escape (a backslash is \\x5c)"
    return _ESCAPE.sub(sub, text)


@dataclass(frozen=True)
class Case:
    name: str  # AREA/NAME
    data: bytes
    expect: tuple[int, ...]  # the statuses answered, in order; () for "close"
    why: str
    saw: tuple[tuple[str, str], ...] = ()  # environ keys the app must have seen


def load_case(http: Path) -> Case:
    expect_file = http.with_suffix(".expect")
    lines = expect_file.read_text().splitlines()
    why = " ".join(line.lstrip("# ") for line in lines if line.startswith("#"))
    saw = tuple(
        (key.strip(), value.strip())
        for key, _, value in (line[4:].partition("=") for line in lines if line.startswith("saw:"))
    )
    outcome = [line for line in lines if line.strip() and not line.startswith(("#", "saw:"))]
    assert why, f"{expect_file}: no '#' line saying why"
    assert len(outcome) == 1, f"{expect_file}: expected one outcome line, got {outcome}"
    words = outcome[0].split()
    statuses = () if words == ["close"] else tuple(int(w) for w in words)
    name = f"{http.parent.name}/{http.stem}"
    return Case(name, decode(http.read_bytes()), statuses, why, saw)


CASES = {case.name: case for case in map(load_case, sorted(CORPUS.glob("*/*.http")))}
AREAS = sorted({name.split("/")[0] for name in CASES})


# -- talking to the server ------------------------------------------------------


@dataclass
class Outcome:
    statuses: list[int] = field(default_factory=list)
    responses: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    closed: bool = False
    leftover: bytes = b""
    send_error: str = ""

    def describe(self) -> str:
        parts = [f"{s} {h} {b[:200]!r}" for s, h, b in self.responses] or ["no response"]
        parts.append("then closed" if self.closed else f"no close within {READ_TIMEOUT} s")
        if self.leftover:
            parts.append(f"and stray bytes {self.leftover[:200]!r}")
        if self.send_error:
            parts.append(f"(sending stopped: {self.send_error})")
        return "; ".join(parts)


def send(sock: socket.socket, data: bytes, chunking: str) -> str:
    """Send ``data``; return the error that stopped it (the server may close early)."""
    size = len(data) if chunking == "whole" else 1 if len(data) <= BYTEWISE_UP_TO else 1000
    try:
        for i in range(0, len(data), size):
            sock.sendall(data[i : i + size])
    except OSError as e:
        return repr(e)
    return ""


def replay(server: ServerProcess, data: bytes, chunking: str) -> Outcome:
    """Send ``data`` on a new connection; read every answer until the server closes."""
    with server.connect(timeout=READ_TIMEOUT) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        out = Outcome(send_error=send(sock, data, chunking))
        reader = Reader(sock)
        sock.settimeout(READ_TIMEOUT)
        while True:
            try:
                if not reader.buf:
                    more = sock.recv(65536)
                    if not more:
                        out.closed = True
                        break
                    reader.buf = more
                response = reader.response()
            except TimeoutError:
                break
            except ConnectionError:  # closed inside a response, or reset
                out.closed = True
                break
            out.responses.append(response)
            out.statuses.append(response[0])
        out.leftover = reader.buf
    return out


# -- the server -------------------------------------------------------------------


@dataclass
class HostileServer:
    process: ServerProcess
    workers: set[int]  # the master's children once it was up

    def probe(self) -> None:
        """A normal request on a new connection must still be served by a first worker."""
        request = b"GET /probe HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n"
        out = replay(self.process, request, "whole")
        assert out.statuses == [200] and out.closed, (
            f"the server stopped serving: a normal request got {out.describe()}"
        )
        pid = json.loads(out.responses[0][2])["pid"]
        assert pid in self.workers, f"served by {pid}, not one of {sorted(self.workers)}"


@pytest.fixture(scope="module", params=["embedded", "daemon"])
def server(request: pytest.FixtureRequest) -> Iterator[HostileServer]:
    mode = request.param
    # --chunked-request: chunked framing is judged on its own, not refused with 411.
    process = serve(
        APPS / "corpus_echo.wsgi", "--chunked-request", processes=2, threads=4, mode=mode
    )
    expected = 2 if mode == "embedded" else 4  # daemon: 2 front ends + 2 daemon processes
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 20
        while len(workers) < expected and time.monotonic() < deadline:
            workers = children(process.proc.pid)
            time.sleep(0.05)
        assert len(workers) == expected, f"expected {expected} children, found {sorted(workers)}"
        state = HostileServer(process, set(workers))
        state.probe()
        yield state
    finally:
        process.close()
        for pid in workers:  # children run in their own process groups
            if alive(pid):
                kill_all([pid], signal.SIGKILL)


# -- the tests --------------------------------------------------------------------


def test_the_corpus_is_big_enough_and_covers_every_area() -> None:
    assert len(CASES) >= 60
    assert set(AREAS) == {"smuggling", "chunked", "lines", "bytes", "host", "oversize"}
    for area in AREAS:
        in_area = [c for c in CASES.values() if c.name.startswith(area + "/")]
        assert any(c.expect and c.expect[0] >= 400 for c in in_area), area
    for http in CORPUS.glob("*/*"):
        assert http.suffix in (".http", ".expect"), http
        assert http.with_suffix(".http").exists() and http.with_suffix(".expect").exists(), http


@pytest.mark.parametrize("chunking", ["whole", "pieces"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_case(server: HostileServer, name: str, chunking: str) -> None:
    case = CASES[name]
    out = replay(server.process, case.data, chunking)
    want = "close" if not case.expect else " ".join(map(str, case.expect))
    assert tuple(out.statuses) == case.expect, f"{case.why}: expected {want}, got {out.describe()}"
    assert out.closed and not out.leftover, f"expected the server to close: {out.describe()}"
    for status, headers, body in out.responses:
        if status >= 400 and status != 404:
            assert headers.get("connection", "").lower() == "close", out.describe()
        if 200 <= status < 300:
            assert headers.get("content-type") == "application/json", out.describe()
            seen = json.loads(body)
            assert seen["pid"] in server.workers
            environ = dict(seen["headers"])
            for key, value in case.saw:
                assert environ.get(key) == value, f"{case.why}: {key} in {environ}"
    server.probe()


def test_no_worker_died_and_no_traceback(server: HostileServer) -> None:
    for _ in range(4):
        server.probe()
    assert children(server.process.proc.pid) == server.workers, "a worker was replaced"
    assert server.process.proc.poll() is None, "the master exited"
    log = server.process.stderr()
    assert "Traceback" not in log, f"the error log has a traceback:\n{log[-4000:]}"
