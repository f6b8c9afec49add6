"""The directive table, the builder's checks, ``load()`` and ``wsgihost configtest``."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from wsgihost.cli import main
from wsgihost.config import daemon_options, load, modules
from wsgihost.config import directives as d
from wsgihost.config.model import DaemonGroup, DirSettings, Server
from wsgihost.config.problems import Problem
from wsgihost.config.values import suggest


def build(
    tmp_path: Path, text: str, environ: dict[str, str] | None = None
) -> tuple[Server | None, list[str]]:
    (tmp_path / "htdocs").mkdir(exist_ok=True)
    (tmp_path / "app.wsgi").write_text("application = None\n")
    conf = tmp_path / "site.conf"
    conf.write_text(text)
    server, problems = load(str(conf), {}, environ or {})
    return server, [str(p).replace(str(tmp_path) + "/", "") for p in problems]


def ok(tmp_path: Path, text: str) -> Server:
    server, problems = build(tmp_path, text)
    assert server is not None, problems
    return server


# -- the table -----------------------------------------------------------------------------

# Every directive issue 3 names, and the sections.
_ISSUE_DIRECTIVES = """
    Listen ServerRoot ServerName ServerAlias DocumentRoot Alias AliasMatch DirectoryIndex
    Require Order Allow Deny Options KeepAlive KeepAliveTimeout MaxKeepAliveRequests Timeout
    LimitRequestBody LimitRequestLine LimitRequestFields LimitRequestFieldSize ErrorLog
    CustomLog LogFormat LogLevel PidFile TypesConfig AddType StartServers ThreadsPerChild
    GracefulShutdownTimeout WSGIScriptAlias WSGIScriptAliasMatch WSGIApplicationGroup
    WSGICallableObject WSGIPassAuthorization WSGIPythonPath WSGIPythonHome WSGIScriptReloading
    WSGIRestrictEmbedded WSGIProcessGroup WSGISocketPrefix WSGIImportScript WSGIDaemonProcess
    Include IncludeOptional Define VirtualHost Directory DirectoryMatch Location LocationMatch
    Files FilesMatch IfModule IfDefine
"""
ISSUE_DIRECTIVES = _ISSUE_DIRECTIVES.split()

# Every option mod_wsgi's WSGIDaemonProcess accepts (its configuration code and
# documentation), and wsgihost's own rss-limit.
_MOD_WSGI_OPTIONS = """
    user group supplementary-groups processes threads umask chroot home lang locale
    python-home python-path python-eggs stack-size maximum-requests startup-timeout
    shutdown-timeout deadlock-timeout inactivity-timeout request-timeout graceful-timeout
    eviction-timeout restart-interval connect-timeout socket-timeout queue-timeout
    listen-backlog display-name send-buffer-size receive-buffer-size header-buffer-size
    response-buffer-size response-socket-timeout socket-user script-user script-group
    cpu-time-limit cpu-priority memory-limit virtual-memory-limit server-metrics
    newrelic-config-file newrelic-environment
    switch-interval interrupt-timeout response-flush-delay
