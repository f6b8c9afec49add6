"""WSGITrustedProxyHeaders/WSGITrustedProxies and WSGIMapHEADToGET as the environ shows them.

mod_wsgi 4.9's wsgi_process_proxy_headers, case by case: what a trusted
proxy's headers change, what an untrusted peer's lose.
"""

from __future__ import annotations

from typing import Any

import pytest

from wsgihost.wsgi import proxyheaders
from wsgihost.wsgi.environ import Mount, RequestHead, build_environ


def environ_for(
    headers: list[tuple[str, str]],
    trusted: tuple[str, ...] | None,
    proxies: tuple[str, ...] | None = None,
    peer: str = "127.0.0.1",
    method: str = "GET",
    map_head: str | None = None,
) -> dict[str, Any]:
    head = RequestHead(
        method,
        "/app/x",
        b"/app/x",
        "",
        "HTTP/1.1",
        [(b"Host", b"site.test:8080")] + [(n.encode(), v.encode()) for n, v in headers],
        peer,
        40000,
        "127.0.0.1",
        8080,
    )
    names = None
    if trusted is not None:
        names = tuple(proxyheaders.header_env_name(n) or "" for n in trusted)
    mount = Mount(
        "/app",
        "/srv/app.wsgi",
        trusted_proxy_headers=names,
        trusted_proxies=proxies,
        map_head_to_get=map_head,
    )
    return build_environ(head, mount, None, None, None)


def test_nothing_trusted_leaves_every_header_and_the_peer() -> None:
    env = environ_for([("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-Proto", "https")], None)
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["HTTP_X_FORWARDED_FOR"] == "1.2.3.4"
    assert env["wsgi.url_scheme"] == "http"


def test_forwarded_for_without_proxies_takes_the_first_address_and_keeps_the_header() -> None:
    env = environ_for(
        [("X-Forwarded-For", " 1.2.3.4 , 5.6.7.8"), ("X-Real-IP", "9.9.9.9")],
        ("X-Forwarded-For",),
    )
    assert env["REMOTE_ADDR"] == "1.2.3.4"
    assert env["HTTP_X_FORWARDED_FOR"] == " 1.2.3.4 , 5.6.7.8"
    # X-Real-IP says the same kind of thing and was not the one believed.
    assert "HTTP_X_REAL_IP" not in env


def test_a_header_not_listed_is_left_alone() -> None:
    env = environ_for([("X-Real-IP", "9.9.9.9"), ("X-Forwarded-Host", "h")], ("X-Forwarded-Proto",))
    assert env["HTTP_X_REAL_IP"] == "9.9.9.9"
    assert env["HTTP_X_FORWARDED_HOST"] == "h"
    assert env["REMOTE_ADDR"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("value", "client", "kept"),
    [
        ("1.1.1.1, 10.0.0.5, 10.0.0.6", "1.1.1.1", "1.1.1.1, 10.0.0.5, 10.0.0.6"),
        ("9.9.9.9, 1.1.1.1, 10.0.0.5", "1.1.1.1", "1.1.1.1, 10.0.0.5"),
        ("1.1.1.1, 2.2.2.2", "2.2.2.2", "2.2.2.2"),
        ("10.0.0.1, 10.0.0.2", "10.0.0.1", "10.0.0.1, 10.0.0.2"),
        ("bogus, 10.0.0.2", "bogus", "bogus, 10.0.0.2"),
    ],
)
def test_forwarded_for_with_proxies_walks_back_over_the_trusted_ones(
    value: str, client: str, kept: str
) -> None:
    env = environ_for(
        [("X-Forwarded-For", value)],
        ("X-Forwarded-For",),
        proxies=("10.0.0.0/8", "127.0.0.1/32"),
    )
    assert env["REMOTE_ADDR"] == client
    assert env["HTTP_X_FORWARDED_FOR"] == kept


