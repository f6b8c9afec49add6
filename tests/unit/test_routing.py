"""wsgihost.routing: path normalisation, virtual hosts, aliases on segment boundaries."""

from __future__ import annotations

from typing import Any

import pytest

from wsgihost.config.model import Address, Alias, DirSettings, Host, Section, Server
from wsgihost.routing import (
    FileTarget,
    Refusal,
    Router,
    WSGITarget,
    host_matches,
    host_name,
    normalize_path,
    prefix_match,
)


def script(url: str, path: str, **kwargs: Any) -> Alias:
    return Alias(url, path, wsgi=True, **kwargs)


def router(*aliases: Alias, vhosts: tuple[Host, ...] = (), **main: Any) -> Router:
    return Router(Server(listeners=(), main=Host(aliases=aliases, **main), vhosts=vhosts))


def route(r: Router, path: bytes, host: bytes | None = b"example.com", port: int = 80) -> Any:
    return r.route("127.0.0.1", port, host, path)


def wsgi(r: Router, path: bytes, **kwargs: Any) -> tuple[str, str, str]:
    target = route(r, path, **kwargs)
    assert isinstance(target, WSGITarget), target
    return target.script, target.script_name, target.path_info


# -- normalize_path ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, path",
    [
        (b"/", "/"),
        (b"/a/b", "/a/b"),
        (b"/a/b/", "/a/b/"),
        (b"//a///b", "/a/b"),
        (b"/a/./b", "/a/b"),
        (b"/a/b/..", "/a/"),
        (b"/a/b/.", "/a/b/"),
        (b"/a/../b", "/b"),
        (b"/a/%2e%2e/b", "/b"),
        (b"/a%20b", "/a b"),
        (b"/caf%C3%A9", "/caf\u00c3\u00a9"),
        (b"/..a/b..", "/..a/b.."),
    ],
)
def test_normalize_path(raw: bytes, path: str) -> None:
    assert normalize_path(raw) == path


@pytest.mark.parametrize(
    "raw",
    [b"/..", b"/a/../..", b"/%2e%2e/etc", b"/a%2Fb", b"/a%2fb", b"/a%00", b"/a\x00", b"a/b", b""],
)
def test_normalize_path_refuses(raw: bytes) -> None:
    assert normalize_path(raw) is None


# -- prefix_match -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, prefix, matched",
    [
        ("/app", "/app", 4),
        ("/app/", "/app", 4),
        ("/app/x", "/app", 4),
        ("/apple", "/app", 0),
        ("/ap", "/app", 0),
        ("/app/x", "/app/", 5),
        ("/app", "/app/", 0),
        ("/anything", "/", 1),
        ("/", "/", 1),
    ],
)
def test_prefix_match_is_on_segment_boundaries(url: str, prefix: str, matched: int) -> None:
    assert prefix_match(url, prefix) == matched


# -- host names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, name",
    [
        (None, ""),
        (b"", ""),
        (b"Example.COM", "example.com"),
        (b"example.com:8080", "example.com"),
        (b"example.com.", "example.com"),
        (b"example.com.:80", "example.com"),
        (b"[::1]:8080", "::1"),
        (b"[2001:DB8::1]", "2001:db8::1"),
    ],
)
def test_host_name(header: bytes | None, name: str) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize(
    "pattern, host, matches",
    [
        ("example.com", "example.com", True),
        ("Example.com", "example.com", True),
        ("example.com", "www.example.com", False),
        ("*.example.com", "www.example.com", True),
        ("*.example.com", "example.com", False),
        ("www?.example.com", "www1.example.com", True),
    ],
)
def test_host_matches(pattern: str, host: str, matches: bool) -> None:
    assert host_matches(pattern, host) is matches


