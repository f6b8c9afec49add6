"""Handler-mapped scripts and dispatch scripts in a running server: the scripts one
section maps to a daemon group share that section's processes, each loaded as its
own module; a dispatch script runs in the front-end worker, is loaded again when it
changes, and a failing one gives a 500 with its traceback in the error log."""

from __future__ import annotations

import json
import os
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import build, free_port, next_response, wait_for
from tests.functional.server import Reader, ServerProcess

pytestmark = pytest.mark.slow

APP = """\
import json, os
NAME = {name!r}

def application(environ, start_response):
    body = json.dumps({{
        "name": NAME,
        "module": __name__,
        "pid": os.getpid(),
        "group": environ["mod_wsgi.application_group"],
        "process_group": environ["mod_wsgi.process_group"],
        "script_name": environ["SCRIPT_NAME"],
        "path_info": environ["PATH_INFO"],
    }}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]

def other(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"other " + NAME.encode()]
"""

DISPATCH = """\
import os

def process_group(environ):
    if environ["QUERY_STRING"] == "boom":
        raise RuntimeError("the dispatch script failed on purpose")
    return None

def callable_object(environ):
    return {callable!r}

def application_group(environ):
    # What the front-end worker's process is, to tell where this runs.
    with open(os.path.join(os.path.dirname(__file__), "ran-in"), "w") as f:
        f.write(str(os.getpid()))
    return None
"""


SHOW = """\
import os

def handle_request(environ, start_response):
    with open(environ["SCRIPT_FILENAME"], "rb") as f:
        text = f.read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"v{version} %d " % os.getpid() + text]
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    root = tmp_path_factory.mktemp("handlers")
    port = free_port()
    (root / "scripts").mkdir()
    for name in ("one", "two"):
        (root / "scripts" / f"{name}.wsgi").write_text(APP.format(name=name))
    (root / "embedded").mkdir()
    (root / "embedded" / "app.wsgi").write_text(APP.format(name="embedded"))
    (root / "dispatch.py").write_text(DISPATCH.format(callable=None))
    (root / "notes").mkdir()
    (root / "notes" / "a.txt").write_text("note a\n")
    (root / "show.wsgi").write_text(SHOW.format(version=1))
    conf = root / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:{port}
            ServerName main.test
            ErrorLog {root}/error.log
            StartServers 1
            WSGIDaemonProcess scripts processes=1 threads=2
            Alias /s/ {root}/scripts/
            <Directory {root}/scripts>
                Options ExecCGI
                AddHandler wsgi-script .wsgi
                WSGIProcessGroup scripts
            </Directory>
            WSGIHandlerScript show {root}/show.wsgi process-group=scripts
            Alias /n/ {root}/notes/
            <Directory {root}/notes>
                AddHandler show .txt
            </Directory>
            Alias /e/ {root}/embedded/
            <Directory {root}/embedded>
                Options ExecCGI
                SetHandler wsgi-script
                WSGIDispatchScript {root}/dispatch.py
            </Directory>
            """
        )
    )
    proc = ServerProcess(["serve", "--config", str(conf)])
    try:
        proc.wait_listening()
        yield proc, root
    finally:
        proc.close()


def get(server: ServerProcess, target: str) -> tuple[int, bytes]:
    with server.connect() as sock:
        sock.sendall(build("GET", target, headers=[("Connection", "close")], host="main.test"))
        response = next_response(Reader(sock))
    return response.status, response.body


def ask(server: ServerProcess, target: str) -> dict[str, object]:
    status, body = get(server, target)
    assert status == 200, (status, body)
    return json.loads(body)  # type: ignore[no-any-return]


def test_scripts_of_one_section_share_its_daemon_processes_as_modules_of_their_own(
    site: tuple[ServerProcess, Path],
) -> None:
    server, _ = site
    wait_for(lambda: get(server, "/s/one.wsgi/x")[0] == 200, 20, "/s/one.wsgi")
    one_seen, two_seen = ask(server, "/s/one.wsgi/x"), ask(server, "/s/two.wsgi")
    assert (one_seen["name"], two_seen["name"]) == ("one", "two")
    assert one_seen["pid"] == two_seen["pid"]  # one set for the <Directory>, processes=1
    assert one_seen["pid"] != os.getpid()
    assert one_seen["module"] != two_seen["module"]
    assert one_seen["process_group"] == "scripts"
    assert one_seen["group"] == f"main.test:{server.port}|/s/one.wsgi"
    assert (one_seen["script_name"], one_seen["path_info"]) == ("/s/one.wsgi", "/x")


def test_a_changed_script_is_loaded_again_in_its_daemon(site: tuple[ServerProcess, Path]) -> None:
    server, root = site
    script = root / "scripts" / "two.wsgi"
    wait_for(lambda: get(server, "/s/two.wsgi")[0] == 200, 20, "/s/two.wsgi")
    before = ask(server, "/s/two.wsgi")
    script.write_text(APP.format(name="two, edited"))
    seen = wait_for(
        lambda: (a := ask(server, "/s/two.wsgi"))["name"] == "two, edited" and a, 10, "the edit"
    )
    assert seen["pid"] == before["pid"]  # in place: the process was not replaced


def test_the_dispatch_script_runs_in_the_front_end_and_is_reloaded_when_it_changes(
    site: tuple[ServerProcess, Path],
) -> None:
    server, root = site
    first = ask(server, "/e/app.wsgi")
    assert first["name"] == "embedded"
    ran_in = int((root / "ran-in").read_text())
    assert ran_in == first["pid"]  # the embedded app's process: the front-end worker
    assert ran_in != server.proc.pid
    # The script now picks the app's other callable; a change shows at once.
    time.sleep(0.01)
    (root / "dispatch.py").write_text(DISPATCH.format(callable="other"))
    status, body = get(server, "/e/app.wsgi")
    assert (status, body) == (200, b"other embedded")


def test_a_failing_dispatch_script_is_a_500_with_its_traceback_logged(
    site: tuple[ServerProcess, Path],
) -> None:
    server, root = site
    status, _ = get(server, "/e/app.wsgi?boom")
    assert status == 500
    log = root / "error.log"
    wait_for(lambda: "failed on purpose" in log.read_text(), 5, "the traceback")
    text = log.read_text()
    assert f"Exception occurred processing WSGI script '{root}/dispatch.py'." in text
    assert "RuntimeError: the dispatch script failed on purpose" in text


def test_a_changed_handler_script_rolls_its_daemon_set(site: tuple[ServerProcess, Path]) -> None:
    """A WSGIHandlerScript is known from the configuration: its set imports it before
    it is ready, and a change to it rolls the set (a new process), as for an alias."""
    server, root = site
    _, body = wait_for(lambda: (r := get(server, "/n/a.txt")) and r[0] == 200 and r, 20, "/n")
    version, pid, text = body.split(b" ", 2)
    assert (version, text) == (b"v1", b"note a\n")
    (root / "show.wsgi").write_text(SHOW.format(version=2))
    _, after = wait_for(
        lambda: (r := get(server, "/n/a.txt")) and r[1].startswith(b"v2 ") and r, 20, "the roll"
    )
    assert after.split(b" ", 2)[1] != pid  # a new process: the set was rolled
