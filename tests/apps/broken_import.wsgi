"""A WSGI script that cannot be imported: its daemon process never becomes READY.

If the environment variable BROKEN_FIXTURE_GATE names a file that exists, the import
first creates GATE.waiting-PID and waits (at most 20 s) until the gate file is removed,
then fails: a test holds the failing start that way.
"""

import os
import time

_gate = os.environ.get("BROKEN_FIXTURE_GATE")
if _gate and os.path.exists(_gate):
    with open("%s.waiting-%d" % (_gate, os.getpid()), "w"):
        pass
    _until = time.monotonic() + 20
    while os.path.exists(_gate) and time.monotonic() < _until:
        time.sleep(0.01)

raise RuntimeError("broken_import.wsgi fails at import on purpose")


def application(environ, start_response):  # never reached
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"unreachable"]
