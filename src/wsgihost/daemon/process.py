"""A daemon process: idle threads accept requests from the group's socket and run the app.

Runs in its own process, started by the master by fork and exec under the
group's interpreter (see :mod:`wsgihost.daemon.bootstrap`). Standard library
only. Its life:

1. read its settings from the master (one JSON line on the channel);
2. import the group's WSGI scripts, then say READY: liveness is not
   readiness, and the master counts a process only once its app imported;
3. serve: each of ``threads`` threads waits for work only while it is
   idle, so a busy process never hoards requests that another could serve;
   a request is ACCEPTed (or REJECTed) before the app sees it. Front ends
   keep connections open between requests: a connection whose exchange
   ended is parked in the process's epoll set (one-shot), and whichever idle
   thread is woken serves its next request. The daemon keeps a connection
   only while another of its threads is idle, so connections do not pile up
   on a saturated process (the front end connects afresh, through the
   shared backlog, to whichever process has a free thread);
4. retire on SIGINT (mod_wsgi's self-restart idiom), SIGTERM, after
   ``maximum-requests``, or when the master goes away: say RETIRING (so the
   master starts the successor at once), stop taking connections, finish
   every request accepted, exit. An idle process exits at once.

Python cannot interrupt a thread blocked in ``accept()`` with a signal, so
the threads wait in ``epoll`` on the listener, the parked connections *and*
a wake-up pipe, and take connections with a non-blocking ``accept``. Every
descriptor but the wake-up pipe is armed one-shot, so one event wakes one
thread (``select`` on a shared listener woke every idle thread for each
connection).
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple, cast

from wsgihost import privileges
from wsgihost.daemon import batch, quickio, restrict
from wsgihost.daemon.errorlogs import DaemonLogs
from wsgihost.daemon.protocol import (
    DEADLINE,
    DRAINING,
    NEED_DATA,
    QUEUE_TIMEOUT,
    Abort,
    Accept,
    Channel,
    Data,
    End,
    ProtocolError,
    Reject,
    Request,
    Response,
)
from wsgihost.daemon.watchdog import ANSWERED, CUT, FINISHED, Watchdog, apply_limits
from wsgihost.logs import as_process, bound
from wsgihost.memory import release_free_memory
from wsgihost.proctitle import set_name
from wsgihost.wsgi import runner
from wsgihost.wsgi.counters import RequestCounters
from wsgihost.wsgi.environ import MOD_WSGI_VERSION
from wsgihost.wsgi.input_error import InputError
from wsgihost.wsgi.loader import ScriptLoader
from wsgihost.wsgi.streams import ErrorStream, FileWrapper, InputStream

# Exit codes the master reads.
EXIT_OK = 0
EXIT_STARTUP_FAILED = 3  # the app could not be imported: back off before the next try

DISCARD_LIMIT = 1024 * 1024  # unread request body read and dropped after a response
_ARMED = select.EPOLLIN | select.EPOLLONESHOT
_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid
_IOV_MAX = 1024  # buffers per sendmsg() (Linux's UIO_MAXIOV)
STREAM_FRAME = 256 * 1024  # DATA frames of a response: the front end streams each on


class _Conn:
    """A connection from a front end, with its channel: served by one thread at a time."""

    __slots__ = ("channel", "fd", "registered", "sock")

    def __init__(self, sock: socket.socket, timeout: Optional[float]) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.channel = Channel("daemon")
        self.registered = False
        sock.setblocking(True)
        if timeout:
            # socket-timeout held by the kernel: a Python socket timeout would
            # cost a poll() before every recv and send, and a GIL handoff with it.
            whole = int(timeout)
            value = struct.pack("ll", whole, int((timeout - whole) * 1_000_000))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


class Channel2Master:
    """The daemon's end of its socketpair with the master: JSON lines both ways."""

    def __init__(self, fd: int) -> None:
        self.sock = socket.socket(fileno=fd)
        self._lock = threading.Lock()
        self._buf = b""

    def read_settings(self) -> Dict[str, Any]:
        while b"\n" not in self._buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("the master closed the channel")
            self._buf += data
        line, _, self._buf = self._buf.partition(b"\n")
        settings = json.loads(line)
        if not isinstance(settings, dict):
            raise ValueError("settings are not an object")
        return settings

    def tell(self, **message: Any) -> None:
        data = json.dumps(message).encode() + b"\n"
        with self._lock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass  # the master is gone; we notice through EOF


