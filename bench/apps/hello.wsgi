"""The WSGI application of the throughput benchmark.

Every server in bench/run.py loads this same file (gunicorn, granian and waitress
load a copy of it named bench_hello.py, since they can only import modules):

- ``GET /``: ``Hello, World!`` (the hello scenarios);
- ``GET /response/100k`` and ``GET /response/1m``: 102,400 and 1,048,576 bytes,
  made once at import and returned as one block;
- ``POST /upload``: reads the whole body in 64 KiB reads and answers how many bytes
  it read;
- ``GET /stream?size=N``: N bytes, yielded by a generator in 64 KiB blocks with
  no Content-Length (so chunked under HTTP/1.1), for bench/slowreader.py. Each
  block starts with ``STREAM_HEADER``: its offset in the stream, the
  ``time.monotonic()`` at which the app yielded it (one clock for every process
  of the machine) and the app's pid; the rest of it is ``STREAM_FILLER``'s bytes
  at the same places, so a reader can check every byte;
- ``GET /__interpreter__``: the Python interpreter the application really runs on,
  because interpreter builds differ in speed and the servers do not all run on the
  same one (mod_wsgi embeds the Python it was built for).

``/`` is tested first, so the hello scenarios pay for one comparison more than a
bare hello-world app would. Kept to Python 3.9 syntax so that any server's
interpreter can load it.
"""

import json
import os
import platform
import struct
import sys
import sysconfig
import time

BODY = b"Hello, World!\n"
CONTENT_LENGTH = str(len(BODY))

RESPONSES = {
    "/response/100k": b"x" * (100 * 1024),
    "/response/1m": b"x" * (1024 * 1024),
}
READ_SIZE = 64 * 1024
STREAM_BLOCK = 64 * 1024
STREAM_HEADER = struct.Struct("!QdQ")  # offset, time.monotonic() when yielded, pid
# A period of 251 (a prime): a block shifted by any offset would not match.
STREAM_FILLER = (bytes(range(251)) * (STREAM_BLOCK // 251 + 1))[:STREAM_BLOCK]

# configure flags that change how fast the interpreter runs. Distribution builds
# (Debian's included) may optimise outside configure, so their absence proves nothing.
SPEED_FLAGS = ("--enable-optimizations", "--with-lto", "--enable-shared")


def application(environ, start_response):
    path = environ.get("PATH_INFO")
    if path == "/":
        start_response(
            "200 OK",
            [("Content-Type", "text/plain"), ("Content-Length", CONTENT_LENGTH)],
        )
        return [BODY]
    if path in RESPONSES:
        body = RESPONSES[path]
        start_response(
            "200 OK",
            [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))],
        )
        return [body]
    if path == "/upload":
        return _upload(environ, start_response)
    if path == "/__interpreter__":
        return _interpreter(environ, start_response)
    if path == "/stream":
        return _stream(environ, start_response)
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
    return [b"not found\n"]


def _upload(environ, start_response):
    stream = environ["wsgi.input"]
    try:
        remaining = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        remaining = 0
    received = 0
    while remaining > 0:
        chunk = stream.read(min(READ_SIZE, remaining))
        if not chunk:
            break
        received += len(chunk)
        remaining -= len(chunk)
    body = str(received).encode("ascii")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _stream(environ, start_response):
    # Only ?size=N is asked for: parsed by hand, so no module is imported for it.
    query = dict(part.partition("=")[::2] for part in environ.get("QUERY_STRING", "").split("&"))
    try:
        size = int(query.get("size") or 0)
    except ValueError:
        size = -1
    if size < 0:
        start_response("400 Bad Request", [("Content-Type", "text/plain")])
        return [b"size must be a whole number of bytes\n"]
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return _blocks(size)


def _blocks(size):
    pid = os.getpid()
    filler = STREAM_FILLER[STREAM_HEADER.size :]
    for offset in range(0, size, STREAM_BLOCK):
        head = STREAM_HEADER.pack(offset, time.monotonic(), pid)
        yield (head + filler)[: size - offset]


def _interpreter(environ, start_response):
    config_args = sysconfig.get_config_var("CONFIG_ARGS") or ""
    report = {
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "compiler": platform.python_compiler(),
        "build": " ".join(platform.python_build()),
        "speed_flags": [flag for flag in SPEED_FLAGS if flag in config_args],
        "pid": os.getpid(),
        "server_software": environ.get("SERVER_SOFTWARE", ""),
        "multithread": bool(environ.get("wsgi.multithread")),
        "multiprocess": bool(environ.get("wsgi.multiprocess")),
    }
    body = json.dumps(report).encode("utf-8")
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]
