"""``Require expr``: checked when the configuration is read, evaluated per request."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from tests.unit.test_config_builder import build
from wsgihost.access.providers import REGISTRY
from wsgihost.access.rules import Check, Outcome
from wsgihost.wsgi.environ import RequestHead


def facts(
    host: str, uri: str, user: str | None = None, state: SimpleNamespace | None = None
) -> SimpleNamespace:
    """What the access phase knows of a request (gate.RequestFacts' fields)."""
    head = RequestHead(
        "GET", uri, uri.encode(), "", "HTTP/1.1", [(b"Host", host.encode())],
        "10.1.2.3", 40000, "127.0.0.1", 8080,
    )  # fmt: skip
    target = SimpleNamespace(
        host=SimpleNamespace(document_root="/srv", server_name="a.test", server_admin=None),
        settings=SimpleNamespace(auth_type=None),
    )
    logged: list[tuple[str, str]] = []
    return SimpleNamespace(
        req=SimpleNamespace(head=head, state=state), target=target, uri=uri, filename="/srv" + uri,
        path_info="", client_addr="10.1.2.3", user=user,
        log=lambda module, message: logged.append((module, message)), logged=logged,
    )  # fmt: skip


def check(expression: str, request: SimpleNamespace) -> Outcome:
    provider = REGISTRY["expr"]
    assert provider.parse((expression,)) is None
    return provider.check(Check("expr", (expression,)), request)


def test_granted_when_the_expression_holds() -> None:
    rule = "%{SERVER_NAME} == 'a.test' && %{REQUEST_URI} =~ m#^/x/([0-9]+)$# && $1 -lt 10"
    assert check(rule, facts("a.test:8080", "/x/7")) is Outcome.GRANTED
    assert check(rule, facts("a.test", "/x/70")) is Outcome.DENIED
    assert check("-R '10.0.0.0/8'", facts("a.test", "/")) is Outcome.GRANTED
    assert check("%{HTTP_HOST} == 'a.test:8080'", facts("a.test:8080", "/")) is Outcome.GRANTED


def test_a_rule_on_the_user_asks_for_one_first() -> None:
    assert check("%{REMOTE_USER} == 'ann'", facts("a.test", "/")) is Outcome.DENIED_NO_USER
    assert check("%{REMOTE_USER} == 'ann'", facts("a.test", "/", "ann")) is Outcome.GRANTED
    assert check("%{REMOTE_USER} == 'ann'", facts("a.test", "/", "bob")) is Outcome.DENIED


def test_an_expression_that_fails_is_an_error_logged() -> None:
    request = facts("a.test", "/")
    assert check("file('/nonexistent/x') == ''", request) is Outcome.ERROR
    assert request.logged == [
        (
            "authz_core",
            "AH02320: Error evaluating expression in 'Require expr': "
            "Cannot open file /nonexistent/x",
        )
    ]


def test_a_bad_expression_is_refused_when_read(tmp_path: Path) -> None:
    text = 'Listen 8080\n<Location />\n    Require expr "%{HTTP_HOST} =="\n</Location>\n'
    server, problems = build(tmp_path, text)
    assert server is None
    assert problems == [
        "site.conf:3: Require: Cannot parse expression in require line: "
        "syntax error, unexpected $end (at character 16)"
    ]


def test_the_pipelines_request_gives_the_environment_and_takes_vary() -> None:
    state = SimpleNamespace(env={"Tier": "gold"}, notes={"n": "1"}, headers_out=[])
    request = facts("a.test", "/", state=state)
    rule = "env('TIER') == 'gold' && note('n') == '1' && req('User-Agent') == ''"
    assert check(rule, request) is Outcome.GRANTED
    assert state.headers_out == [("Vary", "User-Agent")]
    assert check("%{HTTP_ACCEPT} == 'x'", request) is Outcome.DENIED
    assert state.headers_out == [("Vary", "User-Agent, Accept")]
    assert check("env('TIER') == 'gold'", facts("a.test", "/")) is Outcome.DENIED  # no state
