"""The server's own error answers and the error log's format, beside Apache + mod_wsgi.

``sites/errors.conf``: ErrorDocument as text, a URL, a local file, a failing
local file and an app (which gets the REDIRECT_* environ); ServerSignature
On/Off/EMail and ServerAdmin on Apache's pages; WSGIErrorOverride in daemon
mode; ForceType; an ErrorLogFormat for the lines an app's ``wsgi.errors`` and
a traceback leave, in embedded and daemon mode.

The banner the signature names (``Apache/2.4.x (Debian)``, ``wsgihost``) is
the Server header's product, which differs on purpose (docs/differences.md):
it is masked. So are %O and %S in the access line (the heads differ by that
Server header); test_logio.py compares them with the bytes on the wire.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.cases import APACHE_NOTICE, call, mask_log_line, view
from tests.differential.client import Answer, Conn
from tests.differential.compare import Differential, LogMark
from tests.differential.conftest import topic
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

HOST = "errors.test:{port}"
BANNER = (r"<address>.*? Server at ", "<address><BANNER> Server at ")
LOCAL = re.compile(r"(?<=\] )\[(\d+\.\d+\.\d+\.\d+:<PORT>)\] ")  # %A in the format
LOGIO_OUT = re.compile(r" (\d+) (\d+) (\d+)$")  # %I %O %S at the end of an access line


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("errors.conf", warm=[(HOST, "/embedded/"), (HOST, "/daemon/")])


# case: (method, target, body, whether the error log is observed)
CASES = {
    "errors-static-document": ("GET", "/nothing-here", b"", False),
    "errors-head-static-document": ("HEAD", "/nothing-here", b"", False),
    "errors-405-signature": ("PUT", "/errors/404.html", b"x", False),
    "errors-default-no-signature": ("GET", "/plain/x", b"", False),
    "errors-signature-email": ("GET", "/email/x", b"", False),
    "errors-text-document": ("GET", "/text/x", b"", False),
    "errors-url-document": ("GET", "/away/x", b"", False),
    "errors-broken-document": ("GET", "/broken-doc/x", b"", True),
    "errors-app-document": ("POST", "/appdoc/missing?a=1", b"data", False),
    "errors-override-403": ("GET", "/daemon/fail?403", b"", False),
    "errors-override-500": ("GET", "/daemon/fail?500", b"", False),
    "errors-override-404": ("GET", "/daemon/fail?404", b"", False),
    "errors-no-override-embedded": ("GET", "/embedded/fail?403", b"", False),
    "errors-no-override-daemon": ("GET", "/daemon/other/fail?403", b"", False),
    "errors-force-type": ("GET", "/forced/data.html", b"", False),
    "errors-force-type-none": ("GET", "/forced/none/page.html", b"", False),
    "errors-embedded-traceback": ("GET", "/embedded/raise", b"", True),
    "errors-daemon-traceback": ("GET", "/daemon/raise", b"", True),
    "errors-embedded-wsgi-errors": ("GET", "/embedded/log", b"", True),
    "errors-daemon-wsgi-errors": ("GET", "/daemon/log", b"", True),
}


def _access(line: str, sent: int | None) -> str:
    line = LOGIO_OUT.sub(lambda m: f" {m.group(1)} <O> <S>", mask_log_line(line))
    if sent is not None:  # %b: the size of the body the client got (its banner differs)
        line = line.replace(f" {sent} ", " <BODY-SIZE> ")
    return line


def observe(diff: Differential, server: Server, case: str) -> Any:
    method, target, body, errors = CASES[case]
    mark = LogMark(server)
    headers = [("Referer", "http://example.test/from"), ("User-Agent", "differential/1.0")]
    answer = call(server, method, target, HOST, headers, body)
    path = target.split("?")[0]
    mark.wait(lambda new: any(path in x for x in new.get("errors-access.log", [])))
    if errors:
        mark.wait(lambda new: bool(new.get("errors-error.log")))
    masker = diff.masker(server)
    new = mark.new()
    seen: dict[str, Any] = {"answer": view(answer, masker, body_masks=(BANNER,))}
    sent = None
    if isinstance(answer, Answer) and b"<address>" in answer.body:
        # A signed page's length differs with its banner: each must be its own body's.
        sent = len(answer.body)
        lengths = seen["answer"]["headers"]
        if lengths.get("content-length") == str(sent):
            lengths["content-length"] = "<BODY-SIZE>"
    lines = new.get("errors-access.log", [])
    seen["access log"] = masker.deep([_access(x, sent) for x in lines])
    if errors:
        lines = [x for x in new.get("errors-error.log", []) if not APACHE_NOTICE.search(x)]
        lines = masker.deep([mask_log_line(x) for x in lines])
        # %A apart: mod_wsgi's daemon processes write a made-up one (known.py).
        local = sorted({m for x in lines for m in LOCAL.findall(x)})
        seen["error log"] = [LOCAL.sub("", x, count=1) for x in lines]
        if local:
            seen["error log %A"] = local
    return seen


@pytest.mark.parametrize("case", sorted(CASES))
def test_error_answers_and_error_log_lines_as_apache_writes_them(
    pair: Differential, case: str
) -> None:
    pair.check(case, lambda server: observe(pair, server, case))


# Refused before routing (a head line with no colon) or by mod_wsgi (a chunked
# body without WSGIChunkedRequest), TRACE with a body: Apache's pages, signed.
RAW = {
    "errors-signed-bad-head": "GET /x HTTP/1.1\r\nHost: {host}\r\nno colon\r\n\r\n",
    "errors-signed-bad-escape": "GET /a%zz HTTP/1.1\r\nHost: {host}\r\n\r\n",
    "errors-signed-411": (
        "POST /embedded/log HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n"
        "1\r\nx\r\n0\r\n\r\n"
    ),
    "errors-414-document": "GET /" + "a" * 9000 + " HTTP/1.1\r\nHost: {host}\r\n\r\n",
    "errors-signed-trace-body": "TRACE /x HTTP/1.1\r\nHost: {host}\r\nContent-Length: 3\r\n\r\nabc",
}


def observe_raw(diff: Differential, server: Server, case: str) -> Any:
    data = RAW[case].replace("{host}", HOST.format(port=server.port)).encode("latin-1")
    with Conn(server, timeout=10) as conn:
        conn.send(data)
        answer = conn.answer()
    return view(answer, diff.masker(server), body_masks=(BANNER,))


@pytest.mark.parametrize("case", sorted(RAW))
def test_refusals_are_signed_pages(pair: Differential, case: str) -> None:
    def seen(server: Server) -> Any:
        answer = observe_raw(pair, server, case)
        answer["headers"].pop("content-length", None)  # its banner differs (see above)
        return answer

    pair.check(case, seen)
