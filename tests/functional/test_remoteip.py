"""mod_remoteip in a running server: RemoteIPProxyProtocol On on one listener (plain,
and under TLS), RemoteIPHeader on another; raw sockets send PROXY v1 and v2 headers,
LOCAL health checks, no header, garbage and cut-short headers. Each connection
refused is closed without an answer, and the server goes on serving."""

from __future__ import annotations

import json
import socket
import ssl
import struct
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import tlscerts
from tests.functional.helpers import free_port, read_to_eof
from tests.functional.server import APPS, ServerProcess, read_response

pytestmark = pytest.mark.slow

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(command: int, family: int, block: bytes) -> bytes:
    return SIG + bytes([0x20 | command, family]) + struct.pack("!H", len(block)) + block


def v4(src: str, sport: int, tlvs: bytes = b"") -> bytes:
    return v2(
        1,
        0x11,
        socket.inet_aton(src)
        + socket.inet_aton("127.0.0.1")
        + struct.pack("!HH", sport, 80)
        + tlvs,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("remoteip")
    pki = tlscerts.make(root / "pki")
    conf = root / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:${{PROXY_PORT}}
            Listen 127.0.0.1:${{HEADER_PORT}}
            Listen 127.0.0.1:${{TLS_PORT}}
            ServerName main.test
            ErrorLog {root}/error.log
            LogLevel warn
            LogFormat "%a %{{c}}a %h \\"%r\\" %>s" peers
            CustomLog {root}/access.log peers
            RequestReadTimeout header=2
            WSGIScriptAlias / {APPS / "echo.wsgi"}
            <Location /private>
                Require ip 203.0.113.0/24
            </Location>
            <VirtualHost 127.0.0.1:${{PROXY_PORT}}>
                RemoteIPProxyProtocol On
                RemoteIPHeader X-Forwarded-For
                WSGIScriptAlias / {APPS / "echo.wsgi"}
            </VirtualHost>
            <VirtualHost 127.0.0.1:${{HEADER_PORT}}>
                RemoteIPHeader X-Forwarded-For
                RemoteIPInternalProxy 127.0.0.0/8
                WSGIScriptAlias / {APPS / "echo.wsgi"}
                <Location /private>
                    Require ip 203.0.113.0/24
                </Location>
            </VirtualHost>
            <VirtualHost 127.0.0.1:${{TLS_PORT}}>
                ServerName a.test
                RemoteIPProxyProtocol On
                SSLEngine on
                SSLCertificateFile {pki.cert("a.test")}
                SSLCertificateKeyFile {pki.key("a.test")}
                WSGIScriptAlias / {APPS / "echo.wsgi"}
            </VirtualHost>
            """
        )
    )
    ports = {n: str(free_port()) for n in ("PROXY_PORT", "HEADER_PORT", "TLS_PORT")}
    server = ServerProcess(["serve", "--config", str(conf)], env=ports)
    try:
        server.wait_listening(count=3)
        server.root = root  # type: ignore[attr-defined]
        server.ports = {k: int(v) for k, v in ports.items()}  # type: ignore[attr-defined]
        server.pki = pki  # type: ignore[attr-defined]
        yield server
    finally:
        server.close()


def port(site: ServerProcess, name: str) -> int:
    return site.ports[name]  # type: ignore[attr-defined,no-any-return]


def send(site: ServerProcess, data: bytes, name: str = "PROXY_PORT") -> bytes:
    with socket.create_connection(("127.0.0.1", port(site, name)), timeout=10) as sock:
        sock.sendall(data)
        return read_to_eof(sock)


def environ(answer: bytes) -> dict[str, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), answer[:300]
    found: dict[str, str] = json.loads(body)["environ"]
    return found


REQUEST = b"GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def access_lines(site: ServerProcess) -> list[str]:
    path: Path = site.root / "access.log"  # type: ignore[attr-defined]
    return path.read_text().splitlines() if path.exists() else []


def error_log(site: ServerProcess) -> str:
    path: Path = site.root / "error.log"  # type: ignore[attr-defined]
    return path.read_text() if path.exists() else ""


def test_v1_gives_the_client_address(site: ServerProcess) -> None:
    env = environ(send(site, b"PROXY TCP4 198.51.100.7 127.0.0.1 4321 80\r\n" + REQUEST))
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == ("198.51.100.7", "4321")
    # %a is the client the header named, %{c}a the proxy's own connection.
    assert any(
        line.startswith("198.51.100.7 127.0.0.1 198.51.100.7 ") for line in access_lines(site)
    )


def test_v2_and_tlvs(site: ServerProcess) -> None:
    env = environ(send(site, v4("203.0.113.9", 5555, b"\x04\x00\x01\x00") + REQUEST))
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == ("203.0.113.9", "5555")
    block = socket.inet_pton(socket.AF_INET6, "2001:db8::7") + bytes(16) + struct.pack("!HH", 7, 80)
    env = environ(send(site, v2(1, 0x21, block) + REQUEST))
    assert env["REMOTE_ADDR"] == "2001:db8::7"


def test_header_is_ignored_on_a_proxy_connection(site: ServerProcess) -> None:
    spoofed = REQUEST.replace(b"Host: x\r\n", b"Host: x\r\nX-Forwarded-For: 192.0.2.1\r\n")
    env = environ(send(site, b"PROXY TCP4 198.51.100.8 127.0.0.1 1 80\r\n" + spoofed))
    assert env["REMOTE_ADDR"] == "198.51.100.8"
    assert env["HTTP_X_FORWARDED_FOR"] == "192.0.2.1"


def test_local_and_unknown_keep_the_peer(site: ServerProcess) -> None:
    env = environ(send(site, v2(0, 0, b"") + REQUEST))  # HAProxy's health check
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    env = environ(send(site, b"PROXY UNKNOWN\r\n" + REQUEST))
    assert env["REMOTE_ADDR"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("data", "logged"),
    [
        (REQUEST, ""),  # no header
        (b"\x00\xff garbage and more garbage\r\n\r\n", ""),
        (b"PROXY TCP4 1.2.3.x 127.0.0.1 1 80\r\n" + REQUEST, "invalid client-address '1.2.3.x'"),
        (b"PROXY TCP9 1.2.3.4 127.0.0.1 1 80\r\n" + REQUEST, "unknown family 'TCP9'"),
        (v2(1, 0x11, bytes(300)) + REQUEST, "protocol header length too long"),
        (v2(1, 0x31, bytes(216)) + REQUEST, "unsupported protocol 31"),
        (v2(1, 0x11, b"\x01") + REQUEST, "too short"),
        (b"PROXY TCP4 " + b"9" * 200 + b"\r\n", "header too long"),
    ],
)
def test_bad_starts_are_closed(site: ServerProcess, data: bytes, logged: str) -> None:
    assert send(site, data) == b""  # closed, nothing answered (mod_remoteip aborts)
    if logged:
        deadline = time.monotonic() + 5
        while logged not in error_log(site) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "[remoteip:error]" in error_log(site) and logged in error_log(site)
    # ... and the server goes on serving.
    assert environ(send(site, b"PROXY TCP4 198.51.100.9 127.0.0.1 1 80\r\n" + REQUEST))


def test_cut_short_or_silent_is_closed_in_time(site: ServerProcess) -> None:
    for start in (b"", b"PROXY TCP4 1.2", SIG + b"\x21\x11\x00\x0c\x01"):
        with socket.create_connection(("127.0.0.1", port(site, "PROXY_PORT")), timeout=10) as s:
            s.sendall(start)
            began = time.monotonic()
            assert read_to_eof(s) == b""
            assert time.monotonic() - began < 6  # RequestReadTimeout header=2


def test_byte_by_byte(site: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", port(site, "PROXY_PORT")), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for b in v4("203.0.113.10", 1) + REQUEST:
            s.send(bytes([b]))
        assert environ(read_to_eof(s))["REMOTE_ADDR"] == "203.0.113.10"


def test_proxy_before_tls(site: ServerProcess) -> None:
    pki: tlscerts.Pki = site.pki  # type: ignore[attr-defined]
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    with socket.create_connection(("127.0.0.1", port(site, "TLS_PORT")), timeout=10) as raw:
        raw.sendall(v4("198.51.100.20", 2020))
        with ctx.wrap_socket(raw, server_hostname="a.test") as tls:
            tls.sendall(REQUEST.replace(b"Host: x", b"Host: a.test"))
            status, _, body = read_response(tls)
    assert status == 200
    assert json.loads(body)["environ"]["REMOTE_ADDR"] == "198.51.100.20"


def test_header_walk_and_require_ip(site: ServerProcess) -> None:
    def get(path: str, xff: str) -> bytes:
        data = (
            f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: {xff}\r\nConnection: close\r\n\r\n"
        )
        return send(site, data.encode(), "HEADER_PORT")

    env = environ(get("/who", "192.0.2.50, 10.0.0.1"))
    # 127.0.0.1 is an internal proxy: it may present 10.0.0.1, which is not listed.
    assert env["REMOTE_ADDR"] == "10.0.0.1" and env["HTTP_X_FORWARDED_FOR"] == "192.0.2.50"
    assert get("/private/x", "203.0.113.77").startswith(b"HTTP/1.1 200")
    assert get("/private/x", "198.51.100.1").startswith(b"HTTP/1.1 403")
