"""Debian's envvars read without a shell (wsgihost.config.envvars), checked against
/bin/sh itself: the same file and environment must give the same variables."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from wsgihost.config.envvars import DEBIAN_DEFAULTS, environment, evaluate

TREE = Path(__file__).resolve().parent.parent / "trees" / "debian12"
DEBIAN = (TREE / "envvars").read_text()

# What Ubuntu's and older or local envvars files do beyond Debian 12's.
SNIPPETS = {
    "defaults": ": ${APACHE_LOG_DIR:=/var/log/apache2$SUFFIX}\nexport APACHE_LOG_DIR\n",
    "dash-default": "export A=${UNSET_ONE-fallback} B=${EMPTY:-empty} C=${EMPTY-kept}\n",
    "plus": "export A=${HOME:+set} B=${UNSET_ONE:+set}\n",
    "trim": ("P=/a/b/c.d.e\nexport S=${P#*/} L=${P##*/} R=${P%.*} RR=${P%%.*}\n"),
    "quotes": "export Q='it''s \"$HOME\"' D=\"x  $HOME\\$y\" E=a\\ b\n",
    "if-elif": (
        'if [ "$MODE" = one ]; then\n  export PICK=1\nelif [ -n "$MODE" ] ; then\n'
        "  export PICK=2\nelse\n  export PICK=3\nfi\n"
    ),
    "nested-if": (
        'if [ -z "$UNSET_ONE" ]; then\n if [ x != x ]; then export N=in; else export N=out; fi\n'
        "fi\nexport AFTER=yes\n"
    ),
    "unset": "unset HOME\nexport GONE=${HOME:-none}\n",
    "comment": "export A=1 # a comment\n#export B=2\nexport C=a#b\n",
}


def _sh(text: str, environ: dict[str, str], tmp_path: Path) -> dict[str, str]:
    script = tmp_path / "envvars"
    script.write_text(text)
    out = subprocess.run(
        ["/bin/sh", "-c", '. "$1"; env -0', "sh", str(script)],
        env=environ,
        capture_output=True,
        check=True,
    ).stdout.decode()
    found = dict(item.split("=", 1) for item in out.split("\0") if item)
    for name in ("PWD", "SHLVL", "_", "OLDPWD"):  # the shell's own
        found.pop(name, None)
    return found


@pytest.mark.parametrize("confdir", ["/etc/apache2", "/etc/apache2-second", "/srv/conf"])
def test_debians_envvars_gives_what_sh_gives(confdir: str, tmp_path: Path) -> None:
    environ = {"APACHE_CONFDIR": confdir, "HOME": "/root", "PATH": "/usr/bin:/bin"}
    result = evaluate(DEBIAN, environ)
    assert result.skipped == []
    assert result.exported == _sh(DEBIAN, environ, tmp_path)


def test_a_second_instance_gets_its_suffix() -> None:
    result = evaluate(DEBIAN, {"APACHE_CONFDIR": "/etc/apache2-second"})
    assert result.exported["APACHE_LOG_DIR"] == "/var/log/apache2-second"
    assert result.exported["APACHE_PID_FILE"] == "/var/run/apache2-second/apache2.pid"


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_snippets_give_what_sh_gives(name: str, tmp_path: Path) -> None:
    environ = {"HOME": "/home/x", "EMPTY": "", "MODE": "two", "SUFFIX": "-s"}
    result = evaluate(SNIPPETS[name], environ)
    assert result.skipped == []
    assert result.exported == _sh(SNIPPETS[name], environ, tmp_path)


def test_commands_are_not_run_but_reported() -> None:
    text = "export A=1\nX=$(touch /tmp/never)\n. /etc/default/locale\nexport B=`id`\nexport C=2\n"
    result = evaluate(text, {})
    assert result.exported == {"A": "1", "C": "2"}
    assert [line for line, _ in result.skipped] == [2, 3, 4]
    assert all("not run" in message for _, message in result.skipped)


def test_an_environment_variable_wins_where_the_file_lets_it() -> None:
    text = (
        ": ${APACHE_LOG_DIR:=/var/log/apache2}\nexport APACHE_LOG_DIR\n"
        "export APACHE_RUN_USER=www-data\n"
    )
    env, _ = environment(text, {"APACHE_LOG_DIR": "/srv/log", "APACHE_RUN_USER": "me"}, "/c")
    assert env["APACHE_LOG_DIR"] == "/srv/log"  # a default: the environment's wins
    assert env["APACHE_RUN_USER"] == "www-data"  # a plain export: the file's wins, as in sh


def test_without_a_file_debians_values_fill_in_what_the_environment_lacks() -> None:
    env, skipped = environment(None, {"APACHE_LOG_DIR": "/srv/log"}, "/srv/site")
    assert skipped == []
    assert env["APACHE_LOG_DIR"] == "/srv/log"
    assert env["APACHE_CONFDIR"] == "/srv/site"
    for name in set(DEBIAN_DEFAULTS) - {"APACHE_LOG_DIR"}:
        assert env[name] == DEBIAN_DEFAULTS[name]
    assert DEBIAN_DEFAULTS["APACHE_RUN_USER"] == evaluate(DEBIAN, {}).exported["APACHE_RUN_USER"]


def test_an_unclosed_if_or_quote_is_reported() -> None:
    result = evaluate("if [ a = a ]; then\nexport A='x\nexport B=1\n", {})
    assert result.exported == {"B": "1"}
    assert [line for line, _ in result.skipped] == [2, 0]