# -- script aliases -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, expected",
    [
        (b"/app", ("/srv/app.wsgi", "/app", "")),
        (b"/app/", ("/srv/app.wsgi", "/app", "/")),
        (b"/app/x/y", ("/srv/app.wsgi", "/app", "/x/y")),
        (b"/apple", ("/srv/root.wsgi", "", "/apple")),
        (b"/", ("/srv/root.wsgi", "", "/")),
    ],
)
def test_a_script_alias_matches_whole_segments(path: bytes, expected: tuple[str, ...]) -> None:
    r = router(script("/app", "/srv/app.wsgi"), script("/", "/srv/root.wsgi"))
    assert wsgi(r, path) == expected


def test_a_script_alias_with_a_trailing_slash_needs_the_slash() -> None:
    r = router(script("/app/", "/srv/app.wsgi"))
    assert wsgi(r, b"/app/x") == ("/srv/app.wsgi", "/app", "/x")
    assert isinstance(route(r, b"/app"), Refusal)


def test_the_first_matching_alias_in_configuration_order_wins() -> None:
    # Apache's rule (mod_alias, mod_wsgi): list the most specific alias first.
    specific_first = router(script("/app/admin", "/srv/admin.wsgi"), script("/app", "/srv/a.wsgi"))
    assert wsgi(specific_first, b"/app/admin/u") == ("/srv/admin.wsgi", "/app/admin", "/u")
    assert wsgi(specific_first, b"/app/administrator") == ("/srv/a.wsgi", "/app", "/administrator")
    general_first = router(script("/app", "/srv/a.wsgi"), script("/app/admin", "/srv/admin.wsgi"))
    assert wsgi(general_first, b"/app/admin/u") == ("/srv/a.wsgi", "/app", "/admin/u")


def test_path_info_is_the_decoded_normalised_remainder() -> None:
    r = router(script("/app", "/srv/app.wsgi"))
    assert wsgi(r, b"/app//a%20b/./c/../d") == ("/srv/app.wsgi", "/app", "/a b/d")
    assert wsgi(r, b"/ap%70/x") == ("/srv/app.wsgi", "/app", "/x")


def test_script_alias_match_substitutes_groups() -> None:
    r = router(script(r"^/svc/(\w+)", "/srv/$1.wsgi", regex=True))
    assert wsgi(r, b"/svc/billing/invoices/7") == (
        "/srv/billing.wsgi",
        "/svc/billing",
        "/invoices/7",
    )
    assert wsgi(r, b"/svc/billing") == ("/srv/billing.wsgi", "/svc/billing", "")


def test_script_alias_match_ending_in_a_slash_keeps_it_in_path_info() -> None:
    r = router(script(r"^/svc/(\w+)/", "/srv/$1.wsgi", regex=True))
    assert wsgi(r, b"/svc/billing/x") == ("/srv/billing.wsgi", "/svc/billing", "/x")


def test_a_reference_to_a_missing_group_does_not_fail_each_request() -> None:
    server = Server(
        listeners=(), main=Host(aliases=(script(r"^/svc/(\w+)", "/srv/$1$2.wsgi", regex=True),))
    )
    try:
        r = Router(server)
    except ValueError:
        return  # refused when the configuration is compiled: also fine
    assert wsgi(r, b"/svc/a/b") == ("/srv/a.wsgi", "/svc/a", "/b")


def test_a_script_alias_line_s_options_win_over_sections() -> None:
    over = DirSettings(process_group="daemon", pass_authorization=True)
    section = Section("location", "/app", False, DirSettings(process_group="other"))
    r = router(script("/app", "/srv/app.wsgi", settings=over), sections=(section,))
    target = route(r, b"/app/x")
    assert target.settings.process_group == "daemon"
    assert target.settings.pass_authorization is True
    assert target.settings.callable_object == "application"  # the default


def test_a_location_section_applies_on_segment_boundaries() -> None:
    section = Section("location", "/app", False, DirSettings(process_group="g"))
    r = router(script("/", "/srv/root.wsgi"), sections=(section,))
    assert route(r, b"/app/x").settings.process_group == "g"
    assert route(r, b"/apple").settings.process_group == ""


# -- files and refusals -----------------------------------------------------------------


