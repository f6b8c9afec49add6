"""A stream that counts what it has produced, for the flow-control tests.

/stream?id=X&size=B     B bytes in 64 KiB blocks (block i starts with its
                        number), no Content-Length; X-Pid header
/produced?id=X          how many bytes stream X has handed to the server
                        so far, as text (same process: run one process)
/upload?id=X&slow=B     reads the body in 64 KiB pieces, pausing 20 ms
                        after each while fewer than B bytes are read;
                        answers the length and SHA-256 of the body
/consumed?id=X          how many bytes upload X has read so far
"""

import hashlib
import json
import os
import threading
import time
from urllib.parse import parse_qs

BLOCK = 65536
_produced = {}
_lock = threading.Lock()


def block(i):
    head = b"block %08d|" % i
    return (head + b"x" * BLOCK)[:BLOCK]


def application(environ, start_response):
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    path = environ.get("PATH_INFO", "")
    if path in ("/produced", "/consumed"):
        with _lock:
            body = str(_produced.get(query["id"], -1)).encode()
        start_response(
            "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        )
        return [body]
    if path == "/stream":
        stream = query["id"]
        size = int(query["size"])
        with _lock:
            _produced[stream] = 0
        start_response(
            "200 OK", [("Content-Type", "application/octet-stream"), ("X-Pid", str(os.getpid()))]
        )

        def blocks():
            sent = 0
            i = 0
            while sent < size:
                data = block(i)[: size - sent]
                # Counted before the server takes it: "produced" is an upper bound.
                with _lock:
                    _produced[stream] = sent + len(data)
                yield data
                sent += len(data)
                i += 1

        return blocks()
    if path == "/upload":
        upload = query["id"]
        slow = int(query.get("slow", "0"))
        stream = environ["wsgi.input"]
        digest = hashlib.sha256()
        total = 0
        while True:
            data = stream.read(BLOCK)
            if not data:
                break
            digest.update(data)
            total += len(data)
            with _lock:
                _produced[upload] = total
            if total < slow:
                time.sleep(0.02)
        body = json.dumps({"length": total, "sha256": digest.hexdigest()}).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found\n"]
