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
import gc
import json
import os
import pickle
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import wsgihost
from wsgihost import privileges
from wsgihost.config.model import DaemonGroup, Server
from wsgihost.logs import ErrorLog
from wsgihost.memory import release_free_memory
from wsgihost.proctitle import set_name
from wsgihost.reload import ChangeMonitor
from wsgihost.routing import Router
from wsgihost.supervisor import groups as groupsmod
from wsgihost.supervisor import plan, report
from wsgihost.supervisor.control import ControlError, ControlServer
from wsgihost.supervisor.groups import GroupError, GroupSocket
from wsgihost.supervisor.inotify import Events, Watcher, meaning, open_watcher
from wsgihost.supervisor.listeners import BoundListener, StartupError, bind
from wsgihost.supervisor.outbox import Outbox

# A worker that exits this soon after starting counts as a failed start.
QUICK_EXIT = 2.0
# The signals a child handles itself; blocked while it starts.
CHILD_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1}
MAX_BACKOFF = 10.0
POLL_INTERVAL = 0.25  # how often WSGI scripts are stat()ed for changes
DAEMON_MAX_BACKOFF = 30.0
LIMITS_INTERVAL = 1.0  # how often restart-interval and rss-limit are checked

STARTING, READY, DRAINING = plan.STARTING, plan.READY, plan.DRAINING


@dataclass
class Child:
    """A child process as the master sees it: a front-end worker or a daemon process."""

    kind: str  # "worker" | "daemon"
    proc: subprocess.Popen[bytes]
    channel: socket.socket
    started: float
    group: str = ""  # a daemon's process set (its group's name for %{GLOBAL})
    label: str = ""  # a daemon's group, as the log names it
    state: str = STARTING
    stopping: bool = False  # asked to finish and exit
    recycle: bool = False  # to be retired once a successor is ready (maximum-requests, rolls)
    # Due for replacement (maximum-requests, request-timeout, rss-limit, ...),
    # waiting for its turn: one process of a group at a time.
    recycle_why: str = ""
    recycle_reason: str = ""
    recycle_asked: float = 0.0
    generation: int = 0  # a daemon's: the group's code version it was started for
    timed_out: bool = False  # killed for not being ready within startup-timeout
    retire_sent: float = 0.0  # when we asked it to retire (SIGINT), to escalate if ignored
    term_sent: bool = False
    served: int = 0  # requests served, as the daemon last reported
    slot: int = 0  # a front-end worker's: which of each listener's sockets it accepts from
    fds: frozenset[int] = frozenset()  # ... those sockets (ours)
    hand_over: bool = False  # a stopping worker still accepting until its successors are ready
    outbox: Outbox = field(default_factory=Outbox)  # what its channel has not taken yet
    busy: int = 0  # threads running a request, as last reported
    since: float = 0.0  # when the current state began
    buf: bytes = b""

    @property
    def name(self) -> str:
        return "front-end worker" if self.kind == "worker" else f"daemon process ({self.label})"

    def view(self) -> plan.Proc:
        """This child as the planner sees it."""
        return plan.Proc(
            self.proc.pid,
            self.group,
            self.state,
            self.stopping,
            self.recycle,
            self.recycle_why,
            self.recycle_reason,
            self.recycle_asked,
            self.generation,
            self.started,
            self.since,
            self.retire_sent,
            self.term_sent,
            self.timed_out,
            self.served,
            self.busy,
            slot=self.slot,
            fds=self.fds,
            hand_over=self.hand_over,
        )


@dataclass
class Group:
    """A daemon process set: one application group of a daemon process group.

    Its socket, the scripts it imports, its start-up health. A group whose
    apps all run in ``%{GLOBAL}`` has one set, named as the group.
    """

    spec: DaemonGroup
    socket: GroupSocket
    scripts: list[tuple[str, str]]
    failures: int = 0
    next_start: float = 0.0
    status: str = STARTING  # what the front ends are told: starting | ready | failed
    # Rolling restarts: processes older than ``generation`` are replaced one
    # by one. A roll whose new code does not start stops at ``stalled``; the
    # next change (a new generation) tries again.
    generation: int = 0
    stalled: int = -1
    last_error: str = ""
    key: str = ""  # the set's name (routing.set_key); the group's own for %{GLOBAL}
    application_group: str = ""

    def want(self) -> plan.Want:
        """This set as the planner sees it."""
        spec = self.spec
        return plan.Want(
            self.key,
            spec.processes,
            self.generation,
            self.stalled,
            self.next_start,
            spec.startup_timeout,
            spec.graceful_timeout,
            spec.shutdown_timeout,
            spec.restart_interval,
            spec.rss_limit,
        )

    def info(self) -> report.SetInfo:
        """This set as status shows it."""
        spec = self.spec
        return report.SetInfo(
            self.key,
            spec.name,
            self.application_group,
            self.status,
            spec.processes,
            spec.threads,
            self.generation,
            self.stalled,
            self.last_error,
        )


