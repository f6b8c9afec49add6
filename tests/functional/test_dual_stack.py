"""``Listen PORT`` with no address: one socket that IPv4 and IPv6 clients both
reach, as Apache listens on Linux, with IPv4 clients shown as the IPv4
addresses they are (in REMOTE_ADDR, SERVER_ADDR and the access log)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.functional.helpers import free_port, wait_for
from tests.functional.server import APPS, ServerProcess

pytestmark = pytest.mark.slow


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def _environ(host: str, port: int) -> dict[str, str]:
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"GET /who HTTP/1.0\r\nHost: dual.test\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    environ: dict[str, str] = json.loads(body)["environ"]
    return environ


def test_listen_with_no_address_takes_ipv4_and_ipv6_clients(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "access.log"
    conf = tmp_path / "site.conf"
    conf.write_text(
        f"Listen {port}\nStartServers 1\nServerName dual.test\n"
        f'CustomLog {log} "%a %>s"\n'
        f"WSGIScriptAlias / {APPS / 'echo.wsgi'}\n"
    )
    server = ServerProcess(["serve", "--config", str(conf)])
    try:
        server.wait_listening()
        seen = _environ("127.0.0.1", port)
        assert seen["REMOTE_ADDR"] == "127.0.0.1"
        assert seen["SERVER_ADDR"] == "127.0.0.1"
        expected = ["127.0.0.1 200"]
        if _ipv6_loopback():
            seen6 = _environ("::1", port)
            assert seen6["REMOTE_ADDR"] == "::1"
            assert seen6["SERVER_ADDR"] == "::1"
            expected.append("::1 200")
        wait_for(
            lambda: len(log.read_text().splitlines()) == len(expected) if log.exists() else False
        )
        assert log.read_text().splitlines() == expected
    finally:
        server.close()
