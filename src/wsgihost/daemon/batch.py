"""wsgihost's serving threads are scheduled SCHED_BATCH: woken, they never preempt.

In a process whose threads share one GIL, Linux's default scheduling works
against the process: a thread woken for work (an app thread handed a request
by the event loop, a daemon thread woken by epoll, the loop woken by a
finished response) preempts whatever ran on that CPU, often the very thread
that holds the GIL; it then finds the GIL taken and sleeps again, and the
holder has lost its CPU for nothing. Measured in a front-end worker in
embedded mode under load: the loop's thread was preempted 0.35 times a
request and waited in the run queue 45% of the time it wanted to run.

SCHED_BATCH (Linux, no privilege needed) is the normal time-sharing policy
without wakeup preemption: a woken batch thread waits until the running
thread blocks or uses up its slice, which is when the GIL comes free anyway.
It is set on every thread that serves requests: a front-end worker's event
loop and its pool (embedded apps, static files), and a daemon process's
request threads; so the threads and processes an app starts inherit it. The
master, which only supervises, keeps the default.

Measured with bench/run.py on 2 cores, hello world: 1.2-1.6 times the
requests a second in each mode, keep-alive and ``Connection: close``, with
less CPU a request. The cost: a request's thread may wait for a busy CPU's
current slice instead of taking the CPU at once, which shows in the 99th
percentile when the CPUs are saturated (bench/README.md, issue 15). Other
programs on the machine keep their priority over wsgihost's threads.

``WSGIHOST_SCHED_BATCH=0`` in the server's environment leaves every thread
under the default policy; a thread started under another policy than the
default (``chrt``, systemd's ``CPUSchedulingPolicy=``) keeps it. Standard
library only: daemon processes import it.
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
        if os.sched_getscheduler(0) != os.SCHED_OTHER:
            return False  # an operator's choice (chrt, systemd's CPUSchedulingPolicy): kept
        os.sched_setscheduler(0, policy, os.sched_param(0))  # 0: this thread
    except OSError:
        return False  # a seccomp filter or an exotic kernel: run as before
    return True
