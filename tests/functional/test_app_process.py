"""The app's process as mod_wsgi 4.9 makes it: working directory, ``sys.argv``,
``sys.path``, the ``PYTHON*`` variables and the ``WSGIPython*`` directives.

Each server is started from a site file (``serve --config``) whose app reports
what it sees of its own process, and imports a module of its folder, so a
test can tell whether bytecode was written.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.helpers import free_port, get, wait_for
from tests.functional.server import ServerProcess

pytestmark = pytest.mark.slow

PROBE = """\
import json, os, sys

sys.path.append(os.path.dirname(__file__))  # as mod_wsgi users do: it adds no folder
import helper  # noqa: E402

def application(environ, start_response):
    info = {
        "argv": sys.argv,
        "path": sys.path,
        "cwd": os.getcwd(),
        "home": os.environ.get("HOME"),
        "hash_seed": os.environ.get("PYTHONHASHSEED"),
        "hash": hash("wsgihost"),
        "optimize": sys.flags.optimize,
        "dont_write_bytecode": sys.flags.dont_write_bytecode,
        "warnoptions": sys.warnoptions,
        "pid": os.getpid(),
        "group": environ["mod_wsgi.process_group"],
    }
    body = json.dumps(info).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
"""


@pytest.fixture
def site() -> Iterator[Path]:
    """A world-readable folder with the probe app and its helper module."""
    root = Path(tempfile.mkdtemp(prefix="wsgihost-process-"))
    try:
        (root / "probe.wsgi").write_text(PROBE)
        (root / "helper.py").write_text("VALUE = 1\n")
        (root / "home").mkdir()
        for path in (root, root / "home", root / "probe.wsgi", root / "helper.py"):
            path.chmod(0o755)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def start(site: Path, body: str, env: dict[str, str] | None = None) -> ServerProcess:
    port = free_port()
    conf = site / "site.conf"
    conf.write_text(f"Listen 127.0.0.1:{port}\n" + textwrap.dedent(body).format(site=site))
    server = ServerProcess(["serve", "--config", str(conf)], env=env)
    return server.wait_listening()


@pytest.fixture
def started() -> Iterator[list[ServerProcess]]:
    servers: list[ServerProcess] = []
    yield servers
    for server in servers:
        server.close()


def probe(server: ServerProcess, target: str) -> dict[str, Any]:
    resp = get(server, target)
    assert resp.status == 200, (resp.status, resp.text, server.stderr())
    return json.loads(resp.body)  # type: ignore[no-any-return]


def no_bytecode(site: Path) -> bool:
    return not (site / "__pycache__").exists()


DAEMON_AND_EMBEDDED = """\
    WSGIDaemonProcess probe processes=1 threads=2
    WSGIScriptAlias /daemon {site}/probe.wsgi process-group=probe
    WSGIScriptAlias /embedded {site}/probe.wsgi
"""


@pytest.mark.parametrize("mode", ["daemon", "embedded"])
def test_the_process_is_mod_wsgis(site: Path, started: list[ServerProcess], mode: str) -> None:
    server = start(site, DAEMON_AND_EMBEDDED)
    started.append(server)
    seen = probe(server, f"/{mode}")
    assert seen["argv"] == ["mod_wsgi"]
    # The server's working directory (this test's: where it was started).
    assert seen["cwd"] == os.getcwd()
    # The interpreter's own path: no working directory (python -m puts it first),
    # no wsgihost folder before the standard library (PYTHONPATH's place).
    assert os.getcwd() not in seen["path"]
    stdlib = os.path.dirname(os.__file__)
    before = seen["path"][: seen["path"].index(stdlib)]
    assert not [p for p in before if os.path.isdir(f"{p}/wsgihost/daemon")], seen["path"]
    if mode == "daemon":
        # wsgihost's own copy for the daemon is not on the app's path, nor is
        # the folder Python put first for the bootstrap.
        ours = [
            p
            for p in seen["path"]
            if p.endswith("/wsgihost/daemon")
            or (os.path.basename(p).startswith("lib-") and os.path.isdir(f"{p}/wsgihost/daemon"))
        ]
        assert not ours, seen["path"]
        assert seen["home"] == pwd.getpwuid(os.geteuid()).pw_dir


def test_python_variables_apply_to_the_daemon_as_under_mod_wsgi(
    site: Path, started: list[ServerProcess]
) -> None:
    extra = site / "extra"
    extra.mkdir(mode=0o755)
    env = {
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONOPTIMIZE": "1",
        "PYTHONPATH": str(extra),
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
    }
    server = start(site, DAEMON_AND_EMBEDDED, env)
    started.append(server)
    seen = probe(server, "/daemon")
    assert seen["dont_write_bytecode"] == 1 and seen["optimize"] == 1
    assert seen["warnoptions"] == ["ignore::DeprecationWarning"]
    assert str(extra) in seen["path"]
    assert no_bytecode(site), "the daemon wrote helper's bytecode"


def test_the_wsgi_python_directives(site: Path, started: list[ServerProcess]) -> None:
    server = start(
        site,
        DAEMON_AND_EMBEDDED
        + """\
    WSGIPythonOptimize 2
    WSGIDontWriteBytecode On
    WSGIPythonWarnings ignore::ResourceWarning
    WSGIPythonHashSeed 123
