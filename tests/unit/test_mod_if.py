"""<If>, <ElseIf>, <Else>: read into the model, chosen per request as Apache's if walk chooses."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_config_builder import build, ok
from wsgihost.config.mod_if import walk
from wsgihost.config.model import DirSettings, Server
from wsgihost.expr import MapRequest

CHAIN = """\
Listen 8080
<VirtualHost *:8080>
    ServerName a.test
    DocumentRoot htdocs
    <If "%{HTTP_HOST} == 'a.test'">
        Require all denied
    </If>
    <ElseIf "%{REQUEST_URI} =~ m#^/open/#">
        Require all granted
        <If "-n %{QUERY_STRING}">
            ErrorDocument 404 /nested.html
        </If>
    </ElseIf>
    <Else>
        ErrorDocument 404 /else.html
    </Else>
    <If "%{HTTP_USER_AGENT} =~ /bot/">
        ErrorDocument 403 /bot.html
    </If>
</VirtualHost>
"""


def settings_for(
    server: Server, host: str, uri: str, query: str = "", agent: str = ""
) -> DirSettings:
    request = MapRequest(
        variables={"REQUEST_URI": uri, "QUERY_STRING": query},
        headers={"Host": host, "User-Agent": agent},
    )
    logged: list[str] = []
    chosen, _ = walk(server.vhosts[0].settings, request, logged.append)
    assert logged == []
    return chosen


def test_the_first_true_section_of_a_chain_is_merged(tmp_path: Path) -> None:
    server = ok(tmp_path, CHAIN)
    chosen = settings_for(server, "a.test", "/open/x")
    assert chosen.require == "denied"  # <If> held: its <ElseIf> and <Else> are skipped
    assert chosen.error_documents == ()
    chosen = settings_for(server, "b.test", "/open/x")
    assert chosen.require == "granted"
    assert chosen.error_documents == ()
    chosen = settings_for(server, "b.test", "/open/x", query="q=1")  # the nested <If> holds too
    assert chosen.error_documents == ((404, "/nested.html"),)
    chosen = settings_for(server, "b.test", "/other")
    assert chosen.error_documents == ((404, "/else.html"),)


def test_separate_chains_are_each_tried(tmp_path: Path) -> None:
    server = ok(tmp_path, CHAIN)
    chosen = settings_for(server, "a.test", "/", agent="googlebot")
    assert chosen.require == "denied"
    assert chosen.error_documents == ((403, "/bot.html"),)


def test_headers_read_are_returned_for_vary_and_failures_logged(tmp_path: Path) -> None:
    server = ok(
        tmp_path,
        "Listen 8080\n"
        "<If \"%{HTTP_USER_AGENT} == 'x' || file('/nonexistent') == ''\">\n"
        "Require all denied\n</If>\n"
        "<If \"req('X-A') == 'x' || %{HTTP_REFERER} == '' || %{HTTP_HOST} == ''\">\n"
        "ErrorDocument 404 /x.html\n</If>\n",
    )
    logged: list[str] = []
    request = MapRequest(headers={"User-Agent": "y"})
    chosen, varies = walk(server.main.settings, request, logged.append)
    assert chosen.require != "denied"  # an expression that fails counts as false
    assert chosen.error_documents == ((404, "/x.html"),)
    # Only an expression that was evaluated names its headers (Host never).
    assert varies == ("X-A", "Referer")
    assert logged == [
        f"Evaluation of expression from {tmp_path}/site.conf:2 failed: "
        "Cannot open file /nonexistent",
        "AH00039: Failed to evaluate <If > condition: Cannot open file /nonexistent",
    ]


def test_settings_without_sections_are_unchanged() -> None:
    a = DirSettings(require="granted")
    assert walk(a, MapRequest(), lambda line: None) == (a, ())


def test_bad_sections_are_refused_with_apaches_messages(tmp_path: Path) -> None:
    text = """\
Listen 8080
<If "%{HTTP_HOST} ==">
</If>
<If %{HTTP_HOST} == 'x'>
</If>
<If>
</If>
<Else>
</Else>
<If "true">
    DocumentRoot /tmp
    WSGIScriptAlias /app app.wsgi
    <Directory /tmp>
    </Directory>
</If>
<Else foo>
</Else>
<Directory /tmp>
    <ElseIf "true">
    </ElseIf>
</Directory>
"""
    server, problems = build(tmp_path, text)
    assert server is None
    assert problems == [
        "site.conf:2: <If>: Cannot parse condition clause: syntax error, unexpected $end "
        "(at character 16)",
        "site.conf:4: <If>: Multiple <If> arguments not supported.",
        "site.conf:6: <If>: <If> directive requires additional arguments",
        "site.conf:8: <Else>: <Else> or <ElseIf> section without previous <If> or <ElseIf> "
        "section in same scope",
        "site.conf:11: DocumentRoot is not allowed in <If> (allowed in: server config, "
        "virtual host)",
        "site.conf:12: WSGIScriptAlias is not allowed in <If> (allowed in: server config, "
        "virtual host)",
        "site.conf:13: <Directory> is not allowed in <If> (allowed in: server config, "
        "virtual host)",
        "site.conf:16: <Else>: <Else> does not take an argument",
        "site.conf:19: <ElseIf>: <Else> or <ElseIf> section without previous <If> or "
        "<ElseIf> section in same scope",
    ]
