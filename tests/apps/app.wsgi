"""The functional tests' app: one behaviour per path, run under wsgiref's validator.

``application = validator(app)``: every request and response is checked by
``wsgiref.validate``, so a server that breaks PEP 3333 shows up as an
AssertionError (a 500 and a traceback) or a WSGIWarning on the error output.

  /env                        the environ (str values) and the pid, as JSON; reads the body
  /pid                        the process id, as text
  /fixed                      a fixed text body with a Content-Length
  /input?mode=M&n=N           read the body with wsgi.input read(N) / readline() /
                              readline(N) / readlines() / readlines(N) / iteration (M),
                              then read again at the end; answers what was read, as JSON
  /upload?chunk=B&delay=S     read the body B bytes at a time, sleeping S between reads;
                              answers its length, sha256 and the growth of VmHWM/VmRSS
  /download?size=B            B bytes of download_block(i) from a generator, X-Pid header
  /gen?n=N&size=B             N chunks of B bytes from a generator (no Content-Length)
  /write                      the body through the write() callable, then a returned tail
  /sleep?s=S&started=F        append the pid to file F, sleep S seconds, answer the pid
  /expect?started=F&go=G      create F, wait for G to exist, then read the body (100-continue)
  /exc_info?when=before       start_response(200), then replace it with a 503 using exc_info
  /exc_info?when=after        write part of a 200, then call start_response with exc_info
  /raise                      raise before start_response
  /raise_mid                  a generator that yields once, then raises
  /cl?declared=D&actual=A     declare Content-Length D, send A bytes
  /close?marker=F&mode=M      an iterable whose close() creates F; M: ok, raise, endless
  /file?path=P                wsgi.file_wrapper over the file P
  /file_marker?marker=F       wsgi.file_wrapper over an object whose close() creates F
  /errors?token=T             write T to wsgi.errors
"""

import hashlib
import io
import json
import os
import sys
import time
from urllib.parse import parse_qs
from wsgiref.validate import validator

TEXT = [("Content-Type", "text/plain")]


def download_block(i, size=65536):
    """Block i of a /download body: distinct per block, so a lost or reordered block shows."""
    head = b"block %08d|" % i
    return (head + bytes(range(256)) * (size // 256 + 1))[:size]


def proc_kb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def as_json(start_response, data, status="200 OK"):
    out = json.dumps(data).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(out)))]
    )
    return [out]


def read_body(stream, n=65536):
    parts = []
    while True:
        data = stream.read(n)
        if not data:
            return b"".join(parts)
        parts.append(data)


def touch(path):
    with open(path, "ab"):
        pass


class ClosingIterable:
    """A response iterable that records its close() by creating a marker file."""

    def __init__(self, marker, mode):
        self.marker = marker
        self.mode = mode

    def __iter__(self):
        yield b"first chunk\n"
        if self.mode == "raise":
            raise RuntimeError("raised on purpose by /close?mode=raise")
        if self.mode == "endless":
            while True:
                yield b"x" * 65536

    def close(self):
        touch(self.marker)


class MarkerFile(io.BytesIO):
    def __init__(self, data, marker):
        super().__init__(data)
        self.marker = marker

    def close(self):
        touch(self.marker)
        super().close()


def environ_as_json(environ):
    return {k: v for k, v in environ.items() if isinstance(v, str)}