"""
MOD_WSGI_OPTIONS = _MOD_WSGI_OPTIONS.split()


@pytest.mark.parametrize("name", ISSUE_DIRECTIVES)
def test_every_directive_of_the_issue_is_supported(name: str) -> None:
    record = d.lookup(name)
    assert record is not None
    assert record.kind == "supported"
    assert record.name == name


def test_every_mod_wsgi_daemon_option_is_checked() -> None:
    assert sorted(daemon_options.DAEMON_OPTION_INDEX) == sorted([*MOD_WSGI_OPTIONS, "rss-limit"])
    group_fields = {f.name for f in fields(DaemonGroup)}
    assert all(option.field in group_fields for option in daemon_options.DAEMON_OPTIONS)
    assert all(option.doc and option.value for option in daemon_options.DAEMON_OPTIONS)


def test_table_records_are_complete() -> None:
    names = [r.name.lower() for r in d.TABLE]
    assert len(names) == len(set(names))
    for record in d.TABLE:
        assert record.doc.endswith("."), record.name
        assert record.syntax and record.contexts <= d.ANY, record.name
        assert record.max_args is None or record.min_args <= record.max_args, record.name
        if record.kind == "supported":
            assert record.apply is not None or record.read_time, record.name
        else:
            assert record.why, record.name
        if record.kind == "refused":
            assert record.apply is None, record.name


def test_lookup_ignores_case() -> None:
    assert d.lookup("wsgiscriptalias") is d.lookup("WSGIScriptAlias") is not None
    assert d.lookup("NoSuchThing") is None


@pytest.mark.parametrize(
    "name", ["HostnameLookups", "LanguagePriority", "AddLanguage", "ContentDigest"]
)
def test_not_ours_examples_are_accepted_with_a_warning(name: str) -> None:
    record = d.lookup(name)
    assert record is not None and record.kind == "ignored"


@pytest.mark.parametrize("name", ["SSLEngine", "SSLCertificateFile", "SSLCertificateKeyFile"])
def test_tls_directives_are_mod_ssls(name: str) -> None:
    record = d.lookup(name)
    assert record is not None and record.kind == "supported" and record.module == "mod_ssl"


def test_suggestions() -> None:
    assert suggest("proceses", daemon_options.DAEMON_OPTION_INDEX) == " (did you mean 'processes'?)"
    assert suggest("documentroot2", ["DocumentRoot"]) == " (did you mean 'DocumentRoot'?)"
    assert suggest("zzz", ["DocumentRoot"]) == ""
    assert d.unknown_message("SSLNew", False).startswith("SSLNew: this mod_ssl directive")
    assert d.unknown_message("Virtualhosts", True) == (
        "unknown section <Virtualhosts> (did you mean 'VirtualHost'?)"
    )


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("mod_wsgi.c", "wsgi"),
        ("wsgi_module", "wsgi"),
        ("mod_wsgi", "wsgi"),
        ("mod_wsgi.so", "wsgi"),
        ("http_core.c", "http"),
        ("prefork.c", "mpm_prefork"),
        ("mpm_event_module", "mpm_event"),
    ],
)
def test_module_names(name: str, base: str) -> None:
    assert modules.module_id(name) == base


# -- access: Require and the old forms -----------------------------------------------------


def test_several_require_lines_grant_if_any_does(tmp_path: Path) -> None:
    server = ok(
        tmp_path,
        "Listen 80\n<Location /a>\nRequire all granted\nRequire all denied\n</Location>\n",
    )
    assert server.main.sections[0].settings.require == "granted"


def test_require_is_case_insensitive(tmp_path: Path) -> None:
    server = ok(tmp_path, "Listen 80\n<Location />\nRequire ALL Denied\n</Location>\n")
    assert server.main.sections[0].settings.require == "denied"


# -- daemon process groups -----------------------------------------------------------------


def test_a_vhost_without_server_name_shares_the_main_servers_name(tmp_path: Path) -> None:
    server = ok(
        tmp_path,
        "Listen 80\nServerName main.example\n"
        "<VirtualHost *:80>\nServerName main.example\nWSGIDaemonProcess g\n</VirtualHost>\n"
        "<VirtualHost *:80>\nWSGIProcessGroup g\n</VirtualHost>\n",
    )
    assert server.groups[0].server_name == "main.example"


def test_server_name_written_after_the_group_counts(tmp_path: Path) -> None:
    server = ok(
        tmp_path,
        "Listen 80\n<VirtualHost *:80>\nWSGIDaemonProcess g\nWSGIProcessGroup g\n"
        "ServerName late.example\n</VirtualHost>\n",
    )
    assert server.groups[0].server_name == "late.example"


def test_main_server_settings_may_name_a_vhost_group(tmp_path: Path) -> None:
    # mod_wsgi decides that per request, by the virtual host: not an error here.
    server = ok(
        tmp_path,
        "Listen 80\nWSGIProcessGroup g\n"
        "<VirtualHost *:80>\nServerName a\nWSGIDaemonProcess g\n</VirtualHost>\n",
    )
    assert server.main.settings.process_group == "g"


def test_group_names_compare_exactly_and_server_names_without_case(tmp_path: Path) -> None:
    server, problems = build(
        tmp_path,
        "Listen 80\nListen 81\n"
        "<VirtualHost *:80>\nServerName A.example\nWSGIDaemonProcess G\n</VirtualHost>\n"
        "<VirtualHost *:81>\nServerName a.EXAMPLE\nWSGIProcessGroup G\n"
        "WSGIScriptAlias / app.wsgi process-group=g\n</VirtualHost>\n",
    )
    assert server is None
    assert problems == [
        "site.conf:10: process-group=: no WSGIDaemonProcess defines group 'g' (did you mean 'G'?)"
    ]


def test_socket_timeout_defaults_to_timeout_wherever_it_is_written(tmp_path: Path) -> None:
    server = ok(
        tmp_path,
        "Listen 80\nWSGIDaemonProcess a\nWSGIDaemonProcess b socket-timeout=7\nTimeout 33\n",
    )
    assert [g.socket_timeout for g in server.groups] == [33.0, 7.0]


def test_request_and_queue_timeouts_are_on_by_default(tmp_path: Path) -> None:
    # mod_wsgi-express's values; the queue-timeout is cut to a shorter Timeout unless given.
    default = ok(tmp_path, "Listen 80\nWSGIDaemonProcess a\n").groups[0]
    assert (default.request_timeout, default.queue_timeout) == (60.0, 45.0)
    server = ok(
        tmp_path,
        "Listen 80\nTimeout 10\nWSGIDaemonProcess a\nWSGIDaemonProcess b queue-timeout=50\n"
        "WSGIDaemonProcess c request-timeout=0 queue-timeout=0\n",
    )
    assert [(g.request_timeout, g.queue_timeout) for g in server.groups] == [
        (60.0, 10.0),
        (60.0, 50.0),
        (0.0, 0.0),
    ]


def test_a_duplicate_option_warns_and_the_last_counts(tmp_path: Path) -> None:
    server, problems = build(tmp_path, "Listen 80\nWSGIDaemonProcess g threads=2 threads=3\n")
    assert server is not None and server.groups[0].threads == 3
    assert problems == [
        "site.conf:2: warning: WSGIDaemonProcess: option 'threads' is given twice; "
        "the last one counts"
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [("512", 512), ("4k", 4096), ("4KB", 4096), ("2M", 2 << 20), ("1g", 1 << 30), ("0", 0)],
)
def test_rss_limit_sizes(tmp_path: Path, text: str, value: int) -> None:
    server = ok(tmp_path, f"Listen 80\nWSGIDaemonProcess g rss-limit={text}\n")
    assert server.groups[0].rss_limit == value


def test_user_by_number_but_never_root(tmp_path: Path) -> None:
    server = ok(tmp_path, "Listen 80\nWSGIDaemonProcess g user=#1000 group=#1000\n")
    assert (server.groups[0].user, server.groups[0].group) == ("#1000", "#1000")
    _, problems = build(tmp_path, "Listen 80\nWSGIDaemonProcess g user=#0\n")
    assert problems == [
        "site.conf:2: WSGIDaemonProcess: user=#0: daemon processes may not run as root "
        "(as in mod_wsgi)"
    ]


# -- listeners and virtual host addresses --------------------------------------------------


@pytest.mark.parametrize(
    ("listen", "vhost", "covered"),
    [
        ("80", "*:80", True),
        ("80", "10.0.0.1:80", True),
        ("80", "[::1]:80", True),
        ("0.0.0.0:80", "10.0.0.1:80", True),
        ("[::]:80", "10.0.0.1:80", True),
        ("10.0.0.1:80", "*:80", True),
        ("10.0.0.1:80", "_default_:80", True),
        ("10.0.0.1:80", "10.0.0.1:80", True),
        ("10.0.0.1:80", "10.0.0.2:80", False),
        ("[::1]:80", "[0:0::1]:80", True),
        ("80", "*:81", False),
        ("80", "*", True),
        ("80", "*:*", True),
        ("10.0.0.1:80", "10.0.0.2", False),
    ],
)
def test_vhost_addresses_need_a_listen(
    tmp_path: Path, listen: str, vhost: str, covered: bool
) -> None:
    server, problems = build(tmp_path, f"Listen {listen}\n<VirtualHost {vhost}>\n</VirtualHost>\n")
    # As Apache: an uncovered virtual host is a warning (it never gets a
    # request), and the server still starts on its Listen.
    assert server is not None, problems
    warned = [p for p in problems if "no Listen covers" in p]
    assert (not warned) == covered, problems


def test_ipv6_addresses_are_normalised(tmp_path: Path) -> None:
    server = ok(tmp_path, "Listen [0:0::0001]:80\n<VirtualHost [::0001]:80>\n</VirtualHost>\n")
    assert server.listeners[0].host == "::1"
    assert server.vhosts[0].addresses[0].host == "::1"
    assert server.listeners[0].url() == "http://[::1]:80"


def test_the_same_listen_twice_is_an_error_even_written_differently(tmp_path: Path) -> None:
    _, problems = build(tmp_path, "Listen [::1]:80\nListen [0::1]:80\n")
    assert problems == [
        "site.conf:2: Listen: [0::1]:80 is already listened on (line 1 of site.conf)"
    ]


# -- values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5", 5.0), ("1.5", 1.5), ("300ms", 0.3), ("2mi", 120.0), ("1h", 3600.0), ("7S", 7.0)],
)
def test_durations_take_apaches_units(tmp_path: Path, text: str, seconds: float) -> None:
    server = ok(tmp_path, f"Listen 80\nKeepAliveTimeout {text}\n")
    assert server.keepalive_timeout == seconds


def test_log_level_trace_means_debug(tmp_path: Path) -> None:
    server = ok(tmp_path, "Listen 80\nLogLevel trace4\n")
    assert server.logging.level == "debug"


def test_add_type_extensions(tmp_path: Path) -> None:
    server = ok(tmp_path, "Listen 80\nAddType text/x-thing .THING thing2\nAddType a/b c\n")
    assert server.main.settings.add_types == (
        (".thing", "text/x-thing"),
        (".thing2", "text/x-thing"),
        (".c", "a/b"),
    )


def test_alias_paths_keep_a_trailing_slash_and_documentroot_loses_it(tmp_path: Path) -> None:
    server = ok(tmp_path, "Listen 80\nDocumentRoot htdocs/\nAlias /a/ htdocs/\nAlias /b htdocs\n")
    assert server.main.document_root == f"{tmp_path}/htdocs"
    assert [a.path for a in server.main.aliases] == [f"{tmp_path}/htdocs/", f"{tmp_path}/htdocs"]


def test_paths_from_the_environment(tmp_path: Path) -> None:
    server, problems = build(
        tmp_path, "Listen ${PORT}\nDocumentRoot ${ROOT}\n", {"PORT": "81", "ROOT": str(tmp_path)}
    )
    assert problems == []
    assert server is not None and server.main.document_root == str(tmp_path)


def test_defaults_when_nothing_is_said(tmp_path: Path) -> None:
    server = ok(tmp_path, "Listen 80\n")
    assert server == Server(
        listeners=server.listeners,
        main=server.main,
        server_root=str(tmp_path),
        config_files=(f"{tmp_path}/site.conf",),
    )
    assert server.main.settings == DirSettings()


def test_types_config_is_a_config_file_for_reloading(tmp_path: Path) -> None:
    (tmp_path / "mime.types").write_text("text/x-a a\n")
    server = ok(tmp_path, "Listen 80\nTypesConfig mime.types\n")
    assert server.types_config == f"{tmp_path}/mime.types"
    assert server.config_files == (f"{tmp_path}/site.conf", f"{tmp_path}/mime.types")


# -- problems and load() -------------------------------------------------------------------


def test_problem_formats() -> None:
    assert str(Problem("a.conf", 3, "error", "bad")) == "a.conf:3: bad"
    assert str(Problem("a.conf", 3, "warning", "meh")) == "a.conf:3: warning: meh"
    assert str(Problem("a.conf", 0, "error", "no Listen")) == "a.conf: no Listen"


def test_problems_are_in_file_order_then_line_order(tmp_path: Path) -> None:
    (tmp_path / "inc.conf").write_text("Bogus1\n")
    server, problems = build(tmp_path, "Listen 80\nBogus2\nInclude inc.conf\nBogus3\n")
    assert server is None
    assert problems == [
        "site.conf:2: unknown directive 'Bogus2'",
        "site.conf:4: unknown directive 'Bogus3'",
        "inc.conf:1: unknown directive 'Bogus1'",
    ]


def test_warnings_alone_still_give_a_model(tmp_path: Path) -> None:
    server, problems = build(tmp_path, "Listen 80\nHostnameLookups On\n")
    assert server is not None
    assert len(problems) == 1 and problems[0].startswith("site.conf:2: warning: HostnameLookups")


def test_load_reads_the_process_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WSGIHOST_TEST_PORT", "8123")
    conf = tmp_path / "a.conf"
    conf.write_text("Listen ${WSGIHOST_TEST_PORT}\n")
    server, problems = load(str(conf))
    assert problems == []
    assert server is not None and server.listeners[0].port == 8123


def test_a_missing_file(tmp_path: Path) -> None:
    server, problems = load(str(tmp_path / "none.conf"), {}, {})
    assert server is None
    assert [p.message for p in problems] == [
        f"cannot read '{tmp_path}/none.conf': No such file or directory"
    ]


# -- wsgihost configtest -------------------------------------------------------------------


def test_configtest_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "site.conf"
    conf.write_text("Listen 80\n")
    assert main(["configtest", "--config", str(conf)]) == 0
    assert capsys.readouterr() == (
        f"would listen on http://0.0.0.0:80 ({conf}:1)\nSyntax OK\n",
        "",
    )


def test_configtest_warnings_do_not_fail_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "site.conf"
    conf.write_text("Listen 80\nServerTokens Prod\n")
    assert main(["configtest", "--config", str(conf)]) == 0
    out, err = capsys.readouterr()
    assert out.endswith("\nSyntax OK\n")
    assert (
        err == f"{conf}:2: warning: ServerTokens: wsgihost sends its own Server header; ignored\n"
    )


def test_configtest_prints_every_problem_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "site.conf"
    conf.write_text(
        "Listen 80\nWSGIDaemonProcess g proceses=2\nHostnameLookups On\nSSLRequire %{SSL_CIPHER}\n"
    )
    assert main(["configtest", "--config", str(conf)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{conf}:2: WSGIDaemonProcess: unknown option 'proceses' (did you mean 'processes'?)",
        f"{conf}:3: warning: HostnameLookups: {d.lookup('HostnameLookups').why}; ignored",  # type: ignore[union-attr]
        f"{conf}:4: SSLRequire: {d.lookup('SSLRequire').why}",  # type: ignore[union-attr]
    ]


def test_configtest_defines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "site.conf"
    conf.write_text("<IfDefine LIVE>\nListen ${PORT}\n</IfDefine>\n")
    assert main(["configtest", "--config", str(conf), "-D", "LIVE", "-D", "PORT=8080"]) == 0
    assert capsys.readouterr().out == f"would listen on http://0.0.0.0:8080 ({conf}:2)\nSyntax OK\n"
    assert main(["configtest", "--config", str(conf)]) == 1
    assert "no Listen directive" in capsys.readouterr().err


def test_configtest_needs_a_config(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["configtest"])
    assert info.value.code == 2
    assert "--config" in capsys.readouterr().err


# -- robustness -----------------------------------------------------------------------------


@pytest.mark.parametrize("record", d.TABLE, ids=lambda r: r.name)
def test_no_directive_crashes_on_odd_arguments_anywhere(
    tmp_path: Path, record: d.Directive
) -> None:
    lines = []
    for args in ("", " x", " x=1 y", ' "" 0 -1 ~ %{GLOBAL}', " on off =x 99999999999999999999"):
        if record.section:
            lines.append(f"<{record.name}{args}>\nServerAdmin x\n</{record.name}>")
        else:
            lines.append(f"{record.name}{args}")
    body = "\n".join(lines)
    text = (
        f"Listen 80\n{body}\n<VirtualHost *:80>\n{body}\n<Directory />\n{body}\n</Directory>\n"
        f"</VirtualHost>\n"
    )
    _, problems = build(tmp_path, text)
    assert problems and all(p.startswith("site.conf:") for p in problems)
