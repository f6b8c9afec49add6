"""Threads that run apps are scheduled SCHED_BATCH, so they never preempt the GIL's holder.

In a process whose threads share one GIL, Linux's default scheduling works
against the process: a thread woken for a job (an app thread handed a request
by the event loop, or a daemon thread woken by epoll) preempts whatever ran on
that CPU, usually the very thread that holds the GIL; it then finds the GIL
taken and sleeps again, and the holder has lost its CPU for nothing. Measured
in a front-end worker in embedded mode under load: the loop thread was
preempted 0.35 times a request and waited in the run queue 45% of the time
it wanted to run.

SCHED_BATCH (Linux, no privilege needed) is the normal time-sharing policy
without wakeup preemption: a woken batch thread waits for the running thread
to block or use up its slice, which is when the GIL comes free anyway. Set on
the embedded pool's threads and a daemon process's request threads (and so
inherited by the threads and processes an app starts from them), never on an
event loop's thread. The same benchmark: 14-24% more requests a second in
each mode, and 13-26% less CPU a request.

``WSGIHOST_SCHED_BATCH=0`` in the server's environment leaves every thread as
it was (for comparisons). Standard library only: daemon processes import it.
"""

from __future__ import annotations

import os


def enter() -> bool:
    """Make the calling thread SCHED_BATCH; False where that is not possible or is off."""
    if os.environ.get("WSGIHOST_SCHED_BATCH") == "0":
        return False
    policy = getattr(os, "SCHED_BATCH", None)
    if policy is None:
        return False  # not Linux
    try:
        os.sched_setscheduler(0, policy, os.sched_param(0))  # 0: this thread
    except OSError:
        return False  # a seccomp filter or an exotic kernel: run as before
    return True
