"""AuthUserFile and AuthGroupFile in a real server: the formats htpasswd writes,
wrong and unknown users, a file changed without a restart, Require group, the
file and wsgi providers in turn, and .htaccess (AuthConfig)."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import free_port, get, replace_file, wait_for
from tests.functional.server import ServerProcess
from tests.functional.test_access import basic

pytestmark = pytest.mark.slow


def entry(flag: str, user: str, password: str) -> str:
    return subprocess.run(
        ["htpasswd", f"-nb{flag}", user, password], capture_output=True, check=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("authn_file")
    docs = root / "htdocs"
    for name in ("private", "staff", "both", "dot"):
        (docs / name).mkdir(parents=True)
        (docs / name / "page.txt").write_text(f"{name} page\n")
    users = root / "users"
    users.write_text(
        "\n".join(
            [
                entry("B", "bee", "b-pw"),
                entry("m", "md5", "m-pw"),
                entry("s", "sha", "s-pw"),
                entry("d", "des", "d-pw"),
                entry("p", "plain", "p-pw"),
            ]
        )
        + "\n"
    )
    (root / "groups").write_text("staff: md5 sha\nothers: bee\n")
    (root / "script.wsgi").write_text(
        "def check_password(environ, user, password):\n"
        "    return password == 'w' if user == 'scripted' else None\n"
    )
    (docs / "dot" / ".htaccess").write_text(
        f'AuthType Basic\nAuthName "Dot"\nAuthUserFile {users}\nRequire valid-user\n'
    )
    conf = root / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:${{PORT}}
            ServerName authn.test
            ErrorLog {root}/error.log
            LogLevel warn
            DocumentRoot {docs}
            <Directory {docs}>
                AllowOverride AuthConfig
            </Directory>
            <Location /private>
                AuthType Basic
                AuthName "Files"
                AuthUserFile {users}
                Require valid-user
            </Location>
            <Location /staff>
                AuthType Basic
                AuthName "Staff"
                AuthBasicProvider file
                AuthUserFile {users}
                AuthGroupFile {root}/groups
                Require group staff
            </Location>
            <Location /both>
                AuthType Basic
                AuthName "Both"
                AuthBasicProvider file wsgi
                AuthUserFile {users}
                WSGIAuthUserScript {root}/script.wsgi
                Require valid-user
            </Location>
            """
        )
    )
    server = ServerProcess(["serve", "--config", str(conf)], env={"PORT": str(free_port())})
    try:
        server.wait_listening()
        server.root = root  # type: ignore[attr-defined]
        yield server
    finally:
        server.close()


def error_log(site: ServerProcess) -> str:
    path: Path = site.root / "error.log"  # type: ignore[attr-defined]
    return path.read_text() if path.exists() else ""


@pytest.mark.parametrize(("user", "password"), [("bee", "b-pw"), ("md5", "m-pw"), ("sha", "s-pw")])
def test_each_format_grants_the_right_password(
    site: ServerProcess, user: str, password: str
) -> None:
    assert get(site, "/private/page.txt", headers=[basic(user, password)]).status == 200
    r = get(site, "/private/page.txt", headers=[basic(user, password + "x")])
    assert r.status == 401
    assert r.headers["www-authenticate"] == 'Basic realm="Files"'


def test_unknown_user_wrong_password_and_log_lines(site: ServerProcess) -> None:
    assert get(site, "/private/page.txt", headers=[basic("nobody", "x")]).status == 401
    assert get(site, "/private/page.txt", headers=[basic("md5", "bad")]).status == 401
    assert wait_for(
        lambda: "AH01618: user nobody not found: /private/page.txt" in error_log(site), 5
    )
    assert wait_for(
        lambda: (
            'AH01617: user md5: authentication failure for "/private/page.txt": Password '
            "Mismatch" in error_log(site)
        ),
        5,
    )
    assert "bad" not in error_log(site).replace("bad ", "")


def test_plain_text_never_matches_and_des_is_checked(site: ServerProcess) -> None:
    assert get(site, "/private/page.txt", headers=[basic("plain", "p-pw")]).status == 401
    assert get(site, "/private/page.txt", headers=[basic("des", "d-pw")]).status == 200
    assert get(site, "/private/page.txt", headers=[basic("des", "d-pX")]).status == 401
    assert wait_for(
        lambda: (
            'AH01617: user des: authentication failure for "/private/page.txt": Password '
            "Mismatch" in error_log(site)
        ),
        5,
    )
    assert "the password of user des" not in error_log(site)


def test_group_file(site: ServerProcess) -> None:
    assert get(site, "/staff/page.txt", headers=[basic("md5", "m-pw")]).status == 200
    assert get(site, "/staff/page.txt", headers=[basic("bee", "b-pw")]).status == 401
    assert get(site, "/staff/page.txt", headers=[basic("bee", "nope")]).status == 401


def test_file_then_wsgi_provider(site: ServerProcess) -> None:
    assert get(site, "/both/page.txt", headers=[basic("sha", "s-pw")]).status == 200
    assert get(site, "/both/page.txt", headers=[basic("scripted", "w")]).status == 200
    assert get(site, "/both/page.txt", headers=[basic("scripted", "v")]).status == 401


def test_htaccess_auth_config(site: ServerProcess) -> None:
    assert get(site, "/dot/page.txt").status == 401
    assert get(site, "/dot/page.txt", headers=[basic("sha", "s-pw")]).status == 200


def test_file_changed_without_restart(site: ServerProcess) -> None:
    users: Path = site.root / "users"  # type: ignore[attr-defined]
    before = users.read_text()
    assert get(site, "/private/page.txt", headers=[basic("newbie", "n-pw")]).status == 401
    replace_file(users, before + entry("B", "newbie", "n-pw") + "\n")
    assert get(site, "/private/page.txt", headers=[basic("newbie", "n-pw")]).status == 200
    replace_file(users, before)
    assert get(site, "/private/page.txt", headers=[basic("newbie", "n-pw")]).status == 401
