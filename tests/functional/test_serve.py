"""`wsgihost serve SCRIPT` end to end: a real master, real workers, real sockets."""

from __future__ import annotations

import json
import signal
import urllib.request

import pytest

from tests.functional.server import Reader, ServerProcess

pytestmark = pytest.mark.slow


def get_json(server: ServerProcess, path: str) -> dict:  # type: ignore[type-arg]
    with urllib.request.urlopen(f"http://{server.host}:{server.port}{path}", timeout=10) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def test_serves_the_app_with_a_complete_environ(echo_server: ServerProcess) -> None:
    seen = get_json(echo_server, "/a/b%20c?x=1&y=2")
    env = seen["environ"]
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SCRIPT_NAME"] == ""
    assert env["PATH_INFO"] == "/a/b c"
    assert env["QUERY_STRING"] == "x=1&y=2"
    assert env["REQUEST_URI"] == "/a/b%20c?x=1&y=2"
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["SERVER_PORT"] == str(echo_server.port)
    assert env["mod_wsgi.process_group"] == ""
    assert env["wsgi.multithread"] is True


def test_keep_alive_and_pipelining_answer_in_order(echo_server: ServerProcess) -> None:
    with echo_server.connect() as sock:
        sock.sendall(
            b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /second HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            b"GET /third HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        paths = []
        reader = Reader(sock)
        for _ in range(3):
            status, headers, body = reader.response()
            assert status == 200
            paths.append(json.loads(body)["environ"]["PATH_INFO"])
        assert paths == ["/first", "/second", "/third"]
        assert headers["connection"] == "close"
        assert sock.recv(100) == b""


def test_sigterm_stops_cleanly(echo_server: ServerProcess) -> None:
    get_json(echo_server, "/")
    echo_server.signal(signal.SIGTERM)
    assert echo_server.wait(20) == 0
    assert "Traceback" not in echo_server.stderr()
