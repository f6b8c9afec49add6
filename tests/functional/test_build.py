"""The compiled build (setup.py, wsgihost.compiled): what it says it is, that it
answers as the pure-Python package does, that daemon processes run its compiled
modules where their interpreter's ABI matches and the ``.py`` files elsewhere,
and that a compiled module older than its edited source stops the server.

The compiled package is a copy in a folder of its own, put first on the
server's ``PYTHONPATH``: the installed package itself when it is the compiled
build (as in CI, which installs it so), else one built once for this module
from the sources with pip (a minute or two; it needs a C compiler).
"""

from __future__ import annotations

import glob
import importlib.machinery
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import exchange, free_port
from tests.functional.server import ServerProcess
from wsgihost import compiled

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ABI = importlib.machinery.EXTENSION_SUFFIXES[0]
PURE = {"WSGIHOST_PURE": "1"}

APP = """\
import json
import sys


def application(environ, start_response):
    if environ["PATH_INFO"] == "/modules":
        names = ["wsgihost.daemon.protocol", "wsgihost.routing"]
        names.append("wsgihost.frontend.connection")
        answer = {
            "files": {n: getattr(sys.modules.get(n), "__file__", None) for n in names},
            "version": list(sys.version_info[:2]),
        }
    else:
        body = environ["wsgi.input"].read()
        keys = ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_PROTOCOL")
        answer = {k: environ.get(k) for k in keys}
        answer["body"] = body.decode("latin-1")
        answer["accept"] = environ.get("HTTP_ACCEPT")
    # No Content-Length: the front end frames the body itself (chunked or close).
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(answer, sort_keys=True).encode()]
"""


def other_python() -> str | None:
    """A python-home of another CPython, the oldest from 3.9 on, if this machine has one."""
    found = []
    for home in glob.glob("/root/.pyenv/versions/3.*"):
        version = tuple(int(n) for n in Path(home).name.split(".")[:2] if n.isdigit())
        if len(version) == 2 and version >= (3, 9) and version != sys.version_info[:2]:
            if os.access(f"{home}/bin/python3", os.X_OK):
                found.append((version, home))
    return min(found)[1] if found else None


