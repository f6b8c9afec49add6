"""A small Flask app, deployed as Flask's documentation says for mod_wsgi
(WSGIProcessGroup and WSGIApplicationGroup %{GLOBAL} inside its <Directory>):
JSON, a redirect, a cookie, an upload, a streamed answer, 404 and 405 pages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.differential.cases import call, view
from tests.differential.client import Answer
from tests.differential.compare import Differential
from tests.differential.frameworks import UPLOAD, UPLOAD_SHA256, multipart
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

HOST = "flask.test:{port}"

CASES = {
    # name: (method, target)
    "flask-json": ("GET", "/json?x=1&y=two"),
    "flask-redirect": ("GET", "/go"),
    "flask-cookie": ("GET", "/cookie"),
    "flask-stream": ("GET", "/stream?tag=ab"),
    "flask-stream-http10": ("GET", "/stream?tag=cd"),
    "flask-404": ("GET", "/nothing"),
    "flask-405": ("POST", "/json"),
    "flask-head": ("HEAD", "/json"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_flask_answers(diff: Differential, case: str) -> None:
    method, target = CASES[case]
    version = "HTTP/1.0" if case.endswith("http10") else "HTTP/1.1"

    def flow(server: Server) -> Any:
        answer = call(server, method, target, HOST, version=version)
        out = view(answer, diff.masker(server))
        if isinstance(answer, Answer):
            out["framing"] = answer.framing
        return out

    diff.check(case, flow)


def test_flask_upload(diff: Differential) -> None:
    def flow(server: Server) -> Any:
        headers, body = multipart({"note": "hi"}, "data.bin", UPLOAD)
        return view(call(server, "POST", "/upload", HOST, headers, body), diff.masker(server))

    _expected, got = diff.check("flask-upload", flow)
    assert UPLOAD_SHA256 in got["body"], got
