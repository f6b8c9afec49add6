"""mod_remoteip beside Apache + mod_wsgi: a spoofed X-Forwarded-For with and without
RemoteIP*, trusted against untrusted peers, internal proxies and the proxies header,
REMOTE_ADDR in embedded and daemon mode, %a/%{c}a/%h in the access log, Require ip
on the address found; and the PROXY protocol (v1, v2, a LOCAL health check, a
connection with no header or a malformed one) from 127.0.0.2."""

from __future__ import annotations

import json
import re
import socket
import struct
from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.cases import call
from tests.differential.client import Answer
from tests.differential.compare import Differential, LogMark, mask_log_line, mask_port
from tests.differential.conftest import topic
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

SIG = b"\r\n\r\n\x00\r\nQUIT\n"
CLIENT = re.compile(r"(\[client 127\.0\.0\.\d+):\d+\]")
KEYS = (
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_X_FORWARDED_BY",
)


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic(
        "remoteip.conf",
        warm=[("plain.test:{port}", "/emb/"), ("plain.test:{port}", "/dmn/")],
    )


# case -> (virtual host, path, request headers)
HEADER_CASES: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "remoteip-no-config-spoofed": ("plain.test", "/emb/", [("X-Forwarded-For", "203.0.113.5")]),
    "remoteip-anyone-public": ("anyone.test", "/emb/", [("X-Forwarded-For", "203.0.113.5")]),
    "remoteip-anyone-daemon": ("anyone.test", "/dmn/", [("X-Forwarded-For", "203.0.113.5")]),
    "remoteip-anyone-chain": (
        "anyone.test",
        "/emb/",
        [("X-Forwarded-For", "198.51.100.1, 203.0.113.5")],
    ),
    "remoteip-anyone-private": ("anyone.test", "/emb/", [("X-Forwarded-For", "10.0.0.1")]),
    "remoteip-anyone-private-left": (
        "anyone.test",
        "/emb/",
        [("X-Forwarded-For", "192.168.1.1, 203.0.113.5")],
    ),
    "remoteip-anyone-garbage": ("anyone.test", "/emb/", [("X-Forwarded-For", "nonsense, ")]),
    "remoteip-anyone-two-fields": (
        "anyone.test",
        "/emb/",
        [("X-Forwarded-For", "198.51.100.2"), ("X-Forwarded-For", "203.0.113.6")],
    ),
    "remoteip-anyone-ipv6": ("anyone.test", "/emb/", [("X-Forwarded-For", "2001:db8::1")]),
    "remoteip-anyone-mapped": ("anyone.test", "/emb/", [("X-Forwarded-For", "::ffff:203.0.113.7")]),
    "remoteip-trusted-chain": (
        "trusted.test",
        "/emb/",
        [("X-Forwarded-For", "198.51.100.1, 203.0.113.5")],
    ),
    "remoteip-trusted-daemon": ("trusted.test", "/dmn/", [("X-Forwarded-For", "203.0.113.5")]),
    "remoteip-untrusted-peer": ("untrusted.test", "/emb/", [("X-Forwarded-For", "203.0.113.5")]),
    "remoteip-internal-private": (
        "internal.test",
        "/emb/",
        [("X-Real-IP", "203.0.113.5, 10.1.1.1")],
    ),
    "remoteip-internal-then-trusted": (
        "internal.test",
        "/dmn/",
        [("X-Real-IP", "198.51.100.9, 203.0.113.5, 10.2.2.2")],
    ),
    "remoteip-require-ip-granted": (
        "trusted.test",
        "/gated/",
        [("X-Forwarded-For", "203.0.113.9")],
    ),
    "remoteip-require-ip-denied": (
        "trusted.test",
        "/gated/",
        [("X-Forwarded-For", "198.51.100.9")],
    ),
    "remoteip-require-ip-spoof-without-trust": ("plain.test", "/emb/", []),
}


def _port(value: str) -> str:
    return value if value in ("0", "(absent)") else "<PORT>"


