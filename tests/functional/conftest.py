from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.functional.server import APPS, ServerProcess, serve


@pytest.fixture
def echo_server() -> Iterator[ServerProcess]:
    server = serve(APPS / "echo.wsgi")
    try:
        yield server
    finally:
        server.close()
