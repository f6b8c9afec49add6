"""Responses through a body filter (the pipeline's ``output_filter`` hooks: DEFLATE).

The connection hands a response here, piece by piece, only where the
configuration has a module with an output filter (``pipeline.filters``);
every other site keeps the plain path. :func:`steps` turns each piece the
app (or the static path) sends into what the connection writes: the head,
changed by the filter hooks, once; then the filtered bytes. The thread that
produces the body still waits for the client as before, because each step
says how many of the producer's bytes it settles (``counted``): a slow
client slows the app down and the filter holds no more than zlib's own state.

A filter with ``hold`` (a static file's gzip) keeps the head back while its
output stays within that many bytes: a body that turns out small goes out
with a Content-Length, as Apache's content-length filter gives one when the
first pass it sees holds the end. A larger one, and every app's, goes out
chunked (or until the connection closes, for HTTP/1.0), Content-Length dropped.

:func:`serve_file` answers the static requests whose body must be made
whole before anything is sent: a HEAD (its Content-Length is the compressed
length) and a Range (Apache's byterange filter comes after DEFLATE, so the
ranges are of the compressed bytes).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wsgihost import byteranges, static
from wsgihost.frontend import errordocs
from wsgihost.pipeline.hooks import BodyFilter

if TYPE_CHECKING:
    from wsgihost.frontend.exchange import Exchange, Request
    from wsgihost.pipeline import Pipeline
    from wsgihost.routing import FileTarget

# One step for the connection's _app_send: head, data, end, counted (None: len(data)),
# and whether a Content-Length may be declared for a body that ends with it.
Step = tuple[Any, bytes, bool, "int | None", bool]
BLOCK = 256 * 1024


class Progress:
    """A response's filter and, while ``head`` is held back, what waits behind it."""

    __slots__ = ("filter", "head", "pending")

    def __init__(self, body_filter: BodyFilter, head: Any) -> None:
        self.filter = body_filter
        self.head = head  # None once sent
        self.pending: list[bytes] = []


def steps(pipeline: Pipeline, req: Request, head: Any, data: bytes, end: bool) -> list[Step]:
    """What to write for one piece of a response (loop side)."""
    r = req.state
    assert r is not None
    size = len(data)
    if head is not None:
        status, headers = head
        code = int(status[:3]) if status[:3].isdigit() else 500
        headers, chosen = pipeline.choose_filter(r, code, headers, size if end else None)
        if chosen is None or req.is_head:
            # Not filtered; or HEAD, whose body is not sent (a filtered one gets no
            # Content-Length: the filter changes the length the app would give).
            r.body_filter = None
            return [((status, headers), data, end, None, chosen is None)]
        r.body_filter = Progress(chosen, (status, headers))
    progress: Progress | None = r.body_filter
    if progress is None:
        return [(None, data, end, None, True)]
    flt = progress.filter
    out = flt.feed(data) if data else b""
    if end:
        out += flt.finish()
    if progress.head is None:
        return [(None, out, end, size, True)]
    if flt.hold and flt.held <= flt.hold:
        if end:  # small after all: all of it, with its length
            head, progress.head = progress.head, None
            return [(head, b"".join([*progress.pending, out]), True, None, True)]
        progress.pending.append(out)
        return [(None, b"", False, size, True)]  # held: settle the producer's count only
    head, progress.head = progress.head, None
    body = b"".join([*progress.pending, out])
    progress.pending = []
    return [(head, body, end, size, False)]


# -- static files whose filtered body is needed whole ---------------------------------


def serve_file(
    conn: Exchange,
    req: Request,
    target: FileTarget,
    header: Callable[[str], str | None],
    boundary: str,
) -> bool:
    """Loop side: answer a HEAD or a Range request for a file the filters change;
    False (nothing sent) where they do not, for the usual path to answer."""
    r = req.state
    wanted = header("range")
    if r is None or not (req.is_head or wanted is not None):
        return False
    resp = static.decide(
        target,
        req.head.method,
        req.head.query,
        lambda name: None if name.lower() in ("range", "if-range") else header(name),
        conn.worker.mime_types,
        now=time.time(),
        autoindex=conn.worker.server.autoindex,
    )
    if resp.status != 200 or resp.path is None:
        return False
    headers, chosen = conn.worker.pipeline.choose_filter(r, 200, resp.headers, resp.length)
    if chosen is None:
        # Not compressed, but the filter saw the 200 before the byterange filter made
        # it a 206: what it added (Vary) goes out with the 206 too.
        r.headers_out += [h for h in headers if h not in resp.headers]
        return False
    ranges = (static._range_limits(target.settings), boundary)
    if header("if-range") is not None:
        wanted = None
    conn.worker.pool.submit(_send_whole, conn, req, resp, headers, chosen, wanted, ranges)
    return True


