"""Request bodies sent with ``Transfer-Encoding: chunked``.

mod_wsgi answers 411 Length Required and never calls the app unless
``WSGIChunkedRequest On``, under which the app reads the whole body. A
malformed chunked body, sent whole, gets a 400.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.differential.cases import call, log_lines, mentions, parse_json, view
from tests.differential.client import Conn, request
from tests.differential.compare import Differential, LogMark
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

CHUNKED = [("Transfer-Encoding", "chunked"), ("Content-Type", "application/octet-stream")]
GOOD = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
BAD = b"zz\r\nhello\r\n0\r\n\r\n"  # a chunk size that is not hexadecimal

CASES = {
    # name: (host, path, body)
    "chunked-embedded-default": ("embedded.test", "/echo/body", GOOD),
    "chunked-daemon-default": ("daemon.test", "/echo/body", GOOD),
    "chunked-daemon-on": ("daemon.test", "/chunked/body", GOOD),
    "chunked-daemon-on-malformed": ("daemon.test", "/chunked/body", BAD),
    "chunked-daemon-default-malformed": ("daemon.test", "/echo/body", BAD),
}


def body_view(
    diff: Differential, server: Server, case: str, host: str, path: str, body: bytes
) -> Any:
    masker = diff.masker(server)
    mark = LogMark(server)
    answer = call(server, "POST", f"{path}?{case}", host + ":{port}", CHUNKED, body)
    # The request's access line says it is done; the app's line, if it ran, came before.
    mark.wait(lambda new: mentions(new, f"{path}?{case}"), timeout=3)
    called = mentions(mark.new(), f"echo called for {case}")
    out: dict[str, Any] = {"app called": called}
    if not isinstance(answer, dict) and answer.status == 200:
        out["status"] = 200
        out["app read"] = parse_json(answer.body)["body"]
    else:
        out["answer"] = view(answer, masker)
    out["access logs"] = masker.deep(log_lines(mark, access=True, answer=answer))
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_chunked_request_bodies_as_mod_wsgi(diff: Differential, case: str) -> None:
    host, path, body = CASES[case]
    diff.check(case, lambda server: body_view(diff, server, case, host, path, body))


def test_expect_100_continue(diff: Differential) -> None:
    """The client waits for ``100 Continue`` before it sends its body; it comes once
    the app reads (mod_wsgi sends it when the app first reads wsgi.input)."""

    def flow(server: Server) -> Any:
        body = b"x" * 1000
        head = request(
            server,
            "POST",
            "/echo/body?expect",
            "daemon.test:{port}",
            [("Expect", "100-continue"), ("Content-Length", str(len(body)))],
        )
        with Conn(server, timeout=10) as conn:
            conn.send(head)
            try:
                interim = conn.answer()
                conn.send(body)
                final = conn.answer() if interim.status == 100 else interim
            except OSError as e:
                return {"no answer": type(e).__name__}
        out: dict[str, Any] = {"first status": interim.status, "status": final.status}
        if final.status == 200:
            out["app read"] = parse_json(final.body)["body"]
        return out

    diff.check("expect-100-continue", flow)
