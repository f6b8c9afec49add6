"""mod_remoteip: its directives (config/mod_remoteip.py), the X-Forwarded-For walk and
the request hook (mods/remoteip.py), and which connections need a PROXY header."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsgihost.config import Problem, load
from wsgihost.config.model import Server
from wsgihost.mods.remoteip import PROXIED_NOTE, Proxies, RemoteIPModule, Walked, walk
from wsgihost.pipeline.state import RequestState


def read(tmp_path: Path, body: str) -> tuple[Server | None, list[Problem]]:
    conf = tmp_path / "site.conf"
    conf.write_text(f"Listen 127.0.0.1:8000\nServerRoot {tmp_path}\n{body}")
    return load(str(conf), {}, {})


def server(tmp_path: Path, body: str) -> Server:
    found, problems = read(tmp_path, body)
    assert found is not None, [str(p) for p in problems]
    return found


TRUSTED = Proxies((("10.0.0.0/8", False),))
INTERNAL = Proxies((("10.0.0.0/8", True),))
ANYONE = Proxies(None)
MIXED = Proxies((("10.0.0.0/8", True), ("198.51.100.0/24", False)))


@pytest.mark.parametrize(
    ("value", "peer", "proxies", "found"),
    [
        # No proxies listed: every peer is a trusted external one.
        ("203.0.113.5", "127.0.0.1", ANYONE, Walked("203.0.113.5", None, ("127.0.0.1",))),
        (
            "198.51.100.1, 203.0.113.5",
            "127.0.0.1",
            ANYONE,
            Walked("198.51.100.1", None, ("127.0.0.1", "203.0.113.5")),
        ),
        # An external proxy may not present a private address: it stays in the header.
        ("192.168.1.9", "127.0.0.1", ANYONE, None),
        (
            "192.168.1.9, 203.0.113.5",
            "127.0.0.1",
            ANYONE,
            Walked("203.0.113.5", "192.168.1.9", ("127.0.0.1",)),
        ),
        # A peer that is no listed proxy changes nothing (a spoofed header).
        ("203.0.113.5", "198.51.100.77", TRUSTED, None),
        ("203.0.113.5", "10.1.2.3", TRUSTED, Walked("203.0.113.5", None, ("10.1.2.3",))),
        # The walk stops at the first address that is no proxy of ours.
        (
            "1.1.1.1, 203.0.113.5, 198.51.100.9",
            "10.1.2.3",
            MIXED,
            Walked("203.0.113.5", "1.1.1.1", ("198.51.100.9",)),
        ),
        # A trusted external proxy may not give a private address.
        ("203.0.113.5, 10.9.9.9", "10.1.2.3", TRUSTED, None),
        # Internal proxies may present private addresses and are not listed.
        ("192.168.1.9", "10.1.2.3", INTERNAL, Walked("192.168.1.9", None, ())),
        (
            "garbage, 203.0.113.5",
            "127.0.0.1",
            ANYONE,
            Walked("203.0.113.5", "garbage", ("127.0.0.1",)),
        ),
        ("203.0.113.5 ,  ", "127.0.0.1", ANYONE, None),
        ("::ffff:203.0.113.5", "127.0.0.1", ANYONE, Walked("203.0.113.5", None, ("127.0.0.1",))),
        ("2001:db8::1", "127.0.0.1", ANYONE, Walked("2001:db8::1", None, ("127.0.0.1",))),
        ("fe80::1", "127.0.0.1", ANYONE, None),
    ],
)
def test_walk(value: str, peer: str, proxies: Proxies, found: Walked | None) -> None:
    assert walk(value, peer, proxies) == found


def test_directives(tmp_path: Path) -> None:
    (tmp_path / "list").write_text("# ours\n10.0.0.0/8 192.168.1.1  # one\n172.16\n")
    s = server(
        tmp_path,
        "RemoteIPHeader X-Forwarded-For\nRemoteIPProxiesHeader X-Forwarded-By\n"
        "RemoteIPTrustedProxy 198.51.100.0/255.255.255.0\nRemoteIPInternalProxyList list\n"
        "<VirtualHost *:8000>\nRemoteIPHeader X-Real-IP\n</VirtualHost>\n",
    )
    main, vhost = s.main.remoteip, s.vhosts[0].remoteip
    assert main is not None and vhost is not None
    assert main.proxies == (
        ("198.51.100.0/24", False),
        ("10.0.0.0/8", True),
        ("192.168.1.1/32", True),
        ("172.16.0.0/16", True),
    )
    assert (vhost.header, vhost.proxies_header, vhost.proxies) == (
        "X-Real-IP",
        "X-Forwarded-By",
        main.proxies,
    )


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("RemoteIPTrustedProxy 10.0.0.0/33", 3, "Error parsing IP 10.0.0.0/33"),
        ("RemoteIPTrustedProxy proxy.example", 3, "does not look host names up"),
        ("RemoteIPTrustedProxyList missing", 3, "Could not open file"),
        ("RemoteIPProxyProtocol Maybe", 3, "expected On or Off"),
        ("RemoteIPProxyProtocolExceptions 10.0.0.x", 3, "appears to be invalid"),
        ("RemoteIPHeader Bad:Name", 3, "not a header name"),
    ],
)
def test_refused(tmp_path: Path, body: str, line: int, message: str) -> None:
    problems = [p for p in read(tmp_path, body + "\n")[1] if p.severity == "error"]
    assert [p.line for p in problems] == [line] and message in problems[0].message


def test_bad_entry_in_a_list_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "list").write_text("10.0.0.1\n10.0.0.300\n")
    problems = [p for p in read(tmp_path, "RemoteIPTrustedProxyList list\n")[1]]
    assert "at line 2 of" in problems[0].message and problems[0].line == 3


def test_proxy_protocol_addresses(tmp_path: Path) -> None:
    s = server(
        tmp_path,
        "Listen 127.0.0.2:8001\nRemoteIPProxyProtocol On\n"
        "RemoteIPProxyProtocolExceptions 127.0.0.9\n"
        "<VirtualHost 127.0.0.2:8001>\nRemoteIPProxyProtocol Off\n</VirtualHost>\n",
    )
    pp = s.proxy_protocol
    assert pp is not None
    assert pp.expects("127.0.0.1", 8000, "127.0.0.1")
    assert not pp.expects("127.0.0.2", 8001, "127.0.0.1")  # switched off for that vhost
    assert not pp.expects("127.0.0.1", 8000, "127.0.0.9")  # an exception
    only = server(
        tmp_path, "<VirtualHost 127.0.0.1:8000>\nRemoteIPProxyProtocol On\n</VirtualHost>\n"
    )
    assert only.proxy_protocol is not None
    assert only.proxy_protocol.expects("127.0.0.1", 8000, "10.0.0.1")
    assert not only.proxy_protocol.expects("127.0.0.1", 9000, "10.0.0.1")


def test_request_hook(tmp_path: Path) -> None:
    s = server(
        tmp_path,
        "RemoteIPHeader X-Forwarded-For\nRemoteIPProxiesHeader X-Forwarded-By\n"
        "RemoteIPTrustedProxy 127.0.0.1\n",
    )
    headers = [(b"X-Forwarded-For", b"192.168.0.1, 203.0.113.5"), (b"Host", b"x")]
    r = RequestState("GET", "/", "", headers, s.main, "127.0.0.1", 5000)
    RemoteIPModule().post_read_request(r)
    assert (r.client_addr, r.client_port) == ("203.0.113.5", 5000)
    assert r.header("X-Forwarded-For") == "192.168.0.1"
    assert r.header("X-Forwarded-By") == "127.0.0.1"
    # A connection whose address came from a PROXY header: the header is not read.
    r = RequestState("GET", "/", "", [(b"X-Forwarded-For", b"203.0.113.5")], s.main, "127.0.0.1")
    r.notes[PROXIED_NOTE] = "1"
    RemoteIPModule().post_read_request(r)
    assert r.client_addr == "127.0.0.1" and r.header("X-Forwarded-For") == "203.0.113.5"
