"""An app's Content-Type as Apache sends it (ForceType, AddDefaultCharset), and
DefaultType's warning as Apache 2.4 gives it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_mod_expires import read
from wsgihost.mods.mime import MimeModule, activate, with_default_charset
from wsgihost.pipeline import OutHeaders, RequestState
from wsgihost.routing import Refusal, Router


@pytest.mark.parametrize(
    ("media", "sent"),
    [
        ("text/html", "text/html; charset=x"),
        ("text/plain", "text/plain; charset=x"),
        ("TEXT/HTML", "TEXT/HTML; charset=x"),
        ("text/html; level=1", "text/html; level=1; charset=x"),
        ("text/plainish", "text/plainish; charset=x"),  # looked for anywhere, as Apache
        ("text/html;charset=utf-8", "text/html;charset=utf-8"),
        ("text/html; Charset=utf-8", "text/html; Charset=utf-8"),
        ("application/json", "application/json"),
        ("text/css", "text/css"),
    ],
)
def test_default_charset_as_ap_make_content_type(media: str, sent: str) -> None:
    assert with_default_charset(media, "x") == sent


SITE = """\
WSGIScriptAlias /app {root}/app.wsgi
AddDefaultCharset On
<Location /app/utf8>
    AddDefaultCharset utf-8
</Location>
<Location /app/off>
    AddDefaultCharset Off
</Location>
<Location /app/forced>
    ForceType text/html
</Location>
"""


def sent(
    tmp_path: Path, path: str, headers: list[tuple[str, str]], status: int = 200
) -> list[tuple[str, str]]:
    (tmp_path / "app.wsgi").write_text("application = None\n")
    server, problems = read(tmp_path, SITE.format(root=tmp_path))
    assert server is not None and problems == [], problems
    module = activate(server)
    assert isinstance(module, MimeModule)
    target = Router(server).route("127.0.0.1", 8080, None, path.encode())
    assert not isinstance(target, Refusal)
    r = RequestState("GET", path, "", [], target.host)
    r.settings, r.target = target.settings, target
    out = OutHeaders(status, list(headers), [])
    module.output_headers(r, out)
    return out.result()


def test_app_answers_get_the_charset(tmp_path: Path) -> None:
    assert sent(tmp_path, "/app/x", [("Content-Type", "text/plain")]) == [
        ("Content-Type", "text/plain; charset=iso-8859-1")
    ]
    assert sent(tmp_path, "/app/utf8", [("content-type", "text/html")]) == [
        ("content-type", "text/html; charset=utf-8")
    ]
    assert sent(tmp_path, "/app/off", [("Content-Type", "text/html")]) == [
        ("Content-Type", "text/html")
    ]
    assert sent(tmp_path, "/app/x", []) == []  # no type: none is made up


def test_force_type_for_an_app_that_sends_none(tmp_path: Path) -> None:
    assert sent(tmp_path, "/app/forced", []) == [("Content-Type", "text/html; charset=iso-8859-1")]
    assert sent(tmp_path, "/app/forced", [("Content-Type", "image/png")]) == [
        ("Content-Type", "image/png")
    ]
    assert sent(tmp_path, "/app/forced", [], status=304) == []


def test_unconfigured_site_has_no_module(tmp_path: Path) -> None:
    server, _ = read(tmp_path, "")
    assert server is not None and activate(server) is None


def test_default_type_warned_unless_none(tmp_path: Path) -> None:
    server, problems = read(tmp_path, "DefaultType text/plain\nDefaultType None\nDefaultType off\n")
    assert server is not None
    assert len(problems) == 1
    assert "site.conf:3" in problems[0] and "DefaultType" in problems[0]
