"""Static files end to end: ``serve --document-root --url-alias`` over real sockets,
with the app at /app in embedded and in daemon mode (static files are the front
end's either way).

Small files are answered from the loop, large ones (over 64 KiB) by ``os.sendfile``
on a pool thread; both are checked byte for byte, alone, with ranges, with HEAD,
on a kept-alive connection and pipelined. Several ranges come back as
multipart/byteranges, read back part by part. Methods get Apache's answers (POST
the file, PUT 405, an extension method 501 that ends the connection). Then path
traversal: request targets sent as raw bytes (no client normalises them) must
never reach a file outside the roots.
"""

from __future__ import annotations

import os
import random
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import pytest

from tests.functional.helpers import (
    APP,
    LogWatch,
    Response,
    build,
    closed_by_peer,
    exchange,
    get,
    next_response,
    request,
)
from tests.functional.server import Reader, ServerProcess, serve

pytestmark = pytest.mark.slow

MB = 1 << 20
MTIME = 1_700_000_000
MARKER = b"wsgihost-traversal-marker-7f3c9a1e"
BIG = random.Random(20240229).randbytes(MB)  # not a repeating pattern: an offset error shows
SMALL_TEXT = b"a small file\n"
LATIN1 = "café crème brûlée\n".encode("latin-1")


@dataclass
class Site:
    server: ServerProcess
    base: Path  # holds secret.txt, outside both roots
    root: Path  # --document-root
    files: Path  # --url-alias /static/


