"""Time limits inside a daemon process: request-timeout, inactivity-timeout, rlimits.

Runs in the daemon process (standard library only, Python 3.9 syntax, like
the rest of :mod:`wsgihost.daemon`). One thread, started once the app is
loaded, looks about once a second (more often when a request is close to its
limit) at the requests the app is running:

* **request-timeout**: a request that has run longer than this gets its
  thread's Python stack written to the error log with the request's URL; the
  client gets a 504 if no response head went out yet (otherwise the response
  is cut, so it is never taken for complete), and the master is asked to
  replace the process, successor first. Python has no reliable way to stop a
  thread (an exception injected with ``PyThreadState_SetAsyncExc`` waits for
  ``time.sleep``, a lock or a C call to return, which may be never), so the
  process is replaced instead: its other threads finish their requests while
  the successor starts, and the stuck thread is lost with the process.
* **inactivity-timeout**: a process that has served requests but has had
  none for this long asks to be replaced by a fresh one, so the memory the
  app collected goes back (mod_wsgi's meaning of the option). A process that
  has served nothing yet is as fresh as a new one and is left alone.
* **cpu-time-limit**: a process that has used this much CPU time retires
  (and the master starts its successor). The kernel's SIGXCPU cannot do
  it: it goes to the thread that was computing, while Python runs signal
  handlers only in the main thread, which sleeps in ``join()`` meanwhile.
* once the process retires and the only requests left are ones already
  given up on, it exits after ``shutdown-timeout`` instead of waiting for
  them: their clients have had their answer.

The memory and CPU limits mod_wsgi documents (``memory-limit``,
``virtual-memory-limit``, ``cpu-time-limit``) are also resource limits the
kernel enforces: :func:`apply_limits` sets them before the app is imported.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from wsgihost import errorpages
from wsgihost.logs import ErrorLog, escape

REQUEST_TIMEOUT = "request-timeout"
INACTIVITY_TIMEOUT = "inactivity-timeout"

TICK = 1.0  # the longest the watchdog sleeps; inactivity is judged to about this
LATEST = 0.05  # how far past a request's limit the watchdog may wake, at most

# What FrameSink.interrupt reports about the client of a request that ran too long.
ANSWERED = "answered"  # it gets a 504
CUT = "cut"  # its response had begun: the connection is cut, so it is not taken as complete
FINISHED = "finished"  # its response was complete already, or the front end had gone

GATEWAY_TIMEOUT = "504 Gateway Timeout"
_PAGE = errorpages.page(504)  # Apache's page for a 504


def timeout_response() -> Tuple[str, List[Tuple[str, str]], bytes]:
    """The status, headers and body a client gets for a request past request-timeout."""
    headers = [
        ("Content-Type", errorpages.CONTENT_TYPE),
        ("Content-Length", str(len(_PAGE))),
    ]
    return GATEWAY_TIMEOUT, headers, _PAGE


class Running:
    """One request the app is running, as the watchdog sees it."""

    __slots__ = (
        "ended",
        "environ",
        "guard",
        "sink",
        "started",
        "thread",
        "timed_out",
    )

    def __init__(self, environ: Dict[str, Any], sink: Any) -> None:
        self.thread = threading.get_ident()  # its name is looked up if it times out
        self.started = time.monotonic()
        self.environ = environ
        self.sink = sink  # has interrupt(status, headers, body) -> ANSWERED | CUT | FINISHED
        self.timed_out = False
        self.ended = False
        # Held while the watchdog answers for it, and by end(): once the
        # request has ended, its connection may be serving another request,
        # which the watchdog must not touch.
        self.guard = threading.Lock()


class Watchdog:
    """The limits of one daemon process; ``begin``/``end`` are called by the request threads.

    ``tell`` sends a message to the master; ``state`` returns (draining,
    threads busy with a connection) of the process; ``retire`` retires it.
    """

    def __init__(
        self,
        settings: Dict[str, Any],
        log: ErrorLog,
        tell: Callable[..., None],
        state: Callable[[], Tuple[bool, int]],
        retire: Callable[[str], None],
        exit_process: Optional[Callable[[int], None]] = None,
    ) -> None:
        self.request_timeout = float(settings.get("request_timeout") or 0)
        self.inactivity_timeout = float(settings.get("inactivity_timeout") or 0)
        self.cpu_time_limit = float(settings.get("cpu_time_limit") or 0)
        self.shutdown_timeout = float(settings.get("shutdown_timeout", 5.0))
        self.group = str(settings.get("group", ""))
        self.log = log
        self.tell = tell
        self.state = state
        self.retire = retire
        self._exit = exit_process or os._exit
        self._lock = threading.Lock()
        self._running: Set[Running] = set()
        self._last_activity = time.monotonic()
        self._served = False  # inactivity counts only once a request has come and gone
        self._asked: Set[str] = set()  # the replacements asked for: once each is enough
        self._only_lost_since = 0.0  # retiring with nothing left but requests given up on
        self._wake = threading.Event()  # never set: its wait() paces the loop

    # -- called by the request threads -------------------------------------------

    def begin(self, environ: Dict[str, Any], sink: Any) -> Running:
        running = Running(environ, sink)
        with self._lock:
            self._running.add(running)
            self._last_activity = running.started
        return running

    def end(self, running: Running) -> None:
        with running.guard:
            running.ended = True
        with self._lock:
            self._running.discard(running)
            self._last_activity = time.monotonic()
            self._served = True

    # -- the watchdog thread -------------------------------------------------------

    @property
    def needed(self) -> bool:
        return bool(self.request_timeout or self.inactivity_timeout or self.cpu_time_limit)

    def start(self) -> None:
        thread = threading.Thread(target=self._main, name="watchdog", daemon=True)
        thread.start()

    def _main(self) -> None:
        wait = TICK
        while not self._wake.wait(wait):
            wait = self.check(time.monotonic())

    def check(self, now: float) -> float:
        """Act on every limit passed at ``now``; return how long to sleep until the next look."""
        limit = self.request_timeout
        with self._lock:
            overdue = [
                r for r in self._running if limit and not r.timed_out and now - r.started >= limit
            ]
            for running in overdue:
                running.timed_out = True
            lost = sum(1 for r in self._running if r.timed_out)
            pending = [r.started + limit for r in self._running if limit and not r.timed_out]
            idle = not self._running and self._served
            idle_for = now - self._last_activity
        for running in overdue:
            self._time_out(running, now)
        draining, busy = self.state()
        if (
            self.inactivity_timeout
            and idle
            and busy == 0
            and not draining
            and INACTIVITY_TIMEOUT not in self._asked
            and idle_for >= self.inactivity_timeout
        ):
            self._asked.add(INACTIVITY_TIMEOUT)
            why = f"no request for {self.inactivity_timeout:g} s (inactivity-timeout)"
            self.log.info(f"daemon process of group {self.group!r}: {why}; asking to be replaced")
            self.tell(recycle=True, reason=INACTIVITY_TIMEOUT, why=why)
        if self.cpu_time_limit and not draining:
            used = time.process_time()
            if used >= self.cpu_time_limit:
                self.log.warn(
                    f"daemon process of group {self.group!r} has used {used:.1f} s of CPU time, "
                    f"past cpu-time-limit ({self.cpu_time_limit:g} s); retiring"
                )
                self.retire("cpu-time-limit reached")
        self._exit_if_only_lost_requests(now, draining, busy, lost)
        wait = TICK
        if pending:
            wait = min(wait, max(LATEST, min(pending) - now))
        return wait

    def _time_out(self, running: Running, now: float) -> None:
        # The stack first, as it is now: answering may unblock the thread.
        frames = sys._current_frames()
        frame = frames.get(running.thread)
        stack = app_stack(frame) if frame is not None else ""
        del frames, frame
        status, headers, body = timeout_response()
        with running.guard:
            if running.ended:
                return  # it ended just now, by itself
            outcome = running.sink.interrupt(status, headers, body)
        environ = running.environ
        method = escape(str(environ.get("REQUEST_METHOD", "-")))
        client = f"{environ.get('REMOTE_ADDR', '-')}:{environ.get('REMOTE_PORT', '-')}"
        fate = {
            ANSWERED: "the client gets a 504",
            CUT: "its response had begun, so the client's connection is cut",
            FINISHED: "its response was complete already",
        }[outcome]
        self.log.error(
            f"{method} {escape(request_url(environ))} has run for {now - running.started:.1f} s, "
            f"past request-timeout ({self.request_timeout:g} s); {fate}; this process will be "
            f"replaced, its successor started first. The stack of thread "
            f"{_thread_name(running.thread)} (most recent call last):\n"
            + (stack or "  (the thread is running no Python code)"),
            client,
        )
        if REQUEST_TIMEOUT not in self._asked:
            self._asked.add(REQUEST_TIMEOUT)
            self.tell(
                recycle=True,
                reason=REQUEST_TIMEOUT,
                why=f"a request ran past request-timeout ({self.request_timeout:g} s)",
            )

    def _exit_if_only_lost_requests(self, now: float, draining: bool, busy: int, lost: int) -> None:
        """A retiring process whose only work left is requests given up on goes.

        Their clients were answered; waiting for threads that may never
        return would only hold the process's memory until the master kills it.
        """
        if not (draining and lost and busy <= lost):
            self._only_lost_since = 0.0
            return
        if not self._only_lost_since:
            self._only_lost_since = now
            return
        if now - self._only_lost_since < self.shutdown_timeout:
            return
        self.log.warn(
            f"daemon process of group {self.group!r}: {lost} request(s) past request-timeout "
            f"still running {self.shutdown_timeout:g} s (shutdown-timeout) after it began to "
            "retire; exiting without them"
        )
        self._exit(0)


_OURS = (
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ""),
    os.path.abspath(threading.__file__),
)


def _thread_name(ident: int) -> str:
    """The name of the live thread ``ident`` (asked only for a request that timed out)."""
    for thread in threading.enumerate():
        if thread.ident == ident:
            return thread.name
    return f"Thread-{ident}"


def app_stack(frame: Any) -> str:
    """A thread's stack as text, from the app's first frame on.

    The frames of the thread's start and of our serving loop, which are the
    same for every request, are left out; everything the app called is kept,
    ours included. If the thread is in our code only, the whole stack is shown.
    """
    entries = traceback.extract_stack(frame)
    first = 0
    while first < len(entries) and os.path.abspath(entries[first].filename).startswith(_OURS):
        first += 1
    if first == len(entries):
        first = 0
    return "".join(traceback.format_list(entries[first:])).rstrip("\n")


def request_url(environ: Dict[str, Any]) -> str:
    """The URL a request asked for, as the client wrote it where known."""
    uri = environ.get("REQUEST_URI")
    if uri:
        return str(uri)
    path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
    query = environ.get("QUERY_STRING")
    return f"{path}?{query}" if query else path


# -- resource limits -----------------------------------------------------------------


def limits_wanted(settings: Dict[str, Any]) -> List[Tuple[str, str, int, int]]:
    """(option, RLIMIT name, soft, hard) for each limit the group sets.

    memory-limit and virtual-memory-limit are hard limits, as in mod_wsgi:
    past them an allocation fails (``MemoryError``). cpu-time-limit is the
    soft limit (the watchdog retires the process there; the kernel's SIGXCPU
    is caught); the hard one, ``shutdown-timeout`` CPU seconds later (at
    least one), makes the kernel kill a process that keeps computing.
    """
    found: List[Tuple[str, str, int, int]] = []
    data = int(settings.get("memory_limit") or 0)
    if data:
        found.append(("memory-limit", "RLIMIT_DATA", data, data))
    virtual = int(settings.get("virtual_memory_limit") or 0)
    if virtual:
        found.append(("virtual-memory-limit", "RLIMIT_AS", virtual, virtual))
    cpu = int(settings.get("cpu_time_limit") or 0)
    if cpu:
        grace = max(1, int(float(settings.get("shutdown_timeout", 5.0))))
        found.append(("cpu-time-limit", "RLIMIT_CPU", cpu, cpu + grace))
    return found


def apply_limits(settings: Dict[str, Any]) -> List[str]:
    """Set the group's resource limits on this process; return what could not be set."""
    import resource

    problems: List[str] = []
    for option, name, soft, hard in limits_wanted(settings):
        which = getattr(resource, name)
        try:
            _, current = resource.getrlimit(which)
            if current != resource.RLIM_INFINITY:
                # Only root may raise a hard limit: stay under the one we got.
                soft, hard = min(soft, current), min(hard, current)
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError) as e:
            problems.append(f"{option}: cannot set {name} to {soft}: {e}")
    return problems
