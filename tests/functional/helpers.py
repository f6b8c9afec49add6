"""Helpers for the functional tests: raw HTTP on sockets, deadlines, /proc, log checks."""

from __future__ import annotations

import json
import os
import select
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.functional.server import APPS, Reader, ServerProcess

APP = APPS / "app.wsgi"
UNVALIDATED = APPS / "unvalidated.wsgi"
VERSION_APP = APPS / "version.wsgi"

# What must never appear on a server's error output unless a test asks for it:
# validator warnings (WSGIWarning), any traceback, and the validator's complaint
# about a response iterable that was never closed.
PROBLEMS = ("Warning", "Traceback", "garbage collected", "Exception ignored")

T = TypeVar("T")


def wait_for(
    check: Callable[[], T], timeout: float = 10.0, what: str = "a condition", every: float = 0.02
) -> T:
    """Poll ``check`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def download_block(i: int, size: int = 65536) -> bytes:
    """Block ``i`` of an app.wsgi /download body (the same function is in the app)."""
    head = b"block %08d|" % i
    return (head + bytes(range(256)) * (size // 256 + 1))[:size]


# -- requests ----------------------------------------------------------------


def build(
    method: str = "GET",
    target: str = "/",
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    version: str = "HTTP/1.1",
    host: str | None = "test.invalid",
) -> bytes:
    """The bytes of one request; a Content-Length is added for a body unless framed."""
    headers = list(headers)
    names = {name.lower() for name, _ in headers}
    lines = [f"{method} {target} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += [f"{name}: {value}" for name, value in headers]
    if body and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunked(*parts: bytes, trailer: bytes = b"") -> bytes:
    """A chunked body carrying ``parts``, then an optional trailer section."""
    out = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts if p)
    return out + b"0\r\n" + trailer + b"\r\n"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("latin-1")


def next_response(reader: Reader, head_only: bool = False) -> Response:
    return Response(*reader.response(head_only=head_only))


def exchange(server: ServerProcess, data: bytes, head_only: bool = False) -> Response:
    """Send ``data`` on a new connection and read one response."""
    with server.connect() as sock:
        sock.sendall(data)
        return next_response(Reader(sock), head_only)


def request(server: ServerProcess, method: str = "GET", target: str = "/", **kw: Any) -> Response:
    """One request on a new connection."""
    return exchange(server, build(method, target, **kw), head_only=method == "HEAD")


def get(server: ServerProcess, target: str, **kw: Any) -> Response:
    return request(server, "GET", target, **kw)


def read_to_eof(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything until the peer closes; fails if it has not closed by ``timeout``."""
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"the connection was still open after {timeout} s: {data!r}")
        sock.settimeout(left)
        try:
            part = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return data
        if not part:
            return data
        data += part


def closed_by_peer(sock: socket.socket, reader: Reader | None = None, timeout: float = 5.0) -> bool:
    """True if the server closes the connection within ``timeout`` with nothing more to say."""
    if reader is not None and reader.buf:
        return False
    try:
        return read_to_eof(sock, timeout) == b""
    except AssertionError:
        return False


def quiet_for(sock: socket.socket, seconds: float) -> bool:
    """True if nothing arrives on ``sock`` for ``seconds`` (a bounded wait for an absence)."""
    readable, _, _ = select.select([sock], [], [], seconds)
    return not readable


def replace_file(path: Path, text: str) -> None:
    """Write ``text`` so that the change shows even within one second (a new inode)."""
    fresh = path.with_name(path.name + ".new")
    fresh.write_text(text)
    os.replace(fresh, path)


def free_port() -> int:
    """A loopback port free now, for a config file's ``Listen`` (which takes no 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- processes ---------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces; fields follow the last ')'.
    return text[text.rindex(")") + 2 :].split()


def children(pid: int) -> set[int]:
    """The live child processes of ``pid``, from /proc."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields and fields[0] != "Z" and int(fields[1]) == pid:
                found.add(int(entry))
    return found


def role(pid: int) -> str | None:
    """ "front" for a front-end worker, "daemon" for a daemon process (from its title)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if b"front-end worker" in cmdline:
        return "front"
    if b"wsgihost: daemon" in cmdline:
        return "daemon"
    return None


def members(master: int) -> dict[int, str]:
    """The master's front-end workers and daemon processes, with their role."""
    return {pid: kind for pid in children(master) if (kind := role(pid)) is not None}


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie (an exited child not yet reaped)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def proc_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def worker_pids(server: ServerProcess, count: int, timeout: float = 10.0) -> set[int]:
    """The master's ``count`` front-end workers, once they are all running."""

    def check() -> set[int] | None:
        pids = children(server.proc.pid)
        return pids if len(pids) == count else None

    return wait_for(check, timeout, f"{count} workers")


def pids_answering(server: ServerProcess, count: int, timeout: float = 10.0) -> set[int]:
    """Ask ``/pid`` on new connections until ``count`` different processes have answered."""
    seen: set[int] = set()

    def more() -> bool:
        response = get(server, "/pid")
        assert response.status == 200, response
        seen.add(int(response.body))
        return len(seen) >= count

    wait_for(more, timeout, f"{count} workers to answer", every=0)
    return seen


def kill_all(pids: Iterable[int], sig: int = 9) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


# -- logs --------------------------------------------------------------------


def problems(text: str, allow: Iterable[str] = ()) -> list[str]:
    """Lines of a log that show a warning or a traceback, minus the allowed ones."""
    allowed = tuple(allow)
    return [
        line
        for line in text.splitlines()
        if any(p in line for p in PROBLEMS) and not any(a in line for a in allowed)
    ]


@contextmanager
def running(
    script: str | Path, *extra: str, processes: int = 2, threads: int = 4
) -> Iterator[ServerProcess]:
    """``serve(...)`` for a ``with`` block: the server is stopped afterwards, even if it
    never announced its listener."""
    args = ["--port", "0", "--processes", str(processes), "--threads", str(threads)]
    server = ServerProcess(["serve", str(script), "--embedded", *args, *extra])
    try:
        server.wait_listening()
        yield server
    finally:
        server.close()


class LogWatch:
    """What a server writes to standard error from now on, and the check of it.

    ``check`` fails on any warning (WSGIWarning included) and on any traceback
    except one per ``expect_traceback`` call, each containing the given text.
    """

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.mark = len(server.stderr())
        self.expected: list[str] = []

    def text(self) -> str:
        return self.server.stderr()[self.mark :]

    def expect_traceback(self, containing: str) -> None:
        self.expected.append(containing)

    def wait_for(self, text: str, timeout: float = 5.0) -> str:
        """Wait until ``text`` has been logged (a worker may log after it answered)."""
        return wait_for(lambda: text in self.text() and self.text(), timeout, repr(text))

    def check(self) -> None:
        text = self.text()
        header = "Traceback (most recent call last)"
        found = problems(text, allow=[header] if self.expected else [])
        assert not found, "unexpected warnings or tracebacks on standard error:\n" + text
        count = text.count(header)
        assert count == len(self.expected), (
            f"expected {len(self.expected)} tracebacks, found {count}:\n{text}"
        )
        for wanted in self.expected:
            assert wanted in text, f"no traceback with {wanted!r}:\n{text}"
