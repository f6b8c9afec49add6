"""mod_alias's redirects: the directives read as add_redirect_internal reads them
(config/mod_alias.py) and the matching table of translate_name and fixups (mods/redirect.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsgihost.config import Problem, load
from wsgihost.config.mod_alias import AliasSettings, RedirectRule
from wsgihost.config.model import Host, Server
from wsgihost.mods.redirect import (
    RedirectModule,
    escape_path,
    escape_target,
    match_rule,
    segment_match,
)
from wsgihost.pipeline.hooks import Answer, Redirect
from wsgihost.pipeline.state import RequestState


def read(tmp_path: Path, body: str) -> tuple[Server | None, list[Problem]]:
    conf = tmp_path / "site.conf"
    conf.write_text(f"Listen 127.0.0.1:8000\nServerRoot {tmp_path}\n{body}")
    return load(str(conf), {}, {})


def server(tmp_path: Path, body: str) -> Server:
    found, problems = read(tmp_path, body)
    assert found is not None, [str(p) for p in problems]
    return found


def errors(tmp_path: Path, body: str) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in read(tmp_path, body)[1] if p.severity == "error"]


def request(host: Host, uri: str, args: str = "", hostname: str = "www.test") -> RequestState:
    headers = [(b"Host", hostname.encode())] if hostname else []
    return RequestState("GET", uri, args, headers, host)


@pytest.mark.parametrize(
    ("line", "status", "path", "url"),
    [
        ("Redirect /a http://x/b", 302, "/a", "http://x/b"),
        ("Redirect permanent /a http://x/b", 301, "/a", "http://x/b"),
        ("Redirect temp /a /b", 302, "/a", "/b"),
        ("Redirect seeother /a /b", 303, "/a", "/b"),
        ("Redirect 308 /a /b", 308, "/a", "/b"),
        ("Redirect gone /a", 410, "/a", None),
        ("Redirect 404 /a", 404, "/a", None),
        ("RedirectPermanent /a /b", 301, "/a", "/b"),
        ("RedirectTemp /a /b", 302, "/a", "/b"),
        ("RedirectMatch ^/a(.*) /b$1", 302, "^/a(.*)", "/b$1"),
        ("RedirectMatch 301 ^/a(.*) http://x$1", 301, "^/a(.*)", "http://x$1"),
    ],
)
def test_forms_in_a_host(tmp_path: Path, line: str, status: int, path: str, url: str) -> None:
    [rule] = server(tmp_path, line + "\n").main.redirects
    assert (rule.status, rule.path, rule.url) == (status, path, url)
    assert rule.regex == line.startswith("RedirectMatch")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Redirect /only", "URL to redirect to is missing"),
        ("Redirect permanent /a", "URL to redirect to is missing"),
        ("Redirect foo /a /b", "invalid first argument (of three)"),
        ("Redirect /a b", "Redirect to non-URL"),
        ("Redirect gone /a http://x", "Redirect URL not valid for this status"),
        ("Redirect gone", "needs the URL-path"),
        ("Redirect 200 /a", "is not one a redirect can answer"),
        ("RedirectMatch ^/a(  /b", "Regular expression could not be compiled"),
    ],
)
def test_refused_with_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    found = errors(tmp_path, line + "\n")
    assert len(found) == 1 and found[0][0] == 3 and message in found[0][1], found


def test_location_forms(tmp_path: Path) -> None:
    s = server(
        tmp_path,
        "<Location /old>\nRedirect /new\n</Location>\n"
        "<Location /g>\nRedirect gone\n</Location>\n"
        "<Location /p>\nRedirect permanent http://x/\n</Location>\n"
        "<Directory /srv>\nRedirect /a /b\n</Directory>\n",
    )
    here = {sec.pattern: sec.settings.alias for sec in s.main.sections}
    assert here["/old"] == AliasSettings(here=(302, "/new"), here_location=True)
    assert here["/g"] == AliasSettings(here=(410, None), here_location=True)
    assert here["/p"] == AliasSettings(here=(301, "http://x/"), here_location=True)
    srv = here["/srv"]
    assert srv is not None and srv.here is None and srv.redirects[0].path == "/a"


def test_merge_tries_the_deeper_section_first() -> None:
    outer = AliasSettings(redirects=(RedirectRule(302, "/a", "/outer"),), here=(301, "/x"))
    inner = AliasSettings(redirects=(RedirectRule(302, "/a", "/inner"),))
    merged = outer.merge(inner)
    assert [r.url for r in merged.redirects] == ["/inner", "/outer"]
    assert merged.here == (301, "/x")


@pytest.mark.parametrize(
    ("uri", "prefix", "covered"),
    [
        ("/old", "/old", 4),
        ("/old/x", "/old", 4),
        ("/older", "/old", 0),
        ("/old/", "/old/", 5),
        ("/old", "/old/", 0),
        ("//old//x", "/old/", 7),
        ("/x", "/", 1),
        ("/OLD", "/old", 0),
    ],
)
def test_segment_match(uri: str, prefix: str, covered: int) -> None:
    assert segment_match(uri, prefix) == covered


@pytest.mark.parametrize(
    ("rule", "uri", "found"),
    [
        (RedirectRule(302, "/old", "http://x/new"), "/old/a b", "http://x/new/a%20b"),
        (RedirectRule(302, "/old", "http://x/new"), "/old", "http://x/new"),
        (RedirectRule(302, "/old", "http://x/new"), "/older", None),
        (RedirectRule(302, "/old", "/n"), "/old/\r\nSet-Cookie: a", "/n/%0d%0aSet-Cookie:%20a"),
        (RedirectRule(302, "/old", "/n"), "/old/100%?#", "/n/100%25%3f%23"),
        (RedirectRule(410, "/gone", None), "/gone/x", ""),
        (RedirectRule(302, "^/go/(.*)$", "$1", regex=True), "/go/http:/evil", "http:/evil"),
        (RedirectRule(302, "^/u/(.*)", "/v?x=$1", regex=True), "/u/a b", "/v?x=a b"),
        (RedirectRule(302, "^/u/(.*)", "/v/$1#f", regex=True), "/u/a b", "/v/a%20b#f"),
        (RedirectRule(302, "/a(b)?", "/c$1$2", regex=True), "/x/a", "/c"),
        (RedirectRule(302, "/a", r"/c\$1", regex=True), "/a", "/c$1"),
    ],
)
def test_match_table(rule: RedirectRule, uri: str, found: str | None) -> None:
    assert match_rule(rule, uri) == found


def test_escaping() -> None:
    assert escape_path("/a b/ü") == "/a%20b/%fc"
    assert escape_path("/$-_.+!*'(),:;@&=~") == "/$-_.+!*'(),:;@&=~"
    assert escape_target("http://u:pw@h:80/p q?a b#c d") == "http://u:XXXXXXXX@h/p%20q?a b#c d"
    assert escape_target("http://h:8080/") == "http://h:8080/"


def module(s: Server) -> RedirectModule:
    return RedirectModule(s.main)


def test_translate_name(tmp_path: Path) -> None:
    s = server(tmp_path, "Redirect /old /new\nRedirectMatch 301 ^/m/(.*) http://o/$1?k=v\n")
    mod = module(s)
    assert mod.translate_name(request(s.main, "/old/x", "q=1")) == Redirect(
        302, "http://www.test/new/x?q=1"
    )
    assert mod.translate_name(request(s.main, "/m/x", "q=1")) == Redirect(301, "http://o/x?k=v")
    assert mod.translate_name(request(s.main, "/oldies")) is None
    r = request(s.main, "/old", hostname="www.test:8080")
    r.https = True
    assert mod.translate_name(r) == Redirect(302, "https://www.test:8080/new")


def test_vhost_before_main(tmp_path: Path) -> None:
    s = server(
        tmp_path,
        "Redirect /a http://main/\n<VirtualHost *:8000>\nRedirect /a http://vhost/\n</VirtualHost>\n",
    )
    mod = module(s)
    assert mod.translate_name(request(s.vhosts[0], "/a")) == Redirect(302, "http://vhost/")
    assert mod.translate_name(request(s.main, "/a")) == Redirect(302, "http://main/")


def test_hostile_targets(tmp_path: Path) -> None:
    s = server(tmp_path, "RedirectMatch ^/go/(.*)$ $1\nRedirectMatch ^/q/(.*)$ http://x/?u=$1\n")
    mod = module(s)
    # Not a URL nor a path: Apache's 500 ("not a valid absoluteURI or abs_path").
    assert mod.translate_name(request(s.main, "/go/evil.example")) == Answer(500)
    # A CR/LF in a query would split the header: never sent.
    assert mod.translate_name(request(s.main, "/q/a\r\nX: y")) == Answer(500)
    assert mod.translate_name(request(s.main, "/go/https://evil.example/")) == Redirect(
        302, "https://evil.example/"
    )


def test_gone_is_an_answer(tmp_path: Path) -> None:
    s = server(tmp_path, "Redirect gone /g\n")
    assert module(s).translate_name(request(s.main, "/g/x")) == Answer(410)


def test_location_expression(tmp_path: Path) -> None:
    s = server(tmp_path, '<Location /e>\nRedirect "http://x.test%{REQUEST_URI}"\n</Location>\n')
    [section] = s.main.sections
    r = request(s.main, "/e/a b", "q=1")
    r.settings = section.settings
    assert module(s).map_to_storage(r) == Redirect(302, "http://x.test/e/a%20b?q=1")
    found = errors(tmp_path, '<Location /e>\nRedirect "http://x.test%{REQUEST_URI"\n</Location>\n')
    assert found and found[0][0] == 4 and "Cannot parse redirect expression" in found[0][1]


def test_no_host_header_takes_the_server_name(tmp_path: Path) -> None:
    s = server(
        tmp_path,
        "ServerName main.test\n<VirtualHost *:8000>\nRedirect /a /b\n</VirtualHost>\n",
    )
    r = request(s.vhosts[0], "/a", hostname="")
    assert module(s).translate_name(r) == Redirect(302, "http://main.test/b")
