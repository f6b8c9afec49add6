"""SCHED_BATCH for the threads that serve requests.

In a process whose threads share one GIL, Linux's default scheduling works
against the process: a thread woken for work (an app thread handed a request
by the event loop, the loop woken by a finished response) preempts whatever
ran on that CPU, often the very thread that holds the GIL; it then finds the
GIL taken and sleeps again. Measured in a front-end worker in embedded mode,
hello world under Connection: close: 4 context switches a request, 1 of them
the loop preempted by the thread it had just woken; under SCHED_BATCH (the
normal time-sharing policy without wakeup preemption; Linux, no privilege
needed) 1.4, and 1.5 times the requests a second.

So a front-end worker's event loop and embedded app threads run SCHED_BATCH
by default (``WSGIHOST_SCHED_BATCH`` unset, ``auto`` or ``front``); the
threads and processes an embedded app starts inherit it.

A daemon process's request threads follow its app (unset or ``auto``): under
SCHED_BATCH while its requests take little CPU, under the default policy once
they take more (:class:`Adaptive`); threads the app starts inherit the
policy of the thread that starts them. For hello world SCHED_BATCH there gives
a tenth to a fifth more requests a second: a request thread woken by epoll
otherwise preempts the front end that has just written to it. For a CPU-heavy app (the
Django benchmark) it lengthened the 99th percentile several times over: a
thread that gives up the GIL for a moment (a SQLite call) takes it straight
back, because the waiter it woke cannot preempt it, and requests queued behind
it starve. ``front`` keeps daemon threads on the default policy,
``WSGIHOST_SCHED_BATCH=1`` puts them under SCHED_BATCH whatever the app does,
``0`` keeps every thread on the default policy. bench/README.md (issue 15)
has the figures. Before the front-end workers had a listening socket each,
SCHED_BATCH let the first worker to wake take a whole burst of connections;
it was opt-in then.

A thread started under another policy than the default (``chrt``, systemd's
``CPUSchedulingPolicy=``) keeps it. Standard library only: daemon processes
import it.
"""

from __future__ import annotations

import os

FRONT = "front"
DAEMON = "daemon"

# What WSGIHOST_SCHED_BATCH asks of a role's threads.
NEVER = "never"
ALWAYS = "always"
ADAPTIVE = "adaptive"  # daemon threads, by default: see Adaptive


def setting(role: str) -> str:
    """NEVER, ALWAYS or ADAPTIVE for threads of ``role`` (FRONT or DAEMON)."""
    value = os.environ.get("WSGIHOST_SCHED_BATCH", "").strip().lower()
    if value in ("0", "off", "no"):
        return NEVER
    if value in ("1", "all", "on", "yes"):
        return ALWAYS
    if role == FRONT:
        return ALWAYS
    return NEVER if value == "front" else ADAPTIVE  # unset, "auto", or unknown


def wanted(role: str) -> bool:
    """Whether threads of ``role`` start under SCHED_BATCH."""
    return setting(role) == ALWAYS


def enter(role: str) -> bool:
    """Make the calling thread SCHED_BATCH if its role wants it; False where it is off
    or not possible."""
    return wanted(role) and switch(True)


def adjustable() -> bool:
    """Whether the calling thread runs the default policy, on a platform with
    SCHED_BATCH: one that wsgihost may move between the two."""
    if getattr(os, "SCHED_BATCH", None) is None:
        return False  # not Linux
    try:
        return os.sched_getscheduler(0) == os.SCHED_OTHER
    except OSError:
        return False


def switch(on: bool) -> bool:
    """Put the calling thread under SCHED_BATCH (``on``) or the default policy;
    False where that is not possible or the policy is the operator's. (A thread
    that started under SCHED_BATCH by the operator's choice is not to be
    switched: callers check :func:`adjustable` first.)"""
    policy = getattr(os, "SCHED_BATCH", None)
    if policy is None:
        return False  # not Linux
    try:
        if os.sched_getscheduler(0) not in (os.SCHED_OTHER, policy):
            return False  # an operator's choice (chrt, systemd's CPUSchedulingPolicy): kept
        os.sched_setscheduler(0, policy if on else os.SCHED_OTHER, os.sched_param(0))
    except OSError:
        return False  # a seccomp filter or an exotic kernel: run as before
    return True


class Adaptive:
    """Whether a daemon process's request threads are to run SCHED_BATCH now.

    Fed, about once a second, the process's CPU time (every thread's: work an
    app hands to threads of its own counts too) and its requests served so
    far. Judged over windows of at least ``LEAST`` requests: SCHED_BATCH while
    a window's CPU per request is under ``ENTER``, the default policy once a
    window's is over ``LEAVE``; in between, as it was. A window takes in whatever
    the process did meanwhile: the import of a script on its first request makes
    that window heavy, and the next window judges afresh. A process starts on
    the default policy.

    An average: an app whose rare requests are heavy but most are light
    (health checks, 304s) counts as light. ``WSGIHOST_SCHED_BATCH=front``
    keeps such an app's threads on the default policy.
    """

    # Seconds of CPU a request, the server's own share included: hello world
    # takes about 0.06 ms in a daemon process, the Django view of bench/django.py
    # (a template rendered from a SQLite query) about 2.8 ms.
    ENTER = 0.0005
    LEAVE = 0.001
    LEAST = 20  # requests a window needs to be judged; fewer: it stays open

    __slots__ = ("_cpu", "_served", "batch")

    def __init__(self, cpu: float, served: int) -> None:
        self.batch = False
        self._cpu = cpu
        self._served = served

    def observe(self, cpu: float, served: int) -> None:
        """The process's CPU seconds and requests served, both counted from its start."""
        requests = served - self._served
        if requests < self.LEAST:
            return
        per_request = (cpu - self._cpu) / requests
        self._cpu, self._served = cpu, served
        if self.batch:
            if per_request > self.LEAVE:
                self.batch = False
        elif per_request < self.ENTER:
            self.batch = True