class FrameSink:
    """The runner's response sink (:class:`runner.ResponseSink`): RESPONSE, DATA and
    END frames on the connection."""

    def __init__(
        self, conn: socket.socket, channel: Channel, keep: Callable[[], bool] = lambda: False
    ) -> None:
        self.conn = conn
        self.channel = channel
        self.closed = False
        self._keep = keep  # asked once, at END: may the front end reuse the connection?
        self.kept = False
        # Held for every write: the watchdog may answer in the app's place.
        self.lock = threading.Lock()

    def send(self, head: Optional[runner.Head], data: bytes, end: bool) -> None:
        with self.lock:
            self._send(head, data, end)

    def _send(self, head: Optional[runner.Head], data: bytes, end: bool) -> None:
        if self.closed:
            return
        buffers: List[Any] = []
        if head is not None:
            buffers.append(self.channel.send(Response(head[0], head[1])))
        if data:
            buffers.extend(self.channel.send_data(data, STREAM_FRAME))
        if end:
            self.kept = self._keep()
            buffers.append(self.channel.send(End(self.kept)))
        self._write(buffers)

    def abort(self) -> None:
        with self.lock:
            self._abort()

    def _abort(self) -> None:
        if not self.closed:
            try:
                self._write([self.channel.send(Abort())])
            except ProtocolError:
                pass
            self.closed = True

    def interrupt(self, status: str, headers: List[Tuple[str, str]], body: bytes) -> str:
        """Answer for an app that ran past request-timeout; called by the watchdog's thread.

        Returns ANSWERED (no response head had gone out: the client gets
        ``status``), CUT (one had: the front end cuts the client's connection)
        or FINISHED (the response was complete, or the front end gone). The
        connection is shut down in every case: it is never reused, and a
        thread blocked reading the body wakes up.
        """
        outcome = CUT
        # A write blocked on a full socket holds the lock, and no frame can go
        # in the middle of another: then the shutdown alone cuts the response.
        if self.lock.acquire(timeout=1.0):
            try:
                state = self.channel.my_state
                if self.closed or state == "done":
                    outcome = FINISHED
                elif state == "accepted":
                    frames: List[Any] = [self.channel.send(Response(status, headers))]
                    frames += self.channel.send_data(body)
                    frames.append(self.channel.send(End()))
                    self._write(frames)
                    outcome = FINISHED if self.closed else ANSWERED
                else:
                    self._abort()
                self.closed = True
            finally:
                self.lock.release()
        self.closed = True
        try:
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return outcome

    def _write(self, buffers: List[Any]) -> None:
        try:
            if len(buffers) == 1:
                quickio.sendall(self.conn, buffers[0])
            elif sum(len(b) for b in buffers) <= _JOIN_BELOW:
                # One write that keeps the GIL beats sendmsg(), which lets it go.
                quickio.sendall(self.conn, b"".join(buffers))
            else:
                sendall_vector(self.conn, buffers)
        except OSError:
            self.closed = True  # the front end (so the client) went away


_READ_SIZE = 256 * 1024  # a body arrives in few reads, each one GIL hand-over fewer
_JOIN_BELOW = 64 * 1024  # a response's frames up to this size are copied into one write
_buffers = threading.local()


def _recv(sock: socket.socket) -> memoryview:
    """What the socket has, read into this thread's buffer: valid until its next read.

    A fresh bytes object of _READ_SIZE per read would be above malloc's mmap
    threshold: a map and an unmap for every read.
    """
    reader = getattr(_buffers, "reader", None)
    if reader is None:
        reader = _buffers.reader = quickio.ReadBuffer(_READ_SIZE)
    return cast(quickio.ReadBuffer, reader).recv(sock)


def sendall_vector(sock: socket.socket, buffers: List[Any]) -> None:
    """Write every buffer, in order, with as few system calls as the socket allows."""
    views = [memoryview(b).cast("B") for b in buffers]
    while views:
        sent = sock.sendmsg(views[:_IOV_MAX])
        while sent and views:
            first = views[0]
            if sent >= len(first):
                sent -= len(first)
                del views[0]
            else:
                views[0] = first[sent:]
                sent = 0


