"""The PROXY protocol header as mod_remoteip reads it (mods/proxyproto.py): v1 and
v2, fed whole or byte by byte, and every malformed form refused with its log line."""

from __future__ import annotations

import struct

import pytest

from wsgihost.mods.proxyproto import (
    V2_SIGNATURE,
    Header,
    HeaderReader,
    ProxyHeaderError,
)

REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def v2(command: int, family: int, block: bytes) -> bytes:
    return V2_SIGNATURE + bytes([0x20 | command, family]) + struct.pack("!H", len(block)) + block


def v4_block(src: str, sport: int) -> bytes:
    return (
        bytes(int(x) for x in src.split("."))
        + bytes([127, 0, 0, 1])
        + struct.pack("!HH", sport, 80)
    )


def read(data: bytes, step: int = 0) -> tuple[Header, bytes] | None:
    reader = HeaderReader()
    if not step:
        return reader.feed(data)
    found = None
    for i in range(0, len(data), step):
        found = reader.feed(data[i : i + step])
        if found is not None:
            # What came in the same piece as the header's end, then the rest.
            return found[0], found[1] + data[i + step :]
    return found


GOOD = [
    (b"PROXY TCP4 203.0.113.9 127.0.0.1 5555 80\r\n", ("203.0.113.9", 5555), 1),
    (b"PROXY TCP6 2001:db8::1 ::1 6000 443\r\n", ("2001:db8::1", 6000), 1),
    (b"PROXY UNKNOWN\r\n", None, 1),
    # The port as sscanf("%hu") reads it: leading digits, kept to 16 bits.
    (b"PROXY TCP4 203.0.113.9 127.0.0.1 70000 80\r\n", ("203.0.113.9", 4464), 1),
    (b"PROXY TCP4 203.0.113.9 127.0.0.1 81x 80\r\n", ("203.0.113.9", 81), 1),
    (b"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n", None, 1),
    (v2(1, 0x11, v4_block("198.51.100.7", 4444)), ("198.51.100.7", 4444), 2),
    (
        v2(1, 0x21, bytes.fromhex("20010db8" + "00" * 11 + "05") + bytes(16) + b"\x10\x00\x00P"),
        ("2001:db8::5", 4096),
        2,
    ),
    (v2(0, 0x00, b""), None, 2),  # LOCAL: a health check
    (v2(0, 0x11, v4_block("1.2.3.4", 1)), None, 2),  # LOCAL with addresses: still the peer
    (
        v2(1, 0x11, v4_block("198.51.100.8", 1) + b"\x04\x00\x01\x00\x20\x00\x03abc"),
        ("198.51.100.8", 1),
        2,
    ),
]


@pytest.mark.parametrize(("header", "client", "version"), GOOD)
@pytest.mark.parametrize("step", [0, 1, 7])
def test_good_headers(
    header: bytes, client: tuple[str, int] | None, version: int, step: int
) -> None:
    found = read(header + REQUEST, step)
    assert found is not None
    parsed, rest = found
    assert (parsed.client, parsed.version, parsed.length) == (client, version, len(header))
    assert rest == REQUEST  # the request after the header is kept, whole


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (REQUEST, ""),  # no header at all: closed without a word, as mod_remoteip
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(20), ""),  # TLS first
        (b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "unknown family 'TCP5'"),
        (b"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "unknown family 'tcp4'"),
        (b"PROXY TCP4 1.2.3.x 5.6.7.8 1 2\r\n", "invalid client-address '1.2.3.x'"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 x 2\r\n", "error parsing port 'x'"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8\r\n", "no client-port found"),
        (b"PROXY TCP4 1.2.3.4\r\n", "no destination-address found"),
        (b"PROXY TCP4 999.2.3.4 5.6.7.8 1 2\r\n", "error converting family '2'"),
        (b"PROXY TCP6 1:2::3::4 ::1 1 2\r\n", "error converting family '10'"),
        (b"PROXY TCP4 " + b"1" * 120 + b"\r\n", "header too long"),
        (v2(1, 0x11, v4_block("1.2.3.4", 1) + bytes(250)), "length too long"),
        (v2(1, 0x31, bytes(216)), "unsupported protocol 31"),
        (v2(1, 0x00, b""), "unsupported protocol 00"),
        (v2(1, 0x12, v4_block("1.2.3.4", 1)), "unsupported protocol 12"),
        (v2(2, 0x11, v4_block("1.2.3.4", 1)), "unsupported command 22"),
        (v2(1, 0x11, b"\x01\x02"), "too short"),
        (v2(1, 0x21, bytes(12)), "too short"),
        (V2_SIGNATURE + b"\x11\x11\x00\x0c" + bytes(12), ""),  # version 1 in a v2 signature
    ],
)
def test_bad_headers(data: bytes, message: str) -> None:
    with pytest.raises(ProxyHeaderError) as caught:
        read(data + REQUEST, 0)
    assert message in str(caught.value)
    if not message:
        assert str(caught.value) == ""


@pytest.mark.parametrize(
    "partial",
    [
        b"PROXY TCP4 1.2.3.4 5.6",  # a v1 line not ended yet
        V2_SIGNATURE[:5],
        V2_SIGNATURE + b"\x21\x11\x00",  # the length not whole yet
        v2(1, 0x11, v4_block("1.2.3.4", 1))[:-3],  # the address block cut short
    ],
)
def test_truncated_headers_wait(partial: bytes) -> None:
    assert HeaderReader().feed(partial) is None


def test_garbage_is_refused_before_fifteen_bytes() -> None:
    with pytest.raises(ProxyHeaderError):
        HeaderReader().feed(b"GET ")