""",
        {"PYTHONDONTWRITEBYTECODE": "", "PYTHONOPTIMIZE": ""},
    )
    started.append(server)
    ask = [sys.executable, "-c", "print(hash('wsgihost'))"]
    seeded = subprocess.run(ask, env={**os.environ, "PYTHONHASHSEED": "123"}, capture_output=True)
    for mode in ("daemon", "embedded"):
        seen = probe(server, f"/{mode}")
        assert seen["optimize"] == 2, mode
        assert seen["dont_write_bytecode"] == 1, mode
        assert "ignore::ResourceWarning" in seen["warnoptions"], mode
        assert seen["hash"] == int(seeded.stdout), mode
        # As mod_wsgi, the seed is the interpreter's, not the app's child processes'.
        assert seen["hash_seed"] is None, mode
    assert no_bytecode(site)


def test_without_the_directives_bytecode_is_written(
    site: Path, started: list[ServerProcess]
) -> None:
    server = start(site, DAEMON_AND_EMBEDDED, {"PYTHONDONTWRITEBYTECODE": ""})
    started.append(server)
    seen = probe(server, "/daemon")
    assert seen["dont_write_bytecode"] == 0 and seen["optimize"] == 0
    assert not no_bytecode(site)


def test_home_is_the_working_directory(site: Path, started: list[ServerProcess]) -> None:
    server = start(
        site,
        """\
    WSGIDaemonProcess probe processes=1 threads=2 home={site}/home
    WSGIScriptAlias / {site}/probe.wsgi process-group=probe
""",
    )
    started.append(server)
    seen = probe(server, "/")
    assert seen["cwd"] == str(site / "home")
    assert seen["path"][0] == str(site / "home")  # as mod_wsgi puts it first


root_only = pytest.mark.skipif(os.getuid() != 0, reason="only root runs a group as another user")


def _system_python() -> str:
    """A python-home www-data can run (this test's own interpreter may be root's alone)."""
    if not os.path.exists("/usr/bin/python3"):
        pytest.skip("no /usr/bin/python3 for a group that runs as another user")
    return "/usr"


@root_only
def test_another_user_starts_in_its_home(site: Path, started: list[ServerProcess]) -> None:
    home = pwd.getpwnam("www-data").pw_dir
    if not os.path.isdir(home):
        pytest.skip(f"www-data's home {home} does not exist here")
    server = start(
        site,
        f"""\
    WSGIDaemonProcess other user=www-data python-home={_system_python()}
    WSGIScriptAlias / {{site}}/probe.wsgi process-group=other
""",
    )
    started.append(server)
    seen = probe(server, "/")
    assert seen["cwd"] == home
    assert seen["home"] == home


@root_only
def test_a_missing_home_is_said_once_and_not_retried_in_a_loop(
    site: Path, started: list[ServerProcess]
) -> None:
    entry = pwd.getpwnam("nobody")
    if os.path.isdir(entry.pw_dir):
        pytest.skip(f"nobody's home {entry.pw_dir} exists here")
    server = start(
        site,
        f"""\
    WSGIDaemonProcess other user=nobody python-home={_system_python()}
    WSGIScriptAlias / {{site}}/probe.wsgi process-group=other
""",
    )
    started.append(server)
    said = f"working directory {entry.pw_dir}"
    wait_for(lambda: said in server.stderr(), 10, said)
    assert get(server, "/").status == 503
    time.sleep(3)  # several tries, with back-off
    assert server.stderr().count(said) == 1, server.stderr()