class Daemon:
    """The state of one daemon process."""

    def __init__(
        self,
        settings: Dict[str, Any],
        listener: socket.socket,
        master: Channel2Master,
        logs: DaemonLogs,
    ):
        self.settings = settings
        self.group = str(settings["group"])
        self.threads = int(settings.get("threads", 15))
        self.maximum_requests = int(settings.get("maximum_requests", 0))
        self.socket_timeout = float(settings.get("socket_timeout", 60.0)) or None
        self.listener = listener
        self.master = master
        self.logs = logs
        self.log = logs.own  # the process's own messages: the group's host's log
        self.loaders: Dict[Tuple[str, str], ScriptLoader] = {}
        self._loaders_lock = threading.Lock()
        self.multiprocess = bool(settings.get("multiprocess", False))
        # Who may send us requests: the front end's user (SO_PEERCRED). The
        # socket's mode keeps others out already; this holds even if it did not.
        self.peer_uids = set(settings.get("peer_uids") or [os.getuid()])
        self.script_owner = _script_owner(settings)
        self.multithread = self.threads > 1
        self.draining = False
        self.retire_why = ""
        self._retiring = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._poll = select.epoll()
        # Request threads under SCHED_BATCH while the app's requests take
        # little CPU (wsgihost.daemon.batch); None: a fixed policy. Made when
        # serving starts.
        self.adaptive: Optional[batch.Adaptive] = None
        self._switch_failed = False
        # Parked connections, by descriptor; taking one out is what gives a
        # thread the right to serve it.
        self._parked: Dict[int, _Conn] = {}
        self._parked_lock = threading.Lock()
        self._parking_closed = False
        self._count_lock = threading.Lock()
        self.served = 0
        self.counters = RequestCounters()  # mod_wsgi.thread_id and friends
        self.busy = 0
        self.idle_since = time.monotonic()
        self.watchdog = Watchdog(
            settings, self.log, master.tell, lambda: (self.draining, self.busy), self.retire
        )

    # -- scripts --------------------------------------------------------------

    def loader(self, script: str, callable_name: str, reloading: bool) -> ScriptLoader:
        key = (script, callable_name)
        found = self.loaders.get(key)
        if found is None:
            with self._loaders_lock:
                found = self.loaders.get(key)
                if found is None:
                    found = ScriptLoader(script, callable_name, reloading, warn=self.log.warn)
                    self.loaders[key] = found
        return found

    def preload(self) -> bool:
        """Import the group's scripts; False (after logging why) if one fails."""
        for item in self.settings.get("scripts", []):
            script, callable_name = item[0], item[1]
            if not os.path.exists(script):
                continue  # deployed later: a 404 until then, as in Apache
            refused = self._script_refused(script)
            if refused:
                self.log.error(refused)
                continue  # each request for it gets a 403
            try:
                self.loader(script, callable_name, False).get()
            except BaseException:
                import traceback

                self.log.error(
                    f"daemon process of group {self.group!r} failed to load WSGI script "
                    f"{script!r}:\n" + traceback.format_exc().rstrip()
                )
                return False
        return True

    # -- retiring -------------------------------------------------------------

    def retire(self, why: str) -> None:
        """Stop taking connections; the process exits when the last request is done.

        Safe in a signal handler: it only sets a flag and writes to pipes. The
        reporter thread tells the master (a handler that took the channel's
        lock could deadlock against the thread it interrupted).
        """
        if self.draining:
            return
        self.retire_why = why
        self.draining = True
        os.write(self._wake_w, b"x")
        self._retiring.set()

    # -- serving --------------------------------------------------------------

    def serve(self) -> None:
        if batch.setting(batch.DAEMON) == batch.ADAPTIVE and batch.adjustable():
            self.adaptive = batch.Adaptive(time.process_time(), self.served)
        self._poll.register(self.listener.fileno(), _ARMED)
        # Level-triggered and never read: once retiring, every thread sees it.
        self._poll.register(self._wake_r, select.EPOLLIN)
        threads = [
            threading.Thread(target=self._thread_main, name=f"wsgi-{i}", daemon=True)
            for i in range(self.threads)
        ]
        for t in threads:
            t.start()
        watcher = threading.Thread(target=self._watch_master, name="master", daemon=True)
        watcher.start()
        reporter = threading.Thread(target=self._report, name="stats", daemon=True)
        reporter.start()
        for t in threads:
            t.join()
        reporter.join(5.0)  # the master hears "retiring" before it sees us exit

    def _report(self) -> None:
        """Tell the master that we retire, and about once a second what ``status`` shows."""
        last = None
        trimmed_at = 0
        while not self._retiring.wait(1.0):
            if self.adaptive is not None:
                self.adaptive.observe(time.process_time(), self.served)
            now = (self.served, self.busy)
            if now != last:
                self.master.tell(stats={"served": now[0], "busy": now[1]})
                last = now
            if self.served != trimmed_at and not self.busy:
                # Quiet after work: what the requests' buffers left in the
                # threads' heaps goes back to the system.
                release_free_memory()
                trimmed_at = self.served
        why = self.retire_why
        self.log.info(f"daemon process {os.getpid()} of group {self.group!r} retiring: {why}")
        self.master.tell(retiring=True, why=why)

    def _watch_master(self) -> None:
        while True:
            try:
                data = self.master.sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                self.retire("the master went away")
                # No master to enforce the limits now: do it ourselves.
                limit = float(self.settings.get("graceful_timeout", 15.0)) + float(
                    self.settings.get("shutdown_timeout", 5.0)
                )
                time.sleep(limit)
                self.log.warn(f"requests still running {limit:g} s after the master went away")
                os._exit(EXIT_OK)

    def _thread_main(self) -> None:
        batch.enter(batch.DAEMON)  # only with WSGIHOST_SCHED_BATCH=1: wsgihost.daemon.batch
        profile_dir = os.environ.get("WSGIHOST_PROFILE_DIR")
        if not profile_dir:
            return self._thread_main_()
        import cProfile

        profiler = cProfile.Profile(time.thread_time_ns, 1e-9)
        profiler.enable()
        try:
            return self._thread_main_()
        finally:
            profiler.disable()
            name = f"daemon-{os.getpid()}-{threading.get_ident()}.prof"
            profiler.dump_stats(os.path.join(profile_dir, name))

    def _thread_main_(self) -> None:
        listener = self.listener
        listen_fd = listener.fileno()
        wake = self._wake_r
        poll = self._poll
        # SCHED_BATCH while the app's requests are light, unless the operator
        # chose this thread's policy (chrt, systemd's CPUSchedulingPolicy).
        adaptive = self.adaptive if batch.adjustable() else None
        batched = False
        while True:
            events = poll.poll(-1, 1)
            if not events:
                continue
            fd = events[0][0]
            if fd == wake or (fd == listen_fd and self.draining):
                self._close_parked()
                return
            if fd == listen_fd:
                sock = self._accept()
                if sock is None:
                    continue
                if not self._peer_allowed(sock):
                    sock.close()
                    continue
                conn = _Conn(sock, self.socket_timeout)
            else:
                with self._parked_lock:
                    found = self._parked.pop(fd, None)
                if found is None:
                    continue  # closed while we were being woken
                conn = found
            self._serve(conn)
            if adaptive is not None and adaptive.batch is not batched:
                if batch.switch(adaptive.batch):
                    batched = adaptive.batch
                else:
                    adaptive = None
                    self._policy_stuck(batched)

    def _policy_stuck(self, batched: bool) -> None:
        """A thread could not change its scheduling policy (a seccomp filter, say)."""
        if self._switch_failed:
            return
        self._switch_failed = True  # once a process: each thread would say the same
        policy = "SCHED_BATCH" if batched else "the default policy"
        self.log.warn(f"a request thread could not change its scheduling policy: it keeps {policy}")

    def _accept(self) -> Optional[socket.socket]:
        """A connection from the group socket, which is armed again for the next one."""
        try:
            sock, _ = self.listener.accept()
            return sock
        except (BlockingIOError, InterruptedError):
            return None  # another thread or process took it
        except OSError as e:
            self.log.error(f"accept on the group socket failed: {e}")
            time.sleep(0.1)
            return None
        finally:
            if not self.draining:
                self._poll.modify(self.listener.fileno(), _ARMED)

    def _serve(self, conn: _Conn) -> None:
        """One exchange on ``conn``, then park the connection or close it."""
        with self._count_lock:
            self.busy += 1
            saturated = self.busy >= self.threads
        if saturated and self._parked:
            # Every thread is taken: a request sent on a parked connection now
            # would wait here while another process may have a thread free.
            # Closed, they send the front ends through the shared backlog
            # (a request already written on one is retried: never ACCEPTed).
            self._close_parked(for_good=False)
        keep = False
        try:
            keep = self._handle(conn)
        finally:
            with self._count_lock:
                self.busy -= 1
                self.served += 1
                served = self.served
            if self.maximum_requests and served == self.maximum_requests:
                # Ask to be replaced: the master starts the successor and
                # retires us once it is ready, so capacity never drops.
                self.master.tell(
                    recycle=True, why=f"maximum-requests ({self.maximum_requests}) reached"
                )
            if not (keep and self._park(conn)):
                conn.sock.close()

    def _peer_allowed(self, sock: socket.socket) -> bool:
        try:
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
        except OSError:
            return False
        pid, uid, _gid = _UCRED.unpack(creds)
        if uid in self.peer_uids:
            return True
        self.log.warn(
            f"refused a connection to daemon group {self.group!r} from process {pid} "
            f"(uid {uid}): only the front end's user may connect"
        )
        return False

    def _script_refused(self, script: str) -> Optional[str]:
        """Why ``script`` may not run here (script-user / script-group), or None."""
        if self.script_owner is None:
            return None
        kind, name, wanted = self.script_owner
        try:
            st = os.stat(script)
        except OSError:
            return None  # missing: the loader reports it
        if (st.st_uid if kind == "user" else st.st_gid) == wanted:
            return None
        return f"WSGI script {script!r} is not owned by {kind} {name!r} (script-{kind})"

    def _park(self, conn: _Conn) -> bool:
        """Wait for the connection's next request in the epoll set; False if we may not."""
        try:
            conn.channel.start_next()
        except ProtocolError:
            return False
        with self._parked_lock:
            if self._parking_closed or self.draining:
                return False
            self._parked[conn.fd] = conn
        # Last: from here on another thread may own the connection.
        try:
            if conn.registered:
                quickio.rearm(self._poll, conn.fd, _ARMED)
            else:
                conn.registered = True
                self._poll.register(conn.fd, _ARMED)
        except OSError:
            with self._parked_lock:
                self._parked.pop(conn.fd, None)
            return False
        return True

    def _close_parked(self, for_good: bool = True) -> None:
        """Close the idle connections, so front ends stop sending on them.

        For good when retiring; for now when every thread is busy.
        """
        with self._parked_lock:
            if for_good:
                self._parking_closed = True
            parked = list(self._parked.values())
            self._parked.clear()
        for conn in parked:
            conn.sock.close()

    def _may_keep(self) -> bool:
        """Keep a connection only while another thread is free to serve it next time.

        (So a single-threaded process never keeps one: its next request
        could have to wait for whatever that one thread is doing then.)
        """
        return not self.draining and self.busy < self.threads

    def _handle(self, conn: _Conn) -> bool:
        """Serve one request on ``conn``; True if the connection may carry another."""
        sock, channel = conn.sock, conn.channel
        try:
            event = self._next(sock, channel)
        except (OSError, ProtocolError, EOFError):
            return False  # the front end went away before sending a whole request
        if not isinstance(event, Request):
            return False
        head = event.head
        # A request without a body comes with its END in the same write.
        try:
            early = channel.next_event()
        except ProtocolError:
            return False
        if isinstance(early, Abort):
            return False
        # The rules of the protocol: answer before the app runs.
        now = time.monotonic()
        reason = None
        if self.draining:
            reason = DRAINING
        elif self._queue_timeout_passed(head, now):
            reason = QUEUE_TIMEOUT  # first: the deadline is often queue-timeout's too
        elif head.get("deadline") and now > float(head["deadline"]):
            reason = DEADLINE
        try:
            if reason is not None:
                quickio.sendall(sock, channel.send(Reject(reason)))
                return False
            quickio.sendall(sock, channel.send(Accept()))
        except OSError:
            return False
        return self._run(sock, channel, head, early)

    def _queue_timeout_passed(self, head: Dict[str, Any], now: float) -> bool:
        limit = float(self.settings.get("queue_timeout", 0) or 0)
        queued = head.get("queued")
        return bool(limit and queued and now - float(queued) > limit)

    def _next(self, conn: socket.socket, channel: Channel) -> Any:
        while True:
            event = channel.next_event()
            if event is not NEED_DATA:
                return event
            data = _recv(conn)
            channel.receive_data(data)
            if not data:
                event = channel.next_event()
                if event is NEED_DATA:
                    raise EOFError
                return event

    def _run(self, conn: socket.socket, channel: Channel, head: Dict[str, Any], early: Any) -> bool:
        """Run the app; True if the connection may carry another request."""
        # The head was decoded for this request alone: its environ is the app's,
        # not a copy (fifty-odd keys hashed and inserted again).
        environ = cast(Dict[str, Any], head["environ"])
        _daemon_times(environ, head)
        client = f"{environ.get('REMOTE_ADDR', '-')}:{environ.get('REMOTE_PORT', '-')}"
        log = self.logs.for_request(head)  # the request's host's error log

        def log_error(message: str) -> None:
            log.error(message, client)

        body_done = [isinstance(early, End)]
        pending = [early] if isinstance(early, Data) else []

        def recv(size: int) -> bytes:
            if body_done[0]:
                return b""
            while True:
                try:
                    event = pending.pop() if pending else self._next(conn, channel)
                except (OSError, EOFError, ProtocolError) as e:
                    raise InputError(f"the front end's connection failed: {e}") from None
                if isinstance(event, Data):
                    if event.data:
                        return event.data
                    continue
                if isinstance(event, End):
                    body_done[0] = True
                    return b""
                # ABORT says why; the front end answers its client.
                raise InputError(
                    getattr(event, "reason", "") or "the front end cut the request body short"
                )

        environ["wsgi.input"] = InputStream(recv)
        errors = environ["wsgi.errors"] = ErrorStream(log_error)
        environ["wsgi.file_wrapper"] = FileWrapper
        environ["wsgi.version"] = (1, 0)
        environ["wsgi.run_once"] = False
        environ["wsgi.multithread"] = self.multithread
        environ["wsgi.multiprocess"] = self.multiprocess
        environ["wsgi.input_terminated"] = True
        environ["mod_wsgi.version"] = MOD_WSGI_VERSION
        environ["mod_wsgi.process_group"] = self.group
        refused = self._script_refused(str(head["script"]))
        if refused:
            log_error(refused)
            self._answer_now(conn, channel, "403 Forbidden", b"Forbidden\n")
            return False
        loader = self.loader(
            str(head["script"]),
            str(head.get("callable", "application")),
            # The master watches the script and replaces this process when
            # it changes (a rolling restart), so it never reloads in place;
            # except a handler-mapped script, which the master cannot know.
            bool(head.get("reload_in_place")) and head.get("reloading") is not False,
        )
        sink = FrameSink(conn, channel, lambda: body_done[0] and self._may_keep())
        running = self.watchdog.begin(environ, sink)
        try:
            # The app's print() and sys.stderr go with wsgi.errors meanwhile;
            # what a first import prints is the process's (as in mod_wsgi).
            with bound(errors):
                load = self.counters.loader(lambda: as_process(loader.get), environ)
                # cast: mypy over the compiled modules alone (as mypyc runs it) does
                # not take FrameSink for the protocol, which the whole tree does.
                runner.run(load, environ, cast(runner.ResponseSink, sink), log_error)
        finally:
            self.watchdog.end(running)
            self.counters.done()
        if not body_done[0] and not sink.closed:
            self._discard_body(conn, channel)
        return sink.kept and not sink.closed

    def _answer_now(self, conn: socket.socket, channel: Channel, status: str, body: bytes) -> None:
        """A response of our own instead of the app's."""
        headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        frames: List[Any] = [channel.send(Response(status, headers))]
        frames += channel.send_data(body)
        frames.append(channel.send(End()))
        try:
            sendall_vector(conn, frames)
        except OSError:
            pass

    def _discard_body(self, conn: socket.socket, channel: Channel) -> None:
        """Read what is left of a body the app did not read, so closing sends no reset.

        Bounded: past DISCARD_LIMIT bytes or seconds we close anyway (the front
        end reads our response even if its last writes fail).
        """
        conn.settimeout(1.0)
        left = DISCARD_LIMIT
        try:
            while left > 0:
                event = channel.next_event()
                if event is NEED_DATA:
                    data = conn.recv(65536)
                    if not data:
                        return
                    left -= len(data)
                    channel.receive_data(data)
                elif not isinstance(event, Data):
                    return  # End or Abort
        except (OSError, ProtocolError):
            return


