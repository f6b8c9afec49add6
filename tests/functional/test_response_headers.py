"""A response head with CR, LF or NUL from the app is never sent: a 500 instead.

In a header value, a header name or the status line, whether the head goes
out with a list body, a streamed one or through ``write()``, in embedded and
in daemon mode (tests/apps/bad_headers.wsgi). The raw bytes on the wire are
checked, not a parsed view of them, and the server must go on serving.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.functional.helpers import LogWatch, build, read_to_eof
from tests.functional.server import APPS, ServerProcess, serve

pytestmark = pytest.mark.slow

APP = APPS / "bad_headers.wsgi"

# What the runner says about each place (wsgi/runner.py).
COMPLAINT = {"value": "CR, LF or NUL", "name": "invalid header name", "status": "invalid status"}


@pytest.fixture(scope="module", params=["embedded", "daemon"])
def shared(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    server = serve(APP, processes=1, threads=2, mode=request.param)
    try:
        yield server
    finally:
        server.close()


CASES = [
    (where, kind, how)
    for where in ("value", "name", "status")
    for kind in ("crlf", "lf", "cr", "nul")
    for how in ("list", "stream", "write")
]


@pytest.mark.parametrize(("where", "kind", "how"), CASES)
def test_a_bad_head_becomes_a_500(shared: ServerProcess, where: str, kind: str, how: str) -> None:
    watch = LogWatch(shared)
    with shared.connect() as sock:
        sock.sendall(build("GET", f"/?where={where}&kind={kind}&how={how}"))
        sock.sendall(build("GET", "/ok", [("Connection", "close")]))
        data = read_to_eof(sock)
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500 "), data[:300]
    lowered = data.lower()
    for leaked in (b"innocent", b"injected", b"x-bad", b"must not be sent", b"\x00"):
        assert leaked not in lowered, data[:500]
    # The pipelined request after it is answered (or the connection ended
    # cleanly with the 500): nothing else, and no stray bytes.
    if b"HTTP/1.1 200 " in rest:
        assert rest.endswith(b"\r\n\r\nok\n"), rest[:300]
    watch.wait_for(COMPLAINT[where])
    watch.expect_traceback(COMPLAINT[where])
    watch.check()
    with shared.connect() as sock:
        sock.sendall(build("GET", "/ok", [("Connection", "close")]))
        assert read_to_eof(sock).startswith(b"HTTP/1.1 200 ")
