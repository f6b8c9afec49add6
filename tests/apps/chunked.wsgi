"""Reads its request body as the query asks and reports what it saw, as JSON.

Every call is first recorded in the file named by ``record=`` (one line:
the marker ``m=``, the process id), so a test can prove a request never
reached the app. ``read=`` picks how the body is read:

* ``all``: ``wsgi.input.read()``;
* ``sized``: ``read(n)`` (``n=``, default 7) until it returns ``b""``;
* ``lines``: ``readline()`` until it returns ``b""``;
* ``catch``: ``read()``, reporting the error it raises (in the response and
  as an ``error`` line in the record) instead of failing;
* ``raise``: ``read()``, letting its error out of the app;
* ``none``: the body is not read at all.
"""

import json
import os
from urllib.parse import parse_qs


def application(environ, start_response):
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    record = query.get("record")
    if record:
        with open(record, "a") as f:
            f.write(f"{query.get('m', '')} {os.getpid()}\n")
    stream = environ["wsgi.input"]
    how = query.get("read", "all")
    error = None
    if how == "sized":
        n = int(query.get("n", "7"))
        parts = []
        while True:
            part = stream.read(n)
            if not part:
                break
            assert len(part) <= n
            parts.append(part)
        body = b"".join(parts)
    elif how == "lines":
        body = b"".join(iter(stream.readline, b""))
    elif how == "none":
        body = b""
    elif how == "catch":
        try:
            body = stream.read()
        except OSError as e:
            body = b""
            error = f"{type(e).__name__}: {e}"
            if record:
                with open(record, "a") as f:
                    f.write(f"error {error}\n")
    else:  # "all" and "raise"
        body = stream.read()
    seen = {
        "body": body.decode("latin-1"),
        "error": error,
        "pid": os.getpid(),
        "content_length": environ.get("CONTENT_LENGTH"),
        "input_terminated": environ.get("wsgi.input_terminated"),
        "input_chunked": environ.get("mod_wsgi.input_chunked"),
        "http": {k: v for k, v in environ.items() if k.startswith("HTTP_")},
    }
    out = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [out]
