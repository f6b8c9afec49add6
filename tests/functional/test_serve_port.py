"""``wsgihost serve --port 0``: the daemon group is named after the port it got,
``localhost:PORT``, as mod_wsgi-express names it."""

from __future__ import annotations

import pytest

from tests.functional.helpers import get
from tests.functional.server import APPS, serve

pytestmark = pytest.mark.slow


def test_port_0_names_the_daemon_group_after_the_port_bound() -> None:
    server = serve(APPS / "echo.wsgi", processes=1, threads=2, mode="daemon")
    try:
        assert server.port != 0
        # As a browser or curl asks: the Host header carries the port.
        seen = get(server, "/", host=f"127.0.0.1:{server.port}").json()["environ"]
        assert seen["mod_wsgi.process_group"] == f"localhost:{server.port}"
        assert seen["SERVER_PORT"] == str(server.port)
    finally:
        server.close()
