"""Sections, Include, Define and the conditions decided while reading."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wsgihost.config.parser import Node, Parsed, parse
from wsgihost.config.problems import Problems


def read(
    tmp_path: Path,
    text: str,
    files: dict[str, str] | None = None,
    defines: dict[str, str | None] | None = None,
    environ: dict[str, str] | None = None,
) -> tuple[Parsed, list[str]]:
    for name, content in (files or {}).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    main = tmp_path / "main.conf"
    main.write_text(text)
    problems = Problems()
    parsed = parse(str(main), problems, defines, environ or {})
    shown = [str(p).replace(str(tmp_path) + "/", "") for p in problems.sorted(parsed.files)]
    return parsed, shown


def shape(nodes: tuple[Node, ...]) -> list[object]:
    """Nodes as nested lists: a directive is 'Name args', a section a [tag, children]."""
    out: list[object] = []
    for node in nodes:
        text = " ".join((node.name, *node.args))
        out.append(text if node.children is None else [text, shape(node.children)])
    return out


# -- sections ------------------------------------------------------------------------------


def test_sections_nest_and_keep_their_lines(tmp_path: Path) -> None:
    parsed, problems = read(
        tmp_path,
        "Listen 80\n"
        "<VirtualHost *:80 [::1]:80>\n"
        "  ServerName a\n"
        '  <Directory "/srv/a b">\n'
        "    Require all granted\n"
        "  </Directory>\n"
        "</VirtualHost>\n",
    )
    assert problems == []
    assert shape(parsed.nodes) == [
        "Listen 80",
        [
            "VirtualHost *:80 [::1]:80",
            ["ServerName a", ["Directory /srv/a b", ["Require all granted"]]],
        ],
    ]
    vhost = parsed.nodes[1]
    assert vhost.is_section and not parsed.nodes[0].is_section
    assert (vhost.line, vhost.children[1].line) == (2, 4)  # type: ignore[index]


def test_section_names_are_not_case_sensitive(tmp_path: Path) -> None:
    parsed, problems = read(tmp_path, "<virtualhost *:80>\n</VIRTUALHOST>\n<Files>\n</files>\n")
    assert problems == []
    assert shape(parsed.nodes) == [["virtualhost *:80", []], ["Files", []]]


def test_a_section_without_arguments_and_spaces_before_the_bracket(tmp_path: Path) -> None:
    parsed, problems = read(tmp_path, "<Location / >\n</Location >\n")
    assert problems == []
    assert shape(parsed.nodes) == [["Location /", []]]


def test_unclosed_sections_are_reported_at_their_opening_lines(tmp_path: Path) -> None:
    _, problems = read(tmp_path, "<VirtualHost *:80>\n<Directory />\nRequire all granted\n")
    assert problems == [
        "main.conf:1: <VirtualHost> is not closed (expected </VirtualHost> before the end of "
        "the file)",
        "main.conf:2: <Directory> is not closed (expected </Directory> before the end of the file)",
    ]


def test_a_mismatched_end_tag_closes_the_outer_section_and_says_so(tmp_path: Path) -> None:
    parsed, problems = read(
        tmp_path, "<VirtualHost *:80>\n<Directory />\n</VirtualHost>\nListen 80\n"
    )
    assert problems == ["main.conf:3: </VirtualHost> found, but <Directory> (line 2) is not closed"]
    # Reading goes on after it: the Listen is at the top level.
    assert shape(parsed.nodes) == [["VirtualHost *:80", [["Directory /", []]]], "Listen 80"]


def test_a_stray_end_tag_is_skipped(tmp_path: Path) -> None:
    parsed, problems = read(tmp_path, "</Files>\n<Location />\n</Directory>\n</Location>\n")
    assert problems == [
        "main.conf:1: </Files> without a matching <Files>",
        "main.conf:3: </Directory> without a matching <Directory>; expected </Location>",
    ]
    assert shape(parsed.nodes) == [["Location /", []]]


def test_a_tag_without_its_closing_bracket(tmp_path: Path) -> None:
    parsed, problems = read(tmp_path, "<Directory /srv\nOptions None\n</Directory>\n")
    assert problems == ["main.conf:1: <Directory> is missing its closing '>'"]
    assert shape(parsed.nodes) == [["Directory /srv", ["Options None"]]]


def test_a_tag_without_a_name(tmp_path: Path) -> None:
    _, problems = read(tmp_path, "< Directory />\n</Directory>\n")
    assert problems == ["main.conf:1: a section tag needs a name right after '<'"]


def test_every_problem_is_reported_in_one_pass(tmp_path: Path) -> None:
    _, problems = read(
        tmp_path,
        "ServerName ${NOPE}\n</A>\nAlias 'x\n<B>\nInclude missing.conf\n",
    )
    assert [p.split(":")[1] for p in problems] == ["1", "2", "3", "4", "5"]


# -- ${VAR} and Define ---------------------------------------------------------------------


def test_define_applies_to_the_lines_after_it_and_wins_over_the_environment(
    tmp_path: Path,
) -> None:
    parsed, problems = read(
        tmp_path,
        "Listen ${PORT}\nDefine PORT 81\nListen ${PORT}\nUnDefine PORT\nListen ${PORT}\n",
        environ={"PORT": "80"},
    )
    assert problems == []
    listens = [n.args[0] for n in parsed.nodes if n.name == "Listen"]
    assert listens == ["80", "81", "80"]


def test_defines_from_the_command_line(tmp_path: Path) -> None:
    parsed, problems = read(
        tmp_path,
        "<IfDefine FLAG>\nListen ${PORT}\n</IfDefine>\n",
        defines={"FLAG": None, "PORT": "8080"},
    )
    assert problems == []
    assert shape(parsed.nodes) == ["Listen 8080"]


def test_a_define_without_a_value_is_only_for_ifdefine(tmp_path: Path) -> None:
    _, problems = read(tmp_path, "Define FLAG\nListen ${FLAG}\n")
    assert problems == [
        "main.conf:2: variable ${FLAG} is not defined (use Define, -D or the environment)"
    ]


def test_a_define_name_may_not_hold_a_colon(tmp_path: Path) -> None:
    _, problems = read(tmp_path, "Define a:b c\n")
    assert problems == ["main.conf:1: Define: a name may not contain ':' ('a:b')"]


def test_a_variable_in_a_section_tag(tmp_path: Path) -> None:
    parsed, problems = read(
        tmp_path, "<VirtualHost *:${PORT}>\n</VirtualHost>\n", environ={"PORT": "8001"}
    )
    assert problems == []
    assert parsed.nodes[0].args == ("*:8001",)


def test_an_undefined_variable_in_a_section_tag_skips_the_section(tmp_path: Path) -> None:
    parsed, problems = read(tmp_path, "<VirtualHost *:${PORT}>\nX ${Y}\n</VirtualHost>\nZ\n")
    assert problems == [
        "main.conf:1: variable ${PORT} is not defined (use Define, -D or the environment)"
    ]
    assert shape(parsed.nodes) == ["Z"]


# -- Include -------------------------------------------------------------------------------


def test_include_reads_files_in_place_and_globs_in_sorted_order(tmp_path: Path) -> None:
    parsed, problems = read(
        tmp_path,
        "A\n<VirtualHost *:80>\nInclude conf.d/*.conf\n</VirtualHost>\nB\n",
        files={"conf.d/2.conf": "Two\n", "conf.d/10.conf": "Ten\n", "conf.d/x.txt": "No\n"},
    )
    assert problems == []
    assert shape(parsed.nodes) == ["A", ["VirtualHost *:80", ["Ten", "Two"]], "B"]
    assert parsed.files[1:] == (f"{tmp_path}/conf.d/10.conf", f"{tmp_path}/conf.d/2.conf")
    assert parsed.paths[0] == f"{tmp_path}/main.conf"
    two = parsed.nodes[1].children[1]  # type: ignore[index]
    assert (two.file, two.line) == (f"{tmp_path}/conf.d/2.conf", 1)


def test_include_of_a_directory_reads_everything_below_it(tmp_path: Path) -> None:
    parsed, problems = read(
        tmp_path,
        "Include sites\n",
        files={"sites/b": "B\n", "sites/a/x.conf": "AX\n", "sites/c.conf": "C\n"},
    )
    assert problems == []
    assert shape(parsed.nodes) == ["AX", "B", "C"]


def test_include_paths_follow_server_root_as_it_changes(tmp_path: Path) -> None:
    parsed, problems = read(
        tmp_path,
        "Include a.conf\nServerRoot etc\nInclude a.conf\n",
        files={"a.conf": "Top\n", "etc/a.conf": "Etc\n"},
    )
    assert problems == []
    assert shape(parsed.nodes) == ["Top", "ServerRoot etc", "Etc"]
    assert parsed.server_root == f"{tmp_path}/etc"


def test_server_root_inside_a_section_is_left_to_the_builder(tmp_path: Path) -> None:
    parsed, _ = read(tmp_path, "<VirtualHost *>\nServerRoot etc\n</VirtualHost>\n")
    assert parsed.server_root == str(tmp_path)


def test_missing_includes(tmp_path: Path) -> None:
    parsed, problems = read(
        tmp_path,
        "Include nope.conf\nInclude none/*.conf\nIncludeOptional nope.conf\n"
        "IncludeOptional none/*.conf\nInclude\n",
    )
    assert problems == [
        "main.conf:1: Include: 'nope.conf' does not exist",
        "main.conf:2: Include: no file matches 'none/*.conf'",
        "main.conf:5: Include: expected one path, got 0 arguments",
    ]
    assert parsed.nodes == ()


def test_an_include_loop_is_an_error_not_a_hang(tmp_path: Path) -> None:
    _, problems = read(tmp_path, "Include a.conf\n", files={"a.conf": "Include main.conf\nX\n"})
    assert problems == ["a.conf:1: Include: 'main.conf' would include itself"]


def test_an_unreadable_include(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = tmp_path / "secret.conf"
    path.write_text("X\n")
    path.chmod(0)
    _, problems = read(tmp_path, "Include secret.conf\n")
    assert problems == ["main.conf:1: Include: cannot read 'secret.conf': Permission denied"]


def test_a_missing_main_file(tmp_path: Path) -> None:
    problems = Problems()
    parsed = parse(str(tmp_path / "none.conf"), problems, None, {})
    assert parsed.files == ()
    assert [str(p) for p in problems.items] == [
        f"{tmp_path}/none.conf: cannot read '{tmp_path}/none.conf': No such file or directory"
    ]


def test_a_section_must_close_in_its_own_file(tmp_path: Path) -> None:
    _, problems = read(
        tmp_path,
        "<VirtualHost *>\nInclude end.conf\n",
        files={"end.conf": "</VirtualHost>\n"},
    )
    assert problems == [
        "main.conf:1: <VirtualHost> is not closed (expected </VirtualHost> before the end of "
        "the file)",
        "end.conf:1: </VirtualHost> without a matching <VirtualHost>",
    ]


# -- conditions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "found"),
    [
        ("mod_wsgi.c", True),
        ("mod_wsgi", True),
        ("wsgi_module", True),
        ("MOD_ALIAS.C", True),
        ("alias_module", True),
        ("mod_mime.c", True),
        ("dir_module", True),
        ("authz_core_module", True),
        ("authz_host_module", True),
        ("access_compat_module", True),
        ("mod_log_config.c", True),
        ("reqtimeout_module", True),
        ("mpm_event_module", True),
        ("event.c", True),
        ("mod_version.c", True),
        ("core.c", True),
        ("http_core.c", True),
        ("mpm_prefork_module", False),
        ("mpm_worker_module", False),
        ("mod_ssl.c", True),
        ("ssl_module", True),
        ("mod_rewrite.c", True),
        ("mod_deflate.c", True),
        ("mod_brotli.c", False),
        ("mod_headers.c", True),
        ("mod_expires.c", True),
        ("mod_cache.c", False),
    ],
)
def test_ifmodule(tmp_path: Path, module: str, found: bool) -> None:
    text = f"<IfModule {module}>\nYes\n</IfModule>\n<IfModule !{module}>\nNo\n</IfModule>\n"
    parsed, problems = read(tmp_path, text)
    assert problems == []
    assert shape(parsed.nodes) == (["Yes"] if found else ["No"])


def test_a_false_condition_is_skipped_without_expanding_or_checking(tmp_path: Path) -> None:
    parsed, problems = read(
        tmp_path,
        "<IfModule mod_brotli.c>\n"
        "  RewriteEngine ${UNDEFINED}\n"
        "  <VirtualHost ${ALSO}>\n"
        "    Include /no/such/file\n"
        "    Define X 1\n"
        "  </VirtualHost>\n"
        "</IfModule>\n"
        "<IfDefine X>\nBad\n</IfDefine>\n"
        "Good\n",
    )
    assert problems == []
    assert shape(parsed.nodes) == ["Good"]


def test_a_false_condition_still_needs_matching_tags(tmp_path: Path) -> None:
    _, problems = read(tmp_path, "<IfDefine NO>\n<Directory />\n</IfDefine>\n")
    assert problems == ["main.conf:3: </IfDefine> found, but <Directory> (line 2) is not closed"]


def test_conditions_nest(tmp_path: Path) -> None:
    parsed, problems = read(
        tmp_path,
        "<IfModule mod_wsgi.c>\n<IfDefine !NOPE>\n<IfModule mod_brotli.c>\nA\n</IfModule>\nB\n"
        "</IfDefine>\n</IfModule>\n",
    )
    assert problems == []
    assert shape(parsed.nodes) == ["B"]


def test_condition_arguments_are_checked(tmp_path: Path) -> None:
    parsed, problems = read(
        tmp_path,
        "<IfModule>\nA\n</IfModule>\n<IfDefine a b>\nB\n</IfDefine>\n<IfDefine !>\n"
        "C\n</IfDefine>\n",
    )
    assert [p.split(": ", 1)[1] for p in problems] == [
        "<IfModule> takes one argument (with an optional '!' before it)",
        "<IfDefine> takes one argument (with an optional '!' before it)",
        "<IfDefine> takes one argument (with an optional '!' before it)",
    ]
    assert parsed.nodes == ()


def test_iffile(tmp_path: Path) -> None:
    parsed, problems = read(
        tmp_path,
        "<IfFile here.txt>\nA\n</IfFile>\n<IfFile !here.txt>\nB\n</IfFile>\n"
        f"<IfFile {tmp_path}/gone>\nC\n</IfFile>\n",
        files={"here.txt": ""},
    )
    assert problems == []
    assert shape(parsed.nodes) == ["A"]


def test_ifdirective_and_ifsection(tmp_path: Path) -> None:
    parsed, problems = read(
        tmp_path,
        "<IfDirective WSGIDaemonProcess>\nA\n</IfDirective>\n"
        "<IfDirective ServerAdmin>\nB\n</IfDirective>\n"  # accepted, with a warning
        "<IfDirective AuthLDAPURL>\nC\n</IfDirective>\n"  # refused
        "<IfDirective !Frobnicate>\nD\n</IfDirective>\n"
        "<IfSection VirtualHost>\nE\n</IfSection>\n"
        "<IfSection Proxy>\nF\n</IfSection>\n"  # mod_proxy's
        "<IfSection If>\nG\n</IfSection>\n",
    )
    assert problems == []
    assert shape(parsed.nodes) == ["A", "B", "D", "E", "F", "G"]


@pytest.mark.parametrize(
    ("test", "found"),
    [
        (">= 2.4", True),
        (">=2.4", True),
        ("< 2.4", False),
        ("2.4", True),
        ("= 2.2", False),
        ("== 2.4.62", True),
        ("> 2.4.10", True),
        ("<= 2", True),
        ("!= 2.4", False),
        ("! < 2.4", True),
        ("~ ^2\\.4", True),
        ("!~ ^3", True),
        ("/^2\\.2/", False),
        ("= /^2\\.4/", True),
    ],
)
def test_ifversion(tmp_path: Path, test: str, found: bool) -> None:
    parsed, problems = read(tmp_path, f"<IfVersion {test}>\nYes\n</IfVersion>\n")
    assert problems == []
    assert shape(parsed.nodes) == (["Yes"] if found else [])


def test_ifversion_errors(tmp_path: Path) -> None:
    _, problems = read(
        tmp_path,
        "<IfVersion >= two>\n</IfVersion>\n<IfVersion ~ (>\n</IfVersion>\n<IfVersion>\n"
        "</IfVersion>\n",
    )
    assert [p.split(": ", 1)[1] for p in problems] == [
        "<IfVersion>: 'two' is not a version such as 2.4 or 2.4.1",
        "<IfVersion>: bad regular expression '(': missing ), unterminated subpattern at position 0",
        "<IfVersion> expects [[!]operator] version, not ''",
    ]
