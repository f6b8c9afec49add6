"""A front-end worker process: an event loop serving the listeners it inherited.

Started by the master as ``python -m wsgihost.frontend --channel FD --listen
FD,...``. Everything here runs in the worker process. It learns its
configuration from the channel (a socketpair with the master), which also
tells it when the master has died: the read end sees EOF, and the worker
stops gracefully instead of living on holding ports.

It serves at most its share of MaxRequestWorkers connections at once (see
``admit``): running short, it closes idle keep-alive connections first, and
only then answers new ones with 503, so that a flood of connections meets a
clear answer rather than a failing ``accept()``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import pickle
import resource
import signal
import socket
import ssl
import struct
import sys
import time
from collections.abc import Callable

from wsgihost import privileges, static
from wsgihost.config.model import Server
from wsgihost.daemon import batch, restrict
from wsgihost.frontend.connection import Connection
from wsgihost.frontend.embedded import EmbeddedApps, ThreadPool
from wsgihost.frontend.hostlogs import HostLogs
from wsgihost.frontend.tlslayer import Sites, TlsProtocol
from wsgihost.htaccess import HtaccessFiles
from wsgihost.logs import ErrorLog
from wsgihost.memory import release_free_memory
from wsgihost.mods import proxyproto
from wsgihost.pipeline import registry as pipeline_registry
from wsgihost.proctitle import set_name
from wsgihost.routing import Router
from wsgihost.wsgi.environ import log_id


class Worker:
    """The loop-side state of one worker process."""

    def __init__(
        self,
        server: Server,
        listen_fds: list[int],
        channel: socket.socket,
        loop: asyncio.AbstractEventLoop,
        group_sockets: dict[str, str] | None = None,
        group_status: dict[str, str] | None = None,
    ) -> None:
        self.server = server
        self.groups = {g.name: g for g in server.groups}
        self.group_sockets = group_sockets or {}
        # What the master last said of each group: starting | ready | failed.
        self.group_status = group_status or {}
        self._channel_buf = b""
        self.listen_fds = listen_fds
        self.channel = channel
        self.loop = loop
        self.logs = HostLogs(server)
        self.log = self.logs.error_log(server.main)
        self.connections: set[Connection] = set()
        # This worker's share of MaxRequestWorkers, the connections counted
        # against it, and the idle keep-alive ones among them, longest idle
        # first: they are closed to make room before a new one is refused.
        self.max_connections = connection_share(server)
        self.open_connections = 0
        self.idle: dict[Connection, None] = {}
        self._evicted = 0  # since the last report
        self._refused = 0
        self.pool = ThreadPool(server.threads)
        # .htaccess files, read per request where AllowOverride allows (wsgihost.htaccess),
        # for a configuration's sites; `serve SCRIPT` reads none, as mod_wsgi-express's
        # `<Directory /> AllowOverride None`.
        htaccess = HtaccessFiles(server.server_root or "/", warn=self.log.warn)
        self.router = Router(server, htaccess if server.config_files else None)
        self.pipeline = pipeline_registry.build(server)  # the modules the configuration uses
        self.apps = EmbeddedApps(server.processes, server.threads, self.logs)
        self.mime_types = load_mime_types(server, self.log)
        # SSLContexts, built now: the worker is still root here when the
        # master was, and reads the keys before dropping to User (tlslayer).
        self.tls = Sites(server, self.router)
        self.stopping = False
        self._stopped = asyncio.Event()
        self._servers: list[asyncio.base_events.Server] = []
        # The master's word that the next SIGTERM replaces this worker (a graceful
        # restart): keep accepting until the successors are ready.
        self._hand_over_next = False
        self._ids = itertools.count(1)
        self._pid = os.getpid()

    def next_request_id(self) -> str:
        # Apache's log id, which mod_wsgi passes as mod_wsgi.request_id.
        return log_id(time.time(), self._pid, next(self._ids))

    async def run(self) -> None:
        loop = self.loop
        for fd in self.listen_fds:
            sock = socket.socket(fileno=fd)
            factory: Callable[[], asyncio.Protocol] = lambda: Connection(self)  # noqa: E731
            if self.tls and self.tls.on_port(sock.getsockname()[1]):
                factory = lambda: TlsProtocol(self.tls, self)  # noqa: E731
            if self.server.proxy_protocol is not None:
                # RemoteIPProxyProtocol: the PROXY header comes first, before TLS.
                factory = proxyproto.layered(self, factory)
            srv = await loop.create_server(factory, sock=sock, backlog=self.server.listen_backlog)
            self._servers.append(srv)
        loop.add_signal_handler(signal.SIGTERM, self._on_sigterm)
        loop.add_signal_handler(signal.SIGINT, self.stop, "SIGINT", True)
        loop.add_signal_handler(signal.SIGQUIT, self.quit)
        loop.add_signal_handler(signal.SIGUSR1, self.reopen_logs)
        # The master blocked these while starting us (see Master._spawn).
        signal.pthread_sigmask(
            signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1}
        )
        # Start-up's objects live as long as the worker: out of the
        # collector's way, so its full collections stay cheap.
        gc.collect()
        gc.freeze()
        batch.enter(batch.FRONT)  # SCHED_BATCH unless turned off: wsgihost.daemon.batch
        try:
            self.channel.sendall(b'{"ready": true}\n')
        except OSError:
            pass  # the master is gone: _on_channel will see EOF
        self.channel.setblocking(False)
        loop.add_reader(self.channel.fileno(), self._on_channel)
        sweeper = loop.create_task(self._sweep())
        self.log.debug(
            f"front-end worker ready, {self.server.threads} threads, "
            f"at most {self.max_connections} client connections"
        )
        await self._stopped.wait()
        sweeper.cancel()

    def _on_channel(self, flags: int = 0) -> bool:
        """Read and act on what the master sent; False once nothing more is there."""
        try:
            data = self.channel.recv(4096, flags)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:
            self.loop.remove_reader(self.channel.fileno())
            self.stop("the master went away")
            return False
        self._channel_buf += data
        while b"\n" in self._channel_buf:
            line, _, self._channel_buf = self._channel_buf.partition(b"\n")
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message.get("groups"), dict):
                self.group_status = message["groups"]
                self.log.info(f"daemon groups now: {self.group_status}")
            elif message.get("hand_over"):
                self._hand_over_next = True
            elif message.get("stop_accepting"):
                self._stop_accepting()
        return True

    def _on_sigterm(self) -> None:
        # What the master wrote before signalling is read first: whether this
        # SIGTERM replaces us (hand over) or stops the server.
        while not self.stopping and self._on_channel(socket.MSG_DONTWAIT):
            pass  # all of it (MSG_DONTWAIT: the channel may still block)
        self.stop("SIGTERM", self._hand_over_next)

    async def _sweep(self) -> None:
        for tick in itertools.count(1):
            await asyncio.sleep(0.5)
            now = self.loop.time()
            for conn in list(self.connections):
                conn.check_timer(now)
            self._report_pressure()
            if tick % 4 == 0:
                release_free_memory()  # every 2 s: cheap when there is nothing to give back

    # -- the connection cap (MaxRequestWorkers) ---------------------------------

    def admit(self, conn: Connection) -> bool:
        """May a new connection be served? Makes room by closing idle ones if need be.

        An idle keep-alive connection costs its client nothing to lose (RFC
        9112 9.5 lets either side close it at any time; clients retry on a
        new one), while a refused connection costs a request: the longest
        idle go first.
        """
        while self.open_connections >= self.max_connections and self.idle:
            victim = next(iter(self.idle))
            self.release(victim)
            if victim.transport is not None and not victim.lost:
                victim.transport.close()
                self._evicted += 1
        if self.open_connections >= self.max_connections:
            self._refused += 1  # reported by the sweeper: one line, not one per connection
            return False
        conn.counted = True
        self.open_connections += 1
        return True

    def release(self, conn: Connection) -> None:
        """``conn`` no longer counts against the cap (closed, or being closed)."""
        self.idle.pop(conn, None)
        if conn.counted:
            conn.counted = False
            self.open_connections -= 1

    def _report_pressure(self) -> None:
        """Say what the cap did since the last report (at most one line of each kind)."""
        if self._evicted:
            self.log.info(
                f"{self._evicted} idle keep-alive connections closed to make room: this worker "
                f"is at its {self.max_connections} connections (MaxRequestWorkers)"
            )
            self._evicted = 0
        if self._refused:
            self.log.warn(
                f"{self._refused} new connections refused with 503: this worker is at its "
                f"{self.max_connections} connections (MaxRequestWorkers) and none is idle"
            )
            self._refused = 0

    def stop(self, why: str, hand_over: bool = False) -> None:
        """Stop accepting, finish the requests in flight, then exit.

        ``hand_over``: a successor is on its way (a graceful restart, or the app
        asked for a restart); keep accepting from our sockets until the master says
        it is ready, so that no connection waits for it to start. The connections
        accepted meanwhile get one answer each, with ``Connection: close``.
        """
        if self.stopping:
            return
        self.stopping = True
        if why == "SIGINT":
            # The app asked this worker to restart: tell the master, so that
            # the replacement starts while we finish.
            try:
                self.channel.send(b'{"retiring": true}\n')
            except OSError:
                pass
        self.log.info(f"front-end worker stopping ({why})")
        # The drain is scheduled first: it is what ends the process, so a
        # connection whose stop() fails must not leave the worker running
        # forever with no listener and no master.
        self.loop.create_task(self._drain())
        if not hand_over:
            self._stop_accepting()
        for conn in list(self.connections):
            try:
                conn.stop()
            except Exception as e:
                self.log.error(f"internal error while stopping a connection: {e!r}")
                if conn.transport is not None:
                    conn.transport.abort()

    def _stop_accepting(self) -> None:
        for srv in self._servers:
            srv.close()  # closes only this process's copy of the listener
        self._servers.clear()

    async def _drain(self) -> None:
        # A worker handing over accepts until its successor is ready, or for
        # GracefulShutdownTimeout if it never is; what it accepted then has as
        # long again to finish.
        deadline = self.loop.time() + self.server.graceful_timeout
        while self._servers and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        self._stop_accepting()
        # Connections, and app threads whose client has gone: their work and
        # their close() still deserve to finish.
        deadline = self.loop.time() + self.server.graceful_timeout
        while (self.connections or self.pool.busy) and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        if self.connections:
            self.log.warn(
                f"graceful timeout: closing {len(self.connections)} connections "
                "with requests still running"
            )
            for conn in list(self.connections):
                if conn.transport is not None:
                    conn.transport.abort()
        self._stopped.set()

    def quit(self) -> None:
        os._exit(0)

    def reopen_logs(self) -> None:
        self.logs.reopen()


def connection_share(server: Server) -> int:
    """This worker's share of MaxRequestWorkers (every worker takes an equal one).

    With no MaxRequestWorkers, what the open-file limit allows: a connection
    may hold a second descriptor at times (its daemon socket, a file being
    sent, a duplicate for sendfile), and logs, listeners and the app need a
    few more. Refusing with 503 then beats failing in accept() or open().
    """
    if server.max_connections:
        return max(1, -(-server.max_connections // max(1, server.processes)))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(16, (soft - 64) // 2)


def load_mime_types(server: Server, log: ErrorLog) -> dict[str, str]:
    """TypesConfig's table when one is configured, else the one we ship."""
    if not server.types_config:
        return static.MIME_TYPES
    try:
        with open(server.types_config, encoding="utf-8", errors="replace") as f:
            return static.parse_mime_types(f.read())
    except OSError as e:
        log.error(f"cannot read TypesConfig {server.types_config}: {e.strerror}")
        return static.MIME_TYPES


