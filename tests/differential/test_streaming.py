"""A streamed response: several MiB in many pieces, with no Content-Length.

Same status, headers, framing (chunked under HTTP/1.1, the connection's end
under HTTP/1.0) and every byte, also for a client that reads slowly through
a small receive buffer.
"""

from __future__ import annotations

import hashlib
import runpy
from typing import Any

import pytest

from tests.differential.client import Conn, request
from tests.differential.compare import Differential, answer_view
from tests.differential.servers import HERE, Server

pytestmark = pytest.mark.slow

SIZE = 4 * 1024 * 1024
CHUNK = 8192
_piece = runpy.run_path(str(HERE / "apps" / "stream.wsgi"))["piece"]
EXPECTED = hashlib.sha256(_piece(0, SIZE)).hexdigest()

CASES = {
    # name: (host, HTTP version, slow reader)
    "stream-embedded-http11": ("embedded.test", "HTTP/1.1", False),
    "stream-daemon-http11": ("daemon.test", "HTTP/1.1", False),
    "stream-daemon-http10": ("daemon.test", "HTTP/1.0", False),
    "stream-daemon-slow-reader": ("daemon.test", "HTTP/1.1", True),
}


def stream_view(diff: Differential, server: Server, host: str, version: str, slow: bool) -> Any:
    target = f"/stream/?size={SIZE}&chunk={CHUNK}"
    with Conn(server, rcvbuf=8192 if slow else 0, timeout=20) as conn:
        if slow:
            conn.read_size, conn.pause = 8192, 0.001
        try:
            conn.send(request(server, "GET", target, host + ":{port}", version=version))
            answer = conn.answer()
        except OSError as e:
            return {"no answer": type(e).__name__}
    return {
        **answer_view(answer, diff.masker(server)),
        "framing": answer.framing,
        "every byte as sent": hashlib.sha256(answer.body).hexdigest() == EXPECTED,
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_streamed_response_arrives_whole_and_framed_alike(diff: Differential, case: str) -> None:
    host, version, slow = CASES[case]
    _expected, got = diff.check(case, lambda server: stream_view(diff, server, host, version, slow))
    assert got["every byte as sent"], got
