"""Session fixtures: the site tree, Apache + mod_wsgi (when installed) and wsgihost,
each started once and shared by every differential case."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest

from tests.differential.cases import call
from tests.differential.client import Answer
from tests.differential.compare import RECORDED, RECORDING, Differential
from tests.differential.servers import (
    HERE,
    Server,
    Tree,
    apache_available,
    start_apache,
    start_wsgihost,
)

_used: list[str] = []


def _how() -> str:
    if apache_available():
        how = "wsgihost compared with the live Apache + mod_wsgi (/usr/sbin/apache2)"
        return how + (f"; recording its answers into {RECORDED}" if RECORDING else "")
    return (
        "Apache + mod_wsgi are not installed: wsgihost compared with the answers "
        f"recorded from Apache in {RECORDED}"
    )


def pytest_report_header(config: pytest.Config) -> str:
    return "differential suite: " + _how()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _used:
        terminalreporter.write_line("differential suite: " + _how())


@pytest.fixture(scope="session")
def tree() -> Iterator[Tree]:
    built = Tree.build()
    try:
        yield built
    finally:
        if os.environ.get("WSGIHOST_DIFF_KEEP"):
            print(f"\ndifferential suite: kept {built.root}")
        else:
            built.remove()


@pytest.fixture(scope="session")
def apache(tree: Tree) -> Iterator[Server | None]:
    if not apache_available():
        if RECORDING:
            raise pytest.UsageError("WSGIHOST_RECORD=1 needs Apache + mod_wsgi installed")
        yield None
        return
    yield from _running(start_apache(tree))


@pytest.fixture(scope="session")
def wsgihost(tree: Tree) -> Iterator[Server]:
    yield from _running(start_wsgihost(tree))


def topic(
    site_file: str,
    warm: list[tuple[str, str]] | None = None,
    prepare: Callable[[Tree], None] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Differential]:
    """Both servers on a topic's own site file (``tests/differential/sites/NAME``),
    for a module-scoped fixture: a topic whose directives need modules or
    settings of their own gets a pair of servers of its own, so a change to
    it cannot stop the shared site from starting. The file is Included by
    ``main.conf`` in place of ``site.conf`` (so it may LoadModule what it
    needs); ``warm`` lists (host, target) pairs to wait for with a 200;
    ``prepare`` adds to the tree before the servers start (certificates); ``env``
    is given to both servers (what the site file reads as ``${NAME}``)."""
    built = Tree.build(HERE / "sites" / site_file)
    servers: list[Server] = []
    try:
        if prepare is not None:
            prepare(built)
        if apache_available():
            servers.append(start_apache(built, env))
        elif RECORDING:
            raise pytest.UsageError("WSGIHOST_RECORD=1 needs Apache + mod_wsgi installed")
        servers.append(start_wsgihost(built, env))
        for server in servers:
            for host, target in warm or []:
                _wait_for(server, host, target)
        _used.append("yes")
        apache = servers[0] if len(servers) == 2 else None
        yield Differential(built, apache, servers[-1])
    finally:
        for server in servers:
            server.stop()
        if os.environ.get("WSGIHOST_DIFF_KEEP"):
            print(f"\ndifferential suite: kept {built.root}")
        else:
            built.remove()


def _wait_for(server: Server, host: str, target: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    host = host.format(port=server.port)
    while True:
        answer = call(server, "GET", target, host)
        if isinstance(answer, Answer) and answer.status == 200:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name}: {host} {target} gave {answer}:\n{server.say()}")
        time.sleep(0.2)


def _running(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()


# One request to each app, so the cases do not wait for a daemon's first import
# (mod_wsgi imports on the first request; Django takes a while without bytecode).
WARM_UP = [
    ("embedded.test:{port}", "/echo/"),
    ("daemon.test:{port}", "/echo/"),
    ("daemon.test:{port}", "/homed/"),
    ("django.test:{port}", "/"),
    ("flask.test:{port}", "/json"),
    ("djangos.test:{port}", "/site/"),
    ("djangos.test:{port}", "/blog/"),
]


def warm_up(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    for host, target in WARM_UP:
        while True:
            answer = call(server, "GET", target, host)
            if isinstance(answer, Answer) and answer.status == 200:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server.name}: {host} {target} gave {answer}:\n{server.say()}")
            time.sleep(0.2)


@pytest.fixture(scope="session")
def diff(tree: Tree, apache: Server | None, wsgihost: Server) -> Differential:
    _used.append("yes")
    for server in (apache, wsgihost):
        if server is not None:
            warm_up(server)
    return Differential(tree, apache, wsgihost)
