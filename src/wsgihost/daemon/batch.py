"""SCHED_BATCH for wsgihost's serving threads: opt-in, with ``WSGIHOST_SCHED_BATCH=1``.

In a process whose threads share one GIL, Linux's default scheduling can work
against the process: a thread woken for work (an app thread handed a request
by the event loop, a daemon thread woken by epoll, the loop woken by a
finished response) preempts whatever ran on that CPU, often the very thread
that holds the GIL; it then finds the GIL taken and sleeps again. Measured in
a front-end worker in embedded mode, hello world under load: the loop's
thread was preempted 0.35 times a request and waited in the run queue 45% of
the time it wanted to run.

SCHED_BATCH (Linux, no privilege needed) is the normal time-sharing policy
without wakeup preemption. With ``WSGIHOST_SCHED_BATCH=1`` in the server's
environment it is set on every thread that serves requests: a front-end
worker's event loop and pool, and a daemon process's request threads (and so
on the threads and processes an app starts from them); the master keeps the
default. bench/README.md (issue 15) has the figures: hello world gains 1.2 to
1.6 times the requests a second in every mode, but a CPU-heavy app (the
Django benchmark) gets a longer 99th percentile (the thread that holds a CPU
keeps winning the GIL), and in embedded mode the first worker to wake can
accept a whole burst of new connections, leaving the other idle. So it is
off by default: a tuning for GIL-light apps at high request rates, to be
measured with the app it serves.

A thread started under another policy than the default (``chrt``, systemd's
``CPUSchedulingPolicy=``) keeps it. Standard library only: daemon processes
import it.
"""

from __future__ import annotations

import os


def enter() -> bool:
    """Make the calling thread SCHED_BATCH if asked to; False where it is off or not possible."""
    if os.environ.get("WSGIHOST_SCHED_BATCH") != "1":
        return False  # off unless asked for
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
