"""The master process: owns the listeners, starts and replaces the workers.

A single-threaded loop over a selector. Signal handlers do nothing but wake
it (``signal.set_wakeup_fd`` writes each signal's number to a socket the
selector watches); the loop then dispatches, reaps children and tops their
number up. It never imports app code, so a broken app cannot take it down.

Children are started by fork and exec with only the descriptors they need,
each in its own process group: a terminal's Ctrl-C reaches only the master,
which then stops them in order. Each child holds one end of a socketpair
whose other end only the master has; when the master dies, even by
``kill -9``, the child sees EOF and stops.
"""

from __future__ import annotations

import errno
import os
import pickle
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from wsgihost.config.model import Listener, Server
from wsgihost.logs import ErrorLog

# A worker that exits this soon after starting counts as a failed start.
QUICK_EXIT = 2.0
# The signals a child handles itself; blocked while it starts.
CHILD_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1}
MAX_BACKOFF = 10.0


class StartupError(Exception):
    """The server cannot start (a listener cannot be bound, ...)."""


@dataclass
class Child:
    """A front-end worker as the master sees it."""

    proc: subprocess.Popen[bytes]
    channel: socket.socket
    started: float
    stopping: bool = False


@dataclass
class BoundListener:
    spec: Listener
    sock: socket.socket
    port: int = field(default=0)

    def url(self) -> str:
        return self.spec.url(self.port)


