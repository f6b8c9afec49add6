"""The deflate topic's app: a body the query describes, so each case asks for
what it compresses.

``?type=T`` Content-Type (default text/html); ``?size=N`` body bytes (a text
of repeated lines, default 4000); ``?pieces=K`` yields the body in K pieces
(default 1); ``?status=S`` the status; ``?length=1`` declares Content-Length;
``?h=Name:Value`` (repeatable) adds a header; ``?gzip=1`` sends the body
already gzipped with ``Content-Encoding: gzip``; ``?random=1`` makes the text
hard to compress. The body is a pure function of the query.
"""

import gzip
import random as _random
from urllib.parse import parse_qsl

LINE = b"The quick brown fox jumps over the lazy dog; pack my box with jugs.\n"


def text(size, noisy):
    if noisy:
        rng = _random.Random(size)
        return bytes(rng.randrange(32, 127) for _ in range(size))
    return (LINE * (size // len(LINE) + 1))[:size]


def application(environ, start_response):
    query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    extra = [tuple(v.split(":", 1)) for k, v in parse_qsl(environ.get("QUERY_STRING", ""))
             if k == "h"]
    body = text(int(query.get("size", "4000")), query.get("random") == "1")
    headers = [("Content-Type", query.get("type", "text/html"))] + extra
    if query.get("gzip") == "1":
        body = gzip.compress(body, mtime=0)
        headers.append(("Content-Encoding", "gzip"))
    if query.get("length") == "1":
        headers.append(("Content-Length", str(len(body))))
    start_response(query.get("status", "200") + " Status", headers)
    pieces = int(query.get("pieces", "1"))
    step = max(1, -(-len(body) // pieces))
    return [body[i : i + step] for i in range(0, len(body), step)] or [b""]
