"""The Require rule tree, its providers and address matching (pure parts of
wsgihost.access), against mod_authz_core's and mod_authz_host's rules."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from wsgihost.access.address import BadAddress, in_domain, in_network, is_local, parse_network
from wsgihost.access.basic import Credentials, WrongScheme, credentials
from wsgihost.access.providers import REGISTRY
from wsgihost.access.rules import Check, Combine, Outcome, evaluate, only_denies
from wsgihost.logs import AccessRecord, compile_format


@dataclass
class FakeFacts:
    client_addr: str = "192.0.2.7"
    local_addr: str = "192.0.2.1"
    user: str | None = None
    uri: str = "/x"
    method: str = "GET"
    wsgi_prefix: str = "mod_wsgi (pid=1): "
    name: str | None = None
    user_groups: frozenset[str] | None = frozenset()
    logged: list[tuple[str, str]] = field(default_factory=list)

    def remote_host(self) -> str | None:
        return self.name

    def groups(self) -> frozenset[str] | None:
        return self.user_groups

    def log(self, module: str, message: str) -> None:
        self.logged.append((module, message))


def any_of(*checks: Check) -> Combine:
    return Combine("any", checks)


def run(rule: Check | Combine, facts: FakeFacts) -> Outcome:
    return evaluate(rule, facts, REGISTRY)


@pytest.mark.parametrize(
    ("text", "network"),
    [
        ("10.1", "10.1.0.0/16"),
        ("10.1.", "10.1.0.0/16"),
        ("10", "10.0.0.0/8"),
        ("192.168.1", "192.168.1.0/24"),
        ("10.1.2.3", "10.1.2.3/32"),
        ("10.9.9.9/8", "10.0.0.0/8"),
        ("10.0.0.0/255.255.0.0", "10.0.0.0/16"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("::1", "::1/128"),
    ],
)
def test_require_ip_forms(text: str, network: str) -> None:
    assert str(parse_network(text)) == network


@pytest.mark.parametrize("text", ["example.com", "10.0.0.256", "10.0.0.0/", "1.2.3/8", "::g", ""])
def test_require_ip_refuses_what_is_no_address(text: str) -> None:
    with pytest.raises(BadAddress):
        parse_network(text)


def test_ipv4_rules_match_mapped_clients_and_not_other_families() -> None:
    assert in_network("::ffff:10.1.2.3", parse_network("10.1"))
    assert not in_network("10.2.0.1", parse_network("10.1"))
    assert not in_network("::1", parse_network("10"))
    assert not in_network("unix-socket", parse_network("10"))


def test_require_local() -> None:
    assert is_local("127.3.4.5", "192.0.2.1")
    assert is_local("::1", "::1")
    assert is_local("::ffff:127.0.0.1", "::ffff:127.0.0.1")
    assert is_local("192.0.2.1", "192.0.2.1")  # the server's own address
    assert not is_local("192.0.2.9", "192.0.2.1")


def test_require_host_matches_whole_labels() -> None:
    assert in_domain("example.com", "www.EXAMPLE.com")
    assert in_domain("example.com", "example.com")
    assert in_domain(".example.com", "a.example.com")
    assert not in_domain("example.com", "badexample.com")
    assert not in_domain("www.example.com", "example.com")


def test_several_lines_grant_if_any_does() -> None:
    rule = any_of(Check("all", ("denied",)), Check("ip", ("192.0.2",)))
    assert run(rule, FakeFacts()) is Outcome.GRANTED
    assert run(rule, FakeFacts(client_addr="198.51.100.1")) is Outcome.DENIED


def test_user_rules_wait_for_a_user_unless_something_grants() -> None:
    rule = any_of(Check("ip", ("10",)), Check("valid-user"))
    assert run(rule, FakeFacts()) is Outcome.DENIED_NO_USER
    assert run(rule, FakeFacts(client_addr="10.0.0.1")) is Outcome.GRANTED
    assert run(rule, FakeFacts(user="alice")) is Outcome.GRANTED
    named = any_of(Check("user", ("alice", "bob")))
    assert run(named, FakeFacts(user="bob")) is Outcome.GRANTED
    assert run(named, FakeFacts(user="eve")) is Outcome.DENIED


def test_all_combines_as_mod_authz_core() -> None:
    both = Combine("all", (Check("ip", ("192.0.2",)), Check("valid-user")))
    assert run(both, FakeFacts()) is Outcome.DENIED_NO_USER
    assert run(both, FakeFacts(user="a")) is Outcome.GRANTED
    assert run(both, FakeFacts(client_addr="10.0.0.1", user="a")) is Outcome.DENIED
    # A negated rule that matches denies; one that does not is neutral, never a grant.
    not_there = Combine("all", (Check("all", ("granted",)), Check("ip", ("10",), negate=True)))
    assert run(not_there, FakeFacts(client_addr="10.0.0.1")) is Outcome.DENIED
    assert run(not_there, FakeFacts()) is Outcome.GRANTED
    assert run(Combine("all", (Check("ip", ("10",), negate=True),)), FakeFacts()) is Outcome.NEUTRAL


def test_wsgi_group() -> None:
    rule = any_of(Check("wsgi-group", ("staff",)))
    assert run(rule, FakeFacts()) is Outcome.DENIED_NO_USER
    facts = FakeFacts(user="alice", user_groups=frozenset({"staff"}))
    assert run(rule, facts) is Outcome.GRANTED
    facts = FakeFacts(user="dave", user_groups=frozenset())
    assert run(rule, facts) is Outcome.DENIED
    assert "User is not a member of any groups." in facts.logged[0][1]
    assert run(rule, FakeFacts(user="x", user_groups=None)) is Outcome.DENIED  # script failed


def test_require_host_without_a_confirmed_name_is_denied_and_logged() -> None:
    rule = any_of(Check("host", ("example.com",)))
    assert run(rule, FakeFacts(name="www.example.com")) is Outcome.GRANTED
    assert run(rule, FakeFacts(name="www.example.net")) is Outcome.DENIED
    facts = FakeFacts(name=None)
    assert run(rule, facts) is Outcome.DENIED
    assert facts.logged == [
        (
            "authz_host",
            "AH01753: access check of 'example.com' to /x failed, reason: unable to get the "
            "remote host name",
        )
    ]


def test_only_denies() -> None:
    assert only_denies(any_of(Check("all", ("denied",))))
    assert not only_denies(any_of(Check("all", ("denied",)), Check("valid-user")))


def test_provider_arguments_are_checked() -> None:
    assert (
        REGISTRY["ip"].parse(("10.0.0.0/8", "bogus")) == "ip address 'bogus' appears to be invalid"
    )
    assert REGISTRY["all"].parse(("granted",)) is None
    assert REGISTRY["all"].parse(("maybe",)) is not None
    assert REGISTRY["local"].parse(("x",)) is not None
    assert REGISTRY["user"].parse(()) is not None


def test_basic_credentials() -> None:
    assert credentials(None) is None
    assert credentials(b"Basic YWxpY2U6czNjcjp0") == Credentials("alice", "s3cr:t")
    assert credentials(b"basic   YWxpY2U=") == Credentials("alice", "")  # no colon: no password
    with pytest.raises(WrongScheme):
        credentials(b"Bearer abc")


@pytest.mark.parametrize(
    ("user", "shown"), [(None, "-"), ("alice", "alice"), ("", '""'), ('a"b', 'a\\"b')]
)
def test_access_log_user_as_mod_log_config_writes_it(user: str | None, shown: str) -> None:
    record = AccessRecord()
    record.user = user
    assert compile_format("%u")(record) == shown


def test_require_method_grants_the_listed_methods_and_head_with_get() -> None:
    provider = REGISTRY["method"]
    assert provider.parse(("GET", "POST", "OPTIONS")) is None
    assert provider.parse(()) is not None
    assert provider.parse(("GET,",)) is not None
    rule = any_of(Check("method", ("GET", "POST", "OPTIONS")))
    for method, outcome in (
        ("GET", Outcome.GRANTED),
        ("HEAD", Outcome.GRANTED),
        ("POST", Outcome.GRANTED),
        ("PUT", Outcome.DENIED),
        ("DELETE", Outcome.DENIED),
        ("post", Outcome.DENIED),
    ):
        assert run(rule, FakeFacts(method=method)) is outcome, method
