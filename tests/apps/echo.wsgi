"""Echo: answers with what the app saw, as JSON (environ, body, pid).

Paths select behaviours used by the tests:
  /sleep?s=SECONDS    sleep, then answer
  /stream?n=N&size=B  N chunks of B bytes from a generator
  /error              raise before start_response
  /pid                just the process id
"""

import json
import os
import time
from urllib.parse import parse_qs


def application(environ, start_response):
    path = environ["PATH_INFO"]
    query = parse_qs(environ["QUERY_STRING"])
    if path == "/error":
        raise RuntimeError("the echo app was asked to fail")
    if path == "/sleep":
        time.sleep(float(query.get("s", ["1"])[0]))
    if path == "/stream":
        n = int(query.get("n", ["3"])[0])
        size = int(query.get("size", ["10"])[0])
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (b"x" * size for _ in range(n))
    if path == "/pid":
        body = str(os.getpid()).encode()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = environ["wsgi.input"].read(int(length))
    else:
        body = environ["wsgi.input"].read()
    seen = {
        key: value
        for key, value in environ.items()
        if isinstance(value, (str, int, bool, tuple)) or value is None
    }
    out = json.dumps(
        {"environ": seen, "body": body.decode("latin-1"), "pid": os.getpid()}
    ).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))]
    )
    return [out]
