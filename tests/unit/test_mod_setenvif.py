"""mod_setenvif: SetEnvIf and its family read into conditions
(config/mod_setenvif.py) and run over requests (mods/setenvif_core.py), as
Apache 2.4's match_headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsgihost.config import Problem, load
from wsgihost.config.model import Server
from wsgihost.mods.regsub import pregsub
from wsgihost.mods.setenvif_core import Request, SetEnvIfConfig, run, unescape_plain

DEBIAN = Path("/etc/apache2/mods-available/setenvif.conf")


def read(tmp_path: Path, body: str) -> tuple[Server | None, list[Problem]]:
    conf = tmp_path / "site.conf"
    conf.write_text(f"Listen 127.0.0.1:8000\nServerRoot {tmp_path}\n{body}")
    return load(str(conf), {}, {})


def config(tmp_path: Path, body: str) -> SetEnvIfConfig:
    server, problems = read(tmp_path, body)
    assert server is not None, [str(p) for p in problems]
    assert server.main.settings.setenvif is not None
    return server.main.settings.setenvif


def env_after(cfg: SetEnvIfConfig, headers: list[tuple[str, str]], **more: str) -> dict[str, str]:
    r = Request(headers=headers, env={}, remote_addr="10.1.2.3", server_addr="127.0.0.1")
    for key, value in more.items():
        setattr(r, key, value)
    run(cfg.conditions, r)
    return r.env


def test_header_regex_with_captures(tmp_path: Path) -> None:
    cfg = config(tmp_path, 'SetEnvIf User-Agent "Firefox/(\\d+)" FF=$1 BROWSER IS_OLD=!')
    ua = [("user-agent", "Mozilla/5.0 Firefox/120.0")]
    assert env_after(cfg, ua) == {"FF": "120", "BROWSER": "1"}
    assert env_after(cfg, [("User-Agent", "curl")]) == {}


def test_nocase_and_browser_match(tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        "SetEnvIfNoCase X-Token ^abc TOKEN=yes\nBrowserMatch ^Mozilla MOZ\n"
        "BrowserMatchNoCase msie OLDIE=1\n",
    )
    assert env_after(cfg, [("X-Token", "ABCD"), ("User-Agent", "Mozilla/4.0 (MSIE 6)")]) == {
        "TOKEN": "yes",
        "MOZ": "1",
        "OLDIE": "1",
    }
    assert env_after(cfg, [("User-Agent", "mozilla")]) == {}


def test_special_attributes(tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        "SetEnvIf Remote_Addr ^10\\. INSIDE\nSetEnvIf Request_Method POST POSTED\n"
        "SetEnvIf Request_URI \\.png$ IMAGE\nSetEnvIf Request_Protocol 1\\.0$ OLD_HTTP\n"
        "SetEnvIf Server_Addr ^127 LOCAL\n",
    )
    got = env_after(cfg, [], method="POST", uri="/a/b.png", protocol="HTTP/1.0")
    assert got == {"INSIDE": "1", "POSTED": "1", "IMAGE": "1", "OLD_HTTP": "1", "LOCAL": "1"}


def test_an_earlier_variable_and_a_missing_header(tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        "SetEnvIf X-A (.+) FIRST=$1\n"
        "SetEnvIf first ^(.)(.) SECOND=$2$1\n"  # an earlier variable, in any letter case
        "SetEnvIf X-None ^$ ABSENT\n",
    )
    assert env_after(cfg, [("X-A", "xy")]) == {"FIRST": "xy", "SECOND": "yx", "ABSENT": "1"}


def test_header_name_regex_takes_the_last_matching_header(tmp_path: Path) -> None:
    cfg = config(tmp_path, "SetEnvIf ^X-Id-.* (.*) ID=$1")
    assert env_after(cfg, [("X-Id-A", "one"), ("Other", "x"), ("X-Id-B", "two")]) == {"ID": "two"}


def test_plain_pattern_is_a_substring_and_keeps_dollars(tmp_path: Path) -> None:
    cfg = config(tmp_path, 'SetEnvIf User-Agent "Mobile Safari" M=$1')
    assert env_after(cfg, [("User-Agent", "X Mobile Safari Y")]) == {"M": "$1"}
    assert unescape_plain("a\\.b") == "a.b"
    assert unescape_plain("a.b") is None
    assert unescape_plain("\\d") is None


def test_empty_value_after_equals_sets_one(tmp_path: Path) -> None:
    cfg = config(tmp_path, "SetEnvIf X-A . EMPTY=")
    assert env_after(cfg, [("X-A", "v")]) == {"EMPTY": "1"}


def test_server_level_and_section_conditions_are_told_apart(tmp_path: Path) -> None:
    server, problems = read(
        tmp_path, "SetEnvIf X-A . TOP\n<Location /x>\n    SetEnvIf X-A . INNER\n</Location>\n"
    )
    assert server is not None, [str(p) for p in problems]
    assert server.main.settings.setenvif is not None
    assert [c.server_level for c in server.main.settings.setenvif.conditions] == [True]
    inner = server.main.sections[0].settings.setenvif
    assert inner is not None and [c.server_level for c in inner.conditions] == [False]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("SetEnvIf User-Agent (unclosed X", "SetEnvIf: SetEnvIf regex could not be compiled"),
        ("BrowserMatch Mozilla", "BrowserMatch: "),
        ("SetEnvIf ^(X-[ Y X", "SetEnvIf: SetEnvIf regex could not be compiled"),
    ],
)
def test_bad_lines_are_refused(tmp_path: Path, line: str, message: str) -> None:
    found = [(p.line, p.message) for p in read(tmp_path, line)[1] if p.severity == "error"]
    assert len(found) == 1 and found[0][0] == 3 and found[0][1].startswith(message), found


def test_debians_setenvif_conf_is_read(tmp_path: Path) -> None:
    if not DEBIAN.exists():
        pytest.fail(f"{DEBIAN} is not on this machine")
    cfg = config(tmp_path, DEBIAN.read_text())
    msie = [("User-Agent", "Mozilla/4.0 (compatible; MSIE 4.0b2; Windows)")]
    got = env_after(cfg, msie)
    assert "nokeepalive" in got and "downgrade-1.0" in got and "force-response-1.0" in got


def test_pregsub() -> None:
    import re

    m = re.search(r"(a)(b)?", "xa")
    assert pregsub("$1-$2-$0-\\$1-$x", m) == "a--a-$1-$x"
    assert pregsub("$1", None) == ""
    assert pregsub("$0|$1|$2", ("v42", "42")) == "v42|42|"  # an expression's groups