def app(environ, start_response):
    path = environ["PATH_INFO"]
    query = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
    stream = environ["wsgi.input"]

    if path == "/pid":
        start_response("200 OK", TEXT)
        return [str(os.getpid()).encode()]

    if path == "/fixed":
        body = b"hello, world\n"
        start_response("200 OK", [*TEXT, ("Content-Length", str(len(body)))])
        return [body]

    if path == "/input":
        mode = query.get("mode", "read")
        n = int(query.get("n", "65536"))
        if mode == "read":
            parts = []
            while True:
                data = stream.read(n)
                if not data:
                    break
                parts.append(data)
        elif mode == "readline":
            parts = list(iter(stream.readline, b""))
        elif mode == "readline_n":
            parts = list(iter(lambda: stream.readline(n), b""))
        elif mode == "readlines":
            parts = stream.readlines()
        elif mode == "readlines_hint":
            parts = stream.readlines(n)
            parts.append(read_body(stream))
        elif mode == "iter":
            parts = list(stream)
        else:
            raise ValueError(f"unknown mode {mode!r}")
        after = stream.read(10) + stream.readline()
        return as_json(
            start_response,
            {
                "body": b"".join(parts).decode("latin-1"),
                "parts": [p.decode("latin-1") for p in parts],
                "after": after.decode("latin-1"),
                "environ": environ_as_json(environ),
            },
        )

    if path == "/upload":
        chunk = int(query.get("chunk", "65536"))
        delay = float(query.get("delay", "0"))
        hwm0, rss0 = proc_kb("VmHWM"), proc_kb("VmRSS")
        digest = hashlib.sha256()
        total = 0
        rss_max = rss0
        while True:
            data = stream.read(chunk)
            if not data:
                break
            total += len(data)
            digest.update(data)
            rss = proc_kb("VmRSS")
            if rss is not None and rss_max is not None:
                rss_max = max(rss_max, rss)
            if delay:
                time.sleep(delay)
        hwm1 = proc_kb("VmHWM")
        return as_json(
            start_response,
            {
                "length": total,
                "sha256": digest.hexdigest(),
                "pid": os.getpid(),
                "hwm_growth_kb": None if hwm0 is None or hwm1 is None else hwm1 - hwm0,
                "rss_growth_kb": None if rss0 is None else rss_max - rss0,
            },
        )

    if path == "/download":
        size = int(query.get("size", str(1 << 20)))
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", str(size)),
                ("X-Pid", str(os.getpid())),
            ],
        )

        def blocks():
            sent = 0
            i = 0
            while sent < size:
                block = download_block(i)[: size - sent]
                sent += len(block)
                i += 1
                yield block

        return blocks()

    if path == "/gen":
        n = int(query.get("n", "3"))
        size = int(query.get("size", "10"))
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (bytes([65 + i % 26]) * size for i in range(n))

    if path == "/write":
        write = start_response("200 OK", TEXT)
        write(b"written-1;")
        write(b"")
        write(b"written-2;")
        return [b"returned-1;", b"returned-2"]

    if path == "/sleep":
        started = query.get("started")
        if started:
            with open(started, "a") as f:
                f.write(f"{os.getpid()}\n")
        time.sleep(float(query.get("s", "1")))
        start_response("200 OK", TEXT)
        return [str(os.getpid()).encode()]

    if path == "/expect":
        touch(query["started"])
        deadline = time.monotonic() + 20
        while not os.path.exists(query["go"]) and time.monotonic() < deadline:
            time.sleep(0.01)
        body = read_body(stream)
        return as_json(start_response, {"body": body.decode("latin-1")})

    if path == "/exc_info":
        if query.get("when") == "after":
            write = start_response("200 OK", TEXT)
            write(b"partial body;")
            try:
                raise ValueError("failure after the head was sent, on purpose")
            except ValueError:
                # The head is out: start_response re-raises the error (PEP 3333).
                start_response("500 Internal Server Error", TEXT, sys.exc_info())
            return [b"not reached"]
        start_response("200 OK", TEXT)
        try:
            raise ValueError("failure before any body, on purpose")
        except ValueError:
            body = b"custom error page"
            start_response(
                "503 Service Unavailable",
                [*TEXT, ("Content-Length", str(len(body)))],
                sys.exc_info(),
            )
        return [body]

    if path == "/raise":
        raise RuntimeError("raised on purpose by the fixture app")

    if path == "/raise_mid":
        start_response("200 OK", TEXT)

        def failing():
            yield b"before the failure;"
            raise RuntimeError("raised on purpose in the middle of the body")

        return failing()

    if path == "/cl":
        declared = int(query["declared"])
        actual = int(query["actual"])
        start_response("200 OK", [*TEXT, ("Content-Length", str(declared))])
        return [b"y" * actual]

    if path == "/close":
        start_response("200 OK", TEXT)
        return ClosingIterable(query["marker"], query.get("mode", "ok"))

    if path == "/file":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](open(query["path"], "rb"), 8192)

    if path == "/file_marker":
        start_response("200 OK", TEXT)
        return environ["wsgi.file_wrapper"](MarkerFile(b"from a file-like", query["marker"]))

    if path == "/errors":
        errors = environ["wsgi.errors"]
        errors.write(f"app message {query['token']}\n")
        errors.flush()
        start_response("200 OK", TEXT)
        return [b"logged"]

    # /env and anything else: the environ, after reading the body.
    body = read_body(stream)
    return as_json(
        start_response,
        {"environ": environ_as_json(environ), "pid": os.getpid(), "body": body.decode("latin-1")},
    )


application = validator(app)