@pytest.fixture(scope="module", params=["embedded", "daemon"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    base = tmp_path_factory.mktemp("static")
    (base / "secret.txt").write_bytes(MARKER + b"\n")
    root = base / "root"
    files = base / "files"
    for d in (root, root / "noindex", root / "docs", files, files / "dir", files / "sub"):
        d.mkdir()
    (root / "hello.txt").write_bytes(b"hello from the document root\n")
    (root / "docs" / "index.html").write_bytes(b"<h1>docs index</h1>\n")
    (files / "small.txt").write_bytes(SMALL_TEXT)
    (files / "big.bin").write_bytes(BIG)
    (files / "style.css").write_bytes(b"body { color: red }\n")
    (files / "sub" / "index.html").write_bytes(b"<p>sub index</p>\n")
    (files / "naïve.txt").write_bytes(b"accents\n")
    (files / "latin1.txt").write_bytes(LATIN1)
    (files / "data.unknownext").write_bytes(b"what is this?\n")
    for p in (files / "small.txt", files / "big.bin"):
        os.utime(p, (MTIME, MTIME))
    # No symbolic link to secret.txt here: the CLI leaves FollowSymLinks at Apache's
    # default (On), so such a link would be followed, by design. The refusal of links
    # that lead outside the root with FollowSymLinks Off is covered by
    # tests/unit/test_static.py (test_follow_symlinks_off_refuses_a_link_leading_outside...).
    args = [
        "--mount",
        "/app",  # so that URLs outside /app and /static/ reach the document root
        "--document-root",
        str(root),
        "--url-alias",
        "/static/",
        f"{files}/",
    ]
    server = serve(APP, *args, processes=1, threads=4, mode=request.param)
    try:
        yield Site(server, base, root, files)
    finally:
        server.close()


@pytest.fixture
def server(site: Site) -> Iterator[ServerProcess]:
    """The shared server; each test checks it logged no warning and no traceback."""
    log = LogWatch(site.server)
    yield site.server
    log.check()


def assert_big(response: Response) -> None:
    assert response.status == 200, response
    assert response.headers["content-length"] == str(MB)
    assert "content-type" not in response.headers  # .bin: no known type, none sent
    assert len(response.body) == MB
    assert response.body == BIG


def assert_small(response: Response) -> None:
    assert response.status == 200, response
    assert response.headers["content-type"] == "text/plain"  # no charset assumed
    assert response.body == SMALL_TEXT


# -- 200 -----------------------------------------------------------------------------


def test_a_small_file_from_the_alias(server: ServerProcess) -> None:
    response = get(server, "/static/small.txt")
    assert_small(response)
    assert response.headers["content-length"] == str(len(SMALL_TEXT))
    assert response.headers["last-modified"] == formatdate(MTIME, usegmt=True)
    assert response.headers["etag"].startswith('"')
    assert response.headers["accept-ranges"] == "bytes"
    assert get(server, "/static/style.css").headers["content-type"] == "text/css"


def test_a_small_file_from_the_document_root(server: ServerProcess) -> None:
    response = get(server, "/hello.txt")
    assert response.status == 200
    assert response.body == b"hello from the document root\n"


def test_a_file_with_a_non_ascii_name(server: ServerProcess) -> None:
    # naïve.txt, named in the URL by its UTF-8 bytes percent-encoded, as browsers do.
    response = get(server, "/static/na%C3%AFve.txt")
    assert response.status == 200, response
    assert response.body == b"accents\n"


def test_the_app_still_answers_at_its_mount(server: ServerProcess) -> None:
    assert get(server, "/app/fixed").status == 200


def test_a_large_file_is_sent_whole_and_exact(server: ServerProcess) -> None:
    assert_big(get(server, "/static/big.bin"))


def test_head_of_a_large_file_sends_no_body(server: ServerProcess) -> None:
    with server.connect() as sock:
        reader = Reader(sock)
        sock.sendall(build("HEAD", "/static/big.bin"))
        head = next_response(reader, head_only=True)
        assert head.status == 200
        assert head.headers["content-length"] == str(MB)
        # Nothing of the body may follow: the next response on the connection parses.
        sock.sendall(build("GET", "/static/small.txt"))
        assert_small(next_response(reader))
        assert reader.buf == b""


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [
        ("bytes=100-900099", 100, 900099),
        ("bytes=-200000", MB - 200000, MB - 1),
        ("bytes=524288-", 524288, MB - 1),
    ],
)
def test_a_range_of_a_large_file(server: ServerProcess, spec: str, start: int, end: int) -> None:
    response = get(server, "/static/big.bin", headers=[("Range", spec)])
    assert response.status == 206, response
    assert response.headers["content-range"] == f"bytes {start}-{end}/{MB}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.body == BIG[start : end + 1]


def test_head_with_a_range_of_a_large_file(server: ServerProcess) -> None:
    response = request(server, "HEAD", "/static/big.bin", headers=[("Range", "bytes=0-99999")])
    assert response.status == 206
    assert response.headers["content-range"] == f"bytes 0-99999/{MB}"
    assert response.body == b""


# -- 304, 206, 416 --------------------------------------------------------------------


def test_if_none_match_gives_304(server: ServerProcess) -> None:
    first = get(server, "/static/big.bin")
    etag = first.headers["etag"]
    response = get(server, "/static/big.bin", headers=[("If-None-Match", etag)])
    assert response.status == 304
    assert response.headers["etag"] == etag
    assert response.body == b""
    assert "content-length" not in response.headers or response.headers["content-length"] in (
        "0",
        str(MB),
    )
    other = get(server, "/static/big.bin", headers=[("If-None-Match", '"nope"')])
    assert other.status == 200


def test_if_modified_since_gives_304_unless_older(server: ServerProcess) -> None:
    same = formatdate(MTIME, usegmt=True)
    older = formatdate(MTIME - 60, usegmt=True)
    assert get(server, "/static/small.txt", headers=[("If-Modified-Since", same)]).status == 304
    assert_small(get(server, "/static/small.txt", headers=[("If-Modified-Since", older)]))


def test_a_small_range_gives_206(server: ServerProcess) -> None:
    response = get(server, "/static/small.txt", headers=[("Range", "bytes=2-6")])
    assert response.status == 206
    assert response.headers["content-range"] == f"bytes 2-6/{len(SMALL_TEXT)}"
    assert response.body == SMALL_TEXT[2:7]


def parts(response: Response) -> list[tuple[str, str, bytes]]:
    """The parts of a multipart/byteranges body: (Content-type, Content-range, data)."""
    kind, _, boundary = response.headers["content-type"].partition("; boundary=")
    assert kind == "multipart/byteranges" and boundary, response.headers
    body = response.body
    assert body.endswith(b"\r\n--" + boundary.encode() + b"--\r\n")
    found = []
    for chunk in body.split(b"\r\n--" + boundary.encode())[1:-1]:
        head, _, data = chunk.partition(b"\r\n\r\n")
        fields = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n") if line)
        found.append((fields.get("Content-type", ""), fields["Content-range"], data))
    return found


def test_several_ranges_of_a_large_file_give_multipart_byteranges(server: ServerProcess) -> None:
    spec = "bytes=-1000,100-200099,900000-900009"
    response = get(server, "/static/big.bin", headers=[("Range", spec)])
    assert response.status == 206
    assert response.headers["content-length"] == str(len(response.body))
    assert parts(response) == [
        ("", f"bytes {MB - 1000}-{MB - 1}/{MB}", BIG[-1000:]),
        ("", f"bytes 100-200099/{MB}", BIG[100:200100]),
        ("", f"bytes 900000-900009/{MB}", BIG[900000:900010]),
    ]


def test_several_ranges_of_a_small_file_name_its_type(server: ServerProcess) -> None:
    response = get(server, "/static/small.txt", headers=[("Range", "bytes=0-0,2-6")])
    assert response.status == 206
    assert parts(response) == [
        ("text/plain", f"bytes 0-0/{len(SMALL_TEXT)}", SMALL_TEXT[:1]),
        ("text/plain", f"bytes 2-6/{len(SMALL_TEXT)}", SMALL_TEXT[2:7]),
    ]
    head = request(server, "HEAD", "/static/small.txt", headers=[("Range", "bytes=0-0,2-6")])
    assert head.headers["content-length"] == response.headers["content-length"]


def test_many_ranges_come_chunked_and_too_many_give_the_whole_file(server: ServerProcess) -> None:
    many = "bytes=" + ",".join(f"{i * 1000}-{i * 1000 + 9}" for i in range(40))
    response = get(server, "/static/big.bin", headers=[("Range", many)])
    assert response.status == 206
    assert response.headers["transfer-encoding"] == "chunked"  # past 32 parts, as Apache
    assert [p[2] for p in parts(response)] == [BIG[i * 1000 : i * 1000 + 10] for i in range(40)]
    too_many = "bytes=" + ",".join(f"{i * 10}-{i * 10}" for i in range(201))
    assert_big(get(server, "/static/big.bin", headers=[("Range", too_many)]))


def test_overlapping_ranges_are_merged(server: ServerProcess) -> None:
    response = get(server, "/static/small.txt", headers=[("Range", "bytes=1-3,2-6")])
    assert response.status == 206
    assert response.headers["content-range"] == f"bytes 1-6/{len(SMALL_TEXT)}"
    assert response.body == SMALL_TEXT[1:7]


def test_an_unsatisfiable_range_gives_416(server: ServerProcess) -> None:
    response = get(server, "/static/small.txt", headers=[("Range", "bytes=500-600")])
    assert response.status == 416
    assert response.headers["content-range"] == f"bytes */{len(SMALL_TEXT)}"
    assert SMALL_TEXT not in response.body


def test_if_range_mismatch_gives_the_whole_large_file(server: ServerProcess) -> None:
    headers = [("Range", "bytes=0-9"), ("If-Range", '"stale"')]
    assert_big(get(server, "/static/big.bin", headers=headers))


# -- directories ----------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/static/dir/", "/noindex/", "/"])
def test_a_directory_without_an_index_is_403(server: ServerProcess, target: str) -> None:
    assert get(server, target).status == 403


def test_a_directory_without_its_slash_is_redirected(server: ServerProcess) -> None:
    # Absolute, from the request's Host, as mod_dir builds it (UseCanonicalName Off).
    response = get(server, "/static/dir?x=1&y=%20")
    assert response.status == 301
    assert response.headers["location"] == "http://test.invalid/static/dir/?x=1&y=%20"
    own = f"{server.host}:{server.port}"
    assert get(server, "/docs", host=own).headers["location"] == f"http://{own}/docs/"
    assert request(server, "FOO", "/docs").status == 301  # for any method


def test_directory_index(server: ServerProcess) -> None:
    assert get(server, "/static/sub/").body == b"<p>sub index</p>\n"
    assert get(server, "/docs/").body == b"<h1>docs index</h1>\n"


# -- methods -------------------------------------------------------------------------

ALLOW = "GET,POST,OPTIONS,HEAD,TRACE"


def test_post_gets_the_file_and_the_connection_lives_on(server: ServerProcess) -> None:
    # Apache's default handler serves POST as GET and reads the body to drop it.
    with server.connect() as sock:
        reader = Reader(sock)
        sock.sendall(build("POST", "/static/small.txt", body=b"x=1&y=2" * 1000))
        assert_small(next_response(reader))
        sock.sendall(build("POST", "/static/big.bin", body=b"z" * 300_000))
        assert_big(next_response(reader))
        sock.sendall(build("GET", "/static/small.txt"))
        assert_small(next_response(reader))


def test_put_is_405_and_options_says_what_is_allowed(server: ServerProcess) -> None:
    response = request(server, "PUT", "/static/small.txt", body=b"new")
    assert response.status == 405
    assert response.headers["allow"] == ALLOW
    options = request(server, "OPTIONS", "/static/small.txt")
    assert (options.status, options.headers["allow"], options.body) == (200, ALLOW, b"")
    assert options.headers["content-type"] == "text/plain"


@pytest.mark.parametrize("method", ["PURGE", "FOO", "get"])
def test_a_method_apache_does_not_know_is_501_and_ends_the_connection(
    server: ServerProcess, method: str
) -> None:
    with server.connect() as sock:
        reader = Reader(sock)
        sock.sendall(build(method, "/static/small.txt") + build("GET", "/static/small.txt"))
        response = next_response(reader)
        assert response.status == 501
        assert response.headers["allow"] == ALLOW
        assert response.headers["connection"] == "close"
        assert closed_by_peer(sock, reader)


# -- types -----------------------------------------------------------------------------


def test_a_latin1_text_file_is_sent_as_it_is_with_no_charset(server: ServerProcess) -> None:
    response = get(server, "/static/latin1.txt")
    assert response.headers["content-type"] == "text/plain"
    assert response.body == LATIN1


def test_a_file_of_no_known_type_has_no_content_type(server: ServerProcess) -> None:
    response = get(server, "/static/data.unknownext")
    assert response.status == 200
    assert "content-type" not in response.headers
    assert response.body == b"what is this?\n"


# -- connections ----------------------------------------------------------------------


def test_keep_alive_after_large_responses(server: ServerProcess) -> None:
    with server.connect() as sock:
        reader = Reader(sock)
        for _ in range(2):
            sock.sendall(build("GET", "/static/big.bin"))
            assert_big(next_response(reader))
        sock.sendall(build("GET", "/static/big.bin", headers=[("Range", "bytes=1000-99999")]))
        ranged = next_response(reader)
        assert ranged.status == 206
        assert ranged.body == BIG[1000:100000]
        sock.sendall(build("GET", "/static/small.txt"))
        assert_small(next_response(reader))
        assert reader.buf == b""


def test_a_slow_reader_gets_every_byte(server: ServerProcess) -> None:
    # A tiny receive buffer makes sendfile meet a full socket again and again.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(10)
        sock.connect((server.host, server.port))
        reader = Reader(sock)
        sock.sendall(build("GET", "/static/big.bin"))
        assert_big(next_response(reader))
        sock.sendall(build("GET", "/static/small.txt"))
        assert_small(next_response(reader))


def test_a_client_gone_mid_sendfile_does_not_hurt_the_server(server: ServerProcess) -> None:
    for _ in range(3):
        with server.connect() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(build("GET", "/static/big.bin"))
            reader = Reader(sock)
            while b"\r\n\r\n" not in reader.buf:
                reader.buf += sock.recv(4096)
            assert reader.buf.startswith(b"HTTP/1.1 200")
            # Reset rather than a polite close, with most of the body unsent.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    assert_big(get(server, "/static/big.bin"))
    assert_small(get(server, "/static/small.txt"))


def test_pipelined_small_large_small(server: ServerProcess) -> None:
    with server.connect() as sock:
        sock.sendall(
            build("GET", "/static/small.txt")
            + build("GET", "/static/big.bin")
            + build("GET", "/static/small.txt")
            + build("GET", "/static/big.bin", headers=[("Range", "bytes=-70000")])
            + build("GET", "/hello.txt", headers=[("Connection", "close")])
        )
        reader = Reader(sock)
        assert_small(next_response(reader))
        assert_big(next_response(reader))
        assert_small(next_response(reader))
        tail = next_response(reader)
        assert tail.status == 206
        assert tail.body == BIG[-70000:]
        last = next_response(reader)
        assert last.body == b"hello from the document root\n"
        assert reader.buf == b""
        sock.settimeout(10)
        assert sock.recv(100) == b""


# -- traversal ------------------------------------------------------------------------

# Raw request targets that try to leave the roots (secret.txt is in the parent of both,
# /etc/passwd is the classic). Every one must get a 4xx and never the marker.
ESCAPES = [
    b"/static/../secret.txt",
    b"/static/../../secret.txt",
    b"/static/../../../../../../etc/passwd",
    b"/../secret.txt",
    b"/..",
    b"/static/%2e%2e/secret.txt",
    b"/static/%2E%2E/secret.txt",
    b"/static/%2e%2e/%2e%2e/secret.txt",
    b"/static/.%2e/.%2E/secret.txt",
    b"/static/%2E%2E%2Fsecret.txt",
    b"/static/%2e%2e%2f%2e%2e%2fsecret.txt",
    b"/static/..%2fsecret.txt",
    b"/static/..%2F..%2Fsecret.txt",
    b"/%2e%2e/secret.txt",
    b"/static/%252e%252e/secret.txt",
    b"/static/%252e%252e%252fsecret.txt",
    b"/static/....//secret.txt",
    b"/static/..../secret.txt",
    b"/static/...//../secret.txt",
    b"/static/..\\secret.txt",
    b"/static/..\\..\\secret.txt",
    b"/static/%5c..%5csecret.txt",
    b"/static/..%5c..%5csecret.txt",
    b"/static/..%5Csecret.txt",
    b"/static/secret.txt%00.txt",
    b"/static/..%00/secret.txt",
    b"/static/%00../secret.txt",
    b"/static/small.txt\x00",
    b"http://x/static/../secret.txt",
    b"http://x/static/../../secret.txt",
    b"http://x/../secret.txt",
    b"HTTP://x/static/%2e%2e/secret.txt",
    b"//etc/passwd",
    b"///etc/passwd",
    b"/static//etc/passwd",
    b"//static/../../secret.txt",
    b"/static/%c0%ae%c0%ae/secret.txt",
    b"/static/%c0%ae%c0%ae%c0%afsecret.txt",
    b"/static/%e0%80%ae%e0%80%ae/secret.txt",
    b"/static/..%c0%afsecret.txt",
    b"/static/%u002e%u002e/secret.txt",
    b"/static/./../secret.txt",
    b"/static/./.././../secret.txt",
    b"/static/sub/../../secret.txt",
    b"/static/sub/../../../secret.txt",
    b"/static/..;/secret.txt",
    b"/static/../secret.txt?x=/static/small.txt",
    b"/static/../secret.txt#frag",
    b"../secret.txt",
    b"secret.txt",
    b"/static/" + b"../" * 50 + b"secret.txt",
    b"/docs/../../secret.txt",
    b"/app/../secret.txt",
    b"/app/%2e%2e/%2e%2e/secret.txt",
]

# Benign targets that normalise to a file inside a root: 200 with that file's bytes.
INSIDE = [
    (b"/static/./small.txt", SMALL_TEXT),
    (b"/static/sub/../small.txt", SMALL_TEXT),
    (b"/static//small.txt", SMALL_TEXT),
    (b"/static/%73mall.txt", SMALL_TEXT),
    (b"/static/sub/%2e%2e/small.txt", SMALL_TEXT),
    (b"http://x/static/./small.txt", SMALL_TEXT),
    (b"/static/../hello.txt", b"hello from the document root\n"),  # /hello.txt: in the root
    (b"/docs/../hello.txt", b"hello from the document root\n"),
]


def raw_exchange(server: ServerProcess, target: bytes) -> tuple[int, bytes]:
    """Send one request line with ``target`` exactly as given; the status and everything
    the server sent back (head and body), read until it closes."""
    data = b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with server.connect() as sock:
        sock.sendall(data)
        reader = Reader(sock)
        response = next_response(reader)
        rest = reader.buf + read_rest(sock)
    everything = repr(response.headers).encode() + response.body + rest
    return response.status, everything


def read_rest(sock: socket.socket) -> bytes:
    data = b""
    sock.settimeout(10)
    try:
        while part := sock.recv(65536):
            data += part
    except ConnectionResetError:
        pass
    return data


@pytest.mark.parametrize("target", ESCAPES, ids=lambda t: t.decode("latin-1")[:60])
def test_traversal_never_leaves_the_roots(server: ServerProcess, target: bytes) -> None:
    status, everything = raw_exchange(server, target)
    assert MARKER not in everything
    assert b"root:" not in everything  # /etc/passwd
    assert 400 <= status < 500, (target, status)


@pytest.mark.parametrize(("target", "expected"), INSIDE, ids=lambda t: repr(t)[:60])
def test_benign_dot_segments_resolve_inside_a_root(
    server: ServerProcess, target: bytes, expected: bytes
) -> None:
    status, everything = raw_exchange(server, target)
    assert status == 200, target
    assert everything.endswith(expected)
    assert MARKER not in everything


def test_the_secret_is_there_to_be_found(site: Site) -> None:
    # The traversal tests mean something only if the file they must not reach exists
    # where a naive join of an alias path and "../secret.txt" would find it.
    naive = site.files / ".." / "secret.txt"
    assert MARKER in naive.read_bytes()


def test_traversal_on_one_kept_alive_connection(server: ServerProcess) -> None:
    # Refusals that keep the connection open must not leave it in a state where a
    # later request leaks: a traversal attempt, then a good request, on one connection.
    with server.connect() as sock:
        reader = Reader(sock)
        for target in ("/static/%2e%2e/secret.txt", "/static/....//secret.txt"):
            sock.sendall(build("GET", target))
            response = next_response(reader)
            assert 400 <= response.status < 500
            assert MARKER not in response.body
            sock.sendall(build("GET", "/static/small.txt"))
            assert_small(next_response(reader))


def test_http_1_0_without_host(server: ServerProcess) -> None:
    assert_small(exchange(server, b"GET /static/small.txt HTTP/1.0\r\n\r\n"))
    assert_big(exchange(server, b"GET /static/big.bin HTTP/1.0\r\n\r\n"))