def _send_whole(
    conn: Exchange,
    req: Request,
    resp: static.FileResponse,
    headers: list[tuple[str, str]],
    flt: BodyFilter,
    wanted: str | None,
    ranges: tuple[byteranges.Limits, str],
) -> None:
    """Pool thread: the file filtered into a temporary file, then the answer from it."""
    assert resp.path is not None
    try:
        import tempfile  # here: the module costs every worker about 1 MB at start

        with open(resp.path, "rb") as source, tempfile.TemporaryFile() as spool:
            fits = True
            while True:
                block = source.read(BLOCK)
                out = flt.feed(block) if block else flt.finish()
                fits = fits and flt.held <= flt.hold
                if req.is_head and not fits:
                    break  # Apache would send it in passes: no length to give
                spool.write(out)
                if not block:
                    break
            spool.flush()
            total = spool.tell()
            if req.is_head:
                more = [("Content-Length", str(total))] if fits else []
                req.send(("200 OK", headers + more), b"", True)
                return
            if fits:  # the whole body in one pass: Apache's content-length filter counts it
                headers = [*headers, ("Content-Length", str(total))]
            _answer_ranges(conn, req, spool.fileno(), total, headers, wanted or "", *ranges)
    except OSError as e:
        conn.worker.log.error(f"error while sending {resp.path}: {e!r}")
        req.abort()


def _answer_ranges(
    conn: Exchange,
    req: Request,
    fd: int,
    total: int,
    headers: list[tuple[str, str]],
    wanted: str,
    limits: byteranges.Limits,
    boundary: str,
) -> None:
    """The Range header applied to the filtered bytes (``total`` of them in ``fd``)."""
    # With If-Range, the whole body: which validator of the compressed bytes the
    # client holds is not known here, and a whole answer is always right.
    ranges = byteranges.parse(wanted, total, limits) if wanted else None
    if isinstance(ranges, byteranges.Unsatisfiable):
        extra = [("Content-Range", f"bytes */{total}")]
        conn.loop.call_soon_threadsafe(
            functools.partial(errordocs.answer, conn, req, 416, headers=extra)
        )
        return
    if not ranges:
        req.send(("200 OK", headers), b"", False)
        _copy(fd, req, [(0, total)], b"")
        return
    media = next((v for n, v in headers if n.lower() == "content-type"), None)
    if len(ranges) == 1:
        start, end = ranges[0]
        headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
        more = [
            ("Content-Range", f"bytes {start}-{end}/{total}"),
            ("Content-Length", str(end - start + 1)),
        ]
        req.send(("206 Partial Content", headers + more), b"", False)
        _copy(fd, req, [(start, end - start + 1)], b"")
        return
    body = byteranges.multipart(ranges, total, media, boundary)
    kept = [(n, v) for n, v in headers if n.lower() not in ("content-type", "content-length")]
    kept.append(("Content-Type", body.content_type))
    if body.known_length:
        kept.append(("Content-Length", str(body.length)))
    req.send(("206 Partial Content", kept), b"", False)
    for part in body.parts:
        req.send(None, part.head, False)
        if not _copy(fd, req, [(part.offset, part.length)], None):
            return
    req.send(None, body.tail, True)


def _copy(fd: int, req: Request, slices: list[tuple[int, int]], last: bytes | None) -> bool:
    """Send the slices of ``fd``; with ``last`` (bytes), end the response with it."""
    for offset, length in slices:
        while length > 0:
            if req.dropped:
                return False
            data = os.pread(fd, min(BLOCK, length), offset)
            if not data:
                req.abort()
                return False
            offset += len(data)
            length -= len(data)
            req.send(None, data, False)
    if last is not None:
        req.send(None, last, True)
    return True
