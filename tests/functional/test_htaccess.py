""".htaccess files on a running server: read per request where AllowOverride allows,
for static files and for apps in daemon processes, re-read after an edit without
a restart, and refused as Apache refuses them (500 or 403, and the log line)."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import LogWatch, free_port, get
from tests.functional.server import ServerProcess

pytestmark = pytest.mark.slow

APP = """\
def _answer(name):
    def call(environ, start_response):
        body = (name + " " + str(environ.get("REMOTE_USER"))).encode()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]
    return call

application = _answer("application")
other = _answer("other")
"""


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("htaccess")
    docs = root / "docs"
    for folder in ("sub", "none", "limited", "denied", "weird", "app"):
        (docs / folder).mkdir(parents=True)
    (docs / "index.html").write_text("top\n")
    (docs / "sub" / "home.txt").write_text("sub home\n")
    (docs / "sub" / "index.html").write_text("sub index\n")
    (docs / "sub" / "data.foo").write_text("foo\n")
    (docs / "none" / "x.txt").write_text("none\n")
    (docs / "none" / ".htaccess").write_text("Require all denied\n")
    (docs / "limited" / "x.txt").write_text("limited\n")
    (docs / "limited" / ".htaccess").write_text("AddType text/x-limited .txt\n")
    (docs / "denied" / "x.txt").write_text("denied\n")
    (docs / "weird" / "x.txt").write_text("weird\n")
    (docs / "weird" / ".htaccess").mkdir()  # not a regular file
    (docs / "app" / "app.wsgi").write_text(APP)
    conf = root / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:${{PORT}}
            ServerName htaccess.test
            DocumentRoot {docs}
            <Directory {docs}>
                AllowOverride All
            </Directory>
            <Directory {docs}/none>
                AllowOverride None
            </Directory>
            <Directory {docs}/limited>
                AllowOverride Indexes
            </Directory>
            WSGIDaemonProcess htapp processes=1 threads=2
            WSGIScriptAlias /app {docs}/app/app.wsgi process-group=htapp
            """
        )
    )
    server = ServerProcess(["serve", "--config", str(conf)], env={"PORT": str(free_port())})
    try:
        server.wait_listening()
        server.docs = docs  # type: ignore[attr-defined]
        yield server
    finally:
        server.close()


def docs(server: ServerProcess) -> Path:
    return server.docs  # type: ignore[attr-defined,no-any-return]


def edit(path: Path, text: str) -> None:
    """Write ``text`` so that the change shows even within one second (a new inode)."""
    fresh = path.with_name(path.name + ".new")
    fresh.write_text(text)
    os.replace(fresh, path)


def test_directory_index_and_add_type_from_htaccess(server: ServerProcess) -> None:
    sub = docs(server) / "sub"
    edit(sub / ".htaccess", "DirectoryIndex home.txt\nAddType application/x-foo .foo\n")
    answer = get(server, "/sub/")
    assert (answer.status, answer.body) == (200, b"sub home\n")
    typed = get(server, "/sub/data.foo")
    assert typed.headers["content-type"] == "application/x-foo"


def test_an_edit_changes_the_next_answer_without_a_restart(server: ServerProcess) -> None:
    folder = docs(server) / "denied"
    edit(folder / ".htaccess", "Require all denied\n")
    assert get(server, "/denied/x.txt").status == 403
    edit(folder / ".htaccess", "Require all granted\n")
    assert get(server, "/denied/x.txt").status == 200
    (folder / ".htaccess").unlink()
    assert get(server, "/denied/x.txt").status == 200
    edit(folder / ".htaccess", "Require all denied\n")
    assert get(server, "/denied/x.txt").status == 403


def test_allow_override_none_ignores_the_file(server: ServerProcess) -> None:
    assert get(server, "/none/x.txt").status == 200


def test_a_directive_not_allowed_is_a_500_with_apaches_line(
    server: ServerProcess, log: LogWatch
) -> None:
    assert get(server, "/limited/x.txt").status == 500
    message = f"{docs(server)}/limited/.htaccess: AddType not allowed here"
    log.wait_for(message)
    # At Apache's level for it, so LogLevel filters it as Apache would.
    assert any(":alert] " in line for line in log.text().splitlines() if message in line)
    # The folder's neighbours are not affected.
    assert get(server, "/sub/home.txt").status == 200


def test_a_typo_is_a_500_naming_the_command(server: ServerProcess, log: LogWatch) -> None:
    folder = docs(server) / "denied"
    edit(folder / ".htaccess", "Requre all denied\n")
    assert get(server, "/denied/x.txt").status == 500
    log.wait_for(
        f"{folder}/.htaccess: Invalid command 'Requre', perhaps misspelled or defined by a "
        "module not included in the server configuration"
    )
    (folder / ".htaccess").unlink()


def test_a_directive_wsgihost_cannot_apply_is_a_500_not_skipped(
    server: ServerProcess, log: LogWatch
) -> None:
    folder = docs(server) / "denied"
    edit(folder / ".htaccess", "SetInputFilter DEFLATE\n")
    assert get(server, "/denied/x.txt").status == 500
    log.wait_for(f"{folder}/.htaccess: SetInputFilter")
    (folder / ".htaccess").unlink()


def test_a_htaccess_that_cannot_be_read_is_a_403(server: ServerProcess, log: LogWatch) -> None:
    assert get(server, "/weird/x.txt").status == 403
    message = (
        f"(9)Bad file descriptor: {docs(server)}/weird/.htaccess pcfg_openfile: unable to "
        f"check htaccess file, ensure it is readable and that '{docs(server)}/weird/' is "
        "executable"
    )
    log.wait_for(message)
    assert any(":crit] " in line for line in log.text().splitlines() if message in line)


def test_apps_in_daemon_processes_see_the_htaccess(server: ServerProcess) -> None:
    folder = docs(server) / "app"
    assert get(server, "/app/").body.startswith(b"application ")
    edit(folder / ".htaccess", "WSGICallableObject other\n")
    assert get(server, "/app/").body.startswith(b"other ")
    edit(folder / ".htaccess", "Require all denied\n")
    assert get(server, "/app/").status == 403
    (folder / ".htaccess").unlink()
    assert get(server, "/app/").body.startswith(b"application ")
