"""PEP 3333 as an app sees it: real server, real sockets, apps under wsgiref's validator.

Each test checks that the server's error output holds no warning (the
validator's WSGIWarning included) and no traceback beyond those the test
asks for.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import (
    APP,
    UNVALIDATED,
    VERSION_APP,
    LogWatch,
    build,
    chunked,
    get,
    next_response,
    read_to_eof,
    request,
    running,
    wait_for,
    worker_pids,
)
from tests.functional.server import Reader, ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared() -> Iterator[ServerProcess]:
    # --chunked-request: wsgi.input is read from chunked bodies too.
    with running(APP, "--chunked-request", processes=2, threads=4) as server:
        yield server


# -- wsgi.input ------------------------------------------------------------------

SMALL = b"first line\nsecond line\n\n\nlast line, no newline"
LARGE = b"".join(b"line %d %s\n" % (i, b"z" * (i % 300)) for i in range(3000)) + b"tail"

MODES = [
    ("read", 7),
    ("read", 1 << 20),
    ("readline", 0),
    ("readline_n", 5),
    ("readlines", 0),
    ("readlines_hint", 30),
    ("iter", 0),
]


def expected_parts(mode: str, n: int, body: bytes) -> list[bytes] | None:
    lines = body.splitlines(keepends=True)
    if mode in ("readline", "readlines", "iter"):
        return lines
    if mode == "readline_n":
        return [line[i : i + n] for line in lines for i in range(0, len(line), n)]
    return None


@pytest.mark.parametrize("framing", ["length", "chunked"])
@pytest.mark.parametrize("body", [SMALL, LARGE], ids=["small", "large"])
@pytest.mark.parametrize(("mode", "n"), MODES, ids=[f"{m}-{n}" for m, n in MODES])
def test_wsgi_input_reads_exactly_the_body(
    server: ServerProcess, mode: str, n: int, body: bytes, framing: str
) -> None:
    if framing == "chunked":
        pieces = [body[i : i + 1000] for i in range(0, len(body), 1000)]
        data = build(
            "POST",
            f"/input?mode={mode}&n={n}",
            [("Transfer-Encoding", "chunked")],
            chunked(*pieces),
        )
    else:
        data = build("POST", f"/input?mode={mode}&n={n}", body=body)
    with server.connect() as sock:
        # The next request follows in the same packet: reading past the body
        # would eat into it.
        sock.sendall(data + build("GET", "/fixed"))
        reader = Reader(sock)
        response = next_response(reader)
        following = next_response(reader)
    assert response.status == 200, response
    seen = response.json()
    parts = [p.encode("latin-1") for p in seen["parts"]]
    assert b"".join(parts) == body
    assert seen["after"] == "", "reading at the end of the body returned more"
    expected = expected_parts(mode, n, body)
    if expected is not None:
        assert parts == expected
    if mode == "read":
        assert all(0 < len(p) <= n for p in parts)
    if mode == "readlines_hint":
        # readlines(hint) stops at the line that reaches the hint; the rest follows.
        lines = body.splitlines(keepends=True)
        taken = parts[:-1]
        assert taken == lines[: len(taken)]
        assert sum(map(len, taken)) >= min(n, len(body))
    assert following.status == 200 and following.body == b"hello, world\n"


def test_wsgi_input_without_a_body_is_empty(server: ServerProcess) -> None:
    seen = get(server, "/input?mode=read&n=100").json()
    assert seen["body"] == "" and seen["after"] == ""


# -- responses -------------------------------------------------------------------


def test_write_callable(server: ServerProcess) -> None:
    response = get(server, "/write")
    assert response.status == 200
    assert response.body == b"written-1;written-2;returned-1;returned-2"


def test_generator_response(server: ServerProcess) -> None:
    response = get(server, "/gen?n=5&size=1000")
    assert response.status == 200
    assert response.headers.get("transfer-encoding") == "chunked"
    assert response.body == b"".join(bytes([65 + i]) * 1000 for i in range(5))


def test_start_response_with_exc_info_replaces_an_unsent_head(server: ServerProcess) -> None:
    response = get(server, "/exc_info?when=before")
    assert response.status == 503
    assert response.body == b"custom error page"


def test_start_response_with_exc_info_after_the_head_aborts(
    server: ServerProcess, log: LogWatch
) -> None:
    log.expect_traceback("failure after the head was sent")
    with server.connect() as sock:
        sock.sendall(build("GET", "/exc_info?when=after"))
        data = read_to_eof(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"partial body;" in body
    assert not body.endswith(b"0\r\n\r\n"), "a cut-short response must not end like a whole one"
    log.wait_for("failure after the head was sent")


def test_app_exception_is_500_and_the_worker_survives(server: ServerProcess, log: LogWatch) -> None:
    log.expect_traceback("RuntimeError: raised on purpose by the fixture app")
    before = worker_pids(server, 2)
    with server.connect() as sock:
        reader = Reader(sock)
        sock.sendall(build("GET", "/raise"))
        failed = next_response(reader)
        sock.sendall(build("GET", "/fixed"))
        after = next_response(reader)
    assert failed.status == 500
    assert after.status == 200 and after.body == b"hello, world\n"
    assert get(server, "/fixed").status == 200
    assert worker_pids(server, 2) == before
    text = log.wait_for("raised on purpose by the fixture app")
    assert re.search(r"\[wsgi:error\] \[pid \d+:tid \d+\] \[client 127\.0\.0\.1:\d+\] ", text)


def test_script_that_fails_to_import_is_500_until_fixed(tmp_path: Path) -> None:
    script = tmp_path / "app.wsgi"
    script.write_text("import wsgihost_tests_no_such_module\n" + VERSION_APP.read_text())
    with running(script, processes=1, threads=2) as srv:
        watch = LogWatch(srv)
        for _ in range(2):
            assert get(srv, "/").status == 500
            watch.expect_traceback("No module named 'wsgihost_tests_no_such_module'")
        # Fix it (a later mtime, so the change is certain whatever the clock).
        mtime = script.stat().st_mtime
        script.write_text(VERSION_APP.read_text())
        os.utime(script, (mtime + 2, mtime + 2))
        fixed = get(srv, "/")
        assert fixed.status == 200 and fixed.text.startswith("v1 ")
        watch.check()


@pytest.mark.parametrize("kind", ["crlf", "lf", "cr", "nul"])
def test_response_header_with_cr_lf_or_nul_is_500(kind: str) -> None:
    with running(UNVALIDATED, processes=1, threads=2) as srv:
        watch = LogWatch(srv)
        response = get(srv, f"/header?kind={kind}")
        assert response.status == 500
        assert "set-cookie" not in response.headers
        assert "x-bad" not in response.headers
        assert b"must not be sent" not in response.body
        watch.expect_traceback("CR, LF or NUL")
        watch.wait_for("CR, LF or NUL")
        watch.check()


def test_shorter_body_than_content_length_closes_the_connection(
    server: ServerProcess, log: LogWatch
) -> None:
    with server.connect() as sock:
        sock.sendall(build("GET", "/cl?declared=100&actual=10"))
        data = read_to_eof(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nContent-Length: 100\r\n" in head
    assert body == b"y" * 10
    log.wait_for("shorter than its Content-Length")


def test_longer_body_than_content_length_is_cut_to_it(server: ServerProcess) -> None:
    with server.connect() as sock:
        reader = Reader(sock)
        sock.sendall(build("GET", "/cl?declared=5&actual=10"))
        response = next_response(reader)
        sock.sendall(build("GET", "/fixed"))
        following = next_response(reader)
    assert response.status == 200 and response.body == b"y" * 5
    assert following.status == 200 and following.body == b"hello, world\n"


@pytest.mark.parametrize("case", ["get", "head", "raise", "client-gone"])
def test_close_of_the_response_iterable_is_always_called(
    server: ServerProcess, log: LogWatch, tmp_path: Path, case: str
) -> None:
    marker = tmp_path / "closed"
    mode = {"raise": "raise", "client-gone": "endless"}.get(case, "ok")
    target = f"/close?marker={marker}&mode={mode}"
    if case == "get":
        response = get(server, target)
        assert response.status == 200 and response.body == b"first chunk\n"
    elif case == "head":
        response = request(server, "HEAD", target)
        assert response.status == 200 and response.body == b""
    elif case == "raise":
        log.expect_traceback("raised on purpose by /close?mode=raise")
        with server.connect() as sock:
            sock.sendall(build("GET", target))
            data = read_to_eof(sock)
        assert data.startswith(b"HTTP/1.1 200 ") and b"first chunk" in data
    else:
        with server.connect() as sock:
            sock.sendall(build("GET", target))
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
            # Leave while the app still has (endless) body to send.
    wait_for(marker.exists, 10, "close() to be called")
    if case == "raise":
        log.wait_for("raised on purpose by /close?mode=raise")


def test_file_wrapper(server: ServerProcess, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    response = get(server, f"/file?path={path}")
    assert response.status == 200
    assert response.body == data


def test_file_wrapper_closes_the_file(server: ServerProcess, tmp_path: Path) -> None:
    marker = tmp_path / "closed"
    response = get(server, f"/file_marker?marker={marker}")
    assert response.status == 200 and response.body == b"from a file-like"
    wait_for(marker.exists, 10, "the file-like object to be closed")


def test_wsgi_errors_lands_in_the_error_log(server: ServerProcess, log: LogWatch) -> None:
    token = uuid.uuid4().hex
    with server.connect() as sock:
        sock.sendall(build("GET", f"/errors?token={token}"))
        port = sock.getsockname()[1]
        assert next_response(Reader(sock)).status == 200
    text = log.wait_for(token)
    line = next(line for line in text.splitlines() if token in line)
    assert re.fullmatch(
        rf"\[\w{{3}} \w{{3}} \d\d \d\d:\d\d:\d\d\.\d{{6}} \d{{4}}\] \[wsgi:error\] "
        rf"\[pid \d+:tid \d+\] \[client 127\.0\.0\.1:{port}\] app message {token}",
        line,
    ), line


# -- environ -----------------------------------------------------------------------


def test_header_names_with_underscores_are_not_passed(server: ServerProcess) -> None:
    env = get(
        server,
        "/env",
        headers=[
            ("X_Forwarded_For", "spoofed"),
            ("X-Forwarded-For", "10.0.0.1"),
            ("Foo_Bar", "x"),
            ("Foo-Baz", "y"),
        ],
    ).json()["environ"]
    assert env["HTTP_X_FORWARDED_FOR"] == "10.0.0.1"
    assert "HTTP_FOO_BAR" not in env
    assert env["HTTP_FOO_BAZ"] == "y"
    assert "spoofed" not in env.values()


def test_authorization_is_hidden_by_default(server: ServerProcess) -> None:
    env = get(server, "/env", headers=[("Authorization", "Basic dXNlcjpwYXNz")]).json()["environ"]
    assert "HTTP_AUTHORIZATION" not in env


def test_authorization_is_passed_with_the_option() -> None:
    with running(APP, "--pass-authorization", processes=1, threads=2) as srv:
        watch = LogWatch(srv)
        response = get(srv, "/env", headers=[("Authorization", "Basic dXNlcjpwYXNz")])
        watch.check()
    assert response.json()["environ"]["HTTP_AUTHORIZATION"] == "Basic dXNlcjpwYXNz"


def test_remote_and_server_variables(server: ServerProcess) -> None:
    with server.connect() as sock:
        sock.sendall(build("GET", "/env", host="www.example.test:8080"))
        env = next_response(Reader(sock)).json()["environ"]
        local_port = sock.getsockname()[1]
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["REMOTE_PORT"] == str(local_port)
    assert env["SERVER_NAME"] == "www.example.test"
    assert env["SERVER_PORT"] == "8080"
    # HTTP/1.0 without Host: the listener's own address and port.
    with server.connect() as sock:
        sock.sendall(b"GET /env HTTP/1.0\r\n\r\n")
        env = next_response(Reader(sock)).json()["environ"]
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["SERVER_PORT"] == str(server.port)


def ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_ipv6_listener() -> None:
    with running(APP, "--host", "::1", processes=1, threads=2) as srv:
        watch = LogWatch(srv)
        assert srv.host == "::1"
        with socket.create_connection(("::1", srv.port), timeout=10) as sock:
            sock.sendall(build("GET", "/env", host=f"[::1]:{srv.port}"))
            response = next_response(Reader(sock))
            local_port = sock.getsockname()[1]
        watch.check()
    env = response.json()["environ"]
    assert env["REMOTE_ADDR"] == "::1"
    assert env["REMOTE_PORT"] == str(local_port)
    assert env["SERVER_PORT"] == str(srv.port)


def test_mount_sets_script_name() -> None:
    with running(APP, "--mount", "/app", processes=1, threads=2) as srv:
        watch = LogWatch(srv)
        deep = get(srv, "/app/a/b?x=1").json()["environ"]
        top = get(srv, "/app").json()["environ"]
        slash = get(srv, "/app/").json()["environ"]
        outside = [get(srv, path).status for path in ("/", "/apple", "/other/app")]
        watch.check()
    assert (deep["SCRIPT_NAME"], deep["PATH_INFO"], deep["QUERY_STRING"]) == ("/app", "/a/b", "x=1")
    assert (top["SCRIPT_NAME"], top["PATH_INFO"]) == ("/app", "")
    assert (slash["SCRIPT_NAME"], slash["PATH_INFO"]) == ("/app", "/")
    assert outside == [404, 404, 404]
