"""mod_wsgi.application_group from the configuration: routing's keys and the sets they make."""

from __future__ import annotations

from wsgihost.config.model import Address, Alias, DaemonGroup, DirSettings, Host, Listener, Server
from wsgihost.routing import Router, WSGITarget, application_group_key, set_key


def test_keys_are_spelled_as_mod_wsgi_spells_them() -> None:
    assert application_group_key(None, "example.com", 8001, "/app") == "example.com:8001|/app"
    assert application_group_key("%{RESOURCE}", "example.com", 80, "") == "example.com|"
    assert application_group_key("%{SERVER}", "example.com", 443, "/x") == "example.com"
    assert application_group_key("%{SERVER}", "example.com", 8443, "/x") == "example.com:8443"
    assert application_group_key("", "example.com", 8001, "/app") == ""  # %{GLOBAL}
    assert application_group_key("billing", "example.com", 8001, "/app") == "billing"
    assert set_key("g", "") == "g"
    assert set_key("g", "example.com|/x") == "g|example.com|/x"


def server() -> Server:
    daemon = DirSettings(process_group="g")
    vhost = Host(
        addresses=(Address("*", 8001),),
        server_name="Sites.example:8001",
        aliases=(
            Alias("/one", "/srv/one.wsgi", wsgi=True, settings=daemon),
            Alias("/two/", "/srv/two.wsgi", wsgi=True, settings=daemon),
            Alias(
                "/g",
                "/srv/g.wsgi",
                wsgi=True,
                settings=DirSettings(process_group="g", application_group=""),
            ),
            Alias("/embedded", "/srv/e.wsgi", wsgi=True),
        ),
    )
    return Server(listeners=(Listener("", 8001),), vhosts=(vhost,), groups=(DaemonGroup("g"),))


def test_the_sets_come_from_the_configuration() -> None:
    sets = Router(server()).process_sets()
    assert sets == {
        ("g", "Sites.example:8001|/one"): {("/srv/one.wsgi", "application")},
        ("g", "Sites.example:8001|/two"): {("/srv/two.wsgi", "application")},
        ("g", ""): {("/srv/g.wsgi", "application")},
    }


def test_a_request_gets_its_aliass_key_whatever_its_host_header_says() -> None:
    router = Router(server())
    for host in (b"sites.example:9999", b"sites.example", b"other:1", None):
        target = router.route("127.0.0.1", 8001, host, b"/two/x")
        assert isinstance(target, WSGITarget)
        assert target.application_group == "Sites.example:8001|/two"