def main(argv: Optional[List[str]] = None) -> int:
    """The daemon process's entry point: ``--listen FD --channel FD``."""
    args = sys.argv[1:] if argv is None else argv
    listen_fd = int(args[args.index("--listen") + 1])
    channel_fd = int(args[args.index("--channel") + 1])
    master = Channel2Master(channel_fd)
    try:
        settings = master.read_settings()
    except (EOFError, ValueError, OSError):
        return EXIT_STARTUP_FAILED
    # Opened before user= and group= take effect: the logs belong to the server.
    logs = DaemonLogs(settings)
    logs.install()
    try:
        _apply_environment(settings)
    except OSError as e:
        logs.own.error(f"daemon process of group {settings.get('group')!r}: {e}")
        return EXIT_STARTUP_FAILED
    if "--" in args and args.index("--") + 1 < len(args):
        set_name(args[args.index("--") + 1].removeprefix("wsgihost: daemon "))
    listener = socket.socket(fileno=listen_fd)
    # Inherited through exec, but the app's own child programs must not get them.
    os.set_inheritable(listen_fd, False)
    os.set_inheritable(channel_fd, False)
    listener.setblocking(False)
    daemon = Daemon(settings, listener, master, logs)
    signal.signal(signal.SIGINT, lambda s, f: daemon.retire("SIGINT"))
    signal.signal(signal.SIGTERM, lambda s, f: daemon.retire("SIGTERM"))
    signal.signal(signal.SIGUSR1, lambda s, f: logs.reopen())
    # cpu-time-limit: the watchdog retires the process; SIGXCPU must not kill it first.
    signal.signal(signal.SIGXCPU, lambda s, f: daemon.retire("cpu-time-limit reached"))
    for problem in apply_limits(settings):  # before the app is imported, so it counts too
        daemon.log.warn(problem)
    # WSGIRestrictStdin/Stdout/Signal and switch-interval, once our own
    # handlers are in and before the app is imported.
    restrict.install(
        bool(settings.get("restrict_stdin")),
        bool(settings.get("restrict_stdout")),
        settings.get("restrict_signal", True) is not False,
        float(settings.get("switch_interval") or 0.0),
        daemon.log.warn,
    )
    # The master blocked these while starting us; our handlers are in place now.
    signal.pthread_sigmask(
        signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGQUIT}
    )
    if not daemon.preload():
        return EXIT_STARTUP_FAILED
    # What start-up and the app's import made lives as long as the process:
    # out of the collector's way, so its full collections stay cheap.
    gc.collect()
    gc.freeze()
    master.tell(ready=True, pid=os.getpid())
    if settings.get("report_modules"):
        master.tell(modules=_app_modules())
    if daemon.watchdog.needed:
        daemon.watchdog.start()
    daemon.serve()
    if settings.get("destroy_interpreter", True) is not False:
        restrict.run_exit_functions()
    restrict.flush_std()
    os._exit(EXIT_OK)


