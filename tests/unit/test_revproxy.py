"""mod_proxy's pure parts: mappings, re-encoding, reverse maps, the directives."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsgihost.config import load
from wsgihost.config.mod_proxy import ProxyRule, split_url
from wsgihost.config.model import Server
from wsgihost.pipeline.state import RequestState
from wsgihost.revproxy import mapping
from wsgihost.revproxy.backend import BadResponse, parse_head
from wsgihost.revproxy.module import ProxyModule
from wsgihost.revproxy.workers import Workers
from wsgihost.routing import ProxyTarget, Router


@pytest.mark.parametrize(
    ("uri", "fake", "covered"),
    [
        ("/p/a", "/p/", 3),
        ("/p", "/p/", 0),  # the slash is needed
        ("/pp/x", "/p", 0),  # whole segments only
        ("/p/x", "/p", 2),
        ("//p//a", "/p/", 5),  # runs of slashes match runs
        ("/", "/", 1),
    ],
)
def test_prefix_matching(uri: str, fake: str, covered: int) -> None:
    assert mapping.alias_match(uri, fake) == covered


def test_pass_target_reencodes_the_rest_and_keeps_the_query() -> None:
    rule = ProxyRule("/p/", "http://127.0.0.1:9/in/")
    url = mapping.pass_target(rule, "/p/a b/é?/%", "x=1", "/p/a%20b")
    assert url == "http://127.0.0.1:9/in/a%20b/%E9%3F/%25?x=1"
    assert mapping.pass_target(ProxyRule("/p/", "!"), "/p/x", "", "/p/x") == mapping.NOT_PROXIED
    assert mapping.pass_target(rule, "/q/x", "", "/q/x") is None
    noquery = ProxyRule("/p/", "http://h/", noquery=True)
    assert mapping.pass_target(noquery, "/p/x", "a=1", "/p/x") == "http://h/x"


def test_pass_match_substitutes_groups_or_appends_the_path() -> None:
    rule = ProxyRule(r"^/m/([a-z]+)/(\d+)$", "http://h:8/x/$2/$1", regex=True)
    assert mapping.pass_target(rule, "/m/ab/12", "", "") == "http://h:8/x/12/ab"
    whole = ProxyRule(r"^/w/", "http://h:8", regex=True)
    assert mapping.pass_target(whole, "/w/a", "q", "") == "http://h:8/w/a?q"


def test_reverse_location() -> None:
    reverse = (("/p/", "http://127.0.0.1:9/in/"),)
    base = "http://proxy.test:8080"
    found = mapping.reverse_location("http://127.0.0.1:9/in/x?y", reverse, base)
    assert found == "http://proxy.test:8080/p/x?y"
    assert mapping.reverse_location("http://other/in/x", reverse, base) == "http://other/in/x"


def test_reverse_cookie_replaces_whole_attribute_values() -> None:
    value = "a=1; Domain=backend.internal; Path=/inner/x; HttpOnly"
    found = mapping.reverse_cookie(
        value, (("backend.internal", "public.test"),), (("/inner", "/p"),)
    )
    # As Apache does: the whole path is replaced, not just the prefix.
    assert found == "a=1; Domain=public.test; Path=/p; HttpOnly"
    assert mapping.reverse_cookie("d=4", (("x", "y"),), ()) == "d=4"


def test_split_url() -> None:
    assert split_url("http://[::1]:8080/x") == ("http", "::1", 8080, "/x")
    assert split_url("ws://Host/") == ("ws", "host", 80, "/")
    assert split_url("http://user@host/") is None
    assert split_url("http://host:99999/") is None


def test_response_head_parsing() -> None:
    head = parse_head(b"HTTP/1.1 302 Found\r\nLocation: /x\r\nX-A: 1\r\n  2")
    assert (head.code, head.reason, head.get("x-a")) == (302, "Found", "1 2")
    with pytest.raises(BadResponse):
        parse_head(b"HTTP/1.1 20 OK")
    with pytest.raises(BadResponse):
        parse_head(b"HTTP/1.1 200 OK\r\nno colon here")


def _server(tmp_path: Path, text: str) -> tuple[Server | None, list[str]]:
    conf = tmp_path / "site.conf"
    conf.write_text("Listen 127.0.0.1:8080\nServerName main.test\n" + text)
    server, problems = load(str(conf), {}, {})
    return server, [str(p) for p in problems]


def test_directives_refuse_forward_proxying_and_bad_lines(tmp_path: Path) -> None:
    _, problems = _server(
        tmp_path,
        "ProxyRequests On\nProxyPass /a\nProxyPass /b ftp://h/\nProxyPass /c http://h/ bogus=1\n"
        "<Location /l>\nProxyPass /x http://h/\n</Location>\n",
    )
    text = "\n".join(problems)
    assert "site.conf:3: ProxyRequests: forward proxying is refused" in text
    assert "site.conf:4: ProxyPass: ProxyPass needs a path" in text
    assert "site.conf:5: ProxyPass: the scheme of ftp://h/ is not provided" in text
    assert "site.conf:6: ProxyPass: ProxyPass unknown Worker parameter: bogus" in text
    assert (
        "site.conf:8: ProxyPass: ProxyPass can not have a path when defined in a location" in text
    )


def test_a_client_can_never_choose_the_backend_address(tmp_path: Path) -> None:
    _, problems = _server(
        tmp_path,
        "ProxyPassMatch ^/(.*)$ http://$1\nProxyPassMatch ^/b/(.*)$ http://h:$1/\n"
        "ProxyPassMatch ^/c/(.*)$ http://h:8/$1\n",
    )
    text = "\n".join(problems)
    assert "site.conf:3: ProxyPassMatch: http://$1: a $N in the backend's address" in text
    assert "site.conf:4: ProxyPassMatch: http://h:$1/: a $N" in text
    assert "site.conf:5:" not in text  # in the path only: fine


def test_first_match_wins_main_server_first_and_location_before_all(tmp_path: Path) -> None:
    server, problems = _server(
        tmp_path,
        "ProxyPass /a/x !\nProxyPass /a/ http://127.0.0.1:9/main/\n"
        "<VirtualHost *:8080>\nServerName v.test\nProxyPass /a/ http://127.0.0.1:9/vhost/\n"
        "<Location /a/loc>\nProxyPass http://127.0.0.1:9/loc\n</Location>\n"
        "<Proxy http://127.0.0.1:9/main/secret>\nRequire all denied\n</Proxy>\n"
        "</VirtualHost>\n",
    )
    assert problems == [] and server is not None
    module = ProxyModule(server)
    vhost = server.vhosts[0]

    def target(uri: str) -> str | None:
        r = RequestState("GET", uri, "", [], vhost)
        module.translate_name(r)
        return r.filename

    assert target("/a/b") == "proxy:http://127.0.0.1:9/main/b"
    assert target("/a/x/y") is None  # the exclusion comes first
    assert target("/a/loc/z") == "proxy:http://127.0.0.1:9/loc/z"
    # <Proxy> sections apply to what goes to that backend URL, before <Location>.
    router = Router(server)
    found = router.route_url(
        "127.0.0.1", 8080, b"v.test", "/a/secret", "proxy:http://127.0.0.1:9/main/secret"
    )
    assert isinstance(found, ProxyTarget) and found.settings.require == "denied"
    open_one = router.route_url(
        "127.0.0.1", 8080, b"v.test", "/a/b", "proxy:http://127.0.0.1:9/main/b"
    )
    assert isinstance(open_one, ProxyTarget) and open_one.settings.require != "denied"
    # Workers come from the configuration only; a URL none names has none.
    workers = Workers(server)
    assert workers.find("http://127.0.0.1:9/main/b") is not None
    assert workers.find("http://169.254.169.254/latest") is None


def test_mappings_are_not_for_directories(tmp_path: Path) -> None:
    _, problems = _server(
        tmp_path,
        f"<Directory {tmp_path}>\nProxyPass /b http://h/\nProxyPassReverse /a http://h/\n"
        "</Directory>\n",
    )
    text = "\n".join(problems)
    assert "site.conf:4: ProxyPass: ProxyPass is allowed in the server" in text
    assert "site.conf:5: ProxyPassReverse: ProxyPassReverse is allowed in the server" in text
