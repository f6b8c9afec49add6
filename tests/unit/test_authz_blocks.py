"""<RequireAll>/<RequireAny>/<RequireNone>, ``Require not`` and ``Require env``:
the trees the configuration makes, Apache's refusals, and their evaluation."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from wsgihost.access.providers import REGISTRY
from wsgihost.access.rules import (
    ALL_METHODS,
    Check,
    Combine,
    Methods,
    Outcome,
    evaluate,
    merge_rules,
    only_negative,
)
from wsgihost.config import load
from wsgihost.config.model import DirSettings
from wsgihost.routing import Refusal, Router

from .test_access_rules import FakeFacts


def configure(tmp_path: Path, body: str) -> tuple[DirSettings | None, str]:
    """The settings of /x/y under ``<Location /x>`` holding ``body``, or the problems."""
    conf = tmp_path / "site.conf"
    conf.write_text(f"Listen 80\nDocumentRoot {tmp_path}\n<Location /x>\n{body}\n</Location>\n")
    server, problems = load(str(conf), {}, {})
    if server is None:
        return None, str(problems)
    target = Router(server).route("127.0.0.1", 80, b"example.com", b"/x/y")
    assert not isinstance(target, Refusal)
    return target.settings, str(problems)


def test_blocks_nest_with_negated_rules_inside_require_all(tmp_path: Path) -> None:
    settings, problems = configure(
        tmp_path,
        "Require user nobody\n<RequireAll>\n Require ip 127.0.0.0/8\n Require not ip 127.0.0.2\n"
        " <RequireNone>\n  Require env BLOCKED\n </RequireNone>\n</RequireAll>",
    )
    assert settings is not None, problems
    assert settings.authz == Combine(
        "any",
        (
            Check("user", ("nobody",)),
            Combine(
                "all",
                (
                    Check("ip", ("127.0.0.0/8",)),
                    Check("ip", ("127.0.0.2",), negate=True),
                    Combine("any", (Check("env", ("BLOCKED",)),), negate=True),
                ),
            ),
        ),
    )
    assert settings.require == "granted"  # the tree decides, not the static-file shortcut


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Require not ip 10.1", "negative Require directive has no effect in <RequireAny>"),
        (
            "<RequireAny>\nRequire not ip 10.1\n</RequireAny>",
            "negative Require directive has no effect in <RequireAny>",
        ),
        (
            "<RequireAll>\n<RequireNone>\nRequire not ip 10.1\n</RequireNone>\nRequire ip 10"
            "\n</RequireAll>",
            "negative Require directive has no effect in <RequireNone>",
        ),
        (
            "<RequireNone>\nRequire ip 10.1\n</RequireNone>",
            "<RequireNone> directive has no effect in <RequireAny> directive",
        ),
        ("<RequireAll>\n</RequireAll>", "<RequireAll> directive contains no authorization"),
        (
            "<RequireAll>\nRequire not ip 10.1\n</RequireAll>",
            "AH01624: <RequireAll> directive contains only negative",
        ),
        (
            "<RequireAll>\n<RequireNone>\nRequire ip 10.1\n</RequireNone>\n</RequireAll>",
            "AH01624: <RequireAll> directive contains only negative",
        ),
        ("<RequireAll extra>\nRequire ip 10\n</RequireAll>", "RequireAll"),
    ],
)
def test_what_apache_refuses_is_refused(tmp_path: Path, body: str, message: str) -> None:
    settings, problems = configure(tmp_path, body)
    assert settings is None
    assert message in problems


def test_a_plain_block_of_its_parents_kind_counts_as_the_parents_rules(tmp_path: Path) -> None:
    # mod_authz_core merges it into the parent, so its lone negated rule is no error.
    settings, problems = configure(
        tmp_path,
        "<RequireAll>\n<RequireAll>\nRequire not ip 10.1\n</RequireAll>\nRequire ip 10\n"
        "</RequireAll>",
    )
    assert settings is not None, problems


def test_only_negative_follows_de_morgan() -> None:
    ip = Check("ip", ("10",))
    assert only_negative(Combine("all", (Combine("any", (ip,), negate=True),)))
    assert not only_negative(
        Combine("all", (Combine("any", (ip.__class__("ip", ("10",), True),), True),))
    )
    assert not only_negative(Combine("all", (Combine("all", (ip,)),)))


def _facts(client: str, env: dict[str, str] | None = None) -> FakeFacts:
    facts = FakeFacts(client_addr=client)
    state = SimpleNamespace(env=env or {}, headers_out=[]) if env is not None else None
    facts.req = SimpleNamespace(head=None, state=state)  # type: ignore[attr-defined]
    facts.target = None  # type: ignore[attr-defined]
    return facts


TREE = Combine(
    "all",
    (
        Check("ip", ("127.0.0.0/8",)),
        Check("ip", ("127.0.0.2",), negate=True),
        Combine("any", (Check("env", ("BLOCKED",)),), negate=True),
    ),
)


@pytest.mark.parametrize(
    ("client", "env", "outcome"),
    [
        ("127.0.0.1", {}, Outcome.GRANTED),
        ("127.0.0.2", {}, Outcome.DENIED),  # the negated ip matched
        ("10.0.0.1", {}, Outcome.DENIED),
        ("127.0.0.1", {"blocked": ""}, Outcome.DENIED),  # any case, an empty value counts
        ("127.0.0.1", None, Outcome.GRANTED),  # no request state: no variables
    ],
)
def test_require_all_with_negations(
    client: str, env: dict[str, str] | None, outcome: Outcome
) -> None:
    assert evaluate(TREE, _facts(client, env), REGISTRY) is outcome


def test_require_none_alone_never_grants() -> None:
    none = Combine("any", (Check("ip", ("10",)),), negate=True)
    assert evaluate(none, _facts("127.0.0.1", {}), REGISTRY) is Outcome.NEUTRAL
    assert evaluate(none, _facts("10.0.0.1", {}), REGISTRY) is Outcome.DENIED


def test_require_env_grants_on_any_variable_named() -> None:
    rule = Check("env", ("A", "B"))
    assert evaluate(rule, _facts("10.0.0.1", {"b": "1"}), REGISTRY) is Outcome.GRANTED
    assert evaluate(rule, _facts("10.0.0.1", {"C": "1"}), REGISTRY) is Outcome.DENIED
    assert evaluate(Check("env"), _facts("10.0.0.1", {"C": "1"}), REGISTRY) is Outcome.DENIED


A = Check("ip", ("10",))
B = Check("env", ("X",))


@pytest.mark.parametrize(
    ("outer", "inner", "merged"),
    [
        ((A, None), (B, None), (B, None)),  # no AuthMerging: replaced
        ((A, None), (None, None), (A, None)),  # nothing said: kept
        ((A, "or"), (None, None), (A, "or")),
        ((A, None), (None, "and"), (A, "and")),  # And with no rules here: the outer ones
        ((A, None), (None, "off"), (None, "off")),  # Off with no rules: nothing required
        ((A, None), (B, "and"), (Combine("all", (A, B)), "and")),
        ((A, "and"), (B, "or"), (Combine("any", (A, B)), "or")),
        ((None, None), (B, "or"), (B, "or")),
        ((A, "and"), (B, None), (B, None)),  # not inherited
    ],
)
def test_auth_merging(
    outer: tuple[Check | None, str | None],
    inner: tuple[Check | None, str | None],
    merged: tuple[Check | Combine | None, str | None],
) -> None:
    assert merge_rules(outer, inner) == merged


def test_auth_merging_is_read_and_checked(tmp_path: Path) -> None:
    settings, problems = configure(tmp_path, "AuthMerging or\nRequire ip 10")
    assert settings is not None and settings.auth_merging == "or", problems
    settings, problems = configure(tmp_path, "AuthMerging Maybe")
    assert settings is None and "AuthMerging must be one of: Off | And | Or" in problems


def test_method_sets() -> None:
    get_post = Methods(frozenset({"GET", "POST"}), False)
    but_get = Methods(frozenset({"GET"}), True)
    assert get_post.covers("HEAD") and not get_post.covers("PUT")
    assert but_get.covers("PUT") and not but_get.covers("HEAD")
    assert (get_post & but_get) == Methods(frozenset({"POST"}), False)
    assert (get_post | but_get) == ALL_METHODS
    assert (but_get & Methods(frozenset({"PUT"}), True)) == Methods(frozenset({"GET", "PUT"}), True)
    assert (Methods(frozenset({"GET"}), False) & Methods(frozenset({"POST"}), False)).empty


def test_limit_marks_the_rules_inside(tmp_path: Path) -> None:
    settings, problems = configure(
        tmp_path,
        "Require all granted\n<LimitExcept GET OPTIONS>\n<RequireAll>\nRequire valid-user\n"
        "Require not user bob\n</RequireAll>\n<Limit POST>\nRequire user alice\n</Limit>\n"
        "</LimitExcept>",
    )
    assert settings is not None, problems
    but = Methods(frozenset({"GET", "OPTIONS"}), True)
    post = Methods(frozenset({"POST"}), False)
    assert settings.authz == Combine(
        "any",
        (
            Check("all", ("granted",)),
            Combine(
                "all", (Check("valid-user", (), False, but), Check("user", ("bob",), True, but))
            ),
            Check("user", ("alice",), False, post),
        ),
    )
    assert settings.require == "granted"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<Limit TRACE>\nRequire all denied\n</Limit>", "TRACE cannot be controlled by <Limit>"),
        (
            "<Limit GET>\n<Limit POST>\nRequire all denied\n</Limit>\n</Limit>",
            "excludes all methods",
        ),
        ("<Limit GET>\n<Limit GET>\nRequire all denied\n</Limit>\n</Limit>", "already excluded"),
        ("<Limit GET>\n<Files x>\n</Files>\n</Limit>", "<Files> cannot occur within <Limit>"),
        ("<RequireAll>\n<If true>\n</If>\nRequire all granted\n</RequireAll>", "cannot occur"),
        ("<RequireAll>\nSetEnv A b\nRequire all granted\n</RequireAll>", "SetEnv not allowed here"),
    ],
)
def test_what_apache_refuses_in_limit(tmp_path: Path, body: str, message: str) -> None:
    settings, problems = configure(tmp_path, body)
    assert settings is None
    assert message in problems


@pytest.mark.parametrize(
    ("method", "user", "outcome"),
    [
        ("GET", None, Outcome.GRANTED),  # the limited rules have no say
        ("HEAD", None, Outcome.GRANTED),
        ("POST", None, Outcome.DENIED_NO_USER),
        ("POST", "alice", Outcome.GRANTED),
        ("POST", "bob", Outcome.DENIED),
        ("PUT", "carol", Outcome.GRANTED),
    ],
)
def test_limited_rules_evaluate_for_their_methods(
    method: str, user: str | None, outcome: Outcome
) -> None:
    but_get = Methods(frozenset({"GET"}), True)
    tree = Combine(
        "any",
        (
            Combine(
                "all",
                (Check("valid-user", (), False, but_get), Check("user", ("bob",), True, but_get)),
            ),
        ),
    )
    facts = _facts("127.0.0.1", {})
    facts.method, facts.user = method, user
    assert evaluate(tree, facts, REGISTRY) is outcome


def test_a_limited_rule_has_no_say_in_require_any() -> None:
    tree = Combine(
        "any",
        (
            Check("all", ("denied",)),
            Check("all", ("granted",), False, Methods(frozenset({"POST"}), False)),
        ),
    )
    facts = _facts("127.0.0.1", {})
    assert evaluate(tree, facts, REGISTRY) is Outcome.DENIED
    facts.method = "POST"
    assert evaluate(tree, facts, REGISTRY) is Outcome.GRANTED


def test_compat_lines_in_limit_speak_for_its_methods(tmp_path: Path) -> None:
    settings, problems = configure(
        tmp_path, "<LimitExcept GET>\nOrder Allow,Deny\nAllow from 10\nSatisfy Any\n</LimitExcept>"
    )
    assert settings is not None and settings.compat is not None, problems
    but_get = Methods(frozenset({"GET"}), True)
    assert settings.compat.orders == ((but_get, "allow,deny"),)
    assert settings.compat.allows[0].methods == but_get
    assert settings.compat.satisfy("POST") == "any" and settings.compat.satisfy("GET") == "all"
