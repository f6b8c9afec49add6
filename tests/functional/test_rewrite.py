"""mod_rewrite on a running server: a front controller in .htaccess reaching an app,
rules and maps re-read after an edit without a restart, rewrites that AllowOverride
forbids, the [N] loop limit, and configtest refusing bad rules with file:line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import LogWatch, free_port, get, replace_file
from tests.functional.server import ServerProcess

pytestmark = pytest.mark.slow

APP = """\
def application(environ, start_response):
    keys = ("REQUEST_URI", "SCRIPT_NAME", "QUERY_STRING", "REDIRECT_URL", "REDIRECT_SEEN")
    body = " ".join(k + "=" + str(environ.get(k)) for k in keys).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
"""


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("rewrite")
    docs = root / "docs"
    for folder in ("fc", "edited", "limited"):
        (docs / folder).mkdir(parents=True)
    (docs / "fc" / "index.wsgi").write_text(APP)
    (docs / "fc" / "real.txt").write_text("real\n")
    (docs / "fc" / ".htaccess").write_text(
        "RewriteEngine On\nRewriteCond %{REQUEST_FILENAME} !-f\n"
        "RewriteCond %{REQUEST_FILENAME} !-d\nRewriteRule ^ index.wsgi [L,E=SEEN:yes]\n"
    )
    (docs / "edited" / "x.txt").write_text("edited\n")
    (docs / "limited" / "x.txt").write_text("limited\n")
    (docs / "limited" / ".htaccess").write_text("RewriteEngine On\nRewriteRule ^ - [F]\n")
    (root / "pages.txt").write_text("a /fc/real.txt\n")
    conf = root / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:${{PORT}}
            ServerName rewrite.test
            DocumentRoot {docs}
            <Directory {docs}>
                AllowOverride All
                Options +ExecCGI
                AddHandler wsgi-script .wsgi
            </Directory>
            <Directory {docs}/limited>
                AllowOverride Indexes
            </Directory>
            RewriteEngine On
            RewriteMap pages txt:{root}/pages.txt
            RewriteRule ^/m/(.*) ${{pages:$1|/none}} [R=302,L]
            RewriteRule ^/loop/(.*) /loop/x$1 [N=30]
            """
        )
    )
    server = ServerProcess(
        ["serve", "--config", str(conf), "--embedded"], env={"PORT": str(free_port())}
    )
    try:
        server.wait_listening()
        server.root = root  # type: ignore[attr-defined]
        yield server
    finally:
        server.close()


def root(server: ServerProcess) -> Path:
    return server.root  # type: ignore[attr-defined,no-any-return]


def test_front_controller_in_htaccess_reaches_the_app(server: ServerProcess) -> None:
    answer = get(server, "/fc/blog/2024/post?x=1")
    assert answer.status == 200
    # [E=] was set before the internal redirect: the app sees it renamed REDIRECT_*.
    assert answer.body == (
        b"REQUEST_URI=/fc/blog/2024/post?x=1 SCRIPT_NAME=/fc/index.wsgi QUERY_STRING=x=1 "
        b"REDIRECT_URL=/fc/blog/2024/post REDIRECT_SEEN=yes"
    )
    # A file that exists is served as it is.
    real = get(server, "/fc/real.txt")
    assert (real.status, real.body) == (200, b"real\n")


def test_an_htaccess_edit_changes_the_rules_without_a_restart(server: ServerProcess) -> None:
    folder = root(server) / "docs" / "edited"
    replace_file(folder / ".htaccess", "RewriteEngine On\nRewriteRule ^x\\.txt$ - [F]\n")
    assert get(server, "/edited/x.txt").status == 403
    replace_file(folder / ".htaccess", "RewriteEngine On\nRewriteRule ^x\\.txt$ - [G]\n")
    assert get(server, "/edited/x.txt").status == 410
    (folder / ".htaccess").unlink()
    assert get(server, "/edited/x.txt").status == 200


def test_a_map_file_edit_is_seen_by_the_next_request(server: ServerProcess) -> None:
    pages = root(server) / "pages.txt"
    assert get(server, "/m/a").headers["location"].endswith("/fc/real.txt")
    replace_file(pages, "a /elsewhere\n")
    assert get(server, "/m/a").headers["location"].endswith("/elsewhere")
    assert get(server, "/m/zz").headers["location"].endswith("/none")
    replace_file(pages, "a /fc/real.txt\n")


def test_rewrite_not_allowed_by_allowoverride_is_a_500(
    server: ServerProcess, log: LogWatch
) -> None:
    assert get(server, "/limited/x.txt").status == 500
    log.wait_for(f"{root(server)}/docs/limited/.htaccess: RewriteEngine not allowed here")


def test_a_rule_that_loops_with_n_ends_in_a_500(server: ServerProcess, log: LogWatch) -> None:
    assert get(server, "/loop/a").status == 500
    log.wait_for(
        "AH02596: RewriteRule '^/loop/(.*)' and URI '/loop/a' exceeded maximum number of "
        "rounds (30) via the [N] flag"
    )


def test_configtest_refuses_bad_rules_with_file_and_line(tmp_path: Path) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text(
        "Listen 127.0.0.1:8000\nRewriteEngine On\nRewriteRule ^/a /b [Q]\n"
        "RewriteMap prog prg:/bin/cat\nRewriteRule ^/c http://x/ [P]\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "wsgihost", "configtest", "--config", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert f"{conf}:3: RewriteRule: unknown flag 'Q'" in out
    assert f"{conf}:4: RewriteMap: RewriteMap prg: is not provided by wsgihost" in out
    assert f"{conf}:5: RewriteRule: the [P] flag proxies" in out
