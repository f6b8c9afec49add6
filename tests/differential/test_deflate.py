"""mod_deflate beside Apache + mod_wsgi: AddOutputFilterByType (mod_filter),
SetOutputFilter and AddOutputFilter (mod_mime) DEFLATE on static files and on
embedded and daemon apps; Accept-Encoding variants; no-gzip and
gzip-only-text/html; small bodies; HEAD; a Range on a static file (ranges of
the compressed bytes); an app's 206 and an already gzipped body; ETag and
Vary as mod_deflate changes them; DeflateCompressionLevel, DeflateBufferSize
and DeflateAlterETag per virtual host (and the main server's settings for a
host that gives none); Apache's recipe for precompressed .gz files.

The gzip bytes need not be Apache's: a case compares the body decompressed,
the headers, the framing, and, for a level, which zlib levels give a deflate
stream of the size seen."""

from __future__ import annotations

import hashlib
import random
import re
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.cases import call
from tests.differential.client import Answer, Conn, request
from tests.differential.compare import Differential
from tests.differential.conftest import topic
from tests.differential.servers import Server, Tree

pytestmark = pytest.mark.slow

HOST = "deflate.test:{port}"
GZIP = [("Accept-Encoding", "gzip")]
# The headers mod_deflate decides or changes, and the ones the cases set.
SHOWN = (
    "content-encoding",
    "vary",
    "content-length",
    "transfer-encoding",
    "etag",
    "content-range",
    "content-type",
    "x-always",
    "x-encoding-seen",
)


def large_files(tree: Tree) -> None:
    """Files past the front end's one-read size: one that compresses to less than
    DeflateBufferSize (a length, as Apache's one pass) and one that does not."""
    static = tree.site / "apps" / "deflate" / "static"
    line = b"The quick brown fox jumps over the lazy dog; pack my box with jugs.\n"
    (static / "big.txt").write_bytes(line * 5000)
    rng = random.Random(18)
    (static / "noisy.txt").write_bytes(bytes(rng.randrange(32, 127) for _ in range(200_000)))
    for name in ("big.txt", "noisy.txt"):
        (static / name).chmod(0o644)


# A static file's ETag (size-mtime, as FileETag MTime Size): the mtime is the copy's.
FILE_ETAG = re.compile(r'^(W/)?"([0-9a-f]+)-[0-9a-f]+(-gzip)?"$')


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("deflate.conf", warm=[(HOST, "/emb/x"), (HOST, "/dmn/x")], prepare=large_files)


def levels(deflated: bytes, plain: bytes) -> list[int]:
    """The zlib levels whose raw deflate of ``plain`` is as long as ``deflated``."""
    found = []
    for level in range(1, 10):
        z = zlib.compressobj(level, zlib.DEFLATED, -15, 9)
        if len(z.compress(plain) + z.flush()) == len(deflated):
            found.append(level)
    return found


def observe(
    server: Server, method: str, target: str, host: str, headers: list[tuple[str, str]]
) -> Any:
    answer = call(server, method, target, host.format(port=server.port), headers)
    if not isinstance(answer, Answer):
        return answer
    seen: dict[str, Any] = {"status": answer.status, "framing": answer.framing}
    for name in SHOWN:
        values = [FILE_ETAG.sub(r'\1"\2-<MTIME>\3"', v) for v in answer.all(name)]
        if values:
            seen[name] = values if len(values) > 1 else values[0]
    if (answer.header("content-type") or "").startswith("multipart/byteranges"):
        # The boundary is random, and so is its length (hex without leading zeros).
        seen["content-type"] = "multipart/byteranges"
        seen["content-length"] = "<BOUNDARY-DEPENDENT>"
        seen["parts"] = answer.body.lower().count(b"\r\ncontent-range: bytes ")
        return seen
    body = answer.body
    if answer.header("content-encoding") == "gzip" and method != "HEAD" and answer.status != 206:
        plain = zlib.decompress(body, 16 + 15)
        if answer.status == 200 and not target.startswith(("/emb/", "/dmn/")):
            # A static file's stream has no flushes: its size tells the level.
            seen["zlib levels"] = levels(body[10:-8], plain)
        body = plain
    if method not in ("HEAD", "TRACE"):  # a TRACE echo holds the server's own port
        seen["body"] = {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()[:16]}
    return seen


def _accept(value: str) -> list[tuple[str, str]]:
    return [("Accept-Encoding", value)]


