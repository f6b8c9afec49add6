"""Chunked request bodies and Proxy-Authorization, as Apache 2.4 + mod_wsgi 4.9 handle them.

Both modes, real servers on loopback. What Apache does, observed on this
machine (Apache/2.4 + mod_wsgi 4.9.4), and what we keep of it:

* ``Transfer-Encoding`` other than ``chunked`` itself (``gzip, chunked``) is
  answered ``501 Not Implemented`` before the app runs, On or Off;
* a chunked body for an app without ``WSGIChunkedRequest On`` is answered
  ``411 Length Required`` (HTML, ``Connection: close``) before the app runs,
  without ``100 Continue``, and the connection is closed;
* with it On the app reads the whole body; it has no ``CONTENT_LENGTH`` and
  ``wsgi.input_terminated`` is True;
* ``Proxy-Authorization`` never reaches the app, even with
  ``WSGIPassAuthorization On``;
* a malformed chunked body gets 400 and ``Connection: close``. Apache runs
  the app first and sends its 500 page after the 400; we refuse a body whose
  bad part has arrived before the app starts without calling the app, and
  one that turns bad later makes the app's read fail with a one-line
  "request data read error".

``chunked.wsgi`` records every call in a file named in the query, so a test
can tell that the app never saw a request.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.functional.helpers import (
    LogWatch,
    Response,
    build,
    chunked,
    closed_by_peer,
    exchange,
    free_port,
    next_response,
    read_to_eof,
    wait_for,
)
from tests.functional.server import APPS, Reader, ServerProcess, serve

pytestmark = pytest.mark.slow

SCRIPT = APPS / "chunked.wsgi"
TE = [("Transfer-Encoding", "chunked")]
# Pieces with line ends inside and across chunks, and a chunk extension.
PIECES = (b"first line\nsec", b"ond line\n", b"x" * 5000, b"\nlast, no newline")
BODY = b"".join(PIECES)
WITH_EXTENSION = b"4;name=value\r\n" + PIECES[0][:4] + b"\r\n" + chunked(PIECES[0][4:], *PIECES[1:])


@contextmanager
def started(mode: str, *extra: str) -> Iterator[ServerProcess]:
    server = serve(SCRIPT, *extra, processes=1, threads=4, mode=mode)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module", params=["embedded", "daemon"])
def default_server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """WSGIChunkedRequest as it is by default: Off."""
    with started(request.param) as server:
        yield server


@pytest.fixture(scope="module", params=["embedded", "daemon"])
def on_server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """``serve --chunked-request`` (WSGIChunkedRequest On)."""
    with started(request.param, "--chunked-request") as server:
        yield server


@pytest.fixture
def calls(tmp_path: Path) -> Path:
    """The file the app records its calls in (it does not exist until the first)."""
    path = tmp_path / "calls"
    tmp_path.chmod(0o777)  # a daemon process may run as another user
    return path


def recorded(calls: Path) -> list[str]:
    return calls.read_text().splitlines() if calls.exists() else []


def target(calls: Path, marker: str, read: str = "all") -> str:
    return f"/upload?record={calls}&m={marker}&read={read}"


def answer_then_close(server: ServerProcess, data: bytes) -> Response:
    """Send ``data`` on a new connection: one response must come, then the server closes."""
    with server.connect() as sock:
        sock.sendall(data)
        reader = Reader(sock)
        response = next_response(reader)
        assert closed_by_peer(sock, reader), f"the connection stayed open after {response}"
    return response


# -- WSGIChunkedRequest Off: 411 before the app ----------------------------------


def test_a_chunked_body_gets_411_before_the_app(default_server: ServerProcess, calls: Path) -> None:
    log = LogWatch(default_server)
    request = build("POST", target(calls, "refused"), TE, chunked(*PIECES))
    # A second request in the same packet: after a 411 it is never read.
    response = answer_then_close(default_server, request + build("GET", target(calls, "after")))
    assert response.status == 411
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["connection"] == "close"
    assert int(response.headers["content-length"]) == len(response.body)
    assert b"Length Required" in response.body and b"a valid Content-length." in response.body
    assert recorded(calls) == [], "the app was called"
    log.wait_for("WSGIChunkedRequest is Off")
    assert f"{SCRIPT}" in log.text()
    access = wait_for(lambda: "411" in default_server.stdout() and default_server.stdout())
    assert f'"POST {target(calls, "refused")} HTTP/1.1" 411' in access
    log.check()


@pytest.mark.parametrize("case", ["bad size", "no CRLF after data"])
def test_a_malformed_chunked_body_is_411_too(
    default_server: ServerProcess, calls: Path, case: str
) -> None:
    # mod_wsgi refuses by the headers before it reads the body, so what the
    # body turns out to be does not matter.
    data = build("POST", target(calls, "bad"), TE) + MALFORMED[case]
    response = answer_then_close(default_server, data)
    assert response.status == 411
    assert recorded(calls) == []


def test_the_411_comes_at_once_without_100_continue(
    default_server: ServerProcess, calls: Path
) -> None:
    head = build("POST", target(calls, "expect"), [*TE, ("Expect", "100-continue")])
    # The client waits for our word before it sends the body.
    response = answer_then_close(default_server, head)
    assert response.status == 411, "100 Continue was sent for a body that is refused"
    assert recorded(calls) == []


def test_a_body_with_a_content_length_is_still_served(
    default_server: ServerProcess, calls: Path
) -> None:
    response = exchange(default_server, build("POST", target(calls, "cl"), body=BODY))
    assert response.status == 200
    seen = response.json()
    assert seen["body"].encode("latin-1") == BODY
    assert seen["content_length"] == str(len(BODY))
    assert seen["input_chunked"] is None  # mod_wsgi 4.9 has no such key


# -- WSGIChunkedRequest for part of a site ---------------------------------------


def test_a_location_turns_chunked_bodies_on_for_part_of_a_site(tmp_path: Path, calls: Path) -> None:
    """mod_wsgi reads the setting for the request's own directory and location."""
    conf = tmp_path / "site.conf"
    conf.write_text(
        f"""
Listen 127.0.0.1:{free_port()}
StartServers 1
WSGIDaemonProcess chunked processes=1 threads=2
WSGIScriptAlias /embedded {SCRIPT}
WSGIScriptAlias /daemon {SCRIPT} process-group=chunked
<Location /embedded/on>
    WSGIChunkedRequest On
</Location>
<Location /daemon/on>
    WSGIChunkedRequest On
</Location>
<Location /daemon/on/off>
    WSGIChunkedRequest Off
</Location>
"""
    )
    server = ServerProcess(["serve", "--config", str(conf)])
    try:
        server.wait_listening()

        def status(path: str) -> int:
            query = f"?record={calls}&m={path}"
            return exchange(server, build("POST", path + query, TE, chunked(b"part"))).status

        assert status("/embedded/on/x") == 200
        assert status("/embedded/x") == 411
        assert status("/daemon/on") == 200
        assert status("/daemon/x") == 411
        assert status("/daemon/on/off/x") == 411  # the closer <Location> wins
    finally:
        server.close()
    assert sorted(line.split()[0] for line in recorded(calls)) == ["/daemon/on", "/embedded/on/x"]