def bind(spec: Listener, backlog: int) -> BoundListener:
    """Bind and listen on one TCP address."""
    try:
        infos = socket.getaddrinfo(
            spec.host or None, spec.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as e:
        raise StartupError(f"cannot resolve listen address {spec.host!r}: {e.strerror}") from None
    family, type_, proto, _, addr = infos[0]
    sock = socket.socket(family, type_, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(backlog)
    except OSError as e:
        sock.close()
        where = spec.url().removeprefix("http://")
        raise StartupError(f"cannot listen on {where}: {e.strerror}") from None
    sock.setblocking(False)
    return BoundListener(spec, sock, sock.getsockname()[1])


class Master:
    """Runs in the master process for the server's whole life."""

    def __init__(
        self,
        server: Server,
        log: ErrorLog,
        announce: Callable[[str], None],
    ) -> None:
        self.server = server
        self.log = log
        self.announce = announce
        self.listeners: list[BoundListener] = []
        self.children: dict[int, Child] = {}
        self.selector = selectors.DefaultSelector()
        self.stopping = False
        self.stop_deadline = 0.0
        self.failures = 0
        self.next_start = 0.0
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None

    # -- life cycle -----------------------------------------------------------

    def run(self) -> int:
        for spec in self.server.listeners:
            self.listeners.append(bind(spec, self.server.listen_backlog))
        for bound in self.listeners:
            self.announce(f"listening on {bound.url()}")
            self.log.notice(f"listening on {bound.url()}")
        for group in self.server.groups:
            self.log.warn(
                f"{group.where}: WSGIDaemonProcess {group.name}: daemon process groups are "
                "not provided yet; the group's apps run embedded in the front-end workers"
            )
        self._write_pid_file()
        self._install_signals()
        try:
            while True:
                if self.stopping and not self.children:
                    break
                self._top_up()
                self._wait(self._timeout())
                self._reap()
                if self.stopping and time.monotonic() > self.stop_deadline:
                    self._kill_all()
        finally:
            for bound in self.listeners:
                bound.sock.close()
            self._restore_signals()
            self._remove_pid_file()
        self.log.notice("stopped")
        return 0

    def _write_pid_file(self) -> None:
        path = self.server.pid_file
        if path:
            try:
                with open(path, "w") as f:
                    f.write(f"{os.getpid()}\n")
            except OSError as e:
                raise StartupError(f"cannot write PidFile {path}: {e.strerror}") from None

    def _remove_pid_file(self) -> None:
        path = self.server.pid_file
        if path:
            try:
                with open(path) as f:
                    mine = f.read().strip() == str(os.getpid())
                if mine:
                    os.unlink(path)
            except OSError:
                pass

    def _timeout(self) -> float:
        now = time.monotonic()
        if self.stopping:
            return max(0.0, min(1.0, self.stop_deadline - now))
        if len(self.children) < self.server.processes:
            return max(0.0, min(1.0, self.next_start - now))
        return 1.0

    def _install_signals(self) -> None:
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        for sig in (
            signal.SIGTERM,
            signal.SIGINT,
            signal.SIGQUIT,
            signal.SIGHUP,
            signal.SIGUSR1,
            signal.SIGCHLD,
        ):
            # The handler only has to exist: the wakeup fd carries the signal.
            signal.signal(sig, _ignore)
        self.selector.register(self._wake_r, selectors.EVENT_READ, None)

    def _restore_signals(self) -> None:
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_DFL)

    def _wait(self, timeout: float) -> None:
        for key, _ in self.selector.select(timeout):
            if key.data is None:
                self._on_signals()
            else:
                self._on_channel(key.data)

    def _on_signals(self) -> None:
        assert self._wake_r is not None
        try:
            data = self._wake_r.recv(512)
        except BlockingIOError:
            return
        for signum in data:
            if signum in (signal.SIGTERM, signal.SIGINT):
                name = signal.Signals(signum).name
                if self.stopping:
                    self.log.notice(f"{name} again: stopping at once")
                    self._signal_all(signal.SIGQUIT)
                else:
                    self.begin_stop(f"{name} received")
            elif signum == signal.SIGQUIT:
                self.begin_stop("SIGQUIT received", graceful=False)
            elif signum == signal.SIGUSR1:
                self.log.dest.reopen()
                self._signal_all(signal.SIGUSR1)
            elif signum == signal.SIGHUP:
                self.log.notice("SIGHUP received: replacing the front-end workers")
                self._replace_all()

    def _on_channel(self, child: Child) -> None:
        try:
            data = child.channel.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            # The child closed its end: it is exiting. _reap collects it.
            self.selector.unregister(child.channel)

    # -- children -------------------------------------------------------------

    def _top_up(self) -> None:
        if self.stopping:
            return
        running = sum(1 for c in self.children.values() if not c.stopping)
        while running < self.server.processes and time.monotonic() >= self.next_start:
            self._spawn()
            running += 1

    def _spawn(self) -> None:
        parent, child_end = socket.socketpair()
        fds = [b.sock.fileno() for b in self.listeners]
        cmd = [
            sys.executable,
            "-m",
            "wsgihost.frontend",
            "--channel",
            str(child_end.fileno()),
            "--listen",
            ",".join(str(fd) for fd in fds),
        ]
        # The child inherits blocked signals through fork and exec and unblocks
        # them once its handlers are in place: a SIGTERM or SIGUSR1 sent while
        # it starts waits instead of killing it.
        signal.pthread_sigmask(signal.SIG_BLOCK, CHILD_SIGNALS)
        try:
            proc = subprocess.Popen(
                cmd,
                pass_fds=[child_end.fileno(), *fds],
                process_group=0,
                stdin=subprocess.DEVNULL,
            )
        except OSError as e:
            parent.close()
            child_end.close()
            self.log.error(f"cannot start a front-end worker: {e}")
            self._back_off()
            return
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, CHILD_SIGNALS)
        child_end.close()
        payload = pickle.dumps(self.server)
        parent.sendall(struct.pack("!I", len(payload)) + payload)
        parent.setblocking(False)
        child = Child(proc, parent, time.monotonic())
        self.children[proc.pid] = child
        self.selector.register(parent, selectors.EVENT_READ, child)
        self.log.info(f"started front-end worker {proc.pid}")

    def _reap(self) -> None:
        for pid, child in list(self.children.items()):
            code = child.proc.poll()
            if code is None:
                continue
            del self.children[pid]
            try:
                self.selector.unregister(child.channel)
            except KeyError:
                pass
            child.channel.close()
            lived = time.monotonic() - child.started
            if self.stopping or child.stopping:
                self.log.info(f"front-end worker {pid} exited")
                continue
            how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited ({code})"
            self.log.error(f"front-end worker {pid} {how}; starting a replacement")
            if code != 0 and lived < QUICK_EXIT:
                self._back_off()
            else:
                self.failures = 0

    def _back_off(self) -> None:
        self.failures += 1
        delay = min(MAX_BACKOFF, 0.1 * 2 ** (self.failures - 1))
        self.next_start = time.monotonic() + delay

    def _replace_all(self) -> None:
        """Start fresh workers, then let the old ones finish and exit."""
        old = [c for c in self.children.values() if not c.stopping]
        for _ in old:
            self._spawn()
        for child in old:
            child.stopping = True
            _kill(child.proc.pid, signal.SIGTERM)

    def begin_stop(self, why: str, graceful: bool = True) -> None:
        self.log.notice(f"{why}: stopping")
        self.stopping = True
        # Refuse new connections now: with the workers' copies closed, ours
        # would let the kernel accept connections that nobody will serve.
        for bound in self.listeners:
            bound.sock.close()
        self.stop_deadline = time.monotonic() + self.server.graceful_timeout + 2.0
        self._signal_all(signal.SIGTERM if graceful else signal.SIGQUIT)

    def _signal_all(self, sig: signal.Signals) -> None:
        for pid in self.children:
            _kill(pid, sig)

    def _kill_all(self) -> None:
        for pid in self.children:
            self.log.warn(f"front-end worker {pid} did not stop in time; killing it")
            _kill(pid, signal.SIGKILL)
        self.stop_deadline = time.monotonic() + 5.0


def _ignore(signum: int, frame: object) -> None:
    pass


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError as e:
        if e.errno != errno.ESRCH:
            raise
