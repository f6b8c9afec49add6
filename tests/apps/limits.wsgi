"""The app of the daemon limits tests (test_limits.py): standard library only.

  /pid                 the process id, as text
  /work?ms=M           sleep M milliseconds, then answer the process id
  /stuck               time.sleep(3600) in stuck_forever(): a request that never ends
  /stuck-streaming     a response head and a first chunk, then stuck the same way
  /hold?dir=D&id=I     create D/started-I, wait (at most 20 s) for D/go, answer the pid
  /grow?mb=N&ms=M      keep N MiB more (written, so resident) for the process's life, up
                       to 256 MiB in all; sleep M milliseconds; answer the pid
  /limits              JSON: the process's RLIMIT_DATA, RLIMIT_AS and RLIMIT_CPU (soft, hard)
  /spin?s=S            compute for S seconds of this thread's CPU time, answer the pid
"""

import json
import os
import resource
import time
from urllib.parse import parse_qs

_kept = []


def stuck_forever():
    time.sleep(3600)


def text(start_response, body, status="200 OK"):
    body = body.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def application(environ, start_response):
    path = environ["PATH_INFO"]
    query = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
    pid = os.getpid()

    if path == "/pid":
        return text(start_response, str(pid))

    if path == "/work":
        time.sleep(float(query.get("ms", "0")) / 1000.0)
        return text(start_response, str(pid))

    if path == "/stuck":
        stuck_forever()
        return text(start_response, "never")

    if path == "/stuck-streaming":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body():
            yield b"first part\n"
            stuck_forever()
            yield b"never\n"

        return body()

    if path == "/hold":
        folder = query["dir"]
        with open(os.path.join(folder, "started-" + query["id"]), "w"):
            pass
        go = os.path.join(folder, "go")
        until = time.monotonic() + 20
        while not os.path.exists(go) and time.monotonic() < until:
            time.sleep(0.01)
        return text(start_response, str(pid))

    if path == "/grow":
        if sum(len(b) for b in _kept) < 256 << 20:
            _kept.append(b"x" * (int(query["mb"]) << 20))
        time.sleep(float(query.get("ms", "0")) / 1000.0)
        return text(start_response, str(pid))

    if path == "/limits":
        names = ("RLIMIT_DATA", "RLIMIT_AS", "RLIMIT_CPU")
        found = {name: list(resource.getrlimit(getattr(resource, name))) for name in names}
        return text(start_response, json.dumps(found))

    if path == "/spin":
        until = time.thread_time() + float(query["s"])
        n = 0
        while time.thread_time() < until:
            n += 1
        return text(start_response, str(pid))

    return text(start_response, "not found: %s" % path, "404 Not Found")
