"""mod_macro: <Macro>, Use and UndefMacro, expanded as the configuration is read."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_config_parser import shape
from wsgihost.config.parser import parse
from wsgihost.config.problems import Problems


def read(tmp_path: Path, text: str) -> tuple[list[object], list[str]]:
    main = tmp_path / "main.conf"
    main.write_text(text)
    problems = Problems()
    parsed = parse(str(main), problems, None, {})
    shown = [str(p).replace(str(tmp_path) + "/", "") for p in problems.sorted(parsed.files)]
    return shape(parsed.nodes), shown


VHOST = """\
<Macro VHost $name $root>
<VirtualHost *:80>
    ServerName $name
    DocumentRoot "$root/htdocs"
</VirtualHost>
</Macro>
"""


def test_use_is_replaced_by_the_body_with_the_values(tmp_path: Path) -> None:
    nodes, problems = read(tmp_path, VHOST + "Use VHost a.test /srv/a\nuse vhost b.test /srv/b\n")
    assert problems == []
    assert nodes == [
        ["VirtualHost *:80", ["ServerName a.test", "DocumentRoot /srv/a/htdocs"]],
        ["VirtualHost *:80", ["ServerName b.test", "DocumentRoot /srv/b/htdocs"]],
    ]


def test_quoted_values_and_defines_inside_the_body(tmp_path: Path) -> None:
    text = (
        "Define ROOT /srv\n"
        "<Macro Site $name @title>\n"
        "ServerName $name\n"
        "SetEnv TITLE @title\n"
        "DocumentRoot ${ROOT}/$name\n"
        "</Macro>\n"
        'Use Site x.test "My \\"big\\" site"\n'
    )
    nodes, problems = read(tmp_path, text)
    assert problems == []
    assert nodes == [
        "Define ROOT /srv",
        "ServerName x.test",
        'SetEnv TITLE My "big" site',
        "DocumentRoot /srv/x.test",
    ]


def test_the_longest_name_wins_and_a_prefix_conflict_is_a_warning(tmp_path: Path) -> None:
    text = "<Macro M $a $ab>\nServerName $ab.$a\n</Macro>\nUse M one two\n"
    nodes, problems = read(tmp_path, text)
    assert nodes == ["ServerName two.one"]
    assert problems == [
        "main.conf:1: warning: macro 'm' (defined on line 1 of \"main.conf\"): argument "
        "name prefix conflict ($a #1 and $ab #2), be careful about your macro definition!"
    ]


def test_unused_and_unprefixed_arguments_are_warnings(tmp_path: Path) -> None:
    text = "<Macro M $used x>\nServerName $used\n</Macro>\nUse M a b\n"
    nodes, problems = read(tmp_path, text)
    assert nodes == ["ServerName a"]
    label = "macro 'm' (defined on line 1 of \"main.conf\")"
    assert problems == [
        f"main.conf:1: warning: {label} argument name 'x' (#2) without expected prefix, "
        "better prefix argument names with one of '$%@'.",
        f"main.conf:1: warning: {label}: argument 'x' (#2) never used",
    ]


def test_wrong_number_of_values_undefined_and_removed_macros(tmp_path: Path) -> None:
    text = VHOST + (
        "Use VHost only-one\nUse Missing 1\nUndefMacro VHost\nUse VHost a b\nUndefMacro VHost\n"
    )
    nodes, problems = read(tmp_path, text)
    assert nodes == []
    label = "macro 'vhost' (defined on line 1 of \"main.conf\")"
    assert problems == [
        f"main.conf:7: {label} used with 1 arguments instead of 2",
        "main.conf:8: macro 'missing' undefined",
        "main.conf:10: macro 'vhost' undefined",
        "main.conf:11: cannot remove undefined macro 'vhost'",
    ]


def test_a_problem_in_an_expanded_line_names_the_use_and_the_macro_line(tmp_path: Path) -> None:
    text = "<Macro Inc $file>\nInclude $file\n</Macro>\n\nUse Inc /nonexistent/x.conf\n"
    _, problems = read(tmp_path, text)
    assert problems == [
        "main.conf:5: macro 'inc' at main.conf:2: Include: '/nonexistent/x.conf' does not exist"
    ]


def test_a_macro_may_not_use_itself(tmp_path: Path) -> None:
    text = "<Macro Loop $x>\nServerName $x\nUse Loop $x\n</Macro>\nUse Loop a\n"
    nodes, problems = read(tmp_path, text)
    assert nodes == ["ServerName a"]
    assert problems == [
        "main.conf:5: macro 'loop' at main.conf:3: recursive use of macro 'loop' is invalid"
    ]


def test_an_unclosed_macro_is_an_error(tmp_path: Path) -> None:
    _, problems = read(tmp_path, "<Macro M $a>\nServerName $a\n")
    assert problems == ["main.conf:1: <Macro> contents error: expected token not found: </Macro>"]


def test_a_macro_in_a_false_ifdefine_is_not_defined(tmp_path: Path) -> None:
    text = "<IfDefine NOPE>\n<Macro M>\nServerName x\n</Macro>\n</IfDefine>\nUse M\n"
    _, problems = read(tmp_path, text)
    assert problems == ["main.conf:6: macro 'm' undefined"]


def test_macro_needs_its_module_where_modules_are_loaded(tmp_path: Path) -> None:
    text = "LoadModule mpm_event_module mods/mod_mpm_event.so\n<Macro M>\nServerName x\n</Macro>\n"
    _, problems = read(tmp_path, text)
    assert problems == [
        "main.conf:2: Invalid command '<Macro', perhaps misspelled or defined by a module "
        "not included in the server configuration (LoadModule macro_module)"
    ]
