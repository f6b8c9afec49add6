"""config/mod_wsgi.py: mod_wsgi's remaining directives read into the model, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsgihost.config import Problem, load
from wsgihost.config.model import Server
from wsgihost.routing import Router, WSGITarget


def read(tmp_path: Path, body: str) -> tuple[Server | None, list[Problem]]:
    (tmp_path / "app.wsgi").write_text("def application(e, s): pass\n")
    conf = tmp_path / "site.conf"
    conf.write_text(f"Listen 127.0.0.1:8000\nServerRoot {tmp_path}\n{body}")
    return load(str(conf), {}, {})


def ok(tmp_path: Path, body: str) -> Server:
    server, problems = read(tmp_path, body)
    assert server is not None, [str(p) for p in problems]
    return server


def messages(tmp_path: Path, body: str) -> list[tuple[int, str, str]]:
    return [(p.line, p.severity, p.message) for p in read(tmp_path, body)[1]]


def target(server: Server, path: str) -> WSGITarget:
    found = Router(server).route("127.0.0.1", 8000, b"localhost:8000", path.encode())
    assert isinstance(found, WSGITarget)
    return found


def test_proxy_settings_merge_by_scope_and_add_up_within_one(tmp_path: Path) -> None:
    server = ok(
        tmp_path,
        f"""WSGITrustedProxyHeaders X-Forwarded-For
WSGITrustedProxyHeaders X-Forwarded-Proto x-forwarded-host
WSGITrustedProxies 10.0.0.0/8 192.168.1.7 ::1
WSGIScriptAlias /a {tmp_path}/app.wsgi
WSGIScriptAlias /b {tmp_path}/app.wsgi
<Location /b>
    WSGITrustedProxies 127.0.0.1
    WSGIMapHEADToGET On
</Location>
""",
    )
    a = target(server, "/a").settings
    assert a.trusted_proxy_headers == (
        "HTTP_X_FORWARDED_FOR",
        "HTTP_X_FORWARDED_PROTO",
        "HTTP_X_FORWARDED_HOST",
    )
    assert a.trusted_proxies == ("10.0.0.0/8", "192.168.1.7/32", "::1/128")
    assert a.map_head_to_get is None
    b = target(server, "/b").settings
    assert b.trusted_proxy_headers == a.trusted_proxy_headers
    assert b.trusted_proxies == ("127.0.0.1/32",)
    assert b.map_head_to_get == "on"


def test_bad_values_are_errors_with_their_line(tmp_path: Path) -> None:
    found = messages(
        tmp_path,
        """WSGITrustedProxies proxy.example.com
WSGITrustedProxies 10.0.0.0/99
WSGITrustedProxyHeaders X_Forwarded_For
WSGIMapHEADToGET Sometimes
WSGIRestrictStdin Maybe
WSGISwitchInterval 0
WSGIAcceptMutex spinlock
""",
    )
    assert [(line, severity) for line, severity, _ in found] == [(n, "error") for n in range(3, 10)]
    assert 'trusted proxy IP address/subnet of "proxy.example.com"' in found[0][2]
    assert "Off | On | Auto" in found[3][2]
    assert "positive number of seconds" in found[5][2]


def test_server_settings(tmp_path: Path) -> None:
    server = ok(
        tmp_path,
        """WSGIRestrictStdin On
WSGIRestrictStdout On
WSGIRestrictSignal Off
WSGISwitchInterval 0.02
WSGIPythonEggs eggs
WSGIDestroyInterpreter Off
""",
    )
    assert (server.restrict_stdin, server.restrict_stdout, server.restrict_signal) == (
        True,
        True,
        False,
    )
    assert server.switch_interval == 0.02
    assert server.python_eggs == f"{tmp_path}/eggs"
    assert server.destroy_interpreter is False
    defaults = ok(tmp_path, "")
    assert (defaults.restrict_stdin, defaults.restrict_stdout, defaults.restrict_signal) == (
        False,
        False,
        True,
    )


def test_restrictions_are_server_wide_as_in_mod_wsgi(tmp_path: Path) -> None:
    found = messages(tmp_path, "<VirtualHost *:8000>\nWSGIRestrictSignal Off\n</VirtualHost>\n")
    assert found and found[0][:2] == (4, "error")


@pytest.mark.parametrize(
    ("line", "warned"),
    [
        ("WSGILazyInitialization Off", True),
        ("WSGILazyInitialization On", False),
        ("WSGIVerboseDebugging On", True),
        ("WSGIVerboseDebugging Off", False),
        ("WSGICaseSensitivity Off", True),
        ("WSGIEnableSendfile On", True),
        ("WSGIEnableSendfile Off", False),
        ("WSGISocketRotation On", True),
        ("WSGIServerMetrics On", True),
        ("WSGIIgnoreActivity On", True),
        ("WSGIPassApacheRequest On", True),
        ("WSGIAcceptMutex fcntl", True),
        ("WSGINewRelicConfigFile /etc/newrelic.ini", True),
    ],
)
def test_what_cannot_apply_is_a_warning_only_when_it_asks_for_it(
    tmp_path: Path, line: str, warned: bool
) -> None:
    found = messages(tmp_path, line + "\n")
    assert [s for _, s, _ in found] == (["warning"] if warned else [])


def test_restrict_process_reads_global_as_embedded(tmp_path: Path) -> None:
    server = ok(
        tmp_path,
        f"WSGIRestrictProcess one %{{GLOBAL}}\nWSGIScriptAlias / {tmp_path}/app.wsgi\n",
    )
    assert target(server, "/").settings.restrict_process == ("one", "")


def test_env_application_group_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("E_APP_GROUP", "chosen")
    monkeypatch.setenv("E_GROUP", "pool")
    monkeypatch.setenv("E_GLOBAL", "%{GLOBAL}")
    monkeypatch.delenv("E_UNSET", raising=False)
    server = ok(
        tmp_path,
        f"""WSGIDaemonProcess pool
WSGIScriptAlias /a {tmp_path}/app.wsgi process-group=%{{ENV:E_GROUP}} \\
    application-group=%{{ENV:E_APP_GROUP}}
WSGIScriptAlias /b {tmp_path}/app.wsgi application-group=%{{ENV:E_GLOBAL}}
""",
    )
    a = target(server, "/a")
    assert (a.settings.process_group, a.application_group) == ("pool", "chosen")
    assert target(server, "/b").application_group == ""
    found = messages(
        tmp_path,
        f"""WSGIScriptAlias /c {tmp_path}/app.wsgi application-group=%{{ENV:E_UNSET}}
WSGIProcessGroup %{{ENV:E_UNSET}}
""",
    )
    assert [(line, severity) for line, severity, _ in found] == [(3, "warning"), (4, "error")]
    assert "named '%{ENV:E_UNSET}'" in found[0][2]
