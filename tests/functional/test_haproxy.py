"""HAProxy in front of wsgihost with ``send-proxy-v2``, as load balancers are run.

HAProxy (a real PROXY protocol client) sends a v2 header on each connection
and a LOCAL one on its health checks (``check-send-proxy``); wsgihost has
``RemoteIPProxyProtocol On``. Clients connect from 127.0.0.2 and 127.0.0.3,
HAProxy from 127.0.0.1: the app must see the clients, the access log's
``%{c}a`` HAProxy, and the health checks must pass (the server stays UP).
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import free_port, read_to_eof, wait_for
from tests.functional.server import APPS, ServerProcess

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed"),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, int, Path]]:
    root = tmp_path_factory.mktemp("haproxy")
    backend, front, stats = free_port(), free_port(), root / "stats.sock"
    conf = root / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:{backend}
            ServerName backend.test
            ErrorLog {root}/error.log
            LogFormat "%a %{{c}}a \\"%r\\" %>s" peers
            CustomLog {root}/access.log peers
            RemoteIPProxyProtocol On
            WSGIScriptAlias / {APPS / "echo.wsgi"}
            """
        )
    )
    server = ServerProcess(["serve", "--config", str(conf)])
    haproxy_conf = root / "haproxy.cfg"
    haproxy_conf.write_text(
        textwrap.dedent(
            f"""\
            global
                stats socket {stats} mode 600 level admin
            defaults
                mode http
                timeout connect 2s
                timeout client 10s
                timeout server 10s
                # A check HAProxy gives up on (the default: its 300 ms interval)
                # is cut before the server has even taken the connection on a
                # busy machine, and then logged with no address.
                timeout check 5s
            frontend web
                bind 127.0.0.1:{front}
                default_backend app
            backend app
                option httpchk GET /health
                server s1 127.0.0.1:{backend} send-proxy-v2 check check-send-proxy inter 300ms
            """
        )
    )
    haproxy: subprocess.Popen[bytes] | None = None
    try:
        server.wait_listening()
        with open(root / "haproxy.err", "wb") as err:
            haproxy = subprocess.Popen(
                ["haproxy", "-db", "-f", str(haproxy_conf)],
                stdout=subprocess.DEVNULL,
                stderr=err,
                process_group=0,
            )
        deadline = time.monotonic() + 10
        while not stats.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        # HAProxy answers 503 until its first health check has passed.
        wait_for(lambda: server_state(root).startswith("UP L7OK"), what="a passed health check")
        yield server, front, root
    finally:
        if haproxy is not None:
            haproxy.send_signal(signal.SIGTERM)
            try:
                haproxy.wait(10)
            except subprocess.TimeoutExpired:
                haproxy.kill()
                haproxy.wait(5)
        server.close()


def through(front: int, source: str, path: str = "/who") -> dict[str, str]:
    with socket.create_connection(
        ("127.0.0.1", front), timeout=10, source_address=(source, 0)
    ) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = read_to_eof(s)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), answer[:300]
    found: dict[str, str] = json.loads(body)["environ"]
    return found


def server_state(root: Path) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(root / "stats.sock"))
        s.sendall(b"show stat\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    for line in data.decode().splitlines():
        fields = line.split(",")
        if fields[:2] == ["app", "s1"]:
            return f"{fields[17]} {fields[36]}"  # status, check_status
    return "missing"


def test_clients_seen_through_haproxy(stack: tuple[ServerProcess, int, Path]) -> None:
    _, front, root = stack
    assert through(front, "127.0.0.2")["REMOTE_ADDR"] == "127.0.0.2"
    assert through(front, "127.0.0.3")["REMOTE_ADDR"] == "127.0.0.3"
    # %a: the client HAProxy named; %{c}a: HAProxy's own connection. (The line
    # is written after the answer has gone: wait for it.)
    wanted = '127.0.0.3 127.0.0.1 "GET /who'

    def logged() -> list[str]:
        return [
            ln for ln in (root / "access.log").read_text().splitlines() if ln.startswith(wanted)
        ]

    wait_for(logged, what=f"an access-log line starting {wanted!r}")


def test_health_checks_pass(stack: tuple[ServerProcess, int, Path]) -> None:
    _, _, root = stack
    deadline = time.monotonic() + 10
    state = server_state(root)
    while not state.startswith("UP L7OK") and time.monotonic() < deadline:
        time.sleep(0.2)
        state = server_state(root)
    assert state.startswith("UP L7OK"), state

    # The checks came as LOCAL: logged with HAProxy's own address as the client.
    # (A check's line is written once its answer is out: HAProxy may have read
    # the status line first.)
    def health_lines() -> list[str]:
        text = (root / "access.log").read_text()
        return [line for line in text.splitlines() if "/health" in line]

    checks = wait_for(health_lines, what="a health check's access-log line")
    assert checks and all(line.startswith("127.0.0.1 127.0.0.1 ") for line in checks), checks