def run_wsgihost(
    lib: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(lib), "WSGIHOST_PURE": "0", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "wsgihost", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def copy_package(into: Path, extensions: bool = True) -> Path:
    """The installed (compiled) package, with mypyc's runtime, into ``into``; file times kept."""
    ignore = ["__pycache__"] + ([] if extensions else ["*.so", "_compiled.json"])
    into.mkdir(parents=True)
    shutil.copytree(
        compiled.package_dir(), into / "wsgihost", ignore=shutil.ignore_patterns(*ignore)
    )
    runtime = compiled.runtime_path()
    if extensions and runtime is not None:
        shutil.copy2(runtime, into)
    return into


def build_compiled(into: Path) -> None:
    """The sources built as the README's install builds them (pip, the build's own
    requirements), outside the working tree, installed into ``into``."""
    tree = into.parent / "tree"
    (tree / "src").mkdir(parents=True)
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree)
    skip = shutil.ignore_patterns("__pycache__", "*.so", "_compiled.json")
    shutil.copytree(ROOT / "src" / "wsgihost", tree / "src" / "wsgihost", ignore=skip)
    env = {k: v for k, v in os.environ.items() if k != "WSGIHOST_PURE_BUILD"}
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(into)]
    done = subprocess.run(
        [*pip, str(tree)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the compiled build of wsgihost."""
    folder = tmp_path_factory.mktemp("build") / "lib"
    if compiled.built():
        assert compiled.stale() == [], "the installed build is stale: rebuild with pip install -e ."
        copy_package(folder)
    else:
        cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
        if shutil.which(cc) is None:
            pytest.skip(f"no C compiler ({cc}) to build the compiled package with")
        build_compiled(folder)
    said = run_wsgihost(folder, "--version").stdout
    assert "compiled:" in said, said
    return folder


# -- what the build says it is ------------------------------------------------------------


def test_version_says_which_build_runs(lib: Path, tmp_path: Path) -> None:
    count = len(compiled.HOT)
    said = run_wsgihost(lib, "--version").stdout.strip()
    assert re.fullmatch(rf"wsgihost \S+ \(compiled: {count} modules, mypyc\)", said), said
    forced = run_wsgihost(lib, "--version", env={"WSGIHOST_PURE": "1"}).stdout.strip()
    assert forced.endswith(f"(pure Python: WSGIHOST_PURE set, {count} compiled modules not used)")
    pure = copy_package(tmp_path / "pure", extensions=False)
    assert run_wsgihost(pure, "--version").stdout.strip().endswith("(pure Python)")


# -- the same answers, compiled or not; daemons on the build's ABI run it ----------------

CONF = """\
Listen 127.0.0.1:{port}
ServerName localhost
DocumentRoot {site}/docs
WSGIChunkedRequest On
WSGIDaemonProcess same processes=1 threads=2
WSGIScriptAlias /same {site}/app.wsgi process-group=same application-group=%{{GLOBAL}}
WSGIScriptAlias /embedded {site}/app.wsgi process-group=%{{GLOBAL}} application-group=%{{GLOBAL}}
"""
OTHER = """\
WSGIDaemonProcess other processes=1 threads=2 python-home={home}
WSGIScriptAlias /other {site}/app.wsgi process-group=other application-group=%{{GLOBAL}}
"""

REQUESTS = [
    b"GET /same/echo?x=1&y=%20 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n",
    b"HEAD /same/echo HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /same/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /same/echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n",
    b"GET /embedded/echo/%7Euser/ HTTP/1.0\r\n\r\n",
    b"POST /embedded/echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"4\r\nwxyz\r\n0\r\n\r\n",
    b"GET /file.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /file.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=2-5,-3\r\n\r\n",
    b"GET /missing HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
    b"BREW /same/echo HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /same/echo HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    (root / "app.wsgi").write_text(APP)
    (root / "docs").mkdir()
    (root / "docs" / "file.txt").write_text("0123456789 static\n")
    # An hour old: a file changed within the last second gets a weak ETag (as
    # in Apache), which would differ between servers asked a moment apart.
    old = time.time() - 3600
    os.utime(root / "docs" / "file.txt", (old, old))
    return root


def start(lib: Path, site: Path, pure: bool, home: str | None = None) -> ServerProcess:
    conf = site / f"site-{'pure' if pure else 'compiled'}.conf"
    text = CONF.format(port=free_port(), site=site)
    if home is not None:
        text += OTHER.format(home=home, site=site)
    conf.write_text(text)
    env = {"PYTHONPATH": str(lib), "WSGIHOST_PURE": "1" if pure else "0"}
    server = ServerProcess(["serve", "--config", str(conf)], env=env)
    try:
        return server.wait_listening()
    except BaseException:
        server.close()
        raise


@pytest.fixture(scope="module")
def servers(lib: Path, site: Path) -> Iterator[dict[str, ServerProcess]]:
    started: dict[str, ServerProcess] = {}
    try:
        home = other_python()
        started["compiled"] = start(lib, site, pure=False, home=home)
        started["pure"] = start(lib, site, pure=True, home=home)
        yield started
    finally:
        for server in started.values():
            server.close()


def answers(server: ServerProcess) -> list[tuple[int, dict[str, str], bytes]]:
    seen = []
    for raw in REQUESTS:
        resp = exchange(server, raw, head_only=raw.startswith(b"HEAD"))
        headers = {k.lower(): v for k, v in resp.headers.items() if k.lower() != "date"}
        body = resp.body
        # A multipart answer's boundary is random: the same placeholder for both.
        _, found, boundary = headers.get("content-type", "").partition("boundary=")
        if found:
            headers["content-type"] = headers["content-type"].replace(boundary, "B")
            body = body.replace(boundary.encode(), b"B")
        seen.append((resp.status, headers, body))
    return seen


def modules(server: ServerProcess, mount: str) -> dict[str, object]:
    resp = exchange(server, f"GET {mount}/modules HTTP/1.1\r\nHost: a\r\n\r\n".encode())
    assert resp.status == 200, (resp.status, resp.text, server.stderr())
    return json.loads(resp.body)  # type: ignore[no-any-return]


def test_compiled_and_pure_give_the_same_answers(servers: dict[str, ServerProcess]) -> None:
    compiled_answers = answers(servers["compiled"])
    assert compiled_answers == answers(servers["pure"])
    statuses = [status for status, _headers, _body in compiled_answers]
    # Apps take any method (BREW), as under mod_wsgi; a bad head is the core's 400.
    assert statuses == [200] * 7 + [206, 404, 400, 200, 400, 400]


def test_front_ends_run_the_compiled_modules(servers: dict[str, ServerProcess], lib: Path) -> None:
    files = modules(servers["compiled"], "/embedded")["files"]
    assert isinstance(files, dict)
    for name in ("wsgihost.frontend.connection", "wsgihost.routing"):
        assert files[name].endswith(ABI) and files[name].startswith(str(lib)), files
    pure = modules(servers["pure"], "/embedded")["files"]
    assert isinstance(pure, dict)
    assert pure["wsgihost.frontend.connection"] == str(lib / "wsgihost/frontend/connection.py")


def test_a_daemon_on_the_builds_abi_runs_the_compiled_modules(
    servers: dict[str, ServerProcess], lib: Path
) -> None:
    files = modules(servers["compiled"], "/same")["files"]
    assert isinstance(files, dict)
    for name in ("wsgihost.daemon.protocol",):
        # From the daemons' own library, which the master copied the extension into.
        assert files[name].endswith(ABI), files
        assert not files[name].startswith(str(lib)), files
        assert os.path.exists(
            Path(files[name]).parent / (Path(files[name]).name.split(".")[0] + ".py")
        )
    assert files["wsgihost.frontend.connection"] is None  # a daemon has no front end
    pure = modules(servers["pure"], "/same")["files"]
    assert isinstance(pure, dict)
    assert pure["wsgihost.daemon.protocol"].endswith("/wsgihost/daemon/protocol.py"), pure


@pytest.mark.skipif(other_python() is None, reason="no other CPython 3.9+ on this machine")
def test_a_daemon_on_another_python_runs_the_py_files(servers: dict[str, ServerProcess]) -> None:
    for kind in ("compiled", "pure"):
        seen = modules(servers[kind], "/other")
        assert seen["version"] != list(sys.version_info[:2])
        files = seen["files"]
        assert isinstance(files, dict)
        assert files["wsgihost.daemon.protocol"].endswith("/wsgihost/daemon/protocol.py"), files


# -- the stale guard -----------------------------------------------------------------------


def test_an_edited_source_newer_than_its_compiled_module_stops_the_server(
    lib: Path, site: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "lib"
    shutil.copytree(lib, copy)  # file times kept: fresh, as built
    script = str(site / "app.wsgi")
    argv = ["serve", script, "--port", "0", "--processes", "1", "--threads", "2"]

    # A source touched but not changed (a wheel install may write it after its
    # extension) is not stale: the server starts.
    os.utime(copy / "wsgihost" / "static.py")
    assert "compiled:" in run_wsgihost(copy, "--version").stdout
    server = ServerProcess(argv, env={"PYTHONPATH": str(copy), "WSGIHOST_PURE": "0"})
    try:
        server.wait_listening()
    finally:
        server.close()

    edited = copy / "wsgihost" / "routing.py"
    edited.write_text(edited.read_text() + "\n# an edit the compiled module does not have\n")
    conf = tmp_path / "site.conf"
    conf.write_text(f"Listen 127.0.0.1:{free_port()}\nWSGIScriptAlias / {script}\n")
    server = ServerProcess(argv, env={"PYTHONPATH": str(copy), "WSGIHOST_PURE": "0"})
    try:
        assert server.wait(60) == 1
    finally:
        server.close()
    refusals = [server.stderr(), run_wsgihost(copy, "configtest", "--config", str(conf)).stderr]
    for said in refusals:
        assert f"{edited} changed after routing{ABI} was built" in said, said
        assert "pip install -e ." in said and "WSGIHOST_PURE=1" in said
    assert "listening on" not in server.stdout()
    # Nor do the tests run on it (tests/conftest.py).
    tests = [sys.executable, "-m", "pytest", "-q", "tests/unit/test_chunked.py"]
    env = {**os.environ, "PYTHONPATH": str(copy), "WSGIHOST_PURE": "0"}
    done = subprocess.run(
        tests, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False
    )
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done
    assert f"{edited} changed after routing{ABI} was built" in done.stdout + done.stderr
    assert "Syntax OK" in run_wsgihost(copy, "configtest", "--config", str(conf), env=PURE).stdout

    # Run pure, the edited source is what runs: the server starts.
    server = ServerProcess(argv, env={"PYTHONPATH": str(copy), **PURE})
    try:
        server.wait_listening()
        resp = exchange(server, b"GET /echo HTTP/1.1\r\nHost: a\r\n\r\n")
        assert resp.status == 200 and json.loads(resp.body)["PATH_INFO"] == "/echo"
    finally:
        server.close()