# -- WSGIChunkedRequest On: the whole body ----------------------------------------


@pytest.mark.parametrize("read", ["all", "sized", "lines"])
def test_the_app_reads_the_whole_chunked_body(
    on_server: ServerProcess, calls: Path, read: str
) -> None:
    log = LogWatch(on_server)
    request = build("POST", target(calls, read, read), TE, WITH_EXTENSION)
    with on_server.connect() as sock:
        # The next request in the same packet: reading past the body would eat it.
        sock.sendall(request + build("POST", target(calls, "next"), TE, chunked(b"second")))
        reader = Reader(sock)
        first = next_response(reader)
        second = next_response(reader)
    assert first.status == 200, first
    seen = first.json()
    assert seen["body"].encode("latin-1") == BODY
    assert seen["content_length"] is None
    assert seen["input_terminated"] is True
    assert seen["input_chunked"] is None  # mod_wsgi 4.9 has no such key
    assert "HTTP_TRANSFER_ENCODING" in seen["http"]  # as Apache passes it
    assert second.status == 200 and second.json()["body"] == "second"
    assert [line.split()[0] for line in recorded(calls)] == [read, "next"]
    log.check()


def test_a_chunked_body_arriving_slowly_is_read_whole(
    on_server: ServerProcess, calls: Path
) -> None:
    with on_server.connect() as sock:
        sock.sendall(build("POST", target(calls, "slow", "sized"), TE))
        wait_for(lambda: recorded(calls), what="the app to start")
        for piece in PIECES:
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        sock.sendall(b"0\r\n\r\n")
        response = next_response(Reader(sock))
    assert response.status == 200
    assert response.json()["body"].encode("latin-1") == BODY


@pytest.mark.parametrize(
    "codings", [["gzip, chunked"], ["identity, chunked"], ["gzip", "chunked"]], ids=str
)
def test_a_coding_besides_chunked_is_501_before_the_app(
    on_server: ServerProcess, calls: Path, codings: list[str]
) -> None:
    # HTTP allows it (the final coding is chunked), but mod_wsgi's handler
    # takes "chunked" only, with WSGIChunkedRequest On as well as Off.
    headers = [("Transfer-Encoding", coding) for coding in codings]
    response = answer_then_close(
        on_server, build("POST", target(calls, "gzip"), headers, chunked(b"\x1f\x8b"))
    )
    assert response.status == 501
    assert b"POST not supported for current URL." in response.body
    assert recorded(calls) == []


# -- Proxy-Authorization -----------------------------------------------------------