def test_an_untrusted_peer_loses_every_kind_listed_and_changes_nothing() -> None:
    env = environ_for(
        [
            ("X-Forwarded-For", "1.2.3.4"),
            ("X-Client-IP", "1.2.3.5"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-SSL", "on"),
            ("X-Forwarded-Host", "evil.test"),
            ("X-Script-Name", "/evil"),
            ("X-Forwarded-Port", "443"),
        ],
        ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Script-Name"),
        proxies=("10.0.0.0/8",),
    )
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["wsgi.url_scheme"] == "http"
    assert env["HTTP_HOST"] == "site.test:8080"
    assert env["SCRIPT_NAME"] == "/app"
    for gone in (
        "HTTP_X_FORWARDED_FOR",
        "HTTP_X_CLIENT_IP",
        "HTTP_X_FORWARDED_PROTO",
        "HTTP_X_FORWARDED_SSL",
        "HTTP_X_FORWARDED_HOST",
        "HTTP_X_SCRIPT_NAME",
    ):
        assert gone not in env, gone
    # X-Forwarded-Port was not listed: it stays, and SERVER_PORT with it.
    assert env["HTTP_X_FORWARDED_PORT"] == "443"
    assert env["SERVER_PORT"] == "8080"


def test_a_trusted_peer_sets_scheme_host_name_port_and_mount_point() -> None:
    env = environ_for(
        [
            ("X-Forwarded-Proto", "HTTPS"),
            ("X-Forwarded-SSL", "off"),
            ("X-Forwarded-Host", "www.example.com:8443"),
            ("X-Forwarded-Server", "www.example.com"),
            ("X-Forwarded-Port", "8443"),
            ("X-Script-Name", "/mounted"),
        ],
        (
            "X-Forwarded-Proto",
            "X-Forwarded-Host",
            "X-Forwarded-Server",
            "X-Forwarded-Port",
            "X-Script-Name",
        ),
        proxies=("127.0.0.1",),
    )
    assert env["wsgi.url_scheme"] == "https"
    assert "HTTP_X_FORWARDED_SSL" not in env  # same kind as the Proto believed
    assert env["HTTP_X_FORWARDED_PROTO"] == "HTTPS"
    assert env["HTTP_HOST"] == "www.example.com:8443"
    assert env["SERVER_NAME"] == "www.example.com"
    assert env["SERVER_PORT"] == "8443"
    assert env["SCRIPT_NAME"] == "/mounted"
    assert env["mod_wsgi.mount_point"] == "/mounted"
    # What the request itself said stays where mod_wsgi keeps it.
    assert env["mod_wsgi.script_name"] == "/app"
    assert env["mod_wsgi.application_group"] == "site.test:8080|/app"


@pytest.mark.parametrize(
    ("value", "scheme"), [("On", "https"), ("true", "https"), ("1", "https"), ("0", "http")]
)
def test_ssl_flags(value: str, scheme: str) -> None:
    env = environ_for([("X-Forwarded-SSL", value)], ("X-Forwarded-SSL",))
    assert env["wsgi.url_scheme"] == scheme


def test_the_last_listed_header_present_wins() -> None:
    env = environ_for(
        [("X-Forwarded-For", "1.1.1.1"), ("X-Real-IP", "2.2.2.2")],
        ("X-Forwarded-For", "X-Real-IP"),
    )
    assert env["REMOTE_ADDR"] == "2.2.2.2"
    assert env["HTTP_X_REAL_IP"] == "2.2.2.2"
    assert "HTTP_X_FORWARDED_FOR" not in env


def test_ipv6_proxies_and_mapped_peers() -> None:
    env = environ_for([("X-Real-IP", "2001:db8::1")], ("X-Real-IP",), proxies=("::1",), peer="::1")
    assert env["REMOTE_ADDR"] == "2001:db8::1"
    env = environ_for(
        [("X-Real-IP", "1.2.3.4")],
        ("X-Real-IP",),
        proxies=("127.0.0.0/8",),
        peer="::ffff:127.0.0.2",
    )
    assert env["REMOTE_ADDR"] == "1.2.3.4"


@pytest.mark.parametrize(("setting", "seen"), [("on", "GET"), ("auto", "HEAD"), (None, "HEAD")])
def test_head_mapping(setting: str | None, seen: str) -> None:
    assert environ_for([], None, method="HEAD", map_head=setting)["REQUEST_METHOD"] == seen
    assert environ_for([], None, method="POST", map_head=setting)["REQUEST_METHOD"] == "POST"


def test_header_env_name() -> None:
    assert proxyheaders.header_env_name("x-forwarded-for") == "HTTP_X_FORWARDED_FOR"
    assert proxyheaders.header_env_name("X_Forwarded_For") is None
    assert proxyheaders.header_env_name("") is None
