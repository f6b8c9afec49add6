"""A distribution's whole Apache tree, and a site file on its own, served by wsgihost.

The trees are Debian 12's /etc/apache2 and a RHEL 9-shaped /etc/httpd, kept in
tests/trees/ and copied by tests/trees/prepare.py with a free port and their
/var paths in a temporary folder, a mod_wsgi site enabled. What Apache answers
on the same copy is compared in tests/differential/test_distribution_trees.py;
here: wsgihost alone, configtest's output, --remap-port, and ${APACHE_*}.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import Response, free_port, get, wait_for
from tests.functional.server import ServerProcess
from tests.trees.prepare import INDEX_HTML, STATIC_TEXT, TREES, Copy, debian, rhel

pytestmark = pytest.mark.slow


def configtest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wsgihost", "configtest", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ": warning: " not in line]


def start(conf: Path, *extra: str, env: dict[str, str] | None = None) -> ServerProcess:
    server = ServerProcess(["serve", "--config", str(conf), *extra], env)
    try:
        server.wait_listening()
    except BaseException:
        server.close()
        raise
    server.host = "127.0.0.1"  # it listens on every address; talk to loopback only
    return server


def app_line(host: str, port: int, script: str = "/app", path: str = "/x") -> bytes:
    return (
        f"app.wsgi: GET {host} script_name={script} path_info={path} query=y=1 server_port={port}\n"
    ).encode()


def log_lines(path: Path) -> list[str]:
    """Each line's request and status (times and sizes differ between runs)."""
    if not path.exists():
        return []
    found = re.findall(r'"([A-Z]+ \S+ HTTP/1\.[01])" (\d{3}) ', path.read_text())
    return [f"{request} {status}" for request, status in found]


def check_site(server: ServerProcess, tree: Copy) -> None:
    port = tree.port
    app = get(server, "/app/x?y=1", host=f"app.test:{port}")
    assert (app.status, app.body) == (200, app_line(f"app.test:{port}", port))
    static = get(server, "/hello.txt", host=f"127.0.0.1:{port}")
    assert (static.status, static.text) == (200, STATIC_TEXT)
    assert static.headers["content-type"].startswith("text/plain")
    index = get(server, "/", host=f"127.0.0.1:{port}")
    assert (index.status, index.text) == (200, INDEX_HTML)
    missing: Response = get(server, "/no-such-file", host=f"127.0.0.1:{port}")
    assert missing.status == 404


# -- Debian 12 -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def debian_tree() -> Iterator[Copy]:
    # No log folder: serve creates the one ${APACHE_LOG_DIR} names, as the package would.
    tree = debian(free_port(), make_log_dir=False)
    yield tree
    tree.remove()


def test_debian_tree_passes_configtest_and_says_where_it_listens(debian_tree: Copy) -> None:
    done = configtest("--config", str(debian_tree.conf))
    assert errors(done.stderr) == []
    assert done.returncode == 0
    ports = debian_tree.conf.parent / "ports.conf"
    assert done.stdout.splitlines() == [
        f"would listen on http://0.0.0.0:{debian_tree.port} ({ports}:5)",
        "Syntax OK",
    ]
    # Modules wsgihost does not provide are named, with what will not happen.
    assert "negotiation_module' is not provided by wsgihost: content negotiation" in done.stderr
    # mod_autoindex is provided: its AddIcon, IndexIgnore, ... lines are read, silently.
    assert "autoindex" not in done.stderr.lower()
    assert "AddIcon" not in done.stderr


def test_debian_tree_serves_the_enabled_sites(debian_tree: Copy) -> None:
    server = start(debian_tree.conf)
    try:
        check_site(server, debian_tree)
        # Logs go where ${APACHE_LOG_DIR} (from the copy's envvars) says.
        wait_for(lambda: log_lines(debian_tree.log_dir / "app_access.log"), what="a log line")
        assert log_lines(debian_tree.log_dir / "app_access.log") == ["GET /app/x?y=1 HTTP/1.1 200"]
        wait_for(lambda: len(log_lines(debian_tree.log_dir / "access.log")) == 3)
        assert log_lines(debian_tree.log_dir / "access.log") == [
            "GET /hello.txt HTTP/1.1 200",
            "GET / HTTP/1.1 200",
            "GET /no-such-file HTTP/1.1 404",
        ]
        # The PidFile of apache2.conf, ${APACHE_PID_FILE} from envvars.
        pid = (debian_tree.root / "run" / "apache2.pid").read_text().strip()
        assert pid == str(server.proc.pid)
    finally:
        server.close()


def test_a_site_disabled_by_removing_its_link_is_not_served(debian_tree: Copy) -> None:
    link = debian_tree.conf.parent / "sites-enabled" / "app.conf"
    link.unlink()
    try:
        done = configtest("--config", str(debian_tree.conf))
        assert done.returncode == 0, done.stderr
        server = start(debian_tree.conf)
        try:
            # The default site (000-default.conf) answers, and has no /app.
            answer = get(server, "/app/x", host=f"app.test:{debian_tree.port}")
            assert answer.status == 404
        finally:
            server.close()
    finally:
        link.symlink_to("../sites-available/app.conf")