class Master:
    """Runs in the master process for the server's whole life."""

    def __init__(
        self,
        server: Server,
        log: ErrorLog,
        announce: Callable[[str], None],
        control_path: str | None = None,
        reread: Callable[[], tuple[Server | None, list[str]]] | None = None,
    ) -> None:
        self.server = server
        # Reads the configuration again: (model or None, problems as text).
        self.reread = reread
        self.control_path = control_path
        self.control: ControlServer | None = None
        self.started = time.monotonic()
        self.last_reload: dict[str, object] | None = None
        self.log = log
        self.announce = announce
        self.listeners: list[BoundListener] = []
        self.groups: dict[str, Group] = {}  # the daemon process sets, by key
        self.library: Path | None = None
        self.children: dict[int, Child] = {}
        self.selector = selectors.DefaultSelector()
        self.stopping = False
        self.trim_due = False  # the configuration was just read: see _trim
        self.daemons_told_to_stop = False
        self.monitor = ChangeMonitor()
        self.inotify: Watcher | None = None
        self.watched: dict[str, set[str]] = {}  # script -> groups rolled when it changes
        self.next_poll = 0.0
        self.stop_deadline = 0.0
        self.failures = 0
        self.next_start = 0.0
        self.next_limits = 0.0
        self.next_socket_check = 0.0
        self.rss_warned: set[str] = set()  # groups told their rss-limit is below a fresh process
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        # User/Group, when started as root: front-end workers drop to it, and
        # only it may connect to the daemon sockets.
        self.front_end = privileges.resolve(server.user, server.group) if os.getuid() == 0 else None
        self.front_end_uid = self.front_end.uid if self.front_end else os.getuid()

    # -- life cycle -----------------------------------------------------------

    def run(self) -> int:
        soft, _hard = privileges.raise_open_files_limit()
        self.log.info(f"open files limit: {soft}")
        try:
            for spec in self.server.listeners:
                self.listeners.append(bind(spec, self.server.listen_backlog, self.server.processes))
            self._open_groups()
            if self.control_path:
                try:
                    self.control = ControlServer(self.control_path, self._control)
                except (ControlError, OSError) as e:
                    raise StartupError(f"control socket: {e}") from None
                self.selector.register(self.control.sock, selectors.EVENT_READ, _CONTROL)
            self._write_pid_file()
        except BaseException:
            self._close_sockets()
            raise
        for bound in self.listeners:
            self.announce(f"listening on {bound.url()}")
            self.log.notice(f"listening on {bound.url()}")
        set_name("wsgihost:master")
        self._install_signals()
        self.trim_due = True
        try:
            while True:
                if self.stopping and not self.children:
                    break
                self._top_up()
                if self.trim_due:
                    self._trim()
                self._wait(self._timeout())
                self._reap()
                self._enforce_timeouts()
                self._watch_scripts()
                if self.stopping:
                    self._stop_step()
        finally:
            self._close_sockets()
            self._restore_signals()
            self._remove_pid_file()
        self.log.notice("stopped")
        return 0

    def _trim(self) -> None:
        """What reading the configuration left behind, given back to the system
        (about 1.5 MB): the master lives long and allocates little afterwards."""
        self.trim_due = False
        gc.collect()
        release_free_memory()

    def _open_groups(self) -> None:
        if not self.server.groups:
            return
        sets, problems = groupsmod.process_sets(self.server)
        if problems:
            raise StartupError("\n".join(problems))
        try:
            for wanted in sets.values():
                self._open_set(wanted)
        except (GroupError, OSError) as e:
            raise StartupError(str(e)) from None
        self._watch_for(self.server, sets)

    def _open_set(self, wanted: plan.ProcessSet, server: Server | None = None) -> None:
        """Create a set's socket (and, the first time, the daemons' library).

        ``server`` is the configuration the set comes from (a restart's new
        one): its WSGISocketPrefix decides where the socket goes.
        """
        server = server or self.server
        spec = next(g for g in server.groups if g.name == wanted.group)
        directory = groupsmod.runtime_dir(server)
        if self.library is None:
            self.library = groupsmod.install_library(directory)
        limit = groupsmod.somaxconn()
        first = not any(g.spec.name == spec.name for g in self.groups.values())
        if limit is not None and spec.listen_backlog > limit and first:
            self.log.warn(
                f"{spec.where}: WSGIDaemonProcess {spec.name}: listen-backlog="
                f"{spec.listen_backlog} is cut to the kernel's somaxconn ({limit})"
            )
        sock = self._group_socket(server, spec, directory, wanted.application_group)
        group = Group(spec, sock, list(wanted.scripts))
        group.key, group.application_group = wanted.key, wanted.application_group
        self.groups[wanted.key] = group

    def _group_socket(
        self, server: Server, spec: DaemonGroup, directory: Path, application_group: str
    ) -> GroupSocket:
        where = [bound.url() for bound in self.listeners]
        return groupsmod.open_group_socket(
            server, spec, directory, where, self.front_end, application_group
        )

    def _watch_for(self, server: Server, sets: dict[str, plan.ProcessSet]) -> None:
        """Which scripts each set imports, and which changes roll which sets."""
        router = Router(server)
        for key, group in self.groups.items():
            if key in sets:
                group.scripts = list(sets[key].scripts)
        # A script rolls the sets that import it (all of its group's, for a
        # ...Match target, whose scripts are known only from requests).
        self.watched = {}
        for path, names in router.reloading_scripts().items():
            for name in names:
                mine = [k for k, g in self.groups.items() if g.spec.name == name]
                importing = [k for k in mine if any(p == path for p, _ in self.groups[k].scripts)]
                self.watched.setdefault(path, set()).update(importing or mine)
        for path in self.monitor.paths:
            if path not in self.watched:
                self.monitor.unwatch(path)
        self.monitor.watch(self.watched, time.monotonic())
        if self.watched and self.inotify is None:
            self.inotify = open_watcher()
            if self.inotify is not None:
                self.selector.register(self.inotify.fd, selectors.EVENT_READ, _INOTIFY)
        if self.inotify is not None:
            self.inotify.watch(list(self.watched))

    # -- wsgihost restart / SIGHUP: the configuration read again ------------------

    def restart(self, why: str) -> dict[str, object]:
        """Read the configuration again and apply what changed, or keep the old one.

        Listeners are added and closed as needed; new groups start, removed
        ones drain; groups whose settings changed are rolled, the others left
        alone; the front-end workers are replaced gracefully.
        """
        if self.reread is None:
            self.log.notice(f"{why}: no configuration file; replacing the front-end workers")
            self._replace_workers()
            return {"ok": True, "rolled": [], "started": [], "removed": []}
        new, problems = self.reread()
        self.trim_due = True
        if new is None:
            self.log.error(
                f"{why}: the configuration has errors; still running the previous one:\n"
                + "\n".join(problems)
            )
            return {"ok": False, "error": "the configuration has errors", "problems": problems}
        old = self.server
        sets, problems = groupsmod.process_sets(new)
        if problems:
            self.log.error(
                f"{why}: still running the previous configuration:\n" + "\n".join(problems)
            )
            return {"ok": False, "error": problems[0], "problems": problems}
        # Server-wide settings a daemon is started with count as the group's
        # own: a new WSGIPythonPath must reach its processes.
        shared_changed = (
            old.python_path != new.python_path
            or old.python_home != new.python_home
            or old.logging != new.logging
            or old.main.error_log != new.main.error_log
        )
        running = {key: group.spec for key, group in self.groups.items()}
        specs = {g.name: g for g in new.groups}
        changes = plan.reconfigure(running, sets, specs, shared_changed)
        # Listeners first: if a new one cannot be bound, nothing has changed yet.
        keep = {(b.spec.host, b.spec.port): b for b in self.listeners}
        wanted_listeners = {(ls.host, ls.port): ls for ls in new.listeners}
        added: list[BoundListener] = []
        grown: list[tuple[BoundListener, list[socket.socket]]] = []
        try:
            for key, listener in wanted_listeners.items():
                if key not in keep:
                    added.append(bind(listener, new.listen_backlog, new.processes))
                else:  # more workers, or fewer that the sockets must divide among evenly
                    grown.append((keep[key], keep[key].grow(new.processes)))
        except StartupError as e:
            for bound in added:
                bound.close()
            _ungrow(grown)
            self.log.error(f"{why}: {e}; still running the previous configuration")
            return {"ok": False, "error": str(e), "problems": [str(e)]}
        # New sets' sockets next, still before anything is committed.
        try:
            self._open_new_sets(new, [sets[name] for name in changes.start])
        except GroupError as e:
            for bound in added:
                bound.close()
            _ungrow(grown)
            self.log.error(f"{why}: {e}; still running the previous configuration")
            return {"ok": False, "error": str(e), "problems": [str(e)]}
        for key, bound in keep.items():
            if key not in wanted_listeners:
                bound.close()
        self.listeners = [b for k, b in keep.items() if k in wanted_listeners] + added
        # The sockets added (``grown``) are left to listen when the worker given
        # them starts serving: listening now, they would be given connections
        # that wait for a worker to start.
        for bound in added:
            self.announce(f"listening on {bound.url()}")
            self.log.notice(f"listening on {bound.url()}")
        self.server = new
        removed = _unique([self.groups[name].spec.name for name in changes.stop])
        for name in changes.roll:
            self.groups[name].spec = specs[sets[name].group]
            self.roll(name, why)
        for name in changes.stop:
            self._remove_set(name)
        rolled = _unique([self.groups[name].spec.name for name in changes.roll])
        started = _unique([self.groups[name].spec.name for name in changes.start])
        self._watch_for(new, sets)
        self._replace_workers()
        self.log.notice(
            f"{why}: configuration read again (rolled: {rolled or 'none'}, "
            f"new: {started or 'none'}, removed: {removed or 'none'})"
        )
        return {"ok": True, "rolled": rolled, "started": started, "removed": removed}

    def _open_new_sets(self, new: Server, sets: list[plan.ProcessSet]) -> None:
        """Open the sockets of the sets ``new`` adds; all or none (GroupError)."""
        opened: list[str] = []
        for wanted in sets:
            try:
                self._open_set(wanted, new)
                opened.append(wanted.key)
            except (GroupError, OSError) as e:
                for done in opened:
                    self.groups.pop(done).socket.close()
                spec = next(g for g in new.groups if g.name == wanted.group)
                raise GroupError(f"{spec.where}: daemon group {spec.name!r}: {e}") from None

    def _remove_set(self, key: str) -> None:
        """Stop a set a new configuration no longer has, and close its socket."""
        group = self.groups.pop(key)
        for child in self.children.values():
            if child.group == key:
                child.stopping = True
                _kill(child.proc.pid, signal.SIGTERM)
        group.socket.close()

    def _close_sockets(self) -> None:
        if self.control is not None:
            self.control.close()
        if self.inotify is not None:
            self.inotify.close()
        for bound in self.listeners:
            bound.close()
        for group in self.groups.values():
            group.socket.close()

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
            return max(0.0, min(0.5, self.stop_deadline - now))
        timeout = 1.0
        if self.watched:
            timeout = min(timeout, self.next_poll - now)  # a poll that is due: at once
        # A start waiting out a back-off: wake when it may go. (A past time
        # means no wait is pending: _top_up has acted on it already.)
        for when in (self.next_start, *(g.next_start for g in self.groups.values())):
            if when > now:
                timeout = min(timeout, when - now)
        return max(0.0, timeout)

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
        for key, events in self.selector.select(timeout):
            if key.data is None:
                self._on_signals()
            elif key.data is _INOTIFY:
                assert self.inotify is not None
                self._on_inotify(self.inotify.read())
            elif key.data is _CONTROL:
                assert self.control is not None
                conn = self.control.accept()
                if conn is not None:
                    self.selector.register(conn, selectors.EVENT_READ, conn)
            elif isinstance(key.data, socket.socket):
                assert self.control is not None
                if self.control.readable(key.data):
                    self.selector.unregister(key.data)
                    self.control.drop(key.data)
            else:
                if events & selectors.EVENT_WRITE:
                    self._flush(key.data)
                if events & selectors.EVENT_READ:
                    self._on_channel(key.data)

    def _on_inotify(self, events: Events) -> None:
        if events.overflow:
            self.monitor.forget_notes()
        for path, mask in events.files:
            what = meaning(mask)
            if what is not None:
                self.monitor.note(path, what)
        if events.seen:
            self.next_poll = 0.0  # look now; the monitor decides what changed

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
                    self._signal_all(signal.SIGKILL)
                else:
                    self.begin_stop(f"{name} received")
            elif signum == signal.SIGQUIT:
                self.begin_stop("SIGQUIT received", graceful=False)
            elif signum == signal.SIGUSR1:
                self.log.dest.reopen()
                self._signal_all(signal.SIGUSR1)
            elif signum == signal.SIGHUP and not self.stopping:
                self.restart("SIGHUP")

    def _on_channel(self, child: Child) -> None:
        try:
            data = child.channel.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            # The child closed its end: it is exiting. _reap collects it.
            self.selector.unregister(child.channel)
            return
        child.buf += data
        self._handle_lines(child)

    def _handle_lines(self, child: Child) -> None:
        while b"\n" in child.buf:
            line, _, child.buf = child.buf.partition(b"\n")
            try:
                message = json.loads(line)
            except ValueError:
                self.log.error(f"{child.name} {child.proc.pid} sent a bad message: {line[:80]!r}")
                continue
            self._on_message(child, message)

    def _drain_channel(self, child: Child) -> None:
        while True:
            try:
                data = child.channel.recv(65536)
            except OSError:  # BlockingIOError included: nothing more to read
                return
            if not data:
                return
            child.buf += data
            self._handle_lines(child)

    def _on_message(self, child: Child, message: dict[str, object]) -> None:
        if message.get("ready") and child.state == STARTING:
            child.state = READY
            child.since = time.monotonic()
            group = self.groups.get(child.group)
            if group is not None:
                group.failures = 0
                self._set_status(group)
                # A successor is ready: one process waiting for it may go now.
                retire = plan.on_ready(child.view(), self._views())
                if retire is not None:
                    self._carry_out([retire])
            self.log.info(f"{child.name} {child.proc.pid} is ready")
            if child.kind == "worker":
                self._end_hand_overs()
        elif isinstance(message.get("stats"), dict):
            stats = message["stats"]
            assert isinstance(stats, dict)
            child.served = int(stats.get("served", 0))
            child.busy = int(stats.get("busy", 0))
        elif isinstance(message.get("modules"), list) and self.server.reload_on_changes:
            # --reload-on-changes: the app's own modules roll its group too.
            modules = message["modules"]
            assert isinstance(modules, list)
            paths = [str(p) for p in modules]
            fresh = [p for p in paths if p not in self.monitor.paths]
            for path in paths:
                self.watched.setdefault(path, set()).add(child.group)
            if fresh:
                self.monitor.watch(fresh, time.monotonic())
                if self.inotify is None:
                    self.inotify = open_watcher()
                    if self.inotify is not None:
                        self.selector.register(self.inotify.fd, selectors.EVENT_READ, _INOTIFY)
                if self.inotify is not None:
                    self.inotify.watch(fresh)
        elif message.get("recycle"):
            reason = str(message.get("reason") or "maximum-requests")
            self._ask_recycle(child, reason, str(message.get("why") or reason))
        elif message.get("retiring") and child.kind == "worker":
            # An embedded-mode worker drains (SIGINT from its app): its
            # replacement starts now, not after it has finished.
            if self.stopping:  # the server stops: no successor is coming
                self._tell(child, b'{"stop_accepting": true}\n')
            elif not child.stopping:
                child.stopping = True
                child.hand_over = True  # it accepts until its successor is ready
                self.log.info(f"front-end worker {child.proc.pid} retiring")
        elif message.get("retiring") and child.state != DRAINING:
            # The successor starts now, while this one finishes what it accepted.
            child.state = DRAINING
            child.since = time.monotonic()
            self.log.info(f"{child.name} {child.proc.pid} retiring ({message.get('why')})")
            group = self.groups.get(child.group)
            if group is not None:
                self._set_status(group)

    # -- group status for the front ends ------------------------------------

    def _set_status(self, group: Group) -> None:
        status = plan.status(group.key, group.failures, self._views())
        if status != group.status:
            group.status = status
            self._broadcast()

    def _statuses(self) -> dict[str, str]:
        return {name: g.status for name, g in self.groups.items()}

    def _broadcast(self) -> None:
        line = json.dumps({"groups": self._statuses()}).encode() + b"\n"
        for child in self.children.values():
            if child.kind == "worker":
                self._tell(child, line)

    def _tell(self, child: Child, line: bytes) -> bool:
        """Write one line to a child's channel, never waiting; True if it went out now
        (else the rest goes when the channel can take it: _flush)."""
        if child.outbox.write(child.channel, line):
            return True
        self._want_writable(child, True)
        return False

    def _flush(self, child: Child) -> None:
        if child.outbox.flush(child.channel):
            self._want_writable(child, False)

    def _want_writable(self, child: Child, wanted: bool) -> None:
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if wanted else 0)
        try:
            self.selector.modify(child.channel, events, child)
        except (KeyError, ValueError):
            pass  # no longer watched: the child is exiting

    # -- children -------------------------------------------------------------

    def _views(self) -> list[plan.Proc]:
        return [c.view() for c in self.children.values()]

    def _wants(self) -> dict[str, plan.Want]:
        return {name: g.want() for name, g in self.groups.items()}

    def _top_up(self) -> None:
        if self.stopping:
            return
        now = time.monotonic()
        actions = plan.top_up(
            now, self._views(), list(self._wants().values()), self.server.processes, self.next_start
        )
        self._carry_out(actions)

    def _carry_out(self, actions: Sequence[plan.Action]) -> None:
        """Do what the planner decided, in its order."""
        failed: set[str] = set()  # sets whose start failed: no more starts this round
        now = time.monotonic()
        for action in actions:
            if isinstance(action, plan.StartWorker):
                if now >= self.next_start:  # not after a failed start
                    self._spawn_worker(plan.free_slot(self._views(), self.server.processes))
            elif isinstance(action, plan.StartDaemon):
                group = self.groups[action.group]
                if action.group not in failed and not self._spawn_daemon(group):
                    failed.add(action.group)
            elif isinstance(action, plan.Due):
                self._note_due(self.children[action.pid], action.reason, action.why)
            elif isinstance(action, plan.RssWarn):
                self._rss_warn(action)
            else:
                self._carry_out_on(self.children[action.pid], action)

    def _carry_out_on(self, child: Child, action: plan.Action) -> None:
        """An action on one child: mark it, tell it to retire, or signal it."""
        if isinstance(action, plan.Replace):
            child.recycle = True
            if action.why:
                self.log.info(
                    f"replacing {child.name} {child.proc.pid} ({action.why}); "
                    "its successor starts first"
                )
        elif isinstance(action, plan.Retire):
            _kill(child.proc.pid, signal.SIGINT)
            if action.why == "successor":
                child.retire_sent = time.monotonic()
            else:  # beyond processes=: it drains now
                child.state = DRAINING
                child.since = time.monotonic()
        elif isinstance(action, plan.Kill):
            self._kill_for(child, action)

    def _kill_for(self, child: Child, action: plan.Kill) -> None:
        """Signal a child past one of its timeouts, saying why."""
        pid = child.proc.pid
        group = self.groups[child.group].spec
        if action.reason == "startup-timeout":
            self.log.error(
                f"daemon process {pid} of group {group.name!r} was not ready "
                f"within startup-timeout ({group.startup_timeout:g} s); killing it"
            )
            # Not "stopping": its exit is a failed start, which stops a roll.
            child.timed_out = True
        elif action.reason == "ignores-sigint":
            self.log.warn(f"daemon process {pid} ignored SIGINT; sending SIGTERM")
            child.term_sent = True
        elif action.reason == "ignores-sigterm":
            self.log.warn(f"daemon process {pid} ignores SIGTERM; killing it")
            child.stopping = True
        else:
            self.log.warn(
                f"daemon process {pid} of group {group.name!r} still has requests "
                f"after graceful-timeout and shutdown-timeout; killing it"
            )
            child.stopping = True
        _kill(pid, signal.Signals[action.signal])

    def _start(
        self,
        kind: str,
        cmd: list[str],
        fds: list[int],
        child_end: socket.socket,
        parent: socket.socket,
        group: str = "",
        env: dict[str, str] | None = None,
    ) -> Child | None:
        """Fork and exec one child with only ``fds`` (and its channel) open."""
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
                env=env,
            )
        except OSError as e:
            parent.close()
            child_end.close()
            self.log.error(f"cannot start a {'daemon process' if group else kind}: {e}")
            return None
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, CHILD_SIGNALS)
        child_end.close()
        child = Child("daemon" if group else "worker", proc, parent, time.monotonic(), group=group)
        self.children[proc.pid] = child
        return child

    def _register(self, child: Child) -> None:
        child.channel.setblocking(False)
        self.selector.register(child.channel, selectors.EVENT_READ, child)

    def _spawn_worker(self, slot: int) -> None:
        parent, child_end = socket.socketpair()
        workers = self.server.processes
        fds = [fd for b in self.listeners for fd in b.fds_for(slot, workers)]
        cmd = [
            sys.executable,
            *groupsmod.python_options(self.server),  # embedded mode's interpreter
            "-m",
            "wsgihost.frontend",
            "--channel",
            str(child_end.fileno()),
            "--listen",
            ",".join(str(fd) for fd in fds),
            "--",
            "wsgihost: front-end worker",
        ]
        # A worker imports wsgihost from wherever this master did (a source
        # tree, a zipapp), not only from an installed copy.
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(wsgihost.__file__)))
        paths = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        env = {**groupsmod.environment(self.server), "PYTHONPATH": os.pathsep.join(paths)}
        child = self._start("front-end worker", cmd, fds, child_end, parent, env=env)
        if child is None:
            self._back_off()
            return
        child.slot = slot
        child.fds = frozenset(fds)
        sockets = {name: g.socket.path for name, g in self.groups.items()}
        payload = pickle.dumps((self.server, sockets, self._statuses()))
        try:
            parent.sendall(struct.pack("!I", len(payload)) + payload)
        except OSError as e:
            self.log.error(f"cannot hand the configuration to worker {child.proc.pid}: {e}")
        self._register(child)
        self.log.info(f"started front-end worker {child.proc.pid}")

    def _spawn_daemon(self, group: Group) -> bool:
        spec = group.spec
        assert self.library is not None
        try:
            python = groupsmod.interpreter(self.server, spec)
        except GroupError as e:
            self.log.error(str(e))
            self._daemon_back_off(group)
            return False
        problem = groupsmod.working_directory_problem(self.server, spec)
        if problem:
            # Said once while it lasts, not at every try (mod_wsgi says it every 20 s).
            if problem != group.last_error:
                self.log.error(problem)
            group.last_error = problem
            self._daemon_back_off(group)
            self._set_status(group)
            return False
        parent, child_end = socket.socketpair()
        fd = group.socket.sock.fileno()
        cmd = groupsmod.command(
            python,
            self.library,
            fd,
            child_end.fileno(),
            groupsmod.title_for(spec),
            groupsmod.python_options(self.server),
        )
        child = self._start(
            f"daemon process ({spec.name})",
            cmd,
            [fd],
            child_end,
            parent,
            group=group.key,
            env=groupsmod.environment(self.server),
        )
        if child is None:
            self._daemon_back_off(group)
            return False
        child.generation = group.generation
        child.label = spec.name
        settings = groupsmod.daemon_settings(self.server, spec, group.scripts, [self.front_end_uid])
        try:
            parent.sendall(json.dumps(settings).encode() + b"\n")
        except OSError as e:
            # It exited at once (a broken interpreter): _reap sees it go.
            self.log.error(f"cannot hand its settings to daemon process {child.proc.pid}: {e}")
        self._register(child)
        self.log.info(f"started daemon process {child.proc.pid} of group {_set_name(group)}")
        return True

    def _reap(self) -> None:
        for pid, child in list(self.children.items()):
            code = child.proc.poll()
            if code is None:
                continue
            # Read what it said before it went (a RETIRING that raced its exit).
            self._drain_channel(child)
            del self.children[pid]
            try:
                self.selector.unregister(child.channel)
            except KeyError:
                pass
            child.channel.close()
            if child.kind == "daemon":
                self._daemon_exited(child, code)
            else:
                self._worker_exited(child, code)

    def _worker_exited(self, child: Child, code: int) -> None:
        pid = child.proc.pid
        lived = time.monotonic() - child.started
        if self.stopping or child.stopping:
            self.log.info(f"front-end worker {pid} exited")
            return
        how = _how(code)
        if code == 0:
            self.log.notice(f"front-end worker {pid} retired; starting a replacement")
        else:
            self.log.error(f"front-end worker {pid} {how}; starting a replacement")
        if code != 0 and lived < QUICK_EXIT:
            self._back_off()
        else:
            self.failures = 0

    def _daemon_exited(self, child: Child, code: int) -> None:
        pid = child.proc.pid
        group = self.groups.get(child.group)
        if group is None:  # its group was removed by a restart
            self.log.info(f"daemon process {pid} of removed group {child.label!r} exited")
            return
        outcome = plan.on_exit(child.view(), code, group.want(), self._views(), self.stopping)
        if outcome.unmark:
            for other in self.children.values():
                if other.group == group.key:
                    other.recycle = False
        if outcome.stall:
            group.stalled = group.generation
        if outcome.kind in ("roll-stalled", "replacement-failed", "start-failed"):
            group.last_error = _start_failure(child, code)
        before = f"daemon process {pid} of group {child.label!r} {_how(code)} before it was ready"
        if outcome.kind == "stopped":
            self.log.info(f"daemon process {pid} of group {child.label!r} exited")
        elif outcome.kind == "roll-stalled":
            self.log.error(
                f"{before} (see the traceback above); the roll stops and the running processes "
                "keep serving the previous code until the script changes again"
            )
        elif outcome.kind == "replacement-failed":
            # The process it was to replace serves on, and is due still.
            self.log.error(
                f"{before} (see the traceback above); the running processes keep serving, "
                "and a new one is tried again after a pause"
            )
        elif outcome.kind == "start-failed":
            self.log.error(f"{before} (see the traceback above); trying again after a pause")
        elif outcome.kind == "retired":
            self.log.info(f"daemon process {pid} of group {child.label!r} retired")
        else:
            self.log.error(
                f"daemon process {pid} of group {child.label!r} {_how(code)}; replacing it"
            )
        if outcome.back_off:
            self._daemon_back_off(group)
        self._set_status(group)

    # -- rolling restarts -----------------------------------------------------

    def _watch_scripts(self) -> None:
        """Roll the groups whose script changed (looked at on inotify events, else 4 times a s)."""
        now = time.monotonic()
        if self.stopping or not self.watched or now < self.next_poll:
            return
        if self.inotify is not None and self.inotify.missing:
            self.inotify.retry(list(self.watched))  # a folder back, or moved in
        changed = self.monitor.poll(now)
        self.next_poll = now + POLL_INTERVAL
        # Asked after the poll, which is what starts a change's settling.
        settling = self.monitor.next_deadline()
        if settling is not None:
            self.next_poll = min(self.next_poll, max(settling, now + 0.005))
        for path in changed:
            for name in sorted(self.watched.get(path, ())):
                self.roll(name, f"{path} changed")

    def roll(self, name: str, why: str) -> None:
        """Replace every process of set ``name``, one at a time, new before old."""
        group = self.groups[name]
        group.generation += 1
        self.last_reload = {
            "group": group.spec.name,
            "application_group": group.application_group,
            "why": why,
            "at": time.time(),
        }
        group.next_start = 0.0  # a new version gets a fresh start, whatever failed before
        self.log.notice(f"rolling daemon group {_set_name(group)} ({why})")

    # -- replacing one process: maximum-requests, request-timeout, limits -----------

    def _ask_recycle(self, child: Child, reason: str, why: str) -> None:
        """Note that ``child`` is due for replacement; the planner decides when."""
        if plan.recycle_wanted(child.view(), reason):
            self._note_due(child, reason, why)

    def _note_due(self, child: Child, reason: str, why: str) -> None:
        child.recycle_why = why
        child.recycle_reason = reason
        child.recycle_asked = time.monotonic()
        self.log.info(f"{child.name} {child.proc.pid} is due for replacement ({why})")

    def _check_sockets(self, now: float) -> None:
        """About once a second: make again a group socket whose file was removed.

        Someone cleaned the runtime directory (a tmp cleaner, a careless
        rm): front ends can no longer connect by its path. A new socket at
        the same path (with the directory and the daemons' library, if they
        went too) and a roll onto it bring the group back; the old processes
        serve what they hold until their successors are ready.
        """
        if now < self.next_socket_check:
            return
        self.next_socket_check = now + LIMITS_INTERVAL
        for group in self.groups.values():
            if not group.socket.present():
                self._replace_socket(group)

    def _replace_socket(self, group: Group) -> None:
        old = group.socket
        name = _set_name(group)
        self.log.error(
            f"the socket of daemon group {name} ({old.path}) was removed: "
            "making it again and replacing the group's processes"
        )
        try:
            directory = groupsmod.runtime_dir(self.server)
            self.library = groupsmod.install_library(directory)
            new = self._group_socket(self.server, group.spec, directory, group.application_group)
        except (GroupError, OSError) as e:
            self.log.error(f"cannot make the socket of daemon group {name} again: {e}")
            return  # tried again at the next check
        old.abandon()  # the same path (same configuration): the front ends find the new one
        group.socket = new
        self.roll(group.key, "its socket was removed")

    def _check_limits(self, now: float) -> None:
        """About once a second: restart-interval and rss-limit of every ready daemon process."""
        if now < self.next_limits:
            return
        self.next_limits = now + LIMITS_INTERVAL
        measured = {
            c.proc.pid: rss
            for c in self.children.values()
            if c.group in self.groups
            and self.groups[c.group].spec.rss_limit
            and c.state == READY
            and (rss := _rss(c.proc.pid)) is not None
        }
        actions = plan.limits(now, self._views(), self._wants(), measured, self.rss_warned)
        for action in actions:
            if isinstance(action, plan.Due) and action.reason == "rss-limit":
                child = self.children[action.pid]
                limit = self.groups[child.group].spec.rss_limit
                self.log.warn(
                    f"{child.name} {child.proc.pid} uses {_size(measured[action.pid])} of memory, "
                    f"more than rss-limit ({_size(limit)}); it will be replaced"
                )
        self._carry_out(actions)

    def _rss_warn(self, action: plan.RssWarn) -> None:
        spec = self.groups[action.group].spec
        self.rss_warned.add(action.group)
        self.log.warn(
            f"{spec.where}: daemon group {spec.name!r}: a process that has served "
            f"no request yet uses {_size(action.rss)}, more than rss-limit "
            f"({_size(spec.rss_limit)}); processes are not replaced for memory "
            "until they have served a request"
        )

    # -- control commands ---------------------------------------------------------

    def _control(self, request: dict[str, object]) -> dict[str, object]:
        """Answer one control request (``status``, ``reload``, ``stop``)."""
        cmd = request.get("cmd")
        if cmd == "status":
            return {"ok": True, **self.status()}
        if cmd == "reload":
            names = _unique([g.spec.name for g in self.groups.values()])
            wanted = request.get("groups") or names
            if not isinstance(wanted, list):
                return {"ok": False, "error": "groups is a list of names"}
            unknown = [str(n) for n in wanted if n not in names]
            if unknown:
                known = ", ".join(names) or "none"
                return {"ok": False, "error": f"no daemon group {unknown[0]!r} (groups: {known})"}
            if self.stopping:
                return {"ok": False, "error": "the server is stopping"}
            for key, group in list(self.groups.items()):
                if group.spec.name in wanted:  # every application group's set
                    self.roll(key, "wsgihost reload")
            return {"ok": True, "rolled": [str(n) for n in wanted]}
        if cmd == "restart":
            if self.stopping:
                return {"ok": False, "error": "the server is stopping"}
            return self.restart("wsgihost restart")
        if cmd == "stop":
            if not self.stopping:
                self.begin_stop("wsgihost stop")
            return {"ok": True}
        return {"ok": False, "error": f"unknown command {cmd!r}"}

    def status(self) -> dict[str, object]:
        now = time.monotonic()
        views = self._views()
        return {
            "pid": os.getpid(),
            "uptime": round(now - self.started, 1),
            "stopping": self.stopping,
            "listeners": [b.url() for b in self.listeners],
            "workers": [report.member(p, now) for p in views if p.worker],
            "groups": report.groups([g.info() for g in self.groups.values()], views, now),
            "last_reload": self.last_reload,
        }

    def _enforce_timeouts(self) -> None:
        """startup-timeout for READY; graceful- then shutdown-timeout for a retiring process."""
        now = time.monotonic()
        if not self.stopping:
            self._check_limits(now)
            self._check_sockets(now)
        if self.control is not None:
            for conn in self.control.stale():
                self.selector.unregister(conn)
                self.control.drop(conn)
        self._carry_out(plan.timeouts(now, self._views(), self._wants()))

    def _back_off(self) -> None:
        self.failures += 1
        delay = min(MAX_BACKOFF, 0.1 * 2 ** min(self.failures - 1, 16))
        self.next_start = time.monotonic() + delay

    def _daemon_back_off(self, group: Group) -> None:
        group.failures += 1
        delay = min(DAEMON_MAX_BACKOFF, 0.5 * 2 ** min(group.failures - 1, 16))
        group.next_start = time.monotonic() + delay

    def _replace_workers(self) -> None:
        """Start fresh workers, then let the old ones finish and exit."""
        old = [c for c in self.children.values() if c.kind == "worker" and not c.stopping]
        for slot in range(self.server.processes):
            self._spawn_worker(slot)
        for child in old:
            child.stopping = True
            # Read by the worker before the signal: it goes on accepting until
            # _end_hand_overs says its successors are ready, so no connection
            # waits for them to start. (A worker from before an upgrade ignores
            # it and stops accepting at once, as it always did.)
            child.hand_over = self._tell(child, b'{"hand_over": true}\n')
            _kill(child.proc.pid, signal.SIGTERM)

    def _end_hand_overs(self) -> None:
        """Tell the workers handing over whose successors are all ready to stop accepting."""
        owned = frozenset(sock.fileno() for bound in self.listeners for sock in bound.socks)
        for pid in plan.hand_overs_done(self._views(), owned):
            child = self.children[pid]
            child.hand_over = False
            self._tell(child, b'{"stop_accepting": true}\n')

    def begin_stop(self, why: str, graceful: bool = True) -> None:
        self.log.notice(f"{why}: stopping")
        self.stopping = True
        # Refuse new connections now: with the workers' copies closed, ours
        # would let the kernel accept connections that nobody will serve.
        for bound in self.listeners:
            bound.close()
        self.stop_deadline = time.monotonic() + self.server.graceful_timeout + 2.0
        if graceful:
            # Front ends first: daemons keep serving what the front ends still
            # pass them, and are stopped once no front end is left.
            for child in self.children.values():
                if child.kind == "worker":
                    # Any worker may be accepting on its own copies still: one
                    # handing over, or one whose app asked to retire.
                    child.hand_over = False
                    self._tell(child, b'{"stop_accepting": true}\n')
                    _kill(child.proc.pid, signal.SIGTERM)
        else:
            self._signal_all(signal.SIGQUIT)

    def _stop_step(self) -> None:
        now = time.monotonic()
        workers_left = any(c.kind == "worker" for c in self.children.values())
        if not workers_left and not self.daemons_told_to_stop:
            self.daemons_told_to_stop = True
            for child in self.children.values():
                child.stopping = True
                _kill(child.proc.pid, signal.SIGTERM)
            shutdown = max((g.spec.shutdown_timeout for g in self.groups.values()), default=5.0)
            self.stop_deadline = min(self.stop_deadline, now + shutdown + 1.0)
        if now > self.stop_deadline and self.children:
            for child in self.children.values():
                self.log.warn(f"{child.name} {child.proc.pid} did not stop in time; killing it")
                _kill(child.proc.pid, signal.SIGKILL)
            self.stop_deadline = now + 5.0

    def _signal_all(self, sig: signal.Signals) -> None:
        for pid in self.children:
            _kill(pid, sig)


class _Control:
    """Marks the control socket among the selector's keys."""


_CONTROL = _Control()
_INOTIFY = _Control()


def _set_name(group: Group) -> str:
    """A set as the log names it: 'name', or 'name' (application group 'app')."""
    if group.key == group.spec.name:
        return repr(group.spec.name)
    return f"{group.spec.name!r} (application group {group.application_group!r})"


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _start_failure(child: Child, code: int) -> str:
    if child.timed_out:
        return "a new process was not ready within startup-timeout"
    return f"a new process {_how(code)} before it was ready"


def _rss(pid: int) -> int | None:
    """A process's resident memory in bytes, from /proc; None if it is gone."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


_PAGE = os.sysconf("SC_PAGE_SIZE")


_size = plan.size_text


def _how(code: int) -> str:
    return f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited ({code})"


def _ignore(signum: int, frame: object) -> None:
    pass


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError as e:
        if e.errno != errno.ESRCH:
            raise


def _ungrow(grown: list[tuple[BoundListener, list[socket.socket]]]) -> None:
    """Close the sockets bound for a restart that will not happen (none listened yet)."""
    for bound, added in grown:
        bound.forget(added)
