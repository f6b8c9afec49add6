"""Access control in a real server: Require, Basic authentication with mod_wsgi's
auth scripts, WSGIAccessScript, for apps (embedded and daemon) and static files."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import free_port, get, wait_for
from tests.functional.server import APPS, ServerProcess

pytestmark = pytest.mark.slow


def basic(user: str, password: str) -> tuple[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return ("Authorization", f"Basic {token}")


VERSION_ONE = "def check_password(environ, user, password):\n    return user == 'one'\n"

AUTH = """\
        AuthType Basic
        AuthName "Staff Only"
        AuthBasicProvider wsgi
        WSGIAuthUserScript {scripts}
        WSGIAuthGroupScript {scripts}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("access")
    docs = root / "htdocs"
    for name in ("private", "open", "local", "ip", "wide", "host"):
        (docs / name).mkdir(parents=True)
        (docs / name / "page.txt").write_text(f"{name} page\n")
    scripts = root / "auth_scripts.wsgi"
    shutil.copy(APPS / "auth_scripts.wsgi", scripts)
    auth = AUTH.format(scripts=scripts)
    reloading = root / "reloading.wsgi"
    reloading.write_text(VERSION_ONE)
    conf = root / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:${{PORT}}
            ServerName access.test
            ErrorLog {root}/error.log
            LogFormat "%u|%>s|%r" users
            CustomLog {root}/access.log users
            DocumentRoot {docs}
            WSGIDaemonProcess grp threads=2
            WSGIScriptAlias /app {APPS / "echo.wsgi"}
            WSGIScriptAlias /dapp {APPS / "echo.wsgi"} process-group=grp
            <Location /app/private>
            {auth}
                Require valid-user
            </Location>
            <Location /dapp/private>
            {auth}
                Require valid-user
            </Location>
            <Location /app/staff>
            {auth}
                Require wsgi-group staff
            </Location>
            <Location /app/alice>
            {auth}
                Require user alice
            </Location>
            <Location /app/gated>
                WSGIAccessScript {scripts}
            </Location>
            <Directory {docs}/private>
            {auth}
                Require valid-user
            </Directory>
            <Directory {docs}/local>
                Require local
            </Directory>
            <Directory {docs}/ip>
                Require ip 10.0.0.0/8 192.168
            </Directory>
            <Directory {docs}/wide>
                Require ip 127.0
            </Directory>
            <Directory {docs}/host>
                Require host localhost
            </Directory>
            <Location /app/none>
                Require all denied
            </Location>
            <Location /app/reloading>
                AuthType Basic
                AuthName "Reloading"
                AuthBasicProvider wsgi
                WSGIAuthUserScript {reloading}
                Require valid-user
            </Location>
            """
        )
    )
    server = ServerProcess(["serve", "--config", str(conf)], env={"PORT": str(free_port())})
    try:
        server.wait_listening()
        server.root = root  # type: ignore[attr-defined]
        wait_for(lambda: get(server, "/dapp/ready").status == 200, 30, "the daemon group")
        yield server
    finally:
        server.close()


def log_of(site: ServerProcess, name: str) -> str:
    path: Path = site.root / name  # type: ignore[attr-defined]
    return path.read_text() if path.exists() else ""


def calls(site: ServerProcess) -> list[dict[str, object]]:
    text = log_of(site, "auth-calls.jsonl")
    return [json.loads(line) for line in text.splitlines()]


def test_no_credentials_is_a_401_with_the_realm(site: ServerProcess) -> None:
    r = get(site, "/app/private/x")
    assert r.status == 401
    assert r.headers["www-authenticate"] == 'Basic realm="Staff Only"'
    assert b"could not verify that you" in r.body


@pytest.mark.parametrize("path", ["/app/private/x", "/dapp/private/x"])
def test_right_password_reaches_the_app_as_remote_user(site: ServerProcess, path: str) -> None:
    r = get(site, path + "?q=1", headers=[basic("alice", "secret")])
    assert r.status == 200, r.body
    environ = r.json()["environ"]
    assert environ["REMOTE_USER"] == "alice"
    assert environ["AUTH_TYPE"] == "Basic"
    assert "HTTP_AUTHORIZATION" not in environ  # WSGIPassAuthorization Off
    seen = [c for c in calls(site) if c["call"] == "check_password"][-1]
    env = seen["environ"]
    assert isinstance(env, dict)
    assert env["REQUEST_URI"] == path + "?q=1"
    assert env["mod_wsgi.application_group"] == ""
    assert env["mod_wsgi.process_group"] == ""
    assert "HTTP_AUTHORIZATION" not in env
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert wait_for(lambda: f"alice|200|GET {path}?q=1" in log_of(site, "access.log"), 5)


def test_wrong_password_and_unknown_user_are_401s_logged_as_apache(site: ServerProcess) -> None:
    r = get(site, "/app/private/y", headers=[basic("alice", "nope")])
    assert r.status == 401 and "www-authenticate" in r.headers
    r = get(site, "/app/private/z", headers=[basic("mallory", "x")])
    assert r.status == 401
    error = wait_for(lambda: "AH01618" in log_of(site, "error.log") and log_of(site, "error.log"))
    assert (
        "[auth_basic:error]" in error
        and 'AH01617: user alice: authentication failure for "/app/private/y": Password Mismatch'
        in error
    )
    assert "AH01618: user mallory not found: /app/private/z" in error
    # Apache logs the name sent even when it was refused.
    assert wait_for(lambda: "mallory|401|GET /app/private/z" in log_of(site, "access.log"), 5)


def test_a_failing_script_is_a_500_with_its_traceback(site: ServerProcess) -> None:
    r = get(site, "/app/private/boom", headers=[basic("boom", "x")])
    assert r.status == 500
    error = wait_for(
        lambda: "asked to fail" in log_of(site, "error.log") and log_of(site, "error.log")
    )
    assert "Exception occurred processing WSGI script" in error


def test_a_script_may_name_the_user(site: ServerProcess) -> None:
    r = get(site, "/app/private/c", headers=[basic("carol", "carol")])
    assert r.status == 200
    assert r.json()["environ"]["REMOTE_USER"] == "renamed-carol"


def test_groups_decide_require_wsgi_group(site: ServerProcess) -> None:
    assert get(site, "/app/staff/", headers=[basic("alice", "secret")]).status == 200
    assert get(site, "/app/staff/", headers=[basic("bob", "hunter2")]).status == 200  # bytes
    r = get(site, "/app/staff/", headers=[basic("dave", "pw")])
    assert r.status == 401  # authenticated, not authorized: Apache asks again
    error = wait_for(lambda: "AH01631" in log_of(site, "error.log") and log_of(site, "error.log"))
    assert 'AH01631: user dave: authorization failure for "/app/staff/": ' in error
    assert (
        "Authorization of user 'dave' to access '/app/staff/' failed. User is not a member" in error
    )


def test_require_user(site: ServerProcess) -> None:
    assert get(site, "/app/alice", headers=[basic("alice", "secret")]).status == 200
    assert get(site, "/app/alice", headers=[basic("bob", "hunter2")]).status == 401


def test_access_script_denies_before_anything(site: ServerProcess) -> None:
    assert get(site, "/app/gated/").status == 200
    r = get(site, "/app/gated/", headers=[("X-Let-Me-In", "no")])
    assert r.status == 403
    seen = [c for c in calls(site) if c["call"] == "allow_access"][-1]
    assert seen["host"] == "127.0.0.1"
    assert wait_for(lambda: "Client denied by server configuration" in log_of(site, "error.log"))


def test_static_files_are_guarded_too(site: ServerProcess) -> None:
    assert get(site, "/private/page.txt").status == 401
    r = get(site, "/private/page.txt", headers=[basic("alice", "secret")])
    assert r.status == 200 and r.body == b"private page\n"


def test_require_by_address(site: ServerProcess) -> None:
    assert get(site, "/local/page.txt").status == 200
    assert get(site, "/wide/page.txt").status == 200  # 127.0 is 127.0.0.0/16
    assert get(site, "/ip/page.txt").status == 403
    error = wait_for(lambda: "AH01630" in log_of(site, "error.log") and log_of(site, "error.log"))
    assert "client denied by server configuration: " in error and "/ip/page.txt" in error
    assert get(site, "/app/none").status == 403


def _resolves_localhost() -> bool:
    try:
        name = socket.gethostbyaddr("127.0.0.1")[0]
        return name == "localhost" and "127.0.0.1" in socket.gethostbyname_ex(name)[2]
    except OSError:
        return False


def test_require_host_uses_the_confirmed_reverse_name(site: ServerProcess) -> None:
    expected = 200 if _resolves_localhost() else 403
    assert get(site, "/host/page.txt").status == expected


def test_credentials_where_none_are_needed_are_not_checked(site: ServerProcess) -> None:
    before = len(calls(site))
    r = get(site, "/app/open", headers=[basic("alice", "secret")])
    assert r.status == 200
    assert "REMOTE_USER" not in r.json()["environ"]
    assert len(calls(site)) == before


def test_a_changed_user_script_is_loaded_again(site: ServerProcess) -> None:
    assert get(site, "/app/reloading", headers=[basic("one", "x")]).status == 200
    assert get(site, "/app/reloading", headers=[basic("two", "x")]).status == 401
    script: Path = site.root / "reloading.wsgi"  # type: ignore[attr-defined]
    script.write_text(VERSION_ONE.replace("'one'", "'two'"))
    wait_for(
        lambda: get(site, "/app/reloading", headers=[basic("two", "x")]).status == 200,
        10,
        "the new version of the script",
    )
    assert get(site, "/app/reloading", headers=[basic("one", "x")]).status == 401
