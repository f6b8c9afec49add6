"""The request pipeline in a running server (wsgihost.pipeline, mod_env as its first
module): SetEnv from the configuration and from .htaccess files reaches apps in
both modes, a .htaccess change shows without a restart, ``nokeepalive`` closes
the connection, and malformed requests still get their 4xx while the site's
modules are active."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import build, free_port, next_response, replace_file, wait_for
from tests.functional.server import Reader, ServerProcess

pytestmark = pytest.mark.slow

APP = """\
import json

def application(environ, start_response):
    plain = {k: v for k, v in environ.items() if isinstance(v, str)}
    body = json.dumps(plain).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    root = tmp_path_factory.mktemp("pipeline")
    port = free_port()
    for folder in ("embedded", "daemon", "www"):
        (root / folder).mkdir()
    (root / "embedded" / "app.wsgi").write_text(APP)
    (root / "daemon" / "app.wsgi").write_text(APP)
    (root / "www" / "page.txt").write_text("a page\n")
    (root / "embedded" / ".htaccess").write_text("SetEnv FROM_HTACCESS one\n")
    (root / "daemon" / ".htaccess").write_text(
        "SetEnv FROM_HTACCESS daemon\nUnsetEnv HOSTLEVEL DIRLEVEL\n"
    )
    conf = root / "site.conf"
    conf.write_text(
        f"""\
Listen 127.0.0.1:{port}
ServerName pipeline.test
ErrorLog {root}/error.log
StartServers 1
DocumentRoot {root}/www
WSGIDaemonProcess pipe processes=1 threads=2
SetEnv HOSTLEVEL yes
Alias /e/ {root}/embedded/
Alias /d/ {root}/daemon/
<Directory {root}>
    AllowOverride FileInfo
</Directory>
<Directory {root}/embedded>
    Options ExecCGI
    AddHandler wsgi-script .wsgi
</Directory>
<Directory {root}/daemon>
    Options ExecCGI
    AddHandler wsgi-script .wsgi
    WSGIProcessGroup pipe
    SetEnv DIRLEVEL yes
</Directory>
<Location /e/app.wsgi/close>
    SetEnv nokeepalive
</Location>
SetEnvIf Request_URI "^/gone" nokeepalive
Redirect gone /gone
"""
    )
    proc = ServerProcess(["serve", "--config", str(conf)])
    try:
        proc.wait_listening()
        yield proc, root
    finally:
        proc.close()


def environ(server: ServerProcess, target: str) -> dict[str, str]:
    with server.connect() as sock:
        sock.sendall(build("GET", target, headers=[("Connection", "close")], host="pipeline.test"))
        response = next_response(Reader(sock))
    assert response.status == 200, (response.status, response.body)
    return json.loads(response.body)  # type: ignore[no-any-return]


def test_variables_reach_apps_in_both_modes(site: tuple[ServerProcess, Path]) -> None:
    server, _ = site
    embedded = environ(server, "/e/app.wsgi/x")
    assert embedded["HOSTLEVEL"] == "yes" and embedded["FROM_HTACCESS"] == "one"
    assert embedded["mod_wsgi.process_group"] == ""
    daemon = environ(server, "/d/app.wsgi/x")
    assert daemon["FROM_HTACCESS"] == "daemon" and "DIRLEVEL" not in daemon
    # As in Apache (checked beside it): the directory walk merges its sections and
    # .htaccess files among themselves first, so an UnsetEnv in a .htaccess
    # reaches the <Directory> sections' variables, not the server's.
    assert daemon["HOSTLEVEL"] == "yes"
    assert daemon["mod_wsgi.process_group"] == "pipe"


def test_an_htaccess_change_shows_without_a_restart(site: tuple[ServerProcess, Path]) -> None:
    server, root = site
    replace_file(root / "embedded" / ".htaccess", "SetEnv FROM_HTACCESS two\n")
    wait_for(
        lambda: environ(server, "/e/app.wsgi/y").get("FROM_HTACCESS") == "two",
        10,
        "the edited .htaccess",
    )
    replace_file(root / "embedded" / ".htaccess", "SetEnv FROM_HTACCESS one\n")


def test_nokeepalive_closes_the_connection(site: tuple[ServerProcess, Path]) -> None:
    server, _ = site
    with server.connect() as sock:
        sock.sendall(build("GET", "/e/app.wsgi/close", host="pipeline.test"))
        reader = Reader(sock)
        response = next_response(reader)
        assert response.status == 200
        assert response.headers.get("connection") == "close"
        assert sock.recv(1) == b""  # the server closed it
    with server.connect() as sock:  # an answer before any handler, too
        sock.sendall(build("GET", "/gone", host="pipeline.test"))
        response = next_response(Reader(sock))
        assert response.status == 410 and response.headers.get("connection") == "close"
        assert sock.recv(1) == b""
    with server.connect() as sock:  # elsewhere, the connection is kept
        sock.sendall(build("GET", "/e/app.wsgi/open", host="pipeline.test") * 2)
        reader = Reader(sock)
        assert next_response(reader).status == 200
        assert next_response(reader).status == 200


@pytest.mark.parametrize(
    ("target", "status"),
    [("/e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", 400), ("/e/a%2fb", 404), ("/e/%zz", 400)],
)
def test_malformed_paths_are_refused_and_the_server_goes_on(
    site: tuple[ServerProcess, Path], target: str, status: int
) -> None:
    server, _ = site
    with server.connect() as sock:
        sock.sendall(build("GET", target, host="pipeline.test"))
        assert next_response(Reader(sock)).status == status
    assert environ(server, "/e/app.wsgi/after")["HOSTLEVEL"] == "yes"