def test_an_alias_comes_before_script_aliases() -> None:
    r = router(script("/", "/srv/root.wsgi"), Alias("/static", "/srv/static"))
    target = route(r, b"/static/css/site.css")
    assert isinstance(target, FileTarget)
    assert target.path == "/srv/static/css/site.css"
    assert target.root == "/srv/static"
    assert isinstance(route(r, b"/staticky"), WSGITarget)


def test_document_root_serves_what_no_alias_matches() -> None:
    r = router(script("/app", "/srv/app.wsgi"), document_root="/var/www")
    target = route(r, b"/index.html")
    assert isinstance(target, FileTarget)
    assert target.path == "/var/www/index.html"
    assert target.root == "/var/www"
    assert target.url_path == "/index.html"


@pytest.mark.parametrize(
    "path, status",
    [
        (b"/../etc/passwd", 400),
        (b"/a/%2e%2e/%2e%2e/x", 400),
        (b"/a%2Fb", 404),
        (b"/x%00", 404),
        (b"/a%ZZ", 400),
        (b"/a%2", 400),
    ],
)
def test_bad_paths_are_refused(path: bytes, status: int) -> None:
    target = route(router(script("/", "/srv/root.wsgi")), path)
    assert isinstance(target, Refusal)
    assert target.status == status


def test_nothing_configured_for_a_url_is_a_404() -> None:
    target = route(router(script("/app", "/srv/app.wsgi")), b"/other")
    assert isinstance(target, Refusal)
    assert target.status == 404


# -- virtual hosts -------------------------------------------------------------------------


def vhost(name: str, *aliases: Alias, addr: str = "*", port: int | None = 80, **kw: Any) -> Host:
    return Host(addresses=(Address(addr, port),), server_name=name, aliases=aliases, **kw)


VHOSTS = (
    vhost("one.example", script("/", "/srv/one.wsgi")),
    vhost("two.example", script("/", "/srv/two.wsgi"), server_aliases=("*.two.example",)),
)


@pytest.mark.parametrize(
    "host, script_path",
    [
        (b"one.example", "/srv/one.wsgi"),
        (b"two.example", "/srv/two.wsgi"),
        (b"TWO.example:80", "/srv/two.wsgi"),
        (b"two.example.", "/srv/two.wsgi"),
        (b"www.two.example", "/srv/two.wsgi"),
        (b"unknown.example", "/srv/one.wsgi"),
        (None, "/srv/one.wsgi"),
    ],
)
def test_name_based_virtual_hosts(host: bytes | None, script_path: str) -> None:
    r = router(script("/", "/srv/main.wsgi"), vhosts=VHOSTS)
    assert wsgi(r, b"/x", host=host)[0] == script_path


def test_a_request_no_vhost_address_matches_goes_to_the_main_server() -> None:
    r = router(script("/", "/srv/main.wsgi"), vhosts=VHOSTS)
    assert wsgi(r, b"/x", host=b"one.example", port=8080)[0] == "/srv/main.wsgi"


def test_an_exact_address_beats_a_wildcard() -> None:
    exact = vhost("exact.example", script("/", "/srv/exact.wsgi"), addr="127.0.0.1")
    r = router(vhosts=(*VHOSTS, exact))
    assert wsgi(r, b"/", host=b"one.example")[0] == "/srv/exact.wsgi"
    assert r.route("::ffff:127.0.0.1", 80, b"x", b"/").script == "/srv/exact.wsgi"
    assert r.route("10.0.0.1", 80, b"one.example", b"/").script == "/srv/one.wsgi"


def test_a_vhost_s_aliases_come_before_the_main_server_s() -> None:
    v = vhost("v.example", script("/app", "/srv/vhost-app.wsgi"))
    r = router(script("/app", "/srv/main-app.wsgi"), script("/main", "/srv/m.wsgi"), vhosts=(v,))
    assert wsgi(r, b"/app", host=b"v.example")[0] == "/srv/vhost-app.wsgi"
    # and a vhost inherits the main server's aliases it does not override
    assert wsgi(r, b"/main", host=b"v.example")[0] == "/srv/m.wsgi"
