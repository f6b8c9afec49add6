"""Request lines and heads as clients send them, good and bad: methods (extension,
lower-case, TRACE, OPTIONS and ``OPTIONS *``), request targets (absolute form,
dot segments, double and encoded slashes), protocol versions, a missing Host.

Where Apache passes the request to the app, what the app saw of it is
compared; where Apache answers itself, its status and headers are.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.differential.cases import failed, parse_json, view
from tests.differential.client import Answer, Conn
from tests.differential.compare import Differential, Masker
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

# What of the environ says how a request was read.
SEEN = (
    "REQUEST_METHOD",
    "REQUEST_URI",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "SERVER_PROTOCOL",
    "SERVER_NAME",
    "HTTP_HOST",
)

H = "Host: daemon.test:{port}\r\n"
RAW = {
    # name: the request's bytes, with {port} for the server's port
    "request-extension-method": "PROPFIND /echo/x HTTP/1.1\r\n" + H + "\r\n",
    "request-lowercase-method": "get /echo/x HTTP/1.1\r\n" + H + "\r\n",
    "request-patch": "PATCH /echo/x HTTP/1.1\r\n" + H + "Content-Length: 2\r\n\r\nhi",
    "request-trace": "TRACE /echo/x HTTP/1.1\r\n" + H + "\r\n",
    "request-options-path": "OPTIONS /echo/x HTTP/1.1\r\n" + H + "\r\n",
    "request-options-star": "OPTIONS * HTTP/1.1\r\n" + H + "\r\n",
    "request-absolute-form": "GET http://daemon.test:{port}/echo/x?a=1 HTTP/1.1\r\n" + H + "\r\n",
    "request-dot-segments": "GET /echo/a/../b/./c HTTP/1.1\r\n" + H + "\r\n",
    "request-double-slash": "GET //echo//x HTTP/1.1\r\n" + H + "\r\n",
    "request-encoded-slash": "GET /echo/a%2Fb HTTP/1.1\r\n" + H + "\r\n",
    "request-http10-no-host": "GET /echo/x HTTP/1.0\r\n\r\n",
    "request-http11-no-host": "GET /echo/x HTTP/1.1\r\n\r\n",
    "request-http2-version": "GET /echo/x HTTP/2.0\r\n" + H + "\r\n",
    "request-http09-style": "GET /echo/x\r\n\r\n",
    "request-space-before-colon": "GET /echo/x HTTP/1.1\r\n" + H + "X-Bad : 1\r\n\r\n",
    # Apache's limits: LimitRequestLine, LimitRequestFieldSize (8190), LimitRequestFields (100).
    "request-line-too-long": "GET /echo/" + "a" * 8200 + " HTTP/1.1\r\n" + H + "\r\n",
    "request-field-too-long": "GET /echo/x HTTP/1.1\r\n" + H + "X-Long: " + "a" * 8200 + "\r\n\r\n",
    "request-too-many-fields": "GET /echo/x HTTP/1.1\r\n"
    + H
    + "".join(f"X-F{i}: {i}\r\n" for i in range(101))
    + "\r\n",
}


def request_view(diff: Differential, server: Server, raw: str) -> Any:
    data = raw.replace("{port}", str(server.port)).encode("latin-1")
    masker = diff.masker(server)
    answer: Answer | dict[str, Any]
    try:
        with Conn(server, timeout=10) as conn:
            conn.send(data)
            try:
                answer = conn.answer()
            except ConnectionError:
                if not conn.buf.startswith(b"{"):
                    raise
                # An HTTP/0.9 answer: the body alone, no status line, no headers.
                return {"HTTP/0.9 answer": app_saw(conn.buf, masker)}
    except (OSError, ValueError, IndexError) as e:
        answer = failed(e)
    if (
        isinstance(answer, Answer)
        and answer.status == 200
        and answer.header("content-type") == "application/json"
    ):
        return {"app saw": app_saw(answer.body, masker)}
    return view(answer, masker)


def app_saw(body: bytes, masker: Masker) -> dict[str, Any]:
    environ = parse_json(body)["environ"]
    return masker.deep({k: environ.get(k, "(absent)") for k in SEEN})  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", sorted(RAW))
def test_requests_are_read_as_apache_reads_them(diff: Differential, case: str) -> None:
    diff.check(case, lambda server: request_view(diff, server, RAW[case]))
