"""mod_headers: Header/RequestHeader read into rules (config/mod_headers.py) and
the rules run over header tables (mods/headers_core.py), as Apache 2.4's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wsgihost.config import Problem, load
from wsgihost.config.model import Server
from wsgihost.mods.headers_core import (
    Facts,
    FormatError,
    HeaderRule,
    HeadersConfig,
    apply,
    expand,
    parse_format,
)


def read(tmp_path: Path, body: str) -> tuple[Server | None, list[Problem]]:
    conf = tmp_path / "site.conf"
    conf.write_text(f"Listen 127.0.0.1:8000\nServerRoot {tmp_path}\n{body}")
    return load(str(conf), {}, {})


def config(tmp_path: Path, body: str) -> HeadersConfig:
    server, problems = read(tmp_path, body)
    assert server is not None, [str(p) for p in problems]
    assert server.main.settings.headers is not None
    return server.main.settings.headers


def errors(tmp_path: Path, body: str) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in read(tmp_path, body)[1] if p.severity == "error"]


def run(cfg: HeadersConfig, table: list[tuple[str, str]], **env: str) -> list[tuple[str, str]]:
    out = list(table)
    apply(cfg.onsuccess, out, Facts(env=env))
    return out


def test_tables_by_condition_word(tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        "Header set A 1\nHeader always set B 2\nHeader onsuccess set C 3\nRequestHeader set D 4\n",
    )
    assert [r.header for r in cfg.onsuccess] == ["A", "C"]
    assert [r.header for r in cfg.always] == ["B"]
    assert [r.header for r in cfg.request] == ["D"]


def test_actions_on_a_table(tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        "\n".join(
            [
                "Header set X-Set new",
                "Header append Cache-Control no-transform",
                "Header merge Vary Origin",
                "Header merge Vary Accept",
                "Header add X-Added one",
                "Header add X-Added two",
                "Header setifempty X-Kept ignored",
                "Header setifempty X-New given",
                "Header unset X-Gone",
                'Header edit X-Edit "^(\\w+)-(\\w+)$" "$2+$1"',
                'Header edit* X-All "o" "0"',
            ]
        ),
    )
    table = [
        ("x-set", "old1"),
        ("X-Gone", "a"),
        ("X-Set", "old2"),
        ("Cache-Control", "max-age=1"),
        ("Vary", "Origin"),
        ("X-Kept", "mine"),
        ("X-Edit", "left-right"),
        ("X-All", "foo-boo"),
        ("X-Gone", "b"),
    ]
    assert run(cfg, table) == [
        ("x-set", "new"),
        ("Cache-Control", "max-age=1, no-transform"),
        ("Vary", "Origin, Accept"),
        ("X-Kept", "mine"),
        ("X-Added", "one"),
        ("X-Added", "two"),
        ("X-New", "given"),
        ("X-Edit", "right+left"),  # edited values move to the end, as Apache's
        ("X-All", "f00-b00"),
    ]


def test_merge_compares_whole_tokens_and_keeps_quoted_commas(tmp_path: Path) -> None:
    cfg = config(tmp_path, 'Header merge X-M "b"\nHeader merge X-Q "c"')
    out = run(cfg, [("X-M", "ab, b2"), ("X-Q", '"a,c", c')])
    assert out == [("X-M", "ab, b2, b"), ("X-Q", '"a,c", c')]


def test_env_conditions(tmp_path: Path) -> None:
    cfg = config(tmp_path, "Header set X-Yes 1 env=FLAG\nHeader set X-No 1 env=!FLAG")
    assert run(cfg, [], FLAG="") == [("X-Yes", "1")]
    assert run(cfg, []) == [("X-No", "1")]


def test_early_rules_run_only_in_the_early_pass(tmp_path: Path) -> None:
    cfg = config(tmp_path, "RequestHeader set X-E 1 early\nRequestHeader set X-L 2")
    late: list[tuple[str, str]] = []
    apply(cfg.request, late, Facts(env={}))
    early: list[tuple[str, str]] = []
    apply(cfg.request, early, Facts(env={}), early=True)
    assert (late, early) == ([("X-L", "2")], [("X-E", "1")])


def test_echo_copies_matching_request_headers(tmp_path: Path) -> None:
    cfg = config(tmp_path, "Header echo ^X-Echo")
    out: list[tuple[str, str]] = []
    apply(cfg.onsuccess, out, Facts(env={}), headers_in=[("X-Echo-A", "1"), ("Other", "2")])
    assert out == [("X-Echo-A", "1")]


def test_note_records_a_header_value(tmp_path: Path) -> None:
    cfg = config(tmp_path, "Header note X-App app-note")
    notes: dict[str, str] = {}
    apply(cfg.onsuccess, [("X-App", "v")], Facts(env={}), notes=notes)
    assert notes == {"app-note": "v"}


def test_formats() -> None:
    facts = Facts(env={"V": "a\r\nb"}, request_time=1.5, ssl=lambda n: "TLSv1.3" if n else None)
    assert expand(parse_format("%{V}e|%{W}e|%%|100%"), facts) == "a  b|(null)|%|100%"
    assert expand(parse_format("%{SSL_PROTOCOL}s %t"), facts) == "TLSv1.3 t=1500000"
    assert expand(parse_format("tab\\there\\n\\q"), facts) == "tab\there\n\\q"
    assert re.fullmatch(r"D=\d+", expand(parse_format("%D"), facts))
    # %i is the idle workers here, not a request header as in LogFormat.
    assert expand(parse_format("%{User-Agent}i"), facts) == "i=0"


def test_unknown_format_letter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="Unrecognized header format %x"):
        parse_format("%{Host}x")
    assert errors(tmp_path, "Header set X %{Host}x") == [
        (3, "Header: Unrecognized header format %x")
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "Header frob X 1",
            "Header: first argument must be 'add', 'set', 'setifempty', "
            "'append', 'merge', 'unset', 'echo', 'note', 'edit', or 'edit*'.",
        ),
        ("Header set X", "Header: Header requires three arguments"),
        ("Header edit X abc", "Header: Header edit requires a match and a substitution"),
        (
            "Header set X 1 env=",
            "Header: error: missing environment variable name. "
            "envclause should be in the form env=envar ",
        ),
        ("Header set X 1 sometimes", "Header: Unknown parameter: sometimes"),
        ("Header unset X env=A B", "Header: header unset takes two arguments"),
        ("Header set X 1 env=A more", "Header: Too many arguments to directive"),
        ("RequestHeader echo X", "RequestHeader: Header echo only valid on Header directives"),
        ('Header edit X "(" y', "Header: Header edit regex could not be compiled"),
    ],
)
def test_bad_lines_are_refused_with_apaches_message(
    tmp_path: Path, line: str, message: str
) -> None:
    found = errors(tmp_path, line)
    assert len(found) == 1 and found[0][0] == 3 and found[0][1].startswith(message), found


def test_merge_appends_the_deeper_scope() -> None:
    a = HeadersConfig(onsuccess=(HeaderRule("set", "A"),))
    b = HeadersConfig(onsuccess=(HeaderRule("set", "B"),), always=(HeaderRule("set", "C"),))
    merged = a.merge(b)
    assert [r.header for r in merged.onsuccess] == ["A", "B"]
    assert [r.header for r in merged.always] == ["C"]
