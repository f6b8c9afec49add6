from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.functional.helpers import LogWatch
from tests.functional.server import APPS, ServerProcess, serve


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
