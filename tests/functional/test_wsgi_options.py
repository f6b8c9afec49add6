"""mod_wsgi's options in a running server, both modes: WSGIRestrictStdout On,
WSGIRestrictSignal Off, WSGIRestrictProcess, WSGISwitchInterval and
switch-interval=, WSGIPythonEggs and python-eggs=, stack-size=, trusted proxy
headers, and WSGIDestroyInterpreter (the app's atexit functions at a stop)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.helpers import build, free_port, next_response, wait_for
from tests.functional.server import Reader, ServerProcess

pytestmark = pytest.mark.slow

APP = """\
import atexit, json, os, signal, sys, threading

MARKS = os.path.join(os.path.dirname(__file__), "marks")
atexit.register(lambda: open(os.path.join(MARKS, "atexit-%d" % os.getpid()), "w").close())


def attempt(action):
    try:
        return {"result": action()}
    except Exception as e:
        return {"error": "%s: %s" % (type(e).__name__, e)}


def application(environ, start_response):
    seen = {
        "pid": os.getpid(),
        "switch_interval": sys.getswitchinterval(),
        "egg_cache": os.environ.get("PYTHON_EGG_CACHE"),
        "stack_size": threading.stack_size(),
        "print": attempt(lambda: print("printed") or "printed"),
        "signal": attempt(lambda: str(signal.signal(signal.SIGUSR2, signal.SIG_IGN))),
        "remote_addr": environ["REMOTE_ADDR"],
        "scheme": environ["wsgi.url_scheme"],
        "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
        "process_group": environ["mod_wsgi.process_group"],
    }
    body = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("options")
    (root / "app.wsgi").write_text(APP)
    (root / "marks").mkdir()
    return root


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[ServerProcess]:
    port = free_port()
    conf = root / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:{port}
            ServerName main.test
            ErrorLog {root}/error.log
            StartServers 1
            WSGIRestrictStdout On
            WSGIRestrictSignal Off
            WSGISwitchInterval 0.02
            WSGIPythonEggs {root}/eggs-main
            WSGIDaemonProcess pool processes=1 threads=2 switch-interval=0.03 \\
                python-eggs={root}/eggs-pool stack-size=1048576
            WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Proto
            WSGITrustedProxies 127.0.0.1
            WSGIScriptAlias /embedded {root}/app.wsgi process-group=%{{GLOBAL}}
            WSGIScriptAlias /daemon {root}/app.wsgi process-group=pool
            WSGIScriptAlias /allowed {root}/app.wsgi process-group=pool
            WSGIScriptAlias /denied {root}/app.wsgi process-group=pool
            WSGIScriptAlias /untrusted {root}/app.wsgi process-group=pool
            <Location /allowed>
                WSGIRestrictProcess pool
            </Location>
            <Location /denied>
                WSGIRestrictProcess other %{{GLOBAL}}
            </Location>
            <Location /untrusted>
                WSGITrustedProxies 10.0.0.0/8
            </Location>
            """
        )
    )
    proc = ServerProcess(["serve", "--config", str(conf)])
    try:
        proc.wait_listening()
        yield proc
    finally:
        proc.close()


def ask(server: ServerProcess, target: str, headers: list[tuple[str, str]] | None = None) -> Any:
    with server.connect() as sock:
        sock.sendall(build("GET", target, headers=[("Connection", "close"), *(headers or [])]))
        response = next_response(Reader(sock))
    return response.status, (json.loads(response.body) if response.status == 200 else None)


def answer(server: ServerProcess, target: str, **kw: Any) -> dict[str, Any]:
    """The app's JSON once it answers 200 (a daemon may still be starting)."""

    def ready() -> dict[str, Any] | None:
        status, body = ask(server, target, **kw)
        return body if status == 200 else None

    return wait_for(ready, 20, f"{target} to answer")


def test_embedded_mode_gets_the_server_settings(server: ServerProcess, root: Path) -> None:
    seen = answer(server, "/embedded/")
    assert seen["print"] == {"error": "OSError: sys.stdout access restricted by mod_wsgi"}
    # Not intercepted: the real signal.signal, which refuses a request thread.
    assert "main thread" in seen["signal"]["error"]
    assert seen["switch_interval"] == pytest.approx(0.02)
    assert seen["egg_cache"] == f"{root}/eggs-main"


def test_daemon_options_win_for_their_processes(server: ServerProcess, root: Path) -> None:
    seen = answer(server, "/daemon/")
    assert seen["process_group"] == "pool"
    assert seen["print"] == {"error": "OSError: sys.stdout access restricted by mod_wsgi"}
    assert seen["switch_interval"] == pytest.approx(0.03)
    assert seen["egg_cache"] == f"{root}/eggs-pool"
    assert seen["stack_size"] == 1048576


def test_restrict_process(server: ServerProcess, root: Path) -> None:
    assert answer(server, "/allowed/")["process_group"] == "pool"
    status, _ = ask(server, "/denied/")
    assert status == 500
    line = (
        "Daemon process called 'pool' cannot be accessed by this WSGI application as not "
        f"a member of allowed groups: {root}/app.wsgi"
    )
    wait_for(lambda: line in (root / "error.log").read_text(), 5, "the error-log line")


def test_trusted_and_untrusted_peers(server: ServerProcess) -> None:
    forwarded = [("X-Forwarded-For", "192.0.2.10"), ("X-Forwarded-Proto", "https")]
    for mode in ("embedded", "daemon"):
        seen = answer(server, f"/{mode}/", headers=forwarded)
        assert (seen["remote_addr"], seen["scheme"]) == ("192.0.2.10", "https"), mode
        assert seen["forwarded_for"] == "192.0.2.10"
    seen = answer(server, "/untrusted/", headers=forwarded)
    assert (seen["remote_addr"], seen["scheme"], seen["forwarded_for"]) == (
        "127.0.0.1",
        "http",
        None,
    )


def test_a_stopping_process_runs_the_app_s_atexit_functions(tmp_path: Path) -> None:
    """WSGIDestroyInterpreter On (the default) and Off, in one server each, for a
    daemon process and a front-end worker (embedded mode)."""
    marks = {}
    for setting in ("On", "Off"):
        root = tmp_path / setting
        (root / "marks").mkdir(parents=True)
        (root / "app.wsgi").write_text(APP)
        port = free_port()
        (root / "site.conf").write_text(
            f"Listen 127.0.0.1:{port}\nErrorLog {root}/error.log\nStartServers 1\n"
            f"WSGIDestroyInterpreter {setting}\n"
            f"WSGIDaemonProcess pool processes=1 threads=1\n"
            f"WSGIScriptAlias /daemon {root}/app.wsgi process-group=pool\n"
            f"WSGIScriptAlias /embedded {root}/app.wsgi process-group=%{{GLOBAL}}\n"
        )
        proc = ServerProcess(["serve", "--config", str(root / "site.conf")])
        try:
            proc.wait_listening()
            pids = {mode: answer(proc, f"/{mode}/")["pid"] for mode in ("daemon", "embedded")}
        finally:
            proc.close()
        for mode, pid in pids.items():
            marks[setting, mode] = (root / "marks" / f"atexit-{pid}").exists()
    assert marks == {
        ("On", "daemon"): True,
        ("On", "embedded"): True,
        ("Off", "daemon"): False,
        ("Off", "embedded"): False,
    }
