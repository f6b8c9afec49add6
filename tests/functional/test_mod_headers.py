"""mod_headers and mod_setenvif on a running server: Header in .htaccess (edited
without a restart), SetEnvIf variables reaching a daemon app and Header env=,
expr= conditions and values, a value with CR/LF answered by a 500 that is not
split, and configtest refusing bad lines with file:line."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import build, free_port, get, read_to_eof, replace_file, request
from tests.functional.server import ServerProcess

pytestmark = pytest.mark.slow

APP = """\
def application(environ, start_response):
    keys = ("IS_BOT", "BOT_NAME", "HTTP_X_ADDED", "HTTP_X_GONE", "HTTP_USER_AGENT")
    body = " ".join(k + "=" + str(environ.get(k)) for k in keys).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-App", "app")])
    return [body]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("modheaders")
    docs = root / "docs"
    (docs / "open").mkdir(parents=True)
    (docs / "open" / "a.txt").write_text("a\n")
    (docs / "open" / ".htaccess").write_text("Header set X-Htaccess first\n")
    (root / "app.wsgi").write_text(APP)
    conf = root / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:${{PORT}}
            ServerName headers.test
            DocumentRoot {docs}
            WSGIDaemonProcess hd processes=1 threads=2
            WSGIScriptAlias /app {root}/app.wsgi process-group=hd
            <Directory {docs}/open>
                AllowOverride FileInfo
            </Directory>
            Header always set X-Frame-Options DENY
            SetEnvIfNoCase User-Agent "(\\w+)bot" IS_BOT BOT_NAME=$1
            <Location /app>
                RequestHeader add X-Added from-config
                RequestHeader unset X-Gone
                Header set X-Bot "%{{BOT_NAME}}e" env=IS_BOT
                Header unset X-App env=IS_BOT
                Header set X-Posted yes "expr=%{{REQUEST_METHOD}} == 'POST'"
                Header set X-Method "expr=%{{REQUEST_METHOD}}"
            </Location>
            <Location /app/split>
                Header set X-Split "a\\r\\nX-Injected: 1"
            </Location>
            <Location /app/always-split>
                Header always set X-Split "a\\r\\nX-Injected: 1"
            </Location>
            """
        )
    )
    proc = ServerProcess(["serve", "--config", str(conf)], env={"PORT": str(free_port())})
    try:
        proc.wait_listening()
        proc.root = root  # type: ignore[attr-defined]
        yield proc
    finally:
        proc.close()


def test_htaccess_header_is_applied_and_reread_after_an_edit(server: ServerProcess) -> None:
    first = get(server, "/open/a.txt")
    assert (first.status, first.headers.get("x-htaccess")) == (200, "first")
    assert first.headers.get("x-frame-options") == "DENY"
    htaccess = server.root / "docs" / "open" / ".htaccess"  # type: ignore[attr-defined]
    replace_file(htaccess, "Header set X-Htaccess second\n")
    assert get(server, "/open/a.txt").headers.get("x-htaccess") == "second"


def test_always_header_on_a_404(server: ServerProcess) -> None:
    missing = get(server, "/open/none.txt")
    assert missing.status == 404
    assert missing.headers.get("x-frame-options") == "DENY"
    assert "x-htaccess" not in missing.headers  # onsuccess: not on the server's own page


def test_setenvif_reaches_the_daemon_app_and_header_env(server: ServerProcess) -> None:
    bot = get(server, "/app/x", headers=[("User-Agent", "Googlebot/2.1"), ("X-Gone", "1")])
    assert bot.text == (
        "IS_BOT=1 BOT_NAME=Google HTTP_X_ADDED=from-config HTTP_X_GONE=None "
        "HTTP_USER_AGENT=Googlebot/2.1"
    )
    assert bot.headers.get("x-bot") == "Google"
    assert "x-app" not in bot.headers
    person = get(server, "/app/x", headers=[("User-Agent", "Firefox")])
    assert person.text.startswith("IS_BOT=None BOT_NAME=None")
    assert "x-bot" not in person.headers and person.headers.get("x-app") == "app"


def test_expr_condition_and_value(server: ServerProcess) -> None:
    posted = request(server, "POST", "/app/x", body=b"a=1")
    assert (posted.headers.get("x-posted"), posted.headers.get("x-method")) == ("yes", "POST")
    got = get(server, "/app/x")
    assert "x-posted" not in got.headers and got.headers.get("x-method") == "GET"


def test_a_value_with_crlf_gives_an_unsplit_500(server: ServerProcess) -> None:
    with server.connect() as sock:
        sock.sendall(build("GET", "/app/split", headers=[("Connection", "close")]))
        raw = read_to_eof(sock)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 500 ")
    assert b"X-Injected" not in head and b"X-Split" not in head
    assert b"X-Frame-Options: DENY" in head  # the "always" line still applies


@pytest.mark.parametrize("closing", [False, True])
def test_an_always_value_with_crlf_gives_a_bare_500(server: ServerProcess, closing: bool) -> None:
    """The 500 that replaces the app's answer gets the "always" line too, and is
    refused in turn: as Apache, a 500 with no body and none of the modules'
    headers goes out instead of a third try."""
    with server.connect() as sock:
        extra = [("Connection", "close")] if closing else []
        sock.sendall(build("GET", "/app/always-split", headers=extra))
        sock.shutdown(socket.SHUT_WR)
        raw = read_to_eof(sock)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500 ")
    assert b"X-Injected" not in head and b"X-Split" not in head
    assert b"X-Frame-Options" not in head
    assert b"\r\nContent-Length: 0" in head
    assert body == b""


def configtest(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    conf = tmp_path / "bad.conf"
    conf.write_text(f"Listen 127.0.0.1:8000\n{body}")
    return subprocess.run(
        [sys.executable, "-m", "wsgihost", "configtest", "--config", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_configtest_refuses_bad_lines_with_file_and_line(tmp_path: Path) -> None:
    done = configtest(
        tmp_path,
        "Header set X %{Host}i-%{Host}z\nSetEnvIf User-Agent (open X=1\n"
        "RequestHeader echo X-A\nHeader set X-Y 1 env=\n",
    )
    assert done.returncode != 0
    conf = tmp_path / "bad.conf"
    for line, text in (
        (2, "Header: Unrecognized header format %z"),
        (3, "SetEnvIf: SetEnvIf regex could not be compiled"),
        (4, "RequestHeader: Header echo only valid on Header directives"),
        (5, "Header: error: missing environment variable name"),
    ):
        assert f"{conf}:{line}: {text}" in done.stdout + done.stderr, done.stdout + done.stderr
