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
a tenth to a quarter more requests a second: a request thread woken by epoll otherwise
preempts the front end that has just written to it. For a CPU-heavy app (the
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


def switch(on: bool) -> bool:
    """Put the calling thread under SCHED_BATCH (``on``) or the default policy;
    False where that is not possible or the policy is the operator's."""
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

    Fed the CPU time of each request's app call; SCHED_BATCH while their
    running mean is under ``ENTER``, the default policy once it is over
    ``LEAVE``. The gap between them keeps a mean near one of them from flipping
    the threads at every request (each flip is a system call a thread). The
    first requests, with imports and caches to fill, weigh like any others: a
    process starts on the default policy and its threads change only once the
    mean has settled.

    Threads share one instance without a lock: a lost update of the mean, when
    two threads record at once, only delays a flip by a request.
    """

    ENTER = 0.0005  # s of CPU an app call: a millisecond is a slow hello world,
    LEAVE = 0.001  # a small fraction of a template rendered from a query
    WEIGHT = 1 / 32  # of each new request in the mean

    __slots__ = ("batch", "mean")

    def __init__(self) -> None:
        self.batch = False
        self.mean = (self.ENTER + self.LEAVE) / 2

    def record(self, cpu_seconds: float) -> None:
        mean = self.mean = self.mean + (cpu_seconds - self.mean) * self.WEIGHT
        if self.batch:
            if mean > self.LEAVE:
                self.batch = False
        elif mean < self.ENTER:
            self.batch = True
