"""The daemon-mode tests' app: standard library only, so any group's interpreter can run it
(python-home virtual environments included).

  /info                     JSON: pid, mod_wsgi.process_group, sys.prefix, sys.executable,
                            sys.path, wsgi.multithread / wsgi.multiprocess
  /pid                      the process id, as text
  /work?ms=M                sleep M milliseconds (default 0), then answer the process id
  /barrier?key=K&n=N&dir=D  wait until N requests with the same K have arrived in this
                            process (a threading.Barrier of N, 10 s timeout); then create
                            D/passed-K-PID-<unique>, wait (at most 20 s) for D/go-K and
                            answer "PID ok"; "PID broken" with a 500 if the barrier broke
  /sigint                   mod_wsgi's self-restart idiom: SIGINT to its own process when
                            it runs in a daemon group; answers the process id
  /hold?dir=D&id=I          create D/started-I, wait (at most 20 s) for D/go, answer the pid
  /upload                   read the body 64 KiB at a time; JSON: length, sha256, pid
  /download?size=B          B bytes of pattern(i) blocks from a generator, with a
                            Content-Length and an X-Pid header

At import: if the environment variable DAEMON_FIXTURE_GATE names a file that exists, create
GATE.waiting-PID and wait (at most 20 s) until the gate file is removed: a test holds a
replacement process between its start and READY that way.
"""

import hashlib
import json
import os
import signal
import sys
import threading
import time
from urllib.parse import parse_qs

BLOCK = 65536

_gate = os.environ.get("DAEMON_FIXTURE_GATE")
if _gate and os.path.exists(_gate):
    with open("%s.waiting-%d" % (_gate, os.getpid()), "w"):
        pass
    _until = time.monotonic() + 20
    while os.path.exists(_gate) and time.monotonic() < _until:
        time.sleep(0.01)

_barriers = {}
_barriers_lock = threading.Lock()


def pattern(i):
    """Block i of a /download body: distinct per block, so a lost or reordered block shows."""
    head = b"block %08d|" % i
    return (head + bytes(range(256)) * (BLOCK // 256 + 1))[:BLOCK]


def barrier(key, n):
    with _barriers_lock:
        found = _barriers.get(key)
        if found is None:
            found = _barriers[key] = threading.Barrier(n, timeout=10)
        return found


def text(start_response, body, status="200 OK"):
    body = body.encode()
    start_response(
        status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    )
    return [body]


def application(environ, start_response):
    path = environ["PATH_INFO"]
    query = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
    pid = os.getpid()

    if path == "/info":
        body = json.dumps(
            {
                "pid": pid,
                "group": environ["mod_wsgi.process_group"],
                "prefix": sys.prefix,
                "executable": sys.executable,
                "path": sys.path,
                "multithread": environ["wsgi.multithread"],
                "multiprocess": environ["wsgi.multiprocess"],
            }
        )
        return text(start_response, body)

    if path == "/pid":
        return text(start_response, str(pid))

    if path == "/work":
        ms = float(query.get("ms", "0"))
        if ms:
            time.sleep(ms / 1000.0)
        return text(start_response, str(pid))

    if path == "/barrier":
        key = query["key"]
        try:
            barrier(key, int(query["n"])).wait()
        except threading.BrokenBarrierError:
            return text(start_response, "%d broken" % pid, "500 Internal Server Error")
        # Held until the test saw every request pass: no thread frees up early to take
        # a request that another process should have had.
        folder = query["dir"]
        marker = "passed-%s-%d-%d" % (key, pid, threading.get_ident())
        with open(os.path.join(folder, marker), "w"):
            pass
        go = os.path.join(folder, "go-" + key)
        until = time.monotonic() + 20
        while not os.path.exists(go) and time.monotonic() < until:
            time.sleep(0.01)
        return text(start_response, "%d ok" % pid)

    if path == "/sigint":
        if environ["mod_wsgi.process_group"] != "":
            os.kill(os.getpid(), signal.SIGINT)
        return text(start_response, str(pid))

    if path == "/hold":
        folder = query["dir"]
        with open(os.path.join(folder, "started-" + query["id"]), "w"):
            pass
        until = time.monotonic() + 20
        go = os.path.join(folder, "go")
        while not os.path.exists(go) and time.monotonic() < until:
            time.sleep(0.01)
        return text(start_response, str(pid))

    if path == "/upload":
        stream = environ["wsgi.input"]
        digest = hashlib.sha256()
        total = 0
        while True:
            data = stream.read(BLOCK)
            if not data:
                break
            total += len(data)
            digest.update(data)
        body = json.dumps({"length": total, "sha256": digest.hexdigest(), "pid": pid})
        return text(start_response, body)

    if path == "/download":
        size = int(query["size"])
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", str(size)),
                ("X-Pid", str(pid)),
            ],
        )

        def blocks():
            sent = 0
            i = 0
            while sent < size:
                block = pattern(i)[: size - sent]
                sent += len(block)
                i += 1
                yield block

        return blocks()

    return text(start_response, "not found: %s" % path, "404 Not Found")
