"""The server's own error pages against the pages Apache 2.4 wrote (the differential
suite's recordings of the live Apache), and ErrorDocument's reading of its argument."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wsgihost import errorpages
from wsgihost.errorpages import Signature, custom, page

RECORDED = Path(__file__).resolve().parents[1] / "differential" / "recorded"


def _recorded(case: str, *path: str) -> str:
    tree: Any = json.loads((RECORDED / f"{case}.json").read_text())
    tree = tree.get("apache", tree)
    for key in path:
        tree = tree[key]
    assert isinstance(tree, str)
    return tree


@pytest.mark.parametrize(
    "case, path, status, method, notes",
    [
        ("django-static-directory", ("body",), 404, "GET", ""),
        ("static-put", ("answer", "body"), 405, "PUT", ""),
        ("static-extension-method", ("answer", "body"), 501, "PURGE", ""),
        ("trace-on-with-body", ("body",), 413, "TRACE", ""),
        ("request-line-too-long", ("body",), 414, "GET", ""),
        ("line-bad-escape-in-path", ("body",), 400, "GET", ""),
        (
            "line-field-over-limit",
            ("body",),
            400,
            "GET",
            "Size of a request header field exceeds server limit.",
        ),
        ("logs-daemon-traceback", ("answer", "body"), 500, "GET", ""),
        ("chunked-daemon-default-malformed", ("answer", "body"), 411, "POST", ""),
        ("django-static", ("range past the end", "body"), 416, "GET", ""),
    ],
)
def test_pages_are_apaches_byte_for_byte(
    case: str, path: tuple[str, ...], status: int, method: str, notes: str
) -> None:
    assert page(status, method, notes=notes).decode("latin-1") == _recorded(case, *path)


def test_a_redirect_page_names_its_location_escaped() -> None:
    expected = _recorded("static-directory-query", "answer", "body")
    location = "http://static.test:8123/dir/?a=1&b=two"  # the recording masks the port
    assert page(301, location=location).decode().replace("8123", "<PORT>") == expected


def test_the_signature_line_as_apache_writes_it() -> None:
    on = Signature("on", "wsgihost", "www.example.com", 8080)
    assert on.html() == "<hr>\n<address>wsgihost Server at www.example.com Port 8080</address>\n"
    mail = Signature("email", "wsgihost", "h<x>", 80, "root@example.com")
    assert mail.html() == (
        '<hr>\n<address>wsgihost Server at <a href="mailto:root@example.com">h&lt;x&gt;</a>'
        " Port 80</address>\n"
    )
    assert Signature("off", "wsgihost", "h", 80).html() == ""
    body = page(404, signature=on).decode()
    assert body.endswith(
        "<hr>\n<address>wsgihost Server at www.example.com Port 8080</address>\n</body></html>\n"
    )


def test_the_500_page_names_server_admin() -> None:
    body = page(500, signature=Signature(admin="ops@example.com")).decode()
    assert "administrator at \n ops@example.com to inform them" in body
    assert errorpages.NO_ADMIN in page(500).decode()


def test_a_failed_error_document_is_mentioned_once() -> None:
    body = page(404, recursive=404).decode()
    assert (
        "<p>Additionally, a 404 Not Found\nerror was encountered while trying to use an "
        "ErrorDocument to handle the request.</p>\n</body></html>\n"
    ) in body


def test_the_method_is_escaped_in_the_page() -> None:
    assert b"<p>X&lt;Y not supported for current URL.<br />\n</p>" in page(501, "X<Y")


@pytest.mark.parametrize(
    "documents, status, expected",
    [
        (((404, '"Sorry, not here'),), 404, ("text", "Sorry, not here")),
        (((404, "/errors/404.html"),), 404, ("local", "/errors/404.html")),
        (((500, "https://status.example.com/"),), 500, ("url", "https://status.example.com/")),
        (((404, "/a"), (404, "/b")), 404, ("local", "/b")),
        (((404, "/a"), (404, "default")), 404, None),
        (((404, "/a"),), 403, None),
    ],
)
def test_error_documents(
    documents: tuple[tuple[int, str], ...], status: int, expected: tuple[str, str] | None
) -> None:
    assert custom(documents, status) == expected
