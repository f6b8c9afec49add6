"""mod_headers beside Apache + mod_wsgi: Header and RequestHeader on static
files, embedded and daemon apps and the server's own error pages; onsuccess
against always (the two tables); set, append, merge, add, setifempty, unset,
edit, edit*, echo; value formats; env= conditions; early; a CR/LF attempt."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.cases import call
from tests.differential.client import Answer
from tests.differential.compare import Differential, LogMark
from tests.differential.conftest import topic
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

HOST = "headers.test:{port}"
# What differs by server or by run, not by what mod_headers did.
NOT_COMPARED = frozenset(
    {"date", "server", "connection", "keep-alive", "content-length", "etag", "last-modified"}
)
TIMES = re.compile(r"\b([tD])=\d+")


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("headers.conf", warm=[(HOST, "/emb/x"), (HOST, "/dmn/x")])


def headers_seen(answer: Answer) -> dict[str, list[str]]:
    """Every header by name (lower case), its values in the order sent."""
    seen: dict[str, list[str]] = {}
    for name, value in answer.headers:
        if name not in NOT_COMPARED:
            seen.setdefault(name, []).append(TIMES.sub(r"\1=<N>", value))
    return seen


def raw_head(server: Server, target: str) -> dict[str, Any]:
    """Status and headers read off the socket to its end: Apache's 500 for a refused
    head says a Content-Length longer than its page, which the client would refuse."""
    host = HOST.format(port=server.port)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    seen: dict[str, list[str]] = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.lower() not in NOT_COMPARED:
            seen.setdefault(name.lower(), []).append(value.strip())
    return {"status line": head[0], "headers": seen}


def observe(diff: Differential, server: Server, target: str, headers: list[tuple[str, str]]) -> Any:
    mark = LogMark(server)
    if target.endswith("literal-crlf"):
        return raw_head(server, target)
    answer = call(server, "GET", target, HOST.format(port=server.port), headers)
    if not isinstance(answer, Answer):
        return answer
    seen: dict[str, Any] = {"status": answer.status, "headers": headers_seen(answer)}
    if answer.status == 200 and target.startswith(("/emb/", "/dmn/")):
        seen["app saw"] = diff.masker(server).deep(json.loads(answer.body))
    mark.wait(lambda new: any(k.endswith("modheaders-access.log") for k in new))
    return seen


APP = ("emb", "dmn")
CASES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "modheaders-static": ("/txt/page.txt", []),
    "modheaders-static-index": ("/", []),
    "modheaders-static-404": ("/missing", []),
    "modheaders-lines-unset-server-date": ("/emb/unset?h=X-App:app", []),
    "modheaders-edit-echo": (
        "/emb/edit?h=X-App:left-right&h=X-Many:foo-boo&h=X-None:abc",
        [("X-Echo-A", "1"), ("X-Echo-B", "2")],
    ),
    "modheaders-formats": ("/emb/format/more?q=1", [("X-Early-Token", "tok")]),
    "modheaders-literal-crlf": ("/emb/literal-crlf", []),
}
for mode in APP:
    CASES |= {
        f"modheaders-{mode}-tables": (f"/{mode}/table?h=X-App:app&h=X-Always-Only:fromapp", []),
        f"modheaders-{mode}-tables-app-404": (f"/{mode}/table?status=404&h=X-App:app", []),
        f"modheaders-{mode}-tables-500": (f"/{mode}/table?raise=1", []),
        f"modheaders-{mode}-cors": (
            f"/{mode}/cors?h=Cache-Control:max-age=1&h=X-Maybe:app",
            [("Origin", "https://example.org")],
        ),
        f"modheaders-{mode}-env-mobile": (
            f"/{mode}/cond",
            [("User-Agent", "Mobile Safari"), ("X-Early-Token", "t1")],
        ),
        f"modheaders-{mode}-env-desktop": (f"/{mode}/cond", [("User-Agent", "Firefox")]),
        f"modheaders-{mode}-request-headers": (
            f"/{mode}/req",
            [
                ("X-Drop", "x"),
                ("X-List", "a"),
                ("X-Twice", "first"),
                ("X-Rewrite", "older"),
                ("X-Merge", "a, b"),
            ],
        ),
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_headers_as_with_apache(pair: Differential, case: str) -> None:
    target, headers = CASES[case]
    pair.check(case, lambda server: observe(pair, server, target, headers))
