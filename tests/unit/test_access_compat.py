"""mod_access_compat's Order/Allow/Deny: the address forms and the three orders."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from wsgihost.access.compat import Compat, Source, allows, parse_source, uses_names
from wsgihost.access.rules import ALL_METHODS, Methods


class Facts(SimpleNamespace):
    def remote_host(self) -> str | None:
        return self.name  # type: ignore[no-any-return]


def facts(
    addr: str = "192.0.2.7", name: str | None = None, method: str = "GET", **env: str
) -> Facts:
    state = SimpleNamespace(env=env, headers_out=[])
    return Facts(
        client_addr=addr,
        method=method,
        name=name,
        req=SimpleNamespace(head=None, state=state),
        target=None,
    )


@pytest.mark.parametrize(
    ("word", "source"),
    [
        ("all", Source("all")),
        ("ALL", Source("all")),
        ("10.1", Source("ip", "10.1.0.0/16")),
        ("10.1.2.3", Source("ip", "10.1.2.3/32")),
        ("10.0.0.0/255.0.0.0", Source("ip", "10.0.0.0/8")),
        ("10.0.0.0/8", Source("ip", "10.0.0.0/8")),
        ("2001:db8::/32", Source("ip", "2001:db8::/32")),
        ("example.com", Source("host", "example.com")),
        (".example.com", Source("host", ".example.com")),
        ("env=LET_IN", Source("env", "LET_IN")),
        ("env=!LET_IN", Source("not-env", "LET_IN")),
        ("10.0.0.0/xyz", "An IP address was expected"),
    ],
)
def test_sources(word: str, source: Source | str) -> None:
    assert parse_source(word) == source


ALL = (Source("all"),)
NONE: tuple[Source, ...] = ()


@pytest.mark.parametrize(
    ("order", "allow", "deny", "expected"),
    [
        ("deny,allow", NONE, NONE, True),  # allowed unless denied
        ("deny,allow", NONE, ALL, False),
        ("deny,allow", ALL, ALL, True),  # Allow is checked last and wins
        ("allow,deny", NONE, NONE, False),  # denied unless allowed
        ("allow,deny", ALL, NONE, True),
        ("allow,deny", ALL, ALL, False),  # Deny is checked last and wins
        ("mutual-failure", ALL, NONE, True),
        ("mutual-failure", ALL, ALL, False),
        ("mutual-failure", NONE, NONE, False),
    ],
)
def test_orders(
    order: str, allow: tuple[Source, ...], deny: tuple[Source, ...], expected: bool
) -> None:
    compat = Compat(((ALL_METHODS, order),), allow, deny)
    assert allows(compat, facts()) is expected


def test_addresses_names_and_variables() -> None:
    rule = Compat(
        ((ALL_METHODS, "allow,deny"),),
        (Source("ip", "10.0.0.0/8"), Source("host", ".example.com"), Source("env", "IN")),
        (Source("ip", "10.9.0.0/16"), Source("not-env", "HAS_KEY")),
    )
    assert uses_names(rule)
    assert allows(rule, facts("10.1.2.3", HAS_KEY="1"))
    assert not allows(rule, facts("10.1.2.3"))  # Deny from env=!HAS_KEY matched
    assert not allows(rule, facts("10.9.0.1", HAS_KEY="1"))
    assert allows(rule, facts("192.0.2.1", "www.example.com", has_key="", IN="x"))
    assert allows(rule, facts("192.0.2.1", "www.example.com", has_key=""))
    assert not allows(rule, facts("192.0.2.1", "badexample.com", has_key=""))
    assert not allows(rule, facts("192.0.2.1", None, has_key=""))  # no confirmed name
    assert not uses_names(Compat(allows=ALL))


def test_per_method_lines() -> None:
    post = Methods(frozenset({"POST"}), False)
    compat = Compat(
        ((ALL_METHODS, "deny,allow"), (post, "allow,deny")),
        (Source("ip", "10.0.0.0/8", post),),
        (Source("all", "", Methods(frozenset({"PUT"}), False)),),
        ((post, "any"),),
    )
    assert compat.order("POST") == "allow,deny" and compat.order("GET") == "deny,allow"
    assert compat.satisfy("POST") == "any" and compat.satisfy("HEAD") == "all"
    assert allows(compat, facts("192.0.2.1", method="GET"))  # no Deny for GET
    assert allows(compat, facts("192.0.2.1", method="HEAD"))
    assert not allows(compat, facts("192.0.2.1", method="PUT"))  # its Deny from all
    assert allows(compat, facts("10.1.1.1", method="POST"))
    assert not allows(compat, facts("192.0.2.1", method="POST"))
