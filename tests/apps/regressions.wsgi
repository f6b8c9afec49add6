"""The regression tests' app (tests/functional/test_regressions.py): one behaviour per path.

Not wrapped in ``wsgiref.validate.validator``: some paths hand the server a status line
it must refuse itself, and the validator would either refuse it first or complain about
the iterable the server then never gets. Everything else it does is valid WSGI.

  /seq?i=N&pad=B                    the text N, then "|" and B dots if B is given, with a
                                    Content-Length (pipelining order)
  /pid                              the process id, as text
  /gen?n=N&size=B                   N chunks of B bytes from a generator (no Content-Length)
  /status?kind=K                    start_response with a bad status: K is "latin1" (a reason
                                    phrase outside latin-1) or "informational" (101)
  /touch?marker=F                   create F, read the body, answer "ran"
  /slowread?pause=S                 read 64 KiB of the body, sleep S seconds, read the rest;
                                    answers the length read
  /echo                             the body read, sent back
  /retire?started=F&go=G            SIGINT this process, create F, wait (at most 20 s) for G
                                    to exist, then answer the pid
  /work?started=F&s=S&done=D&closed=C
                                    create F, sleep S seconds, create D, then answer with an
                                    iterable whose close() creates C
"""

import os
import signal
import time
from urllib.parse import parse_qs

TEXT = [("Content-Type", "text/plain")]


def touch(path):
    with open(path, "ab"):
        pass


def fixed(start_response, body, status="200 OK"):
    start_response(status, [*TEXT, ("Content-Length", str(len(body)))])
    return [body]


def read_all(stream):
    parts = []
    while True:
        data = stream.read(65536)
        if not data:
            return b"".join(parts)
        parts.append(data)


class Closing:
    """A response iterable whose close() creates a marker file."""

    def __init__(self, body, marker):
        self.body = body
        self.marker = marker

    def __iter__(self):
        yield self.body

    def close(self):
        touch(self.marker)


def application(environ, start_response):
    path = environ["PATH_INFO"]
    query = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
    stream = environ["wsgi.input"]

    if path == "/seq":
        body = query["i"].encode()
        if "pad" in query:
            body += b"|" + b"." * int(query["pad"])
        return fixed(start_response, body)

    if path == "/pid":
        return fixed(start_response, str(os.getpid()).encode())

    if path == "/gen":
        n = int(query.get("n", "3"))
        size = int(query.get("size", "10"))
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (bytes([65 + i % 26]) * size for i in range(n))

    if path == "/status":
        status = {"latin1": "200 Gut \u2713", "informational": "101 Switching Protocols"}
        start_response(status[query["kind"]], TEXT)
        return [b"this body must not be sent"]

    if path == "/touch":
        touch(query["marker"])
        read_all(stream)
        return fixed(start_response, b"ran")

    if path == "/slowread":
        total = len(stream.read(65536))
        time.sleep(float(query.get("pause", "3")))
        total += len(read_all(stream))
        return fixed(start_response, str(total).encode())

    if path == "/echo":
        return fixed(start_response, read_all(stream))

    if path == "/retire":
        os.kill(os.getpid(), signal.SIGINT)
        touch(query["started"])
        deadline = time.monotonic() + 20
        while not os.path.exists(query["go"]) and time.monotonic() < deadline:
            time.sleep(0.01)
        return fixed(start_response, str(os.getpid()).encode())

    if path == "/work":
        touch(query["started"])
        time.sleep(float(query.get("s", "2")))
        touch(query["done"])
        body = b"work done"
        start_response("200 OK", [*TEXT, ("Content-Length", str(len(body)))])
        return Closing(body, query["closed"])

    return fixed(start_response, b"not found", "404 Not Found")
