"""The app's process: its user and group, its working directory, and whether it is
the process that holds the client's connection (embedded) or another (daemon).

Started as root, Apache runs embedded apps in its children, which switch to
``User``/``Group``, and a daemon group without ``user=`` as ``User`` too; a
daemon process starts in the server's working directory unless ``home=``.
No process that runs app code keeps root, not even as a saved id.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.differential.cases import call, connection_holders, ids_of, parse_json
from tests.differential.client import Conn, request
from tests.differential.compare import Differential
from tests.differential.servers import Server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.getuid() != 0, reason="only a server started as root changes user"),
]

MODES = [
    ("embedded", "embedded.test", "/echo/who"),
    ("daemon", "daemon.test", "/echo/who"),
    ("daemon-home", "daemon.test", "/homed/who"),
]


def process_view(diff: Differential, server: Server, host: str, target: str) -> dict[str, Any]:
    masker = diff.masker(server)
    with Conn(server, timeout=10) as conn:
        try:
            conn.send(request(server, "GET", target, host + ":{port}"))
            answer = conn.answer()
        except OSError as e:
            return {"no answer": type(e).__name__}
        if answer.status != 200:
            return {"status": answer.status}
        info = parse_json(answer.body)
        # The connection is still open (keep-alive): who holds its server end?
        holders = connection_holders(server.port, conn.sock.getsockname()[1])
    return {
        "status": answer.status,
        **ids_of(info["pid"]),
        "cwd": masker.text(info["cwd"]),
        "sys.argv": info["argv"],
        "sys.path": masker.deep(info["path"]),
        "app runs in the process holding the connection": info["pid"] in holders,
        "app process is the server's main process": info["pid"] == server.proc.pid,
    }


@pytest.mark.parametrize(("mode", "host", "target"), MODES, ids=[m[0] for m in MODES])
def test_the_app_runs_as_apache_runs_it(
    diff: Differential, mode: str, host: str, target: str
) -> None:
    _expected, got = diff.check(
        f"process-{mode}", lambda server: process_view(diff, server, host, target)
    )
    # Said outright as well: no process that runs the app is root in any way.
    assert "root" not in got.get("uids", ["root"]), got


def test_the_daemon_group_is_not_the_front_end(diff: Differential) -> None:
    """Two requests on one connection: the embedded app runs in the process that holds
    it, the daemon app in another one, with another pid."""

    def view(server: Server) -> dict[str, Any]:
        embedded, daemon = (
            call(server, "GET", "/echo/a", "embedded.test:{port}"),
            call(server, "GET", "/echo/b", "daemon.test:{port}"),
        )
        if isinstance(embedded, dict) or isinstance(daemon, dict):
            return {"embedded": embedded, "daemon": daemon}
        e, d = parse_json(embedded.body), parse_json(daemon.body)
        return {"same pid": e["pid"] == d["pid"], "same parent": e["ppid"] == d["ppid"]}

    diff.check("process-separate", view)