def test_debian_tree_as_shipped_runs_as_a_user_with_remapped_ports() -> None:
    # Port 80 left as the tree has it (Listen 80, <VirtualHost *:80>): --remap-port
    # moves both, so the name-based virtual hosts still match.
    tree = debian(80)
    port = free_port()
    try:
        done = configtest("--config", str(tree.conf), "--remap-port", f"80={port}")
        assert done.returncode == 0, done.stderr
        assert f"would listen on http://0.0.0.0:{port} (" in done.stdout
        server = start(tree.conf, "--remap-port", f"80={port}", "--remap-port", "443=1")
        try:
            app = get(server, "/app/x?y=1", host=f"app.test:{port}")
            assert (app.status, app.body) == (200, app_line(f"app.test:{port}", port))
            static = get(server, "/hello.txt", host=f"127.0.0.1:{port}")
            assert (static.status, static.text) == (200, STATIC_TEXT)
        finally:
            server.close()
    finally:
        tree.remove()


# -- RHEL 9 ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rhel_tree() -> Iterator[Copy]:
    tree = rhel(free_port())
    yield tree
    tree.remove()


def test_rhel_tree_passes_configtest(rhel_tree: Copy) -> None:
    done = configtest("--config", str(rhel_tree.conf))
    assert errors(done.stderr) == []
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1] == "Syntax OK"
    # RHEL's empty /var/www/cgi-bin/ ScriptAlias: nothing is lost, so a warning.
    assert "warning: ScriptAlias: CGI is not provided by wsgihost" in done.stderr


def test_rhel_tree_serves_its_conf_d_site(rhel_tree: Copy) -> None:
    server = start(rhel_tree.conf)
    try:
        port = rhel_tree.port
        app = get(server, "/app/x?y=1", host=f"app.test:{port}")
        assert (app.status, app.body) == (200, app_line(f"app.test:{port}", port))
        # RHEL ships no default <VirtualHost>: once conf.d adds one on the port,
        # Apache gives it every Host no ServerName names, and the main server's
        # DocumentRoot (/var/www/html) is not served on that port at all.
        for host in (f"127.0.0.1:{port}", f"other.test:{port}"):
            assert get(server, "/hello.txt", host=host).status == 404
            assert get(server, "/app/x", host=host).status == 200
        logs = rhel_tree.log_dir  # "logs/access_log", relative to ServerRoot
        wait_for(lambda: len(log_lines(logs / "app_access.log")) == 5, what="5 log lines")
        assert log_lines(logs / "app_access.log") == [
            "GET /app/x?y=1 HTTP/1.1 200",
            *["GET /hello.txt HTTP/1.1 404", "GET /app/x HTTP/1.1 200"] * 2,
        ]
        assert log_lines(logs / "access_log") == []  # the main server got none of them
    finally:
        server.close()


# -- a site file on its own ------------------------------------------------------------------


SITE = """\
<VirtualHost *:80>
    ServerName example.test
    DocumentRoot {root}/htdocs
    WSGIDaemonProcess example processes=1 threads=2
    WSGIProcessGroup example
    WSGIScriptAlias /app {app}
    <Directory {root}>
        Require all granted
    </Directory>
    ErrorLog ${{APACHE_LOG_DIR}}/example_error.log
    CustomLog ${{APACHE_LOG_DIR}}/example_access.log combined
</VirtualHost>
"""


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    (tmp_path / "htdocs").mkdir()
    (tmp_path / "htdocs" / "hello.txt").write_text(STATIC_TEXT)
    available = tmp_path / "sites-available"
    available.mkdir()
    site = available / "example.conf"
    site.write_text(SITE.format(root=tmp_path, app=TREES / "app.wsgi"))
    return site


def test_a_site_file_on_its_own_listens_where_its_virtual_host_says(site_file: Path) -> None:
    port = free_port()
    env = {"APACHE_LOG_DIR": str(site_file.parent.parent / "log"), "PATH": "/usr/bin:/bin"}
    done = configtest("--config", str(site_file), "--remap-port", f"80={port}", env=env)
    assert errors(done.stderr) == []
    assert done.stdout.splitlines() == [
        f"would listen on http://0.0.0.0:{port} ({site_file}:1)",
        "Syntax OK",
    ]
    log_dir = site_file.parent.parent / "log"
    assert f"warning: log folder {log_dir} does not exist (serve creates it)" in done.stderr
    assert (
        f"{site_file}:1: warning: no Listen in the configuration: listening on *:{port}, "
        "as this <VirtualHost> says" in done.stderr
    )
    # Without the remap, it is port 80 (which a test cannot bind).
    done = configtest("--config", str(site_file), env=env)
    assert f"would listen on http://0.0.0.0:80 ({site_file}:1)" in done.stdout


