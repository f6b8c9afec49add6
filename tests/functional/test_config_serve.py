"""`wsgihost serve --config`: an Apache site file with virtual hosts, aliases and apps.

Every request must land where Apache + mod_wsgi would send it: the vhost by
listener and Host, Alias before WSGIScriptAlias, the DocumentRoot last, with
the SCRIPT_NAME and PATH_INFO mod_wsgi would give.
"""

from __future__ import annotations

import json
import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import Response, build, free_port, next_response, problems, wait_for
from tests.functional.server import APPS, Reader, ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("site")
    for name in ("one", "two", "three"):
        docs = root / name / "htdocs"
        docs.mkdir(parents=True)
        (docs / "index.html").write_text(f"{name} index\n")
        (docs / "page.txt").write_text(f"{name} page\n")
    static = root / "shared-static"
    static.mkdir()
    (static / "style.css").write_text("body {}\n")
    echo = APPS / "echo.wsgi"
    conf = root / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            # Two name-based vhosts on one port, a port-based one on another.
            Listen 127.0.0.1:${{PORT_A}}
            Listen 127.0.0.1:${{PORT_B}}
            ServerName main.test
            LogLevel warn
            CustomLog {root}/access.log combined
            ErrorLog {root}/error.log

            <VirtualHost *:${{PORT_A}}>
                ServerName one.test
                ServerAlias www.one.test *.one.example
                DocumentRoot {root}/one/htdocs
                Alias /static/ {static}/
                WSGIScriptAlias /app {echo}
            </VirtualHost>

            <VirtualHost *:${{PORT_A}}>
                ServerName two.test
                DocumentRoot {root}/two/htdocs
                WSGIScriptAlias / {echo}
                Alias /static/ {static}/
            </VirtualHost>

            <VirtualHost 127.0.0.1:${{PORT_B}}>
                ServerName three.test
                DocumentRoot {root}/three/htdocs
                WSGIScriptAlias /app {echo} application-group=%{{GLOBAL}}
                <Directory {root}/three/htdocs>
                    Require all granted
                </Directory>
            </VirtualHost>
            """
        )
    )
    port_a, port_b = free_port(), free_port()
    server = ServerProcess(
        ["serve", "--config", str(conf)], env={"PORT_A": str(port_a), "PORT_B": str(port_b)}
    )
    try:
        server.wait_listening(count=2)
        server.root = root  # type: ignore[attr-defined]
        server.ports = {"A": port_a, "B": port_b}  # type: ignore[attr-defined]
        yield server
    finally:
        server.close()
    assert not problems(server.stderr()), server.stderr()


def ask(server: ServerProcess, port_name: str, host: str, target: str) -> Response:
    """GET ``target`` with ``Host: host`` on one of the two listeners."""
    port = server.ports[port_name]  # type: ignore[attr-defined]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(build("GET", target, host=host))
        return next_response(Reader(sock))


def environ(resp: Response) -> dict[str, str]:
    assert resp.status == 200, resp.text
    return json.loads(resp.body)["environ"]  # type: ignore[no-any-return]


def test_both_listeners_are_announced(site: ServerProcess) -> None:
    assert {port for _, port in site.urls} == set(site.ports.values())  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("host", "target", "body"),
    [
        ("one.test", "/", b"one index\n"),
        ("one.test", "/page.txt", b"one page\n"),
        ("www.one.test", "/page.txt", b"one page\n"),  # ServerAlias
        ("x.one.example:80", "/page.txt", b"one page\n"),  # wildcard alias, port ignored
        ("two.test", "/static/style.css", b"body {}\n"),  # Alias before WSGIScriptAlias /
        ("one.test", "/static/style.css", b"body {}\n"),
        ("unknown.test", "/page.txt", b"one page\n"),  # first vhost of the address
        ("ONE.TEST.", "/page.txt", b"one page\n"),  # case and a trailing dot
        ("three.test", "/page.txt", b"three page\n"),
        ("one.test", "/page.txt", b"one page\n"),
    ],
)
def test_static_requests_land_on_the_right_vhost(
    site: ServerProcess, host: str, target: str, body: bytes
) -> None:
    port = "B" if host == "three.test" else "A"
    resp = ask(site, port, host, target)
    assert resp.status == 200, resp.text
    assert resp.body == body


def test_port_based_vhost_ignores_the_host_header(site: ServerProcess) -> None:
    # Only three.test listens on port B, whatever Host says.
    resp = ask(site, "B", "one.test", "/page.txt")
    assert resp.body == b"three page\n"


@pytest.mark.parametrize(
    ("port", "host", "target", "script_name", "path_info"),
    [
        ("A", "one.test", "/app", "/app", ""),
        ("A", "one.test", "/app/", "/app", "/"),
        ("A", "one.test", "/app/a/b", "/app", "/a/b"),
        ("A", "one.test", "/app/a%20b/./c/../d", "/app", "/a b/d"),
        ("A", "two.test", "/", "", "/"),
        ("A", "two.test", "/x/y", "", "/x/y"),
        ("A", "two.test", "/app/z", "", "/app/z"),  # two.test mounts at /
        ("B", "three.test", "/app/q", "/app", "/q"),
    ],
)
def test_apps_get_script_name_and_path_info_as_mod_wsgi_gives(
    site: ServerProcess, port: str, host: str, target: str, script_name: str, path_info: str
) -> None:
    env = environ(ask(site, port, host, target))
    assert env["SCRIPT_NAME"] == script_name
    assert env["PATH_INFO"] == path_info
    assert env["mod_wsgi.process_group"] == ""


def test_apple_is_not_under_app(site: ServerProcess) -> None:
    # /apple is not below the /app mount: it falls to one.test's DocumentRoot.
    assert ask(site, "A", "one.test", "/apple").status == 404


def test_application_group_option_reaches_the_app(site: ServerProcess) -> None:
    env = environ(ask(site, "B", "three.test", "/app/"))
    assert env["mod_wsgi.application_group"] == ""  # %{GLOBAL} is the empty name
    default = environ(ask(site, "A", "one.test", "/app/"))
    port = site.ports["A"]  # type: ignore[attr-defined]
    assert default["mod_wsgi.application_group"] == f"one.test:{port}|/app"


def test_requests_are_logged_to_the_configured_access_log(site: ServerProcess) -> None:
    ask(site, "A", "two.test", "/logged-request")
    log = Path(site.root) / "access.log"  # type: ignore[attr-defined]
    text = wait_for(
        lambda: "/logged-request" in log.read_text() and log.read_text(), what="the log line"
    )
    assert '"GET /logged-request HTTP/1.1" 200' in text
