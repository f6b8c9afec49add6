"""Access-control directives read from a site file and merged per request as Apache
merges them (AuthMerging Off): what the gate gets for a URL."""

from __future__ import annotations

from pathlib import Path

from wsgihost.access.rules import Check, Combine
from wsgihost.config import load
from wsgihost.config.model import AuthScript, DirSettings
from wsgihost.routing import Refusal, Router

SITE = """\
Listen 80
DocumentRoot {root}/htdocs
WSGIScriptAlias /app {root}/app.wsgi
<Directory {root}/htdocs>
    Require all denied
</Directory>
<Location /open>
    Require all granted
    Require ip 10.1
</Location>
<Location /private>
    AuthType Basic
    AuthName "Zone"
    AuthBasicProvider wsgi
    WSGIAuthUserScript {root}/auth.wsgi application-group=auth
    Require valid-user
</Location>
<Location /private/inner>
    AuthType None
</Location>
<Location /app/gated>
    WSGIAccessScript {root}/auth.wsgi
</Location>
"""


def settings_for(tmp_path: Path, url: bytes) -> DirSettings:
    (tmp_path / "htdocs").mkdir(exist_ok=True)
    (tmp_path / "app.wsgi").write_text("application = None\n")
    (tmp_path / "auth.wsgi").write_text("def check_password(environ, user, password): pass\n")
    conf = tmp_path / "site.conf"
    conf.write_text(SITE.format(root=tmp_path))
    server, problems = load(str(conf), {}, {})
    assert server is not None, problems
    target = Router(server).route("127.0.0.1", 80, b"example.com", url)
    assert not isinstance(target, Refusal)
    return target.settings


def test_lines_of_one_section_are_any_of_them(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, b"/open/x")
    assert settings.authz == Combine("any", (Check("all", ("granted",)), Check("ip", ("10.1",))))
    assert settings.require == "granted"  # the summary static files read


def test_a_section_with_require_lines_replaces_the_outer_ones(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, b"/private/x")
    assert settings.authz == Combine("any", (Check("valid-user"),))
    assert settings.auth_type == "Basic" and settings.auth_name == "Zone"
    assert settings.auth_provider == "wsgi"
    assert settings.auth_user_script == AuthScript(str(tmp_path / "auth.wsgi"), "auth")


def test_a_section_without_require_keeps_the_outer_rules(tmp_path: Path) -> None:
    inner = settings_for(tmp_path, b"/private/inner/x")
    assert inner.authz == Combine("any", (Check("valid-user"),))
    assert inner.auth_type == ""  # AuthType None: nobody can authenticate here
    outside = settings_for(tmp_path, b"/elsewhere.txt")
    assert outside.authz == Combine("any", (Check("all", ("denied",)),))
    assert outside.require == "denied"


def test_an_app_gets_the_sections_of_its_url(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, b"/app/gated/x")
    assert settings.access_script == AuthScript(str(tmp_path / "auth.wsgi"), "")
    assert settings.authz is None  # no Require anywhere on this path: granted
