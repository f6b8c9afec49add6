"""What a daemon process loads for itself: nothing its app does not ask for.

A daemon process's memory beyond its app is the server's cost to every group
(bench/README.md, issue 15: under 25 MB). OpenSSL's libcrypto alone maps 3.5 MB
into whoever imports ``hashlib``; a hello-world app does not, so its daemon
must not either (the script's module name is an MD5, from the interpreter's
own ``_md5``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.functional.helpers import children, get, role
from tests.functional.server import ServerProcess

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

HELLO = """\
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]
"""

USES_HASHLIB = """\
import hashlib


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [hashlib.sha256(b"hello").hexdigest().encode()]
"""


def daemon_maps(tmp_path: Path, app: str) -> str:
    """/proc/PID/maps of the daemon process that served the app's first request."""
    script = tmp_path / "app.wsgi"
    script.write_text(app)
    os.chmod(tmp_path, 0o755)
    server = ServerProcess(["serve", str(script), "--port", "0", "--processes", "1"])
    try:
        server.wait_listening()
        assert get(server, "/").status == 200
        daemons = [p for p in children(server.proc.pid) if role(p) == "daemon"]
        assert len(daemons) == 1
        return Path(f"/proc/{daemons[0]}/maps").read_text()
    finally:
        server.close()


def test_a_daemon_whose_app_does_not_use_openssl_does_not_load_it(tmp_path: Path) -> None:
    maps = daemon_maps(tmp_path, HELLO)
    assert "_hashlib" not in maps
    assert "libcrypto" not in maps


def test_an_app_that_imports_hashlib_gets_it(tmp_path: Path) -> None:
    # The check above can see the library when it is there.
    maps = daemon_maps(tmp_path, USES_HASHLIB)
    assert "_hashlib" in maps
