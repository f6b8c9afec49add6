"""<RequireAll>/<RequireAny>/<RequireNone>, Require not, Require env (SetEnvIf),
AuthMerging and Order/Allow/Deny/Satisfy in a real server (and in .htaccess), for
static files and an app, with clients connecting from 127.0.0.1 and from 127.0.0.2
(the socket bound to that source)."""

from __future__ import annotations

import socket
import textwrap
from collections.abc import Iterator

import pytest

from tests.functional.helpers import Response, build, free_port, next_response
from tests.functional.server import APPS, Reader, ServerProcess

pytestmark = pytest.mark.slow

OTHER = "127.0.0.2"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("authz")
    docs = root / "htdocs"
    for name in ("notip", "none", "env", "merged", "compat", "satisfy", "ht", "htlimit"):
        (docs / name).mkdir(parents=True)
        (docs / name / "page.txt").write_text(f"{name} page\n")
    (docs / "ht" / ".htaccess").write_text(
        f"<RequireAll>\nRequire ip 127.0.0.0/8\nRequire not ip {OTHER}\n</RequireAll>\n"
        "Order Deny,Allow\nDeny from env=BLOCK\n"
    )
    # AllowOverride AuthConfig without Limit: Order is refused here (a 500), as Apache.
    (docs / "htlimit" / ".htaccess").write_text("Order Allow,Deny\n")
    conf = root / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:${{PORT}}
            ServerName authz.test
            ErrorLog {root}/error.log
            DocumentRoot {docs}
            WSGIScriptAlias /app {APPS}/app.wsgi
            SetEnvIf X-Pass ^yes$ LET_IN
            <Directory {docs}/merged>
                Require all denied
            </Directory>
            <Directory {docs}/ht>
                AllowOverride AuthConfig Limit
            </Directory>
            <Directory {docs}/htlimit>
                AllowOverride AuthConfig
            </Directory>
            SetEnvIf X-Block ^1$ BLOCK
            <Location /notip>
                <RequireAll>
                    Require ip 127.0.0.0/8
                    Require not ip {OTHER}
                </RequireAll>
            </Location>
            <Location /none>
                <RequireAll>
                    Require all granted
                    <RequireNone>
                        Require env LET_IN
                    </RequireNone>
                </RequireAll>
            </Location>
            <Location /env>
                Require env LET_IN
            </Location>
            <Location /app>
                <RequireAny>
                    Require env LET_IN
                    <RequireAll>
                        Require local
                        Require not ip 127.0.0.1
                    </RequireAll>
                </RequireAny>
            </Location>
            <Location /compat>
                Order Allow,Deny
                Allow from 127.0.0.0/8 env=LET_IN
                Deny from {OTHER}
            </Location>
            <Location /satisfy>
                Require all denied
                Order Deny,Allow
                Deny from all
                Allow from {OTHER}
                Satisfy Any
            </Location>
            <Location /merged>
                AuthMerging Or
                Require ip {OTHER}
            </Location>
            """
        )
    )
    server = ServerProcess(["serve", "--config", str(conf)], env={"PORT": str(free_port())})
    try:
        server.wait_listening()
        yield server
    finally:
        server.close()


def get_from(
    server: ServerProcess, source: str, target: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    """One GET on a new connection whose client address is ``source``."""
    with socket.create_connection(
        (server.host, server.port), timeout=10, source_address=(source, 0)
    ) as sock:
        sock.sendall(build("GET", target, headers or []))
        return next_response(Reader(sock))


@pytest.mark.parametrize(
    ("target", "source", "headers", "status"),
    [
        ("/notip/page.txt", "127.0.0.1", [], 200),
        ("/notip/page.txt", OTHER, [], 403),
        ("/none/page.txt", "127.0.0.1", [], 200),
        ("/none/page.txt", "127.0.0.1", [("X-Pass", "yes")], 403),
        ("/env/page.txt", OTHER, [("X-Pass", "yes")], 200),
        ("/env/page.txt", OTHER, [("X-Pass", "no")], 403),
        ("/app", "127.0.0.1", [], 403),
        ("/app", OTHER, [], 200),
        ("/app", "127.0.0.1", [("X-Pass", "yes")], 200),
        ("/merged/page.txt", OTHER, [], 200),
        ("/merged/page.txt", "127.0.0.1", [], 403),
        ("/ht/page.txt", "127.0.0.1", [], 200),
        ("/ht/page.txt", OTHER, [], 403),
        ("/ht/page.txt", "127.0.0.1", [("X-Block", "1")], 403),
        ("/htlimit/page.txt", "127.0.0.1", [], 500),
        ("/compat/page.txt", "127.0.0.1", [], 200),
        ("/compat/page.txt", OTHER, [("X-Pass", "yes")], 403),  # Allow,Deny: Deny wins
        ("/satisfy/page.txt", OTHER, [], 200),  # let in: Require is not asked
        ("/satisfy/page.txt", "127.0.0.1", [], 403),  # kept out: Require alone, denied
    ],
)
def test_rules_by_client_and_variables(
    site: ServerProcess, target: str, source: str, headers: list[tuple[str, str]], status: int
) -> None:
    assert get_from(site, source, target, headers).status == status