Case = tuple[str, str, str, list[tuple[str, str]]]  # method, target, host, headers
CASES: dict[str, Case] = {
    # Static files: by type, by extension, by SetOutputFilter; small bodies.
    "deflate-static-html": ("GET", "/page.html", HOST, GZIP),
    "deflate-static-no-accept": ("GET", "/page.html", HOST, []),
    "deflate-static-js-by-extension": ("GET", "/script.js", HOST, GZIP),
    "deflate-static-css-set-filter": ("GET", "/css/site.css", HOST, GZIP),
    "deflate-static-png-untouched": ("GET", "/image.png", HOST, GZIP),
    "deflate-static-tiny": ("GET", "/tiny.txt", HOST, GZIP),
    "deflate-static-68-bytes": ("GET", "/edge68.txt", HOST, GZIP),
    "deflate-static-69-bytes": ("GET", "/edge69.txt", HOST, GZIP),
    "deflate-static-large": ("GET", "/big.txt", HOST, GZIP),
    "deflate-static-large-noisy": ("GET", "/noisy.txt", HOST, GZIP),
    "deflate-static-head": ("HEAD", "/page.html", HOST, GZIP),
    "deflate-static-head-large": ("HEAD", "/noisy.txt", HOST, GZIP),
    "deflate-static-head-tiny": ("HEAD", "/tiny.txt", HOST, GZIP),
    "deflate-static-range": ("GET", "/page.html", HOST, [*GZIP, ("Range", "bytes=0-99")]),
    "deflate-static-range-open": (
        "GET",
        "/notes.txt",
        HOST,
        [*GZIP, ("Range", "bytes=10-")],
    ),
    "deflate-static-ranges": (
        "GET",
        "/notes.txt",
        HOST,
        [*GZIP, ("Range", "bytes=0-5,10-12")],
    ),
    "deflate-static-range-plain": ("GET", "/page.html", HOST, [("Range", "bytes=0-99")]),
    "deflate-static-not-modified": (
        "GET",
        "/notes.txt",
        HOST,
        [*GZIP, ("If-None-Match", "*")],
    ),
    "deflate-static-404": ("GET", "/missing.html", HOST, GZIP),
    # An app's empty body in embedded mode ends with the head: too small to compress.
    "deflate-emb-empty": ("GET", "/emb/x?size=0", HOST, GZIP),
    # Accept-Encoding as mod_deflate reads it.
    "deflate-accept-q0": ("GET", "/notes.txt", HOST, _accept("gzip;q=0")),
    "deflate-accept-q0-spaced": ("GET", "/notes.txt", HOST, _accept("gzip; q=0.0")),
    "deflate-accept-identity": ("GET", "/notes.txt", HOST, _accept("identity")),
    "deflate-accept-star": ("GET", "/notes.txt", HOST, _accept("*")),
    "deflate-accept-x-gzip": ("GET", "/notes.txt", HOST, _accept("x-gzip")),
    "deflate-accept-upper": ("GET", "/notes.txt", HOST, _accept("GZIP")),
    "deflate-accept-list": ("GET", "/notes.txt", HOST, _accept("br;q=1, gzip;q=0.5")),
    # The variables.
    "deflate-no-gzip": ("GET", "/notes.txt", HOST, [*GZIP, ("X-No-Gzip", "1")]),
    "deflate-only-html-text": ("GET", "/notes.txt", HOST, [*GZIP, ("X-Only-Html", "1")]),
    "deflate-only-html-html": ("GET", "/page.html", HOST, [*GZIP, ("X-Only-Html", "1")]),
    # mod_deflate's server settings per host.
    "deflate-level-main-server": ("GET", "/notes.txt", HOST, GZIP),
    "deflate-level-9-vhost": ("GET", "/notes.txt", "level.test:{port}", GZIP),
    "deflate-level-default-vhost": ("GET", "/notes.txt", "inherit.test:{port}", GZIP),
    "deflate-small-buffer": ("GET", "/page.html", "level.test:{port}", GZIP),
    "deflate-set-filter-404-page": ("GET", "/missing", "level.test:{port}", GZIP),
    "deflate-set-filter-app-404": ("GET", "/emb/x?status=404", "level.test:{port}", GZIP),
    # AddOutputFilter by extension reads the index file a folder is answered with.
    "deflate-by-extension-index-file": ("GET", "/", "ext.test:{port}", GZIP),
    "deflate-by-extension-file": ("GET", "/page.html", "ext.test:{port}", GZIP),
    "deflate-htaccess-set-filter": ("GET", "/ht/logo.svg", HOST, GZIP),
    "deflate-htaccess-outside": ("GET", "/image.png", HOST, GZIP),
    # TRACE is answered before any output filter is inserted.
    "deflate-trace-set-filter": ("TRACE", "/notes.txt", "inherit.test:{port}", GZIP),
    # Apache's recipe for precompressed files.
    "deflate-precompressed": ("GET", "/pre/site.css", HOST, GZIP),
    "deflate-precompressed-no-accept": ("GET", "/pre/site.css", HOST, []),
}
for mode in ("emb", "dmn"):
    CASES |= {
        f"deflate-{mode}-html": ("GET", f"/{mode}/x?size=4000", HOST, GZIP),
        f"deflate-{mode}-length-dropped": ("GET", f"/{mode}/x?size=4000&length=1", HOST, GZIP),
        f"deflate-{mode}-small": ("GET", f"/{mode}/x?size=40", HOST, GZIP),
        f"deflate-{mode}-streamed": (
            "GET",
            f"/{mode}/x?size=2000000&pieces=40",
            HOST,
            GZIP,
        ),
        f"deflate-{mode}-streamed-noisy": (
            "GET",
            f"/{mode}/x?size=300000&pieces=7&random=1",
            HOST,
            GZIP,
        ),
        f"deflate-{mode}-json": ("GET", f"/{mode}/x?type=application/json", HOST, GZIP),
        f"deflate-{mode}-charset": (
            "GET",
            f"/{mode}/x?type=text/html;%20charset=utf-8",
            HOST,
            GZIP,
        ),
        f"deflate-{mode}-other-type": ("GET", f"/{mode}/x?type=image/svg%2bxml", HOST, GZIP),
        f"deflate-{mode}-head": ("HEAD", f"/{mode}/x?size=4000&length=1", HOST, GZIP),
        f"deflate-{mode}-404-by-type": ("GET", f"/{mode}/x?status=404", HOST, GZIP),
        f"deflate-{mode}-404-set-filter": ("GET", f"/{mode}/set?status=404", HOST, GZIP),
        f"deflate-{mode}-206": (
            "GET",
            f"/{mode}/set?status=206&h=Content-Range:bytes%200-3999/8000",
            HOST,
            GZIP,
        ),
        f"deflate-{mode}-already-gzip": ("GET", f"/{mode}/x?gzip=1&length=1", HOST, GZIP),
        f"deflate-{mode}-identity-etag": (
            "GET",
            f"/{mode}/x?h=ETag:%22abc%22&h=Content-Encoding:identity",
            HOST,
            GZIP,
        ),
        f"deflate-{mode}-weak-etag-vary": (
            "GET",
            f"/{mode}/x?h=ETag:W/%22abc%22&h=Vary:Cookie",
            HOST,
            GZIP,
        ),
        f"deflate-{mode}-header-lines": ("GET", f"/{mode}/vary", HOST, GZIP),
        f"deflate-{mode}-no-accept": ("GET", f"/{mode}/x", HOST, []),
        f"deflate-{mode}-location-types": ("GET", f"/{mode}/css-only?type=text/css", HOST, GZIP),
        f"deflate-{mode}-location-types-replace": (
            "GET",
            f"/{mode}/css-only?type=text/html",
            HOST,
            GZIP,
        ),
        f"deflate-{mode}-no-gzip": ("GET", f"/{mode}/x", HOST, [*GZIP, ("X-No-Gzip", "1")]),
        f"deflate-{mode}-by-script-extension": (
            "GET",
            f"/{mode}/x?type=image/svg%2bxml&status=404",
            "ext.test:{port}",
            GZIP,
        ),
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_deflate_as_with_apache(pair: Differential, case: str) -> None:
    method, target, host, headers = CASES[case]
    pair.check(case, lambda server: observe(server, method, target, host, headers))


def test_http10_client_gets_the_compressed_body_until_close(pair: Differential) -> None:
    pair.check(
        "deflate-http10",
        lambda server: _http10(server, "/emb/x?size=4000"),
    )


def _http10(server: Server, target: str) -> Any:
    with Conn(server, timeout=10) as conn:
        conn.send(
            request(server, "GET", target, HOST.format(port=server.port), GZIP, b"", "HTTP/1.0")
        )
        answer = conn.answer()
    return {
        "framing": answer.framing,
        "encoding": answer.header("content-encoding"),
        "length": answer.header("content-length"),
        "body": hashlib.sha256(zlib.decompress(answer.body, 31)).hexdigest()[:16],
    }
