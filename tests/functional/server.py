"""Start the real server as a process and talk to it over loopback."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

APPS = Path(__file__).resolve().parent.parent / "apps"
LISTENING = re.compile(r"listening on https?://(\S+):(\d+)")


class ServerProcess:
    """``wsgihost ARGS`` in its own process group; stopped and reaped by ``close``."""

    def __init__(self, args: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="wsgihost-test-"))
        self.stdout_path = self.dir / "stdout"
        self.stderr_path = self.dir / "stderr"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "wsgihost", *args],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                process_group=0,
            )
        self.host = ""
        self.port = 0
        self.urls: list[tuple[str, int]] = []

    def wait_listening(self, count: int = 1, timeout: float = 20.0) -> ServerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = LISTENING.findall(self.stdout())
            if len(found) >= count:
                self.urls = [(h.strip("[]"), int(p)) for h, p in found]
                self.host, self.port = self.urls[0]
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.stderr()}")
            time.sleep(0.02)
        raise RuntimeError(f"server did not announce its listener:\n{self.stderr()}")

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def connect(self, timeout: float = 10.0) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout)

    def close(self) -> None:
        """Stop the server and every process it started (its children share no group)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def serve(
    script: str | Path, *extra: str, processes: int = 2, threads: int = 4, mode: str = "embedded"
) -> ServerProcess:
    """``wsgihost serve SCRIPT`` on a free port, in embedded or daemon ``mode``."""
    args = [
        "serve",
        str(script),
        *(["--embedded"] if mode == "embedded" else []),
        "--port",
        "0",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
        *extra,
    ]
    return ServerProcess(args).wait_listening()


class Reader:
    """Reads HTTP/1.1 responses from a socket, keeping what belongs to the next one."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _more(self, what: str) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError(f"connection closed {what}: {self.buf[:200]!r}")
        self.buf += data

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more("inside a body")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._more("inside a chunked body")
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def response(self, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
        """One response: (status, headers with lower-case names, body)."""
        while b"\r\n\r\n" not in self.buf:
            self._more("before a response head")
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status < 200 or head_only or status in (204, 304):
            return status, headers, b""
        if "content-length" in headers:
            return status, headers, self._take(int(headers["content-length"]))
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size = int(self._line().split(b";")[0], 16)
                body += self._take(size)
                self._take(2)
                if size == 0:
                    return status, headers, body
        while True:
            data = self.sock.recv(65536)
            if not data:
                body, self.buf = self.buf, b""
                return status, headers, body
            self.buf += data


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read a single response from a socket that carries nothing else."""
    return Reader(sock).response()
