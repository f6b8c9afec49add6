"""The control socket: how ``wsgihost status|reload|stop --config FILE`` reach a master.

One UNIX socket per configuration file, in the user's private control
directory (``rundir.control_dir``, mode 0700; the socket 0600: only the
owner may use it), named after a hash of the file's absolute path so the
CLI finds it from the same ``--config`` it started with. A request is one
JSON line; the answer is one JSON line; then the connection closes.

The master side is non-blocking and driven by the master's selector, so a
slow or silent client never stalls supervision.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from wsgihost.supervisor import rundir

MAX_REQUEST = 64 * 1024


class ControlError(Exception):
    """No server answers for this configuration, or it answered an error."""


def _name(config_file: str) -> str:
    digest = hashlib.sha1(os.path.abspath(config_file).encode()).hexdigest()[:12]
    return f"ctl.{digest}.sock"


def control_path(config_file: str) -> str:
    return str(rundir.control_path() / _name(config_file))


def legacy_path(config_file: str) -> str:
    """Where masters of earlier versions put it: in the runtime directory itself."""
    return str(rundir.runtime_path() / _name(config_file))


class ControlServer:
    """The master's end: accepts connections, reads a request, sends the answer."""

    def __init__(self, path: str, handle: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self.path = path
        self.handle = handle
        try:
            rundir.control_dir()
        except rundir.RunDirError as e:
            raise ControlError(str(e)) from None
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            pass  # nobody there: a stale file at most
        else:
            probe.close()
            raise ControlError(f"another wsgihost already runs this configuration ({path})")
        finally:
            probe.close()
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            self.sock.bind(path)
        finally:
            os.umask(old)
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.pending: dict[socket.socket, bytes] = {}
        self.opened: dict[socket.socket, float] = {}

    def accept(self) -> socket.socket | None:
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError):
            return None
        conn.setblocking(False)
        self.pending[conn] = b""
        self.opened[conn] = time.monotonic()
        return conn

    def readable(self, conn: socket.socket) -> bool:
        """Read what the client sent; True when the connection is finished with."""
        try:
            data = conn.recv(65536)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:
            return True
        buf = self.pending[conn] + data
        if b"\n" not in buf:
            if len(buf) > MAX_REQUEST:
                return True
            self.pending[conn] = buf
            return False
        line = buf.split(b"\n", 1)[0]
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a request is a JSON object")
            answer = self.handle(request)
        except Exception as e:  # a bad request gets an answer, never a dead master
            answer = {"ok": False, "error": f"bad request: {e}"}
        conn.setblocking(True)
        conn.settimeout(2.0)
        try:
            conn.sendall(json.dumps(answer).encode() + b"\n")
        except OSError:
            pass
        return True

    def drop(self, conn: socket.socket) -> None:
        self.pending.pop(conn, None)
        self.opened.pop(conn, None)
        conn.close()

    def stale(self, limit: float = 10.0) -> list[socket.socket]:
        """Connections that have not sent a whole request in ``limit`` seconds."""
        now = time.monotonic()
        return [conn for conn, since in self.opened.items() if now - since > limit]

    def close(self) -> None:
        for conn in list(self.pending):
            self.drop(conn)
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def call(config_file: str, request: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    """The CLI's end: send ``request`` to the master running ``config_file``."""
    path = control_path(config_file)
    if not os.path.exists(path) and os.path.exists(legacy_path(config_file)):
        path = legacy_path(config_file)  # a master of an earlier version, still running
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            raise ControlError(f"no wsgihost is running {os.path.abspath(config_file)}") from None
        except PermissionError:
            raise ControlError(f"{path}: permission denied (only its owner may use it)") from None
        sock.sendall(json.dumps(request).encode() + b"\n")
        buf = b""
        while b"\n" not in buf:
            data = sock.recv(65536)
            if not data:
                raise ControlError("the server closed the control connection without answering")
            buf += data
    finally:
        sock.close()
    answer = json.loads(buf.split(b"\n", 1)[0])
    if not isinstance(answer, dict):
        raise ControlError("the server's answer is not a JSON object")
    return answer
