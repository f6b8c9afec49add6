"""Application groups: each runs in daemon processes of its own, known from the configuration.

Two apps of one daemon group must not share modules (mod_wsgi gives each
application group a sub-interpreter; we give each a set of processes), and no
request, whatever Host it names, may make the server start a process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import build, free_port, members, next_response, wait_for
from tests.functional.server import Reader, ServerProcess

pytestmark = pytest.mark.slow

# Each app imports a module named siteconfig from its own folder (first on
# sys.path once it is imported) and says which one it got, and its process.
APP = """\
import json, os, sys
sys.path.insert(0, os.path.dirname(__file__))
import siteconfig

def application(environ, start_response):
    body = json.dumps({
        "site": siteconfig.NAME,
        "pid": os.getpid(),
        "group": environ["mod_wsgi.application_group"],
        "process_group": environ["mod_wsgi.process_group"],
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("appgroups")
    port = free_port()
    for name in ("one", "two", "shared"):
        (root / name).mkdir()
        (root / name / "app.wsgi").write_text(APP)
        (root / name / "siteconfig.py").write_text(f"NAME = {name!r}\n")
    conf = root / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:{port}
            ServerName main.test
            ErrorLog {root}/error.log
            StartServers 1
            <VirtualHost *:{port}>
                ServerName sites.test
                WSGIDaemonProcess both processes=1 threads=2
                WSGIProcessGroup both
                WSGIScriptAlias /one {root}/one/app.wsgi
                WSGIScriptAlias /two {root}/two/app.wsgi
                WSGIScriptAlias /g1 {root}/shared/app.wsgi application-group=%{{GLOBAL}}
                WSGIScriptAlias /g2 {root}/shared/app.wsgi application-group=%{{GLOBAL}}
            </VirtualHost>
            """
        )
    )
    proc = ServerProcess(["serve", "--config", str(conf)])
    try:
        proc.wait_listening()
        proc.conf = conf  # type: ignore[attr-defined]
        yield proc
    finally:
        proc.close()


def ask(server: ServerProcess, target: str, host: str = "sites.test") -> dict[str, object]:
    with server.connect() as sock:
        sock.sendall(build("GET", target, headers=[("Connection", "close")], host=host))
        response = next_response(Reader(sock))
    assert response.status == 200, response
    return json.loads(response.body)  # type: ignore[no-any-return]


def answer(server: ServerProcess, target: str, host: str) -> dict[str, object] | None:
    """The app's answer, or None while the server does not route ``target`` to it yet."""
    try:
        return ask(server, target, host)
    except AssertionError:
        return None


def daemons(server: ServerProcess) -> set[int]:
    return {pid for pid, kind in members(server.proc.pid).items() if kind == "daemon"}


def test_two_apps_of_one_group_do_not_share_modules(server: ServerProcess) -> None:
    one = wait_for(lambda: ask(server, "/one/"), 20, "/one to answer")
    two = wait_for(lambda: ask(server, "/two/"), 20, "/two to answer")
    # Each got its own siteconfig, in processes of its own, of the one group.
    assert one["site"] == "one" and two["site"] == "two"
    assert one["pid"] != two["pid"]
    assert one["process_group"] == two["process_group"] == "both"
    port = server.port
    assert one["group"] == f"sites.test:{port}|/one"
    assert two["group"] == f"sites.test:{port}|/two"


def test_global_keeps_one_set(server: ServerProcess) -> None:
    first = wait_for(lambda: ask(server, "/g1/"), 20, "/g1 to answer")
    second = ask(server, "/g2/")
    assert first["group"] == second["group"] == ""
    assert first["pid"] == second["pid"]  # processes=1: the same process serves both


def test_no_host_header_starts_a_process(server: ServerProcess) -> None:
    for target in ("/one/", "/two/", "/g1/"):
        wait_for(lambda t=target: ask(server, t), 20, f"{target} to answer")  # type: ignore[misc]
    # Three sets of one process each: /one, /two and %{GLOBAL}.
    wait_for(lambda: len(daemons(server)) == 3, 20, "3 daemons")
    before = daemons(server)
    # Ports, upper case, a trailing dot, an IPv6 literal, an address: mod_wsgi
    # takes the port of each into the application group (a new interpreter).
    hosts = [f"sites.test:{10000 + i}" for i in range(30)]
    hosts += ["SITES.TEST:1", "sites.test.:2", "sites.test", "[::1]:8080", "127.0.0.1:9"]
    groups = set()
    for host in hosts:
        got = ask(server, "/one/x", host)
        groups.add(got["group"])
        assert got["pid"] in before
    assert groups == {f"sites.test:{server.port}|/one"}
    assert daemons(server) == before


def wsgihost(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wsgihost", *args], capture_output=True, text=True, timeout=60
    )


def test_status_shows_each_set(server: ServerProcess) -> None:
    wait_for(lambda: ask(server, "/one/"), 20, "/one to answer")
    conf = str(server.conf)  # type: ignore[attr-defined]
    result = wsgihost("status", "--config", conf, "--json")
    assert result.returncode == 0, result.stderr
    (group,) = json.loads(result.stdout)["groups"]
    assert group["name"] == "both"
    port = server.port
    one, two = f"sites.test:{port}|/one", f"sites.test:{port}|/two"
    assert sorted(s["application_group"] for s in group["sets"]) == ["", one, two]
    assert all(len(s["members"]) == 1 for s in group["sets"])
    text = wsgihost("status", "--config", conf)
    assert text.returncode == 0, text.stderr
    assert f"application group {one}:" in text.stdout
    assert "application group %{GLOBAL}:" in text.stdout


def test_more_application_groups_than_the_limit_is_an_error(tmp_path: Path) -> None:
    script = tmp_path / "app.wsgi"
    script.write_text(APP)
    (tmp_path / "siteconfig.py").write_text("NAME = 'x'\n")
    conf = tmp_path / "site.conf"
    conf.write_text(
        f"Listen 127.0.0.1:{free_port()}\nWSGIApplicationGroupLimit 2\n"
        "WSGIDaemonProcess many processes=1 threads=1\nWSGIProcessGroup many\n"
        + "".join(f"WSGIScriptAlias /app{i} {script}\n" for i in range(3))
    )
    checked = wsgihost("configtest", "--config", str(conf))
    assert checked.returncode != 0
    assert "daemon group 'many' would run 3 application groups" in checked.stderr
    proc = ServerProcess(["serve", "--config", str(conf)])
    try:
        assert proc.wait(30) != 0
        assert "more than WSGIApplicationGroupLimit (2)" in proc.stderr()
    finally:
        proc.close()
    # Within the limit the configuration passes.
    conf.write_text(conf.read_text().replace("Limit 2", "Limit 3"))
    assert wsgihost("configtest", "--config", str(conf)).returncode == 0


def test_a_restart_starts_new_sets_and_stops_removed_ones(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.wsgi").write_text(APP)
        (tmp_path / name / "siteconfig.py").write_text(f"NAME = {name!r}\n")
    conf = tmp_path / "site.conf"
    head = (
        f"Listen 127.0.0.1:{free_port()}\nServerName restart.test\nStartServers 1\n"
        "WSGIDaemonProcess g processes=1 threads=2\nWSGIProcessGroup g\n"
    )
    conf.write_text(head + f"WSGIScriptAlias /one {tmp_path}/one/app.wsgi\n")
    server = ServerProcess(["serve", "--config", str(conf)])
    try:
        server.wait_listening()
        first = wait_for(lambda: ask(server, "/one/", "restart.test"), 20, "/one to answer")
        conf.write_text(head + f"WSGIScriptAlias /two {tmp_path}/two/app.wsgi\n")
        result = wsgihost("restart", "--config", str(conf))
        assert result.returncode == 0, result.stderr
        two = wait_for(lambda: answer(server, "/two/", "restart.test"), 20, "/two to answer")
        assert two is not None
        assert two["site"] == "two" and two["pid"] != first["pid"]
        # /one's set is gone with its alias, and its process with it.
        wait_for(lambda: daemons(server) == {two["pid"]}, 20, "/one's process to stop")
    finally:
        server.close()
