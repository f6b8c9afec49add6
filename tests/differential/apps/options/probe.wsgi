"""What an app may do with sys.stdin, sys.stdout and signal.signal() under the
server's restrictions, and which method it was called with (a response header,
so a HEAD shows it too)."""

import json
import signal
import sys


def _attempt(action):
    try:
        return {"result": action()}
    except Exception as e:  # the restriction's own words are what is compared
        return {"error": "%s: %s" % (type(e).__name__, e)}


def _handler(number, frame):
    pass


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    seen = {}
    if path == "/stdin":
        seen = _attempt(lambda: repr(sys.stdin.read()))
    elif path == "/stdout":
        seen = _attempt(lambda: print("probe: printed to sys.stdout") or "printed")
        sys.stderr.flush()
    elif path == "/signal":
        seen = _attempt(lambda: signal.signal(signal.SIGUSR2, _handler) is _handler)
    body = json.dumps(seen, sort_keys=True).encode()
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("X-Request-Method", environ["REQUEST_METHOD"]),
        ],
    )
    return [body]
