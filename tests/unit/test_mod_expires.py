"""mod_expires: codes read as check_code reads them, scopes merged as Apache merges
them (the wildcard flag from the deeper scope alone), and the headers the output
hook adds to answers: Expires and a max-age merged into Cache-Control."""

from __future__ import annotations

import os
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from wsgihost.config import load
from wsgihost.config.mod_expires import CodeError, ExpiresSettings, parse_code
from wsgihost.config.model import Server
from wsgihost.mods.expires import ExpiresModule, activate
from wsgihost.pipeline import OutHeaders, RequestState
from wsgihost.routing import Refusal, Router


def read(tmp_path: Path, text: str) -> tuple[Server | None, list[str]]:
    (tmp_path / "www").mkdir(exist_ok=True)
    conf = tmp_path / "site.conf"
    conf.write_text(f"Listen 127.0.0.1:8080\nDocumentRoot {tmp_path}/www\n{text}")
    server, problems = load(str(conf), {}, {})
    return server, [str(p).replace(str(tmp_path) + "/", "") for p in problems]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("access plus 1 month", ("A", 30 * 86400)),
        ("now plus 1 year 2 weeks", ("A", 365 * 86400 + 14 * 86400)),
        ("modification plus 3 hours 4 minutes 5 seconds", ("M", 3 * 3600 + 4 * 60 + 5)),
        ("a p 2 d", ("A", 2 * 86400)),  # first letters are enough
        ("m 10 mi", ("M", 600)),  # "mi" minutes, without "plus"
        ("access", ("A", 0)),
        ("A3600", ("A", 3600)),
        ("M86400", ("M", 86400)),
        ("A 60", ("A", 60)),
        ("Access plus 1 day", ("A", 0)),  # a capital A is the old form: A0
        ("Modification plus 1 day", ("M", 0)),
        ("N plus 1 h", ("A", 3600)),  # base letters in any case
        ("access plus 10x days", ("A", 10 * 86400)),  # atoi
    ],
)
def test_codes_read_as_mod_expires_reads_them(code: str, expected: tuple[str, int]) -> None:
    assert parse_code(code) == expected


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("later plus 1 day", "unrecognised <base> 'later'"),
        ("", "unrecognised <base> ''"),
        ("access plus one day", "numeric value expected <num> 'one'"),
        ("access plus 1", "missing <type>"),
        ("access plus 1 fortnight", "unrecognised <type>'fortnight'"),
        ("access plus 1 m", "unrecognised <type>'m'"),  # months or minutes?
    ],
)
def test_bad_codes_refused_with_apaches_words(code: str, message: str) -> None:
    with pytest.raises(CodeError, match=message):
        parse_code(code)


def test_directive_errors_name_the_line(tmp_path: Path) -> None:
    server, problems = read(
        tmp_path,
        'ExpiresActive maybe\nExpiresByType texthtml A60\nExpiresDefault "soon plus 1 day"\n'
        "ExpiresDefault access plus 1 day\n",
    )
    assert server is None
    assert any("site.conf:3" in p and "ExpiresActive" in p and "On or Off" in p for p in problems)
    assert any("site.conf:4" in p and "should contain a slash" in p for p in problems)
    assert any("site.conf:5" in p and "unrecognised <base> 'soon'" in p for p in problems)
    assert any("site.conf:6" in p and "ExpiresDefault" in p for p in problems)


def test_capital_letter_code_is_warned_about(tmp_path: Path) -> None:
    server, problems = read(tmp_path, 'ExpiresActive On\nExpiresDefault "Access plus 1 week"\n')
    assert server is not None
    assert len(problems) == 1 and "site.conf:4" in problems[0] and "A0" in problems[0]


def test_merge_deeper_wins_and_wildcards_come_from_the_deeper_scope() -> None:
    outer = ExpiresSettings(
        active=True,
        default=("A", 60),
        by_type=(("image/*", ("A", 1)), ("text/css", ("A", 2))),
        wildcards=True,
    )
    inner = ExpiresSettings(by_type=(("text/css", ("A", 3)),))
    merged = outer.merge(inner)
    assert merged.active is True and merged.default == ("A", 60)
    assert merged.code_for("text/css") == ("A", 3)
    # The wildcard entry is still there, but the flag is the inner scope's (off):
    assert merged.code_for("image/png") == ("A", 60)
    assert outer.code_for("image/png") == ("A", 1)
    assert outer.merge(ExpiresSettings(active=False)).enabled is False