def credentials_seen(server: ServerProcess, calls: Path) -> dict[str, str]:
    headers = [
        ("Authorization", "Basic dXNlcjpwdw=="),
        ("Proxy-Authorization", "Basic cHJveHk6c2VjcmV0"),
        ("Proxy", "http://evil.invalid/"),
        ("X.Dotted", "dropped as Apache drops it"),
        ("X-Kept", "yes"),
    ]
    response = exchange(server, build("GET", target(calls, "auth"), headers))
    assert response.status == 200
    http: dict[str, str] = response.json()["http"]
    return http


def test_proxy_authorization_never_reaches_the_app(
    default_server: ServerProcess, calls: Path
) -> None:
    http = credentials_seen(default_server, calls)
    assert "HTTP_PROXY_AUTHORIZATION" not in http
    assert "HTTP_AUTHORIZATION" not in http  # WSGIPassAuthorization Off
    assert "HTTP_PROXY" not in http
    assert not [key for key in http if "DOTTED" in key]
    assert http["HTTP_X_KEPT"] == "yes"


@pytest.mark.parametrize("mode", ["embedded", "daemon"])
def test_proxy_authorization_is_withheld_with_pass_authorization_too(
    mode: str, calls: Path
) -> None:
    with started(mode, "--pass-authorization") as server:
        http = credentials_seen(server, calls)
    assert http["HTTP_AUTHORIZATION"] == "Basic dXNlcjpwdw=="
    assert "HTTP_PROXY_AUTHORIZATION" not in http


# -- malformed bodies ------------------------------------------------------------------

MALFORMED = {
    "bad size": b"zz\r\nhello\r\n0\r\n\r\n",
    "no CRLF after data": b"5\r\nhelloXX0\r\n\r\n",
    "bad chunk after good ones": chunked(b"good", b"also good")[:-5] + b"5\r\nhello\n0\r\n\r\n",
    "size longer than the data": b"5\r\nhello world\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_body_that_has_arrived_is_400_and_never_reaches_the_app(
    on_server: ServerProcess, calls: Path, case: str
) -> None:
    log = LogWatch(on_server)
    data = build("POST", target(calls, "malformed"), TE) + MALFORMED[case]
    response = answer_then_close(on_server, data)
    assert response.status == 400
    assert response.headers["connection"] == "close"
    assert recorded(calls) == [], "the app was called for a body already known to be bad"
    # The server still serves.
    assert exchange(on_server, build("POST", target(calls, "ok"), TE, chunked(b"ok"))).status == 200
    log.check()


def late_failure(server: ServerProcess, calls: Path, read: str) -> None:
    """A body whose first chunk is good and whose second, sent once the app reads, is not.

    The client is told 400, and the connection ends there.
    """
    with server.connect() as sock:
        sock.sendall(build("POST", target(calls, "late", read), TE) + b"5\r\nhello\r\n")
        wait_for(lambda: recorded(calls), what="the app to start")
        sock.sendall(b"zz\r\nmore\r\n0\r\n\r\n")
        reader = Reader(sock)
        response = next_response(reader)
        rest = read_to_eof(sock, timeout=10)
    assert response.status == 400
    assert response.headers["connection"] == "close"
    assert rest == b"" and not reader.buf, "something followed the 400"


def test_a_body_that_turns_bad_while_the_app_reads_fails_its_read(
    on_server: ServerProcess, calls: Path
) -> None:
    log = LogWatch(on_server)
    late_failure(on_server, calls, "catch")
    error = wait_for(lambda: [line for line in recorded(calls) if "error" in line])
    assert "request data read error: " in error[0], error
    # The front end knows why, and tells a daemon process with its ABORT.
    assert "invalid chunk size line b'zz'" in error[0], error
    log.check()


def test_an_app_that_lets_the_read_error_out_logs_one_line(
    on_server: ServerProcess, calls: Path
) -> None:
    log = LogWatch(on_server)
    late_failure(on_server, calls, "raise")
    text = log.wait_for("the request failed: request data read error:")
    lines = [line for line in text.splitlines() if "request data read error" in line]
    assert len(lines) == 1, text
    log.check()  # and no traceback


def test_a_body_that_turns_bad_after_the_response_only_ends_the_connection(
    on_server: ServerProcess, calls: Path
) -> None:
    # The app answered without reading; the rest of the body is read and
    # dropped, and turns out malformed: an error response now would pass for
    # the answer to a next request, so the connection just ends.
    with on_server.connect() as sock:
        sock.sendall(build("POST", target(calls, "unread", "none"), TE) + b"5\r\nhello\r\n")
        reader = Reader(sock)
        response = next_response(reader)
        assert response.status == 200
        sock.sendall(b"zz\r\n")
        assert closed_by_peer(sock, reader), "something was sent after the response"


def test_the_connection_is_not_left_hanging_when_the_client_stops_mid_chunk(
    on_server: ServerProcess, calls: Path
) -> None:
    with on_server.connect() as sock:
        sock.sendall(build("POST", target(calls, "cut", "catch"), TE) + b"a\r\nhel")
        wait_for(lambda: recorded(calls), what="the app to start")
        sock.shutdown(socket.SHUT_WR)
        data = read_to_eof(sock, timeout=10)
    assert data.startswith(b"HTTP/1.1 400 ")
