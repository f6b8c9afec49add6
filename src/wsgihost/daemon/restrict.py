"""WSGIRestrictStdin, WSGIRestrictStdout, WSGIRestrictSignal and WSGISwitchInterval.

What mod_wsgi does to the interpreters that run apps, done to the processes
that run them here (daemon processes, and front-end workers in embedded
mode), once their own logs and signal handlers are in place:

- ``sys.stdin`` and ``sys.stdout`` can be replaced by an object any use of
  which raises ``OSError: sys.stdin access restricted by mod_wsgi`` (a
  portable app reads ``wsgi.input`` and writes ``wsgi.errors``). mod_wsgi
  4.9's defaults leave both usable: stdin is ``/dev/null``, stdout goes to
  the error log.
- ``signal.signal()`` called by the app is ignored with a warning and the
  calling stack in the error log (on by default): the server's processes
  own their signals (stop, reload, log reopening), and an app's handler
  would take one away. It returns the handler given, as mod_wsgi's does.
- ``sys.setswitchinterval()``, as mod_wsgi 6 applies WSGISwitchInterval and
  ``switch-interval=``.
- At a stop, the app's ``atexit`` functions (WSGIDestroyInterpreter).
"""

from __future__ import annotations

import io
import os
import signal
import sys
import traceback
from typing import Any, Callable

# Callers whose signal.signal() goes through: the server's own code and the
# libraries it runs on (their handlers are what restricting protects).
_OWN = ("wsgihost.", "asyncio", "uvloop", "concurrent.", "threading", "multiprocessing")


class Restricted:
    """Stands for ``sys.stdin`` or ``sys.stdout``: every use raises, as mod_wsgi's does."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attr: str) -> Any:
        raise OSError(f"{object.__getattribute__(self, '_name')} access restricted by mod_wsgi")

    def __setattr__(self, attr: str, value: Any) -> None:
        self.__getattr__(attr)

    def __repr__(self) -> str:
        return f"<restricted {object.__getattribute__(self, '_name')}>"


def signal_interceptor(
    original: Callable[..., Any], warn: Callable[[str], None]
) -> Callable[..., Any]:
    """A ``signal.signal`` that ignores the app's calls, with mod_wsgi's warning."""
    pid = os.getpid()

    def intercept(signalnum: int, handler: Any) -> Any:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if os.getpid() != pid or str(caller).startswith(_OWN):
            # A child process the app forked owns its signals, as in mod_wsgi.
            return original(signalnum, handler)
        number = int(signalnum)
        warn(f"mod_wsgi (pid={os.getpid()}): Callback registration for signal {number} ignored.")
        stack = io.StringIO()
        traceback.print_stack(sys._getframe(1), file=stack)
        for line in stack.getvalue().rstrip("\n").split("\n"):
            warn(line)
        return handler

    intercept.__wrapped__ = original  # type: ignore[attr-defined]
    return intercept


def install(
    stdin: bool,
    stdout: bool,
    signals: bool,
    switch_interval: float,
    warn: Callable[[str], None],
) -> None:
    """Apply the restrictions to this process (after its logs took sys.stdout)."""
    if stdin:
        sys.stdin = Restricted("sys.stdin")
    if stdout:
        sys.stdout.flush()
        sys.stdout = Restricted("sys.stdout")
    if signals and not hasattr(signal.signal, "__wrapped__"):
        signal.signal = signal_interceptor(signal.signal, warn)
    if switch_interval > 0:
        sys.setswitchinterval(switch_interval)


def flush_std() -> None:
    """Flush what the process wrote before it exits (a restricted sys.stdout has nothing)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass


def run_exit_functions() -> None:
    """WSGIDestroyInterpreter On (mod_wsgi's default): the app's ``atexit`` functions
    run when its process stops, as Python's finalisation runs them under mod_wsgi.
    (The processes end with ``os._exit``, which would skip them.)"""
    import atexit

    try:
        atexit._run_exitfuncs()
    except BaseException:  # an app's exit function must not keep the process alive
        pass
