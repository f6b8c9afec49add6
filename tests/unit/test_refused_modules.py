"""Features wsgihost will never provide (CGI, LDAP, mod_substitute) are refused, with file:line.

A site that protects a path with LDAP, or rewrites bodies with Substitute,
must not be served as if those lines were absent: configtest fails on them and
says what to do instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wsgihost.config import load
from wsgihost.config.directives import lookup
from wsgihost.config.docs import render
from wsgihost.config.mod_refused import DIRECTIVES

SITE = """\
Listen 127.0.0.1:8080
<VirtualHost *:8080>
    DocumentRoot {root}
    <Location /private>
        {line}
    </Location>
</VirtualHost>
"""


def _errors(tmp_path: Path, line: str) -> list[tuple[int, str]]:
    conf = tmp_path / "site.conf"
    conf.write_text(SITE.format(root=tmp_path, line=line))
    server, problems = load(str(conf), environ={})
    errors = [(p.line, p.message) for p in problems if p.severity == "error"]
    assert (server is None) == bool(errors)
    return errors


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('AuthLDAPURL "ldap://ldap.example.com/ou=people,dc=example,dc=com?uid"', "LDAP"),
        ('AuthLDAPBindDN "cn=reader,dc=example,dc=com"', "LDAP"),
        ("AuthLDAPGroupAttributeIsDN off", "LDAP"),
        ("LDAPReferrals Off", "LDAP"),
        ("Require ldap-group cn=admins,ou=groups,dc=example,dc=com", "LDAP"),
        ("Require ldap-user alice", "LDAP"),
        ('Substitute "s/http:/https:/n"', "response bodies are not rewritten"),
        ("SubstituteMaxLineLength 10m", "response bodies are not rewritten"),
        ("ScriptAlias /cgi-bin/ {root}/cgi-bin/", "CGI is not provided"),
    ],
)
def test_each_is_an_error_at_its_line_saying_why(tmp_path: Path, line: str, says: str) -> None:
    if line.startswith("ScriptAlias"):
        # ScriptAlias is not allowed in <Location>, so it gets a file of its own,
        # and a folder holding a script (those would not run).
        (tmp_path / "cgi-bin").mkdir()
        (tmp_path / "cgi-bin" / "report.cgi").write_text("#!/bin/sh\necho\n")
        conf = tmp_path / "site.conf"
        conf.write_text(
            f"Listen 127.0.0.1:8080\nDocumentRoot {tmp_path}\n{line.format(root=tmp_path)}\n"
        )
        _, problems = load(str(conf), environ={})
        errors = [(p.line, p.message) for p in problems if p.severity == "error"]
        assert [n for n, _ in errors] == [3]
    else:
        errors = _errors(tmp_path, line)
        assert [n for n, _ in errors] == [5]
    assert says in errors[0][1]


def test_ldap_refusal_says_what_to_do_instead(tmp_path: Path) -> None:
    [(_, message)] = _errors(tmp_path, 'AuthLDAPURL "ldap://x/dc=example"')
    assert "authenticate in a proxy in front" in message


def test_they_are_in_the_directive_table_and_the_reference() -> None:
    text = render()
    for record in DIRECTIVES:
        assert lookup(record.name.upper()) is record
        assert f"`{record.name}`" in text
    assert "`Require ldap-user`" in text
