from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.functional.helpers import LogWatch
from tests.functional.server import APPS, ServerProcess, serve

# Started as root, a server runs its workers and apps as www-data unless told
# otherwise; the apps these tests write in private temporary folders, and
# this machine's Python under /root, are for root only. test_privileges
# clears it to test the real default.
os.environ.setdefault("WSGIHOST_KEEP_ROOT", "1")


@pytest.fixture
def echo_server() -> Iterator[ServerProcess]:
    server = serve(APPS / "echo.wsgi")
    try:
        yield server
    finally:
        server.close()


# For modules that define a module-scoped ``shared`` server: each test gets it
# with a watch on its error output, which fails the test on an unexpected
# traceback or validator warning.
@pytest.fixture
def log(shared: ServerProcess) -> Iterator[LogWatch]:
    watch = LogWatch(shared)
    yield watch
    watch.check()


@pytest.fixture
def server(shared: ServerProcess, log: LogWatch) -> ServerProcess:
    return shared