def test_code_for_a_type() -> None:
    config = ExpiresSettings(
        active=True,
        default=("A", 60),
        by_type=(("text/html", ("A", 1)), ("text/*", ("A", 2))),
        wildcards=True,
    )
    assert config.code_for("text/html; charset=utf-8") == ("A", 1)
    assert config.code_for("TEXT/HTML ;level=1") == ("A", 1)
    assert config.code_for("text/plain") == ("A", 2)
    assert config.code_for("image/png") == ("A", 60)  # no wildcard: the default
    assert config.code_for(None) == ("A", 60)
    assert config.code_for("nonsense") == ("A", 60)


SITE = """\
ExpiresActive On
ExpiresDefault "access plus 1 hour"
ExpiresByType text/css "modification plus 1 day"
<Directory {root}/www/off>
    ExpiresActive Off
</Directory>
"""


def answer(
    tmp_path: Path,
    path: str,
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
    error: bool = False,
) -> dict[str, str]:
    server, problems = read(tmp_path, SITE.format(root=tmp_path))
    assert server is not None and problems == [], problems
    module = activate(server)
    assert isinstance(module, ExpiresModule)
    target = Router(server).route("127.0.0.1", 8080, None, path.encode())
    assert not isinstance(target, Refusal)
    r = RequestState("GET", path, "", [], target.host)
    module.post_read_request(r)
    r.settings, r.target = target.settings, target
    out = OutHeaders(status, list(headers or []), [], error)
    module.output_headers(r, out)
    return dict(out.result())


def test_access_plus_on_an_answer(tmp_path: Path) -> None:
    before = int(time.time())
    got = answer(tmp_path, "/page.html", headers=[("Content-Type", "text/html")])
    assert got["Cache-Control"] == "max-age=3600"
    expires = parsedate_to_datetime(got["Expires"]).timestamp()
    assert before + 3600 <= expires <= time.time() + 3600


def test_modification_plus_counts_from_the_file(tmp_path: Path) -> None:
    (tmp_path / "www").mkdir(exist_ok=True)
    css = tmp_path / "www" / "style.css"
    css.write_text("x")
    old = time.time() - 2 * 86400
    os.utime(css, (old, old))
    got = answer(tmp_path, "/style.css", status=304)  # a 304 has no Content-Type
    assert got["Cache-Control"] == "max-age=0"  # already past: now, max-age=0
    fresh = time.time() - 3600
    os.utime(css, (fresh, fresh))
    got = answer(tmp_path, "/style.css", headers=[("Content-Type", "text/css")])
    assert 86400 - 3600 - 2 <= int(got["Cache-Control"].split("=")[1]) <= 86400 - 3600
    assert parsedate_to_datetime(got["Expires"]).timestamp() == int(fresh + 86400)


def test_existing_expires_errors_and_off_are_left_alone(tmp_path: Path) -> None:
    own = answer(tmp_path, "/a.html", headers=[("Expires", "0"), ("Cache-Control", "no-store")])
    assert own == {"Expires": "0", "Cache-Control": "no-store"}
    assert answer(tmp_path, "/a.html", status=404) == {}
    assert answer(tmp_path, "/off/a.html", headers=[("Content-Type", "text/html")]) == {
        "Content-Type": "text/html"
    }


def test_cache_control_merged(tmp_path: Path) -> None:
    got = answer(tmp_path, "/a.html", status=302, headers=[("cache-control", "no-cache")])
    assert got["cache-control"] == "no-cache, max-age=3600"
    assert "Cache-Control" not in got


def test_unconfigured_site_has_no_module(tmp_path: Path) -> None:
    server, _ = read(tmp_path, "")
    assert server is not None and activate(server) is None
