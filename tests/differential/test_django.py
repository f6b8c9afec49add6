"""A small Django project, deployed as Django's documentation says for mod_wsgi
(daemon mode, python-path=, WSGIApplicationGroup %{GLOBAL}, Alias /static/),
compared answer by answer: pages, the CSRF form round trip with its cookie, an
upload, redirects, a signed-cookie session, static files with ETag and
Last-Modified and their 304s, and the 404 pages.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.differential.cases import call, view
from tests.differential.client import Answer
from tests.differential.compare import Differential
from tests.differential.frameworks import (
    UPLOAD,
    cookie_header,
    cookies,
    form,
    multipart,
)
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

HOST = "django.test:{port}"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# The CSRF token in a page is random (and masked by a fresh salt on every render).
TOKEN_MASK = ((r'(name="csrfmiddlewaretoken" value=")[^"]+', r"\1<TOKEN>"),)


def get(server: Server, target: str, headers: list[tuple[str, str]] | None = None) -> Any:
    return call(server, "GET", target, HOST, headers)


def token_and_cookie(server: Server) -> tuple[str, tuple[str, str]] | None:
    page = get(server, "/form/")
    if not isinstance(page, Answer) or page.status != 200:
        return None
    found = TOKEN.search(page.body.decode())
    jar = cookies(page)
    if not found or "csrftoken" not in jar:
        return None
    return found.group(1), cookie_header({"csrftoken": jar["csrftoken"]})


def simple(diff: Differential, case: str, target: str, **kw: Any) -> None:
    diff.check(case, lambda s: view(get(s, target), diff.masker(s), **kw))


def test_home_page(diff: Differential) -> None:
    simple(diff, "django-home", "/")


def test_form_page_sets_the_csrf_cookie(diff: Differential) -> None:
    simple(diff, "django-form-get", "/form/", body_masks=TOKEN_MASK)


def test_form_post_with_the_csrf_token_and_cookie(diff: Differential) -> None:
    def flow(server: Server) -> Any:
        got = token_and_cookie(server)
        if got is None:
            return {"no token": True}
        token, cookie = got
        headers, body = form({"csrfmiddlewaretoken": token, "name": "Ada"})
        return view(
            call(server, "POST", "/form/", HOST, [*headers, cookie], body), diff.masker(server)
        )

    diff.check("django-form-post", flow)


def test_form_post_without_the_token_is_refused(diff: Differential) -> None:
    def flow(server: Server) -> Any:
        headers, body = form({"name": "Eve"})
        return view(call(server, "POST", "/form/", HOST, headers, body), diff.masker(server))

    diff.check("django-form-post-no-token", flow)


def test_upload(diff: Differential) -> None:
    def flow(server: Server) -> Any:
        got = token_and_cookie(server)
        if got is None:
            return {"no token": True}
        token, cookie = got
        headers, body = multipart({"csrfmiddlewaretoken": token}, "data.bin", UPLOAD)
        answer = call(server, "POST", "/upload/", HOST, [*headers, cookie], body)
        return view(answer, diff.masker(server))

    _expected, got = diff.check("django-upload", flow)
    assert '"size": %d' % len(UPLOAD) in got["body"], got


@pytest.mark.parametrize(
    ("case", "target"),
    [
        ("django-redirect", "/go/"),
        ("django-append-slash", "/form"),
        ("django-404", "/nothing/"),
        ("django-static-missing", "/static/site/none.css"),
        ("django-static-directory", "/static/site/"),
        ("django-static-directory-no-slash", "/static/site"),
        ("django-static-prefix-no-slash", "/static"),
        ("django-static-outside", "/static/../djsite/settings.py"),
    ],
)
def test_redirects_and_not_found(diff: Differential, case: str, target: str) -> None:
    simple(diff, case, target)


def test_session_cookie_round_trip(diff: Differential) -> None:
    def flow(server: Server) -> Any:
        masker = diff.masker(server)
        first = get(server, "/visit/")
        if not isinstance(first, Answer):
            return {"first": first}
        jar = cookies(first)
        second = get(server, "/visit/", [cookie_header(jar)])
        return {"first": view(first, masker), "second": view(second, masker)}

    diff.check("django-session", flow)


def test_static_file_validators_and_304(diff: Differential) -> None:
    """The file, then conditional requests with the validators each server gave."""
    target = "/static/site/style.css"
    seen: dict[str, Answer] = {}

    def flow(server: Server) -> Any:
        masker = diff.masker(server)
        full = get(server, target)
        if not isinstance(full, Answer):
            return {"full": full}
        seen[server.name] = full
        etag, modified = full.header("etag") or "", full.header("last-modified") or ""
        return {
            "full": view(full, masker),
            "head": view(call(server, "HEAD", target, HOST), masker),
            "if-none-match": view(get(server, target, [("If-None-Match", etag)]), masker),
            "if-modified-since": view(
                get(server, target, [("If-Modified-Since", modified)]), masker
            ),
            "stale if-none-match": view(get(server, target, [("If-None-Match", '"x"')]), masker),
            "range": view(get(server, target, [("Range", "bytes=5-14")]), masker),
            "range past the end": view(get(server, target, [("Range", "bytes=500-")]), masker),
        }

    diff.check("django-static", flow)
    if "apache" in seen:
        # The same file on both: the validators themselves must be the same, not just alike.
        for name in ("etag", "last-modified"):
            assert seen["wsgihost"].header(name) == seen["apache"].header(name), name
