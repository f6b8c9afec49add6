"""Answers whose headers the server may act on: validators and conditional
requests, repeated Set-Cookie, a 401 challenge, no Content-Type, no
Content-Length (under HTTP/1.1, HTTP/1.0 and HEAD), 204 and 405 with Allow,
in embedded and daemon mode."""

from __future__ import annotations

from typing import Any

import pytest

from tests.differential.cases import call, view
from tests.differential.client import Answer
from tests.differential.compare import Differential
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

SAME_ETAG = [("If-None-Match", '"v1-abc"')]
OTHER_ETAG = [("If-None-Match", '"v0-old"')]
SAME_DATE = [("If-Modified-Since", "Tue, 01 Dec 2026 10:00:00 GMT")]
OLDER_DATE = [("If-Modified-Since", "Mon, 30 Nov 2026 10:00:00 GMT")]

REQUESTS: dict[str, tuple[str, str, list[tuple[str, str]], str]] = {
    # name: (method, path, headers, version)
    "validators": ("GET", "/validators", [], "HTTP/1.1"),
    "validators-head": ("HEAD", "/validators", [], "HTTP/1.1"),
    "if-none-match-same": ("GET", "/validators", SAME_ETAG, "HTTP/1.1"),
    "if-none-match-other": ("GET", "/validators", OTHER_ETAG, "HTTP/1.1"),
    "if-modified-since-same": ("GET", "/validators", SAME_DATE, "HTTP/1.1"),
    "if-modified-since-older": ("GET", "/validators", OLDER_DATE, "HTTP/1.1"),
    "cookies": ("GET", "/cookies", [], "HTTP/1.1"),
    "challenge": ("GET", "/challenge", [], "HTTP/1.1"),
    "no-type": ("GET", "/no-type", [], "HTTP/1.1"),
    "no-length": ("GET", "/no-length", [], "HTTP/1.1"),
    "no-length-http10": ("GET", "/no-length", [], "HTTP/1.0"),
    "no-length-head": ("HEAD", "/no-length", [], "HTTP/1.1"),
    "empty": ("GET", "/empty", [], "HTTP/1.1"),
    "allow": ("POST", "/allow", [], "HTTP/1.1"),
    "file-wrapper": ("GET", "/file", [], "HTTP/1.1"),
    "file-wrapper-http10": ("GET", "/file", [], "HTTP/1.0"),
    "file-wrapper-length": ("GET", "/file-length", [], "HTTP/1.1"),
    "latin1-header": ("GET", "/latin1", [], "HTTP/1.1"),
    "custom-reason": ("GET", "/custom-reason", [], "HTTP/1.1"),
}
CASES = {
    f"headers-{mode}-{name}": (host, spec)
    for mode, host in (("embedded", "embedded.test"), ("daemon", "daemon.test"))
    for name, spec in REQUESTS.items()
}


def headers_view(diff: Differential, server: Server, host: str, spec: Any) -> Any:
    method, path, headers, version = spec
    answer = call(server, method, "/headers" + path, host + ":{port}", headers, b"", version)
    out = view(answer, diff.masker(server))
    if isinstance(answer, Answer):
        out["framing"] = answer.framing
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_headers_the_server_acts_on(diff: Differential, case: str) -> None:
    host, spec = CASES[case]
    diff.check(case, lambda server: headers_view(diff, server, host, spec))
