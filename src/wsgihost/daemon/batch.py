"""SCHED_BATCH for the threads that serve requests in a front-end worker.

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
by default (``WSGIHOST_SCHED_BATCH`` unset, or ``front``); the threads and
processes an embedded app starts inherit it. Daemon processes keep the
default policy: with a CPU-heavy app in daemon mode (the Django benchmark),
SCHED_BATCH on their request threads lengthened the 99th percentile (the
thread that holds a CPU keeps winning the GIL). ``WSGIHOST_SCHED_BATCH=1``
puts daemon request threads under it too; ``0`` keeps every thread on the
default policy. bench/README.md (issue 15) has the figures. Before the
front-end workers had a listening socket each, SCHED_BATCH let the first
worker to wake take a whole burst of connections; it was opt-in then.

A thread started under another policy than the default (``chrt``, systemd's
``CPUSchedulingPolicy=``) keeps it. Standard library only: daemon processes
import it.
"""

from __future__ import annotations

import os

FRONT = "front"
DAEMON = "daemon"


def wanted(role: str) -> bool:
    """Whether threads of ``role`` (FRONT or DAEMON) are to run SCHED_BATCH."""
    setting = os.environ.get("WSGIHOST_SCHED_BATCH", "").strip().lower()
    if setting in ("0", "off", "no"):
        return False
    if setting in ("1", "all", "on", "yes"):
        return True
    return role == FRONT  # the default, and "front"


def enter(role: str) -> bool:
    """Make the calling thread SCHED_BATCH if its role wants it; False where it is off
    or not possible."""
    if not wanted(role):
        return False
    policy = getattr(os, "SCHED_BATCH", None)
    if policy is None:
        return False  # not Linux
    try:
        if os.sched_getscheduler(0) != os.SCHED_OTHER:
            return False  # an operator's choice (chrt, systemd's CPUSchedulingPolicy): kept
        os.sched_setscheduler(0, policy, os.sched_param(0))  # 0: this thread
    except OSError:
        return False  # a seccomp filter or an exotic kernel: run as before
    return True