def _daemon_times(environ: Dict[str, Any], head: Dict[str, Any]) -> None:
    """mod_wsgi's daemon-mode times, in microseconds since the epoch: when the front
    end began to pass the request on (``queued`` is its monotonic clock, which is
    system-wide on Linux), and now, as this process takes the request up."""
    now = time.time_ns() // 1000
    queued = head.get("queued")
    if queued is not None:
        waited = max(0.0, time.monotonic() - float(queued))
        environ["mod_wsgi.queue_start"] = str(now - int(waited * 1_000_000))
    environ["mod_wsgi.daemon_start"] = str(now)


def _script_owner(settings: Dict[str, Any]) -> Optional[Tuple[str, str, int]]:
    """("user" or "group", its name, its id) from script-user or script-group."""
    import grp
    import pwd

    if settings.get("script_user"):
        name = str(settings["script_user"])
        return ("user", name, pwd.getpwnam(name).pw_uid)
    if settings.get("script_group"):
        name = str(settings["script_group"])
        return ("group", name, grp.getgrnam(name).gr_gid)
    return None


def _app_modules() -> List[str]:
    """The source files of the modules the app imported, outside Python's own trees."""
    skip = tuple({os.path.join(p, "") for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not path or not path.endswith(".py"):
            continue
        path = os.path.abspath(path)
        if path.startswith(skip) or path.startswith(os.path.join(here, "")):
            continue
        files.add(path)
    return sorted(files)


def _apply_environment(settings: Dict[str, Any]) -> None:
    """What WSGIDaemonProcess asks of the process itself: paths, user, directory, locale.

    Raises OSError when the working directory cannot be entered.
    """
    _add_python_path(settings.get("python_path", []))
    if settings.get("home"):
        # mod_wsgi puts home= first on sys.path, as python puts a script's folder.
        sys.path.insert(0, str(settings["home"]))
    if settings.get("hash_seed_set"):
        # Given by WSGIPythonHashSeed for this interpreter alone: as mod_wsgi, the
        # app's own child processes do not inherit it.
        os.environ.pop("PYTHONHASHSEED", None)
    lang = settings.get("lang")
    if lang:
        os.environ["LANG"] = lang
    locale_name = settings.get("locale")
    if locale_name:
        import locale

        os.environ["LC_ALL"] = locale_name
        try:
            locale.setlocale(locale.LC_ALL, locale_name)
        except locale.Error:
            pass
    umask = settings.get("umask")
    if umask is not None:
        os.umask(int(umask))
    if settings.get("python_eggs"):
        os.environ["PYTHON_EGG_CACHE"] = str(settings["python_eggs"])
    _tune(settings)
    _drop_privileges(settings)
    _enter_working_directory(settings.get("cwd"))


def _add_python_path(paths: List[str]) -> None:
    """python-path= and WSGIPythonPath, as mod_wsgi adds them: with ``site.addsitedir``
    (so their ``.pth`` files count), then moved to the front of ``sys.path`` in order."""
    import site

    before = list(sys.path)
    for path in paths:
        site.addsitedir(path)
    added = [p for p in sys.path if p not in before]
    sys.path[:] = added + [p for p in sys.path if p not in added]


def _enter_working_directory(cwd: Optional[str]) -> None:
    """As mod_wsgi 4.9 does once it has changed user: the working directory the master
    chose (``home=``, or the group user's home when it is not ``User``'s; None: stay in
    the server's), and ``HOME`` for the user the process now runs as."""
    import pwd

    if cwd:
        try:
            os.chdir(cwd)
        except OSError as e:
            raise OSError(
                f"cannot enter working directory {cwd!r} as uid {os.geteuid()}: {e}"
            ) from None
    try:
        os.environ["HOME"] = pwd.getpwuid(os.geteuid()).pw_dir
    except KeyError:
        pass  # a uid with no passwd entry keeps the HOME it was given


def _tune(settings: Dict[str, Any]) -> None:
    """cpu-priority= (while still root, which a negative one needs) and stack-size=
    (before any request thread starts), as mod_wsgi applies them."""
    priority = int(settings.get("cpu_priority") or 0)
    if priority:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, priority)
        except OSError as e:
            sys.stderr.write(f"wsgihost: cpu-priority={priority} not applied: {e.strerror}\n")
    stack = int(settings.get("stack_size") or 0)
    if stack:
        try:
            threading.stack_size(stack)
        except (ValueError, RuntimeError) as e:
            sys.stderr.write(f"wsgihost: stack-size={stack} not applied: {e}\n")


def _drop_privileges(settings: Dict[str, Any]) -> None:
    """``user=`` and ``group=`` (with the user's supplementary groups), when started as root."""
    privileges.drop(privileges.resolve(settings.get("user"), settings.get("unix_group")))


if __name__ == "__main__":
    raise SystemExit(main())
