"""The pure parts of reading a distribution's tree: <IfModule> as LoadModule says,
Listen derived from <VirtualHost> for a site file on its own, --remap-port, and
the default ${APACHE_*} values."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from wsgihost.config import load
from wsgihost.config.model import Server
from wsgihost.config.modules import BUILT_IN_MODULES, module_loaded
from wsgihost.config.parser import parse
from wsgihost.config.problems import Problems


def names(tmp_path: Path, text: str) -> list[str]:
    """The directive names the parser keeps (what <IfModule> let through)."""
    conf = tmp_path / "main.conf"
    conf.write_text(textwrap.dedent(text))
    return [node.name for node in parse(str(conf), Problems()).nodes]


@pytest.mark.parametrize(
    ("module", "loaded", "found"),
    [
        ("mod_wsgi.c", None, True),  # no LoadModule at all: what wsgihost provides
        ("wsgi_module", None, True),
        ("mod_status.c", None, False),
        ("mod_autoindex.c", None, True),  # provided
        ("mod_wsgi.c", set(BUILT_IN_MODULES), False),  # not loaded (yet)
        ("mod_wsgi.c", {*BUILT_IN_MODULES, "wsgi"}, True),
        ("mod_log_config.c", set(BUILT_IN_MODULES), True),  # built in
        ("logio_module", set(BUILT_IN_MODULES), True),
        ("mpm_event_module", set(BUILT_IN_MODULES), False),  # an MPM is loaded, not built in
        ("mod_mpm_event.c", {*BUILT_IN_MODULES, "mpm_event"}, True),
        ("mod_status.c", {*BUILT_IN_MODULES, "status"}, True),  # loaded, not provided
    ],
)
def test_ifmodule_decisions(module: str, loaded: set[str] | None, found: bool) -> None:
    assert module_loaded(module, loaded) is found


def test_loadmodule_counts_from_where_it_is_read(tmp_path: Path) -> None:
    kept = names(
        tmp_path,
        """\
        <IfModule mod_alias.c>
            Alias /early /tmp
        </IfModule>
        LoadModule alias_module modules/mod_alias.so
        <IfModule mod_alias.c>
            Alias /late /tmp
        </IfModule>
        <IfModule !mod_dir.c>
            DirectoryIndex not-loaded.html
        </IfModule>
        <IfModule version_module>
            ServerName built-in.test
        </IfModule>
        """,
    )
    assert kept == ["LoadModule", "Alias", "DirectoryIndex", "ServerName"]


def test_a_loadmodule_in_an_included_file_counts_for_what_follows(tmp_path: Path) -> None:
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "wsgi.load").write_text("LoadModule wsgi_module mod_wsgi.so\n")
    kept = names(
        tmp_path,
        """\
        Include mods/*.load
        <IfModule mod_wsgi.c>
            WSGIRestrictEmbedded On
        </IfModule>
        """,
    )
    assert kept == ["LoadModule", "WSGIRestrictEmbedded"]


def test_a_site_file_without_loadmodule_sees_every_provided_module(tmp_path: Path) -> None:
    kept = names(
        tmp_path,
        """\
        <IfModule mod_wsgi.c>
            WSGIRestrictEmbedded On
        </IfModule>
        <IfModule mod_status.c>
            ExtendedStatus On
        </IfModule>
        """,
    )
    assert kept == ["WSGIRestrictEmbedded"]


def model(tmp_path: Path, text: str, remap: dict[int, int] | None = None) -> Server:
    conf = tmp_path / "site.conf"
    conf.write_text(textwrap.dedent(text))
    server, problems = load(str(conf), {}, {}, remap)
    assert server is not None, [str(p) for p in problems]
    return server


def test_listen_comes_from_the_virtual_hosts_when_there_is_none(tmp_path: Path) -> None:
    server = model(
        tmp_path,
        """\
        <VirtualHost *:80>
        </VirtualHost>
        <VirtualHost _default_:80 127.0.0.1:80>
        </VirtualHost>
        <VirtualHost 127.0.0.1:8080 [::1]:8080>
        </VirtualHost>
        """,
    )
    # *:80 covers 127.0.0.1:80 (both could not be bound); 8080 has addresses of its own.
    assert [(x.host, x.port) for x in server.listeners] == [
        ("", 80),
        ("127.0.0.1", 8080),
        ("::1", 8080),
    ]


def test_a_listen_anywhere_turns_derivation_off(tmp_path: Path) -> None:
    conf = tmp_path / "site.conf"
    conf.write_text("Listen 8000\n<VirtualHost *:80>\n</VirtualHost>\n")
    server, problems = load(str(conf), {}, {})
    # As Apache: the server starts on its Listen, the virtual host is never used.
    assert server is not None
    assert [(listener.host, listener.port) for listener in server.listeners] == [("", 8000)]
    warned = [p for p in problems if "no Listen covers *:80" in p.message]
    assert warned and all(p.severity == "warning" for p in warned)


def test_remap_moves_listen_and_virtual_hosts_together(tmp_path: Path) -> None:
    server = model(
        tmp_path,
        """\
        Listen 80
        Listen 127.0.0.1:443
        <VirtualHost *:80>
            ServerName a.test
        </VirtualHost>
        <VirtualHost 127.0.0.1:443>
            ServerName b.test
        </VirtualHost>
        <VirtualHost *:9000 *>
            ServerName c.test
        </VirtualHost>
        Listen 9000
        """,
        remap={80: 8080, 443: 8443},
    )
    assert [(x.host, x.port) for x in server.listeners] == [
        ("", 8080),
        ("127.0.0.1", 8443),
        ("", 9000),
    ]
    assert [[(a.host, a.port) for a in v.addresses] for v in server.vhosts] == [
        [("*", 8080)],
        [("127.0.0.1", 8443)],
        [("*", 9000), ("*", None)],
    ]


def test_apache_variables_default_to_debians_without_envvars(tmp_path: Path) -> None:
    server = model(
        tmp_path,
        """\
        Listen 8000
        ErrorLog ${APACHE_LOG_DIR}/error.log
        PidFile ${APACHE_PID_FILE}
        """,
    )
    assert server.main.error_log == "/var/log/apache2/error.log"
    assert server.pid_file == "/var/run/apache2/apache2.pid"


def test_an_envvars_file_beside_the_config_is_read(tmp_path: Path) -> None:
    (tmp_path / "envvars").write_text(
        "unset HOME\nexport APACHE_LOG_DIR=/srv/logs$SUFFIX\nexport APACHE_PID_FILE=$(pid)\n"
    )
    conf = tmp_path / "site.conf"
    conf.write_text("Listen 8000\nErrorLog ${APACHE_LOG_DIR}/error.log\n")
    server, problems = load(str(conf), {}, {"APACHE_LOG_DIR": "/from/environment"})
    assert server is not None
    assert server.main.error_log == "/srv/logs/error.log"  # the file's export wins, as in sh
    (skipped,) = problems
    assert (skipped.file, skipped.line, skipped.severity) == (
        str(tmp_path / "envvars"),
        3,
        "warning",
    )
    assert "not run" in skipped.message


def test_repeated_warnings_are_shown_once_per_file(tmp_path: Path) -> None:
    conf = tmp_path / "site.conf"
    conf.write_text("Listen 8000\n" + "AddLanguage en .en\n" * 4 + "MIMEMagicFile conf/magic\n")
    _, problems = load(str(conf), {}, {})
    assert [(p.line, p.message.split(":")[0]) for p in problems] == [
        (2, "AddLanguage"),
        (6, "MIMEMagicFile"),
    ]
    assert problems[0].message.endswith("(and 3 more such lines in this file, up to line 5)")


def problems_of(tmp_path: Path, text: str) -> list[tuple[int, str, str]]:
    conf = tmp_path / "site.conf"
    conf.write_text("Listen 8000\n" + textwrap.dedent(text))
    _, problems = load(str(conf), {}, {})
    return [(p.line, p.severity, p.message) for p in problems]


def test_userdir_disabled_says_nothing_and_enabling_it_warns(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "UserDir disabled\nUserDir public_html\n")
    assert found == [
        (
            3,
            "warning",
            "UserDir: ~user folders are not served (mod_userdir is not provided); ignored",
        )
    ]


def test_a_scriptalias_folder_with_scripts_is_refused_an_empty_one_warned(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "run.cgi").write_text("#!/bin/sh\n")
    found = problems_of(
        tmp_path,
        f"ScriptAlias /a/ {tmp_path}/empty/\nScriptAlias /b/ {tmp_path}/full/\n"
        f"ScriptAlias /c/ {tmp_path}/missing/\n",
    )
    assert [(line, severity) for line, severity, _ in found] == [
        (2, "warning"),
        (3, "error"),
        (4, "warning"),
    ]
    assert f"the scripts in {tmp_path}/full/ would not run" in found[1][2]


def test_autoindex_directives_are_read_and_mime_magic_is_a_warning(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        """\
        IndexOptions FancyIndexing
        <Directory /srv>
            IndexIgnore .??* *~
            HeaderName HEADER.html
        </Directory>
        MIMEMagicFile conf/magic
        """,
    )
    assert [(line, severity) for line, severity, _ in found] == [(7, "warning")]


@pytest.mark.parametrize(
    ("load_lines", "autoindex"),
    [
        ("", True),  # no LoadModule: read as if every module were loaded
        ("LoadModule autoindex_module modules/mod_autoindex.so\n", True),
        ("LoadModule dir_module modules/mod_dir.so\n", False),
    ],
)
def test_the_model_knows_whether_mod_autoindex_is_loaded(
    tmp_path: Path, load_lines: str, autoindex: bool
) -> None:
    server = model(tmp_path, load_lines + "Listen 8080\n")
    assert server.autoindex is autoindex