def test_a_site_file_for_port_80_runs_on_a_remapped_port(site_file: Path) -> None:
    port = free_port()
    log_dir = site_file.parent.parent / "log"
    server = start(
        site_file,
        "--remap-port",
        f"80={port}",
        "--remap-port",
        "443=1",
        env={"APACHE_LOG_DIR": str(log_dir)},
    )
    try:
        assert f"listening on http://0.0.0.0:{port}" in server.stdout()
        # The <VirtualHost *:80> matches connections to the remapped port, and the
        # app sees the port the client connected to (from Host, as in Apache).
        answer = get(server, "/app/x?y=1", host=f"example.test:{port}")
        assert (answer.status, answer.body) == (
            200,
            app_line(f"example.test:{port}", port),
        )
        static = get(server, "/hello.txt", host=f"example.test:{port}")
        assert (static.status, static.text) == (200, STATIC_TEXT)
        wait_for(lambda: log_lines(log_dir / "example_access.log"), what="a log line")
    finally:
        server.close()


def test_remap_port_must_be_two_ports(site_file: Path) -> None:
    done = configtest("--config", str(site_file), "--remap-port", "80:8080")
    assert done.returncode == 2
    assert "expected FROM=TO with two ports, such as 80=8080" in done.stderr


def test_what_a_site_file_names_may_be_missing_for_configtest(tmp_path: Path) -> None:
    # Deployed later: its DocumentRoot and script are warnings (Apache's AH00112),
    # and ${APACHE_LOG_DIR} is Debian's when nothing sets it.
    site = tmp_path / "later.conf"
    site.write_text(
        textwrap.dedent(
            f"""\
            <VirtualHost 127.0.0.1:8080>
                DocumentRoot {tmp_path}/not-yet
                WSGIScriptAlias / {tmp_path}/not-yet/app.wsgi
                ErrorLog ${{APACHE_LOG_DIR}}/later_error.log
            </VirtualHost>
            """
        )
    )
    done = configtest("--config", str(site), env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert f"{site}:2: warning: DocumentRoot: directory '{tmp_path}/not-yet' does not exist" in (
        done.stderr
    )
    assert f"{site}:3: warning: WSGIScriptAlias: WSGI script" in done.stderr
    assert done.stdout.splitlines() == [
        f"would listen on http://127.0.0.1:8080 ({site}:1)",
        "Syntax OK",
    ]


def test_a_log_folder_serve_cannot_create_stops_it(site_file: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    server = ServerProcess(
        ["serve", "--config", str(site_file), "--remap-port", f"80={free_port()}"],
        {"APACHE_LOG_DIR": str(blocker / "log")},
    )
    try:
        assert server.wait(30) == 2
        assert f"cannot open log file {blocker}/log/example_error.log" in server.stderr()
    finally:
        server.close()


# -- <IfModule>, as the LoadModule lines read so far say -----------------------------------


def test_ifmodule_follows_loadmodule_in_reading_order(tmp_path: Path) -> None:
    ports = [free_port() for _ in range(5)]
    conf = tmp_path / "main.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            <IfModule mod_wsgi.c>
                Listen 127.0.0.1:{ports[0]}
            </IfModule>
            LoadModule wsgi_module /usr/lib/apache2/modules/mod_wsgi.so
            <IfModule mod_wsgi.c>
                Listen 127.0.0.1:{ports[1]}
            </IfModule>
            <IfModule log_config_module>
                Listen 127.0.0.1:{ports[2]}
            </IfModule>
            <IfModule alias_module>
                Listen 127.0.0.1:{ports[3]}
            </IfModule>
            LoadModule status_module /usr/lib/apache2/modules/mod_status.so
            <IfModule mod_status.c>
                ExtendedStatus On
            </IfModule>
            <IfModule !mod_status.c>
                Listen 127.0.0.1:{ports[4]}
            </IfModule>
            """
        )
    )
    done = configtest("--config", str(conf))
    assert done.returncode == 0, done.stderr
    # wsgi before its LoadModule: no; after: yes; log_config: built in; alias:
    # provided by wsgihost but not loaded here, so no (as in Apache).
    listening = re.findall(r"would listen on http://127\.0\.0\.1:(\d+)", done.stdout)
    assert listening == [str(ports[1]), str(ports[2])]
    assert f"{conf}:14: warning: LoadModule: module 'status_module' is not provided" in (
        done.stderr
    )
    assert f"{conf}:16: warning: ExtendedStatus:" in done.stderr


def test_without_any_loadmodule_every_provided_module_counts_as_loaded(tmp_path: Path) -> None:
    port = free_port()
    conf = tmp_path / "site.conf"
    conf.write_text(
        f"<IfModule mod_alias.c>\n<IfModule wsgi_module>\nListen 127.0.0.1:{port}\n"
        "</IfModule>\n</IfModule>\n<IfModule mod_status.c>\nListen 127.0.0.1:1\n</IfModule>\n"
    )
    done = configtest("--config", str(conf))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"would listen on http://127.0.0.1:{port} ({conf}:3)",
        "Syntax OK",
    ]