def read_message(sock: socket.socket) -> object:
    """Read one length-prefixed pickle (the master's configuration hand-over)."""
    header = _read_exactly(sock, 4)
    (size,) = struct.unpack("!I", header)
    return pickle.loads(_read_exactly(sock, size))


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    parts = []
    while n:
        data = sock.recv(n)
        if not data:
            raise EOFError("the master closed the channel")
        parts.append(data)
        n -= len(data)
    return b"".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wsgihost-frontend")
    parser.add_argument("--channel", type=int, required=True)
    parser.add_argument("--listen", default="")
    parser.add_argument("title", nargs="*", help="shown by ps; not used")
    args = parser.parse_args(argv)
    channel = socket.socket(fileno=args.channel)
    try:
        message = read_message(channel)
    except EOFError:
        return 1
    assert isinstance(message, tuple)
    server: Server = message[0]
    group_sockets: dict[str, str] = message[1]
    group_status: dict[str, str] = message[2]
    listen_fds = [int(fd) for fd in args.listen.split(",") if fd]
    set_name("wsgihost:front")
    import uvloop

    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        worker = Worker(server, listen_fds, channel, loop, group_sockets, group_status)
    except (ssl.SSLError, OSError) as e:
        # A certificate or key changed since the master checked it: say so, and
        # let the master's back-off retry (as a failing start does).
        sys.stderr.write(f"wsgihost: cannot load a TLS certificate or key: {e}\n")
        return 1
    worker.logs.install()
    # WSGIRestrictStdin/Stdout/Signal and WSGISwitchInterval, for embedded apps.
    restrict.install(
        server.restrict_stdin,
        server.restrict_stdout,
        server.restrict_signal,
        server.switch_interval,
        worker.log.warn,
    )
    # Logs are open and listeners inherited: from here on, User and Group
    # (when started as root), before any request or app code runs.
    privileges.drop(privileges.resolve(server.user, server.group))
    profile_dir = os.environ.get("WSGIHOST_PROFILE_DIR", "")  # bench/README.md: profiling
    profiler = None
    if profile_dir:
        import cProfile

        profiler = cProfile.Profile(time.thread_time_ns, 1e-9)
        profiler.enable()
    try:
        loop.run_until_complete(worker.run())
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(os.path.join(profile_dir, f"front-{os.getpid()}.prof"))
        if server.destroy_interpreter:
            # Drained: the embedded apps' atexit functions, as mod_wsgi runs
            # them when an Apache child stops (WSGIDestroyInterpreter On).
            restrict.run_exit_functions()
    finally:
        restrict.flush_std()
    # Pool threads may still be inside an app; they are daemon threads and
    # must not delay the exit the master is waiting for.
    os._exit(0)