def _seen(diff: Differential, server: Server, answer: Answer | bytes, mark: LogMark) -> Any:
    if isinstance(answer, bytes):
        if not answer:
            seen: dict[str, Any] = {"closed": "without an answer"}
        else:
            head, _, body = answer.partition(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            seen = {"status": status}
            if status == 200:
                seen["environ"] = _environ(json.loads(body)["environ"])
    else:
        seen = {"status": answer.status}
        if answer.status == 200:
            seen["environ"] = _environ(json.loads(answer.body)["environ"])
    mark.wait(lambda new: any(k.endswith("remoteip-access.log") for k in new), timeout=2.0)
    for name, lines in mark.new().items():
        if name.endswith("remoteip-access.log"):
            seen["access"] = [mask_port(x, server.port) for x in lines]
        elif name.endswith("remoteip-error.log"):
            kept = [CLIENT.sub(r"\1:<PORT>]", mask_log_line(x)) for x in lines if "[remoteip:" in x]
            if kept:
                seen["errors"] = diff.masker(server).deep(kept)
    return seen


def _environ(environ: dict[str, str]) -> dict[str, str]:
    found = {k: environ.get(k, "(absent)") for k in KEYS}
    found["REMOTE_PORT"] = _port(found["REMOTE_PORT"])
    return found


def observe_header(
    diff: Differential, server: Server, host: str, path: str, headers: list[tuple[str, str]]
) -> Any:
    mark = LogMark(server)
    answer = call(server, "GET", path, f"{host}:{{port}}", headers)
    if not isinstance(answer, Answer):
        return answer
    return _seen(diff, server, answer, mark)


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_header_as_with_apache(pair: Differential, case: str) -> None:
    host, path, headers = HEADER_CASES[case]
    pair.check(case, lambda server: observe_header(pair, server, host, path, headers))


def v2(command: int, family: int, block: bytes) -> bytes:
    return SIG + bytes([0x20 | command, family]) + struct.pack("!H", len(block)) + block


def _request(host: str, extra: str = "") -> bytes:
    return f"GET /emb/ HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n".encode()


V4 = (
    socket.inet_aton("198.51.100.20") + socket.inet_aton("127.0.0.1") + struct.pack("!HH", 4444, 80)
)

# case -> the bytes a client sends from 127.0.0.2 (the header, then the request)
PROXY_CASES: dict[str, bytes] = {
    "remoteip-proxy-v1": b"PROXY TCP4 198.51.100.10 127.0.0.1 5555 80\r\n" + _request("plain.test"),
    "remoteip-proxy-v1-ipv6": b"PROXY TCP6 2001:db8::10 ::1 5555 80\r\n" + _request("plain.test"),
    "remoteip-proxy-v2": v2(1, 0x11, V4) + _request("plain.test"),
    "remoteip-proxy-v2-tlvs": v2(1, 0x11, V4 + b"\x04\x00\x01\x00") + _request("plain.test"),
    "remoteip-proxy-v2-local": v2(0, 0x00, b"") + _request("plain.test"),
    "remoteip-proxy-v1-unknown": b"PROXY UNKNOWN\r\n" + _request("plain.test"),
    "remoteip-proxy-v1-unknown-long": b"PROXY UNKNOWN 1.1.1.1 2.2.2.2 1 2\r\n"
    + _request("plain.test"),
    "remoteip-proxy-header-ignored": b"PROXY TCP4 198.51.100.11 127.0.0.1 1 80\r\n"
    + _request("anyone.test", "X-Forwarded-For: 203.0.113.5\r\n"),
    "remoteip-proxy-missing": _request("plain.test"),
    "remoteip-proxy-garbage": b"\x00\x01\x02garbage garbage garbage\r\n\r\n",
    "remoteip-proxy-bad-address": b"PROXY TCP4 1.2.3.x 127.0.0.1 1 80\r\n" + _request("plain.test"),
    "remoteip-proxy-bad-family": b"PROXY TCP9 1.2.3.4 127.0.0.1 1 80\r\n" + _request("plain.test"),
    "remoteip-proxy-bad-port": b"PROXY TCP4 1.2.3.4 127.0.0.1 99999 80\r\n"
    + _request("plain.test"),
    "remoteip-proxy-v2-too-long": v2(1, 0x11, bytes(300)) + _request("plain.test"),
    "remoteip-proxy-v2-unix": v2(1, 0x31, bytes(216)) + _request("plain.test"),
    "remoteip-proxy-v2-bad-command": v2(3, 0x11, V4) + _request("plain.test"),
}


def observe_proxy(diff: Differential, server: Server, data: bytes) -> Any:
    mark = LogMark(server)
    with socket.create_connection(
        ("127.0.0.1", server.port), timeout=10, source_address=("127.0.0.2", 0)
    ) as sock:
        sock.sendall(data)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    return _seen(diff, server, answer, mark)


@pytest.mark.parametrize("case", sorted(PROXY_CASES))
def test_proxy_protocol_as_with_apache(pair: Differential, case: str) -> None:
    pair.check(case, lambda server: observe_proxy(pair, server, PROXY_CASES[case]))
