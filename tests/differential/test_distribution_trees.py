"""Debian 12's own /etc/apache2, a mod_wsgi site enabled, served by Apache and by wsgihost.

Each server gets a copy of tests/trees/debian12 (tests/trees/prepare.py: a free
port, the /var paths in a temporary folder, ``app.conf`` in sites-available/
with its link in sites-enabled/). Apache is started as apache2ctl starts it:
``. ./envvars`` in /bin/sh, then ``apache2 -d DIR -f DIR/apache2.conf
-DFOREGROUND``; wsgihost reads the same envvars itself. The same requests must
get the same answers (the app's, a static file's, the default site's), and the
access logs ${APACHE_LOG_DIR} names must get the same lines.

The RHEL 9-shaped tree is served by wsgihost alone (Debian's apache2 cannot
load RHEL's module paths), against the same expectations, in
tests/functional/test_distribution_trees.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.differential.cases import call, view
from tests.differential.compare import RECORDING, Differential, mask_log_line
from tests.differential.servers import APACHE, Server, Tree, apache_available, free_port
from tests.trees.prepare import Copy, debian

pytestmark = pytest.mark.slow


def _start(name: str, tree: Copy, argv: list[str], env: dict[str, str] | None = None) -> Server:
    output = tree.root / f"{name}-output.txt"
    with open(output, "wb") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=tree.conf.parent,
            env=env,
            start_new_session=True,  # stopped as a process group (Server.stop)
        )
    server = Server(name, tree.root, tree.port, proc, output)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


def start_apache(tree: Copy) -> Server:
    conf = tree.conf.parent
    command = f'. ./envvars && exec {APACHE} -d "{conf}" -f "{tree.conf}" -DFOREGROUND'
    return _start(
        "apache", tree, ["/bin/sh", "-c", command], {"PATH": "/usr/sbin:/usr/bin:/bin", "TZ": "UTC"}
    )


def start_wsgihost(tree: Copy) -> Server:
    # As root it would run the site as www-data, which cannot reach this
    # interpreter under /root: the answers compared do not depend on the user.
    argv = [sys.executable, "-m", "wsgihost", "serve", "--config", str(tree.conf)]
    return _start("wsgihost", tree, argv, {**os.environ, "WSGIHOST_KEEP_ROOT": "1", "TZ": "UTC"})


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    copies: list[Copy] = []
    servers: list[Server] = []
    try:
        if apache_available():
            copies.append(debian(free_port()))
            servers.append(start_apache(copies[-1]))
        elif RECORDING:
            raise pytest.UsageError("WSGIHOST_RECORD=1 needs Apache + mod_wsgi installed")
        copies.append(debian(free_port()))
        servers.append(start_wsgihost(copies[-1]))
        # Masker: each server's own copy is <SERVER_ROOT>, the rest of /tmp <TMP>.
        common = Tree(Path(tempfile.gettempdir()))
        yield Differential(common, servers[0] if len(servers) == 2 else None, servers[-1])
    finally:
        for server in servers:
            server.stop()
        for copy in copies:
            copy.remove()


CASES = {
    "tree-debian-app": ("app.test:{port}", "/app/x?y=1"),
    "tree-debian-app-root": ("app.test:{port}", "/app"),
    "tree-debian-static": ("127.0.0.1:{port}", "/hello.txt"),
    "tree-debian-index": ("127.0.0.1:{port}", "/"),
    "tree-debian-app-host-static": ("app.test:{port}", "/app.wsgi"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_debian_tree_answers_as_apache_does(pair: Differential, case: str) -> None:
    host, target = CASES[case]
    pair.check(case, lambda server: view(call(server, "GET", target, host), pair.masker(server)))


def test_a_missing_file_is_a_404_on_both(pair: Differential) -> None:
    def status(server: Server) -> Any:
        answer = call(server, "GET", "/no-such-file", "127.0.0.1:{port}")
        return answer if isinstance(answer, dict) else answer.status

    pair.check("tree-debian-missing", status)


# %O: the bytes each server sent, headers included (their Date and Server differ).
SENT = re.compile(r'(" \d{3} )\d+( ")')


def access_logs(server: Server) -> dict[str, list[str]]:
    """Every access log in ${APACHE_LOG_DIR}, masked, after one request of each kind."""
    for host, target in (("app.test:{port}", "/app/logged"), ("127.0.0.1:{port}", "/hello.txt")):
        call(server, "GET", target, host, [("User-Agent", "tree-test")])
    log_dir = server.root / "log"
    # A server writes the line after the answer has gone: wait for both.
    deadline = time.monotonic() + 10
    while True:
        found: dict[str, list[str]] = {}
        for path in sorted(log_dir.glob("*.log")):
            if "error" in path.name:
                continue
            lines = [line for line in path.read_text().splitlines() if "tree-test" in line]
            found[path.name] = [SENT.sub(r"\1<SENT>\2", mask_log_line(line)) for line in lines]
        if sum(map(len, found.values())) >= 2 or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_access_logs_go_where_envvars_says_with_the_same_lines(pair: Differential) -> None:
    pair.check("tree-debian-access-logs", access_logs)
