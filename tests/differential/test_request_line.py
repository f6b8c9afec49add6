"""The request line and head as Apache's core reads them (HttpProtocolOptions
Strict LenientMethods Allow0.9, TraceEnable), issue 12: raw UTF-8 in the target,
extension and lower-case methods, ``%ZZ`` in the path, TRACE (On, Off, extended,
with a body), a field over LimitRequestFieldSize, HTTP/1.2, ``_`` in a host name,
a response header value with a control byte, and the access-log line of a
request line that does not parse.

Where the app answers, what it saw of the request is compared; where the server
answers itself, its status, headers and (for TRACE) body.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.differential.cases import failed, log_lines, mentions, view
from tests.differential.client import Answer, Conn
from tests.differential.compare import Differential, LogMark, Masker
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

# What of the environ says how the request line was read.
SEEN = (
    "REQUEST_METHOD",
    "REQUEST_URI",
    "PATH_INFO",
    "QUERY_STRING",
    "SERVER_PROTOCOL",
    "HTTP_HOST",
)


def _head(host: str) -> str:
    return f"Host: {host}:{{port}}\r\nConnection: close\r\n"


E = _head("embedded.test")
D = _head("daemon.test")
RAW = {
    # name: the request's bytes ({port}: the server's port)
    "line-utf8-target-embedded": "GET /echo/caf\xc3\xa9?q=\xc3\xa9 HTTP/1.1\r\n" + E + "\r\n",
    "line-utf8-target-daemon": "GET /echo/caf\xc3\xa9?q=\xc3\xa9 HTTP/1.1\r\n" + D + "\r\n",
    "line-purge-embedded": "PURGE /echo/x HTTP/1.1\r\n" + E + "\r\n",
    "line-foo-daemon": "FOO /echo/x HTTP/1.1\r\n" + D + "\r\n",
    "line-lowercase-get-embedded": "get /echo/x HTTP/1.1\r\n" + E + "\r\n",
    "line-lowercase-get-daemon": "get /echo/x HTTP/1.1\r\n" + D + "\r\n",
    "line-bad-escape-in-path": "GET /echo/a%ZZ HTTP/1.1\r\n" + E + "\r\n",
    "line-bad-escape-in-query": "GET /echo/a?q=%ZZ HTTP/1.1\r\n" + E + "\r\n",
    "line-encoded-nul-in-path": "GET /echo/a%00b HTTP/1.1\r\n" + E + "\r\n",
    "line-http12": "GET /echo/x HTTP/1.2\r\n" + E + "\r\n",
    "line-http12-daemon": "GET /echo/x HTTP/1.2\r\n" + D + "\r\n",
    "line-double-space": "GET  /echo/x HTTP/1.1\r\n" + E + "\r\n",
    "line-lowercase-protocol": "GET /echo/x http/1.1\r\n" + E + "\r\n",
    "line-fragment": "GET /echo/x#frag HTTP/1.1\r\n" + E + "\r\n",
    "line-control-byte-in-target": "GET /echo/a\x01b HTTP/1.1\r\n" + E + "\r\n",
    "line-underscore-host": (
        "GET /echo/x HTTP/1.1\r\nHost: my_host.test\r\nConnection: close\r\n\r\n"
    ),
    "line-underscore-absolute-form": ("GET http://my_host.test/echo/x HTTP/1.1\r\n" + E + "\r\n"),
    "line-field-over-limit": (
        "GET /echo/x HTTP/1.1\r\n" + E + "X-Long: " + "v" * 8184 + "\r\n\r\n"
    ),
    "line-field-at-limit": "GET /echo/x HTTP/1.1\r\n" + E + "X-Long: " + "v" * 8183 + "\r\n\r\n",
    "trace-on": "TRACE /echo/x?q HTTP/1.1\r\n" + E + "X-A: 1\r\nx-a: 2\r\n\r\n",
    "trace-on-nowhere": "TRACE /not/served HTTP/1.1\r\n" + E + "\r\n",
    "trace-on-http10": "TRACE /echo/x HTTP/1.0\r\n\r\n",
    "trace-on-with-body": "TRACE /echo/x HTTP/1.1\r\n" + E + "Content-Length: 3\r\n\r\nabc",
    "trace-off": "TRACE /echo/x HTTP/1.1\r\n" + _head("notrace.test") + "\r\n",
    "trace-extended-with-body": (
        "TRACE /echo/x HTTP/1.1\r\n" + _head("tracebody.test") + "Content-Length: 3\r\n\r\nabc"
    ),
    "trace-bad-escape": "TRACE /echo/a%ZZ HTTP/1.1\r\n" + E + "\r\n",
    "response-header-control-byte": "GET /badheader?byte=01 HTTP/1.1\r\n"
    + _head("notrace.test")
    + "\r\n",
    "response-header-del": "GET /badheader?byte=7f HTTP/1.1\r\n" + _head("notrace.test") + "\r\n",
    "response-header-tab": "GET /badheader?byte=09 HTTP/1.1\r\n" + _head("notrace.test") + "\r\n",
}


def raw_view(diff: Differential, server: Server, raw: str, to_close: bool = False) -> Any:
    data = raw.replace("{port}", str(server.port)).encode("latin-1")
    masker = diff.masker(server)
    answer: Answer | dict[str, Any]
    try:
        with Conn(server, timeout=10) as conn:
            conn.send(data)
            answer = read_to_close(conn) if to_close else conn.answer()
    except (OSError, ValueError, IndexError) as e:
        answer = failed(e)
    if (
        isinstance(answer, Answer)
        and answer.status == 200
        and answer.header("content-type") == "application/json"
    ):
        return {"app saw": app_saw(answer.body, masker)}
    out = view(answer, masker)
    if isinstance(answer, Answer):
        out["x-odd"] = answer.header("x-odd")
    return out


def read_to_close(conn: Conn) -> Answer:
    """The answer as bytes up to the close, whatever length its head declares."""
    while True:
        data = conn.sock.recv(65536)
        if not data:
            break
        conn.buf += data
    head, _, body = conn.buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    _, status, reason = lines[0].split(" ", 2)
    headers = [
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(":") for line in lines[1:])
    ]
    return Answer(int(status), reason, headers, body, "close")


def app_saw(body: bytes, masker: Masker) -> dict[str, Any]:
    environ = json.loads(body)["environ"]
    return masker.deep({k: environ.get(k, "(absent)") for k in SEEN})  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", sorted(RAW))
def test_the_request_line_is_read_as_apache_reads_it(diff: Differential, case: str) -> None:
    # Apache's 500 for a bad response header declares the length of its page
    # plus what the app had already written: it is read up to the close.
    to_close = case.startswith("response-header-") and case != "response-header-tab"
    diff.check(case, lambda server: raw_view(diff, server, RAW[case], to_close))


def unparsed_view(diff: Differential, server: Server) -> Any:
    """A request line that does not parse, and the access-log line it leaves."""
    masker = diff.masker(server)
    mark = LogMark(server)
    data = b"DELETE  /gone/away HTTP/1.1\r\nHost: embedded.test\r\n\r\n"
    try:
        with Conn(server, timeout=10) as conn:
            conn.send(data)
            answer: Answer | dict[str, Any] = conn.answer()
    except (OSError, ValueError) as e:
        answer = failed(e)
    mark.wait(lambda new: mentions(new, "/gone/away"))
    return {
        "answer": {"status": answer.status} if isinstance(answer, Answer) else answer,
        "access logs": masker.deep(log_lines(mark, access=True, answer=answer)),
    }


def test_a_line_that_does_not_parse_is_logged_as_apache_logs_it(diff: Differential) -> None:
    diff.check("line-unparsed-access-log", lambda server: unparsed_view(diff, server))
