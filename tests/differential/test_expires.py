"""mod_expires beside Apache + mod_wsgi: Expires and Cache-Control: max-age on
static files (200, 304 by If-Modified-Since and by If-None-Match, 206, HEAD),
embedded and daemon app answers, redirects and errors; access and modification
bases, the A/M seconds forms, ExpiresByType with a charset and with type/*,
ExpiresActive Off deeper, a section's own types hiding the wildcards above it,
an answer with an Expires or Cache-Control of its own, .htaccess.

Times are compared relative to the answer's Date: an Expires that is Date plus
max-age (within the second the two were taken) reads ``<Date + max-age>``.
The files' and the script's modification times are set to 2020-01-01 before
the servers start, so ``modification plus 30 years`` is a fixed date (compared
as sent, its max-age masked) and ``M86400`` is in the past (max-age=0).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from tests.differential.cases import call
from tests.differential.client import Answer
from tests.differential.compare import Differential
from tests.differential.conftest import topic
from tests.differential.servers import Server, Tree

pytestmark = pytest.mark.slow

HOST = "expires.test:{port}"
FIXED_MTIME = 1577836800  # 2020-01-01 00:00:00 GMT
# What differs by server or by run, not by what mod_expires did.
NOT_COMPARED = frozenset({"date", "server", "connection", "keep-alive", "etag", "content-length"})
BOUNDARY = re.compile(r"boundary=\w+")
LONG = 10**7  # a max-age this long counts from the fixed mtime: it shrinks as time goes


def fixed_times(tree: Tree) -> None:
    """The topic's files and its app script dated 2020-01-01."""
    for folder, _, files in os.walk(tree.site / "apps" / "expires"):
        for name in files:
            os.utime(os.path.join(folder, name), (FIXED_MTIME, FIXED_MTIME))


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("expires.conf", warm=[(HOST, "/emb/x"), (HOST, "/dmn/x")], prepare=fixed_times)


def _time(value: str | None) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp() if value else None
    except (TypeError, ValueError):
        return None


def seen(answer: Answer) -> dict[str, Any]:
    """Status and headers, with Expires and max-age relative to the answer's Date."""
    date = _time(answer.header("date"))
    ages = re.findall(r"max-age=(\d+)", ", ".join(answer.all("cache-control")))
    age = int(ages[-1]) if ages else None
    headers: dict[str, list[str]] = {}
    for name, value in answer.headers:
        if name in NOT_COMPARED:
            continue
        if name == "expires":
            when = _time(value)
            close = date is not None and when is not None and age is not None
            if close and age < LONG and abs(when - date - age) <= 1:  # type: ignore[operator]
                value = "<Date + max-age>"
            elif close and age >= LONG and abs(when - date - age) <= 1:  # type: ignore[operator]
                value += " <Date + max-age>"
            elif date is not None and when is not None and abs(when - date) <= 1:
                value = "<Date>"  # its max-age replaced (a Header line), or none
        elif name == "cache-control":
            value = re.sub(r"max-age=\d{8,}", "max-age=<LONG>", value)
        elif name == "content-type":
            value = BOUNDARY.sub("boundary=<B>", value)
        headers.setdefault(name, []).append(value)
    return {"status": answer.status, "headers": headers}


def observe(
    diff: Differential, server: Server, method: str, target: str, headers: list[tuple[str, str]]
) -> Any:
    host = HOST.format(port=server.port)
    if ("If-None-Match", "<etag>") in headers:
        first = call(server, "GET", target, host)
        if not isinstance(first, Answer):
            return first
        tag = first.header("etag") or ""
        headers = [(n, tag if v == "<etag>" else v) for n, v in headers]
    answer = call(server, method, target, host, headers)
    return diff.masker(server).deep(seen(answer)) if isinstance(answer, Answer) else answer


SINCE = [("If-Modified-Since", "Wed, 01 Jan 2020 00:00:00 GMT")]
CASES: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "expires-static-by-type-access": ("GET", "/style.css", []),
    "expires-static-by-type-words": ("GET", "/page.html", []),
    "expires-static-modification-future": ("GET", "/logo.png", []),
    "expires-static-modification-past": ("GET", "/notes.txt", []),
    "expires-static-a-seconds": ("GET", "/data.json", []),
    "expires-static-untyped-default": ("GET", "/README", []),
    "expires-static-type-with-charset": ("GET", "/page.utf8.txt", []),
    "expires-static-wildcard": ("GET", "/pic.gif", []),
    "expires-static-wildcard-hidden-by-section": ("GET", "/wild/pic.gif", []),
    "expires-static-section-own-type": ("GET", "/wild/style.css", []),
    "expires-static-off-in-subdirectory": ("GET", "/off/page.html", []),
    "expires-static-section-default": ("GET", "/sub/README", []),
    "expires-static-section-access-alone": ("GET", "/sub/notes.txt", []),
    "expires-static-htaccess-indexes": ("GET", "/hta/notes.txt", []),
    "expires-static-htaccess-not-allowed": ("GET", "/hta-denied/notes.txt", []),
    "expires-static-304-if-modified-since": ("GET", "/style.css", SINCE),
    "expires-static-304-if-none-match": ("GET", "/page.html", [("If-None-Match", "<etag>")]),
    "expires-static-304-modification": ("GET", "/logo.png", SINCE),
    "expires-static-206-multipart": ("GET", "/style.css", [("Range", "bytes=0-1,3-4")]),
    "expires-static-206-one-range": ("GET", "/page.html", [("Range", "bytes=0-2")]),
    "expires-static-head": ("HEAD", "/page.html", []),
    "expires-static-404": ("GET", "/missing", []),
    "expires-static-412": ("GET", "/page.html", [("If-Match", '"nope"')]),
    "expires-directory-redirect": ("GET", "/sub", []),
    "expires-directory-index-modification": ("GET", "/idx/", []),
    "expires-redirect-directive": ("GET", "/moved", []),
}
for mode in ("emb", "dmn"):
    CASES |= {
        f"expires-{mode}-plain-modification-past": ("GET", f"/{mode}/x", []),
        f"expires-{mode}-html-with-charset": (
            "GET",
            f"/{mode}/x?type=text/html;%20charset=utf-8",
            [],
        ),
        f"expires-{mode}-no-type": ("GET", f"/{mode}/x?type=", []),
        f"expires-{mode}-modification-of-the-script": ("GET", f"/{mode}/mod", []),
        f"expires-{mode}-by-type-over-modification": (
            "GET",
            f"/{mode}/mod?type=application/json",
            [],
        ),
        f"expires-{mode}-own-expires": (
            "GET",
            f"/{mode}/x?h=Expires:Thu,%2001%20Jan%202037%2000:00:00%20GMT&h=Cache-Control:public",
            [],
        ),
        f"expires-{mode}-own-cache-control": ("GET", f"/{mode}/x?h=Cache-Control:no-cache", []),
        f"expires-{mode}-own-max-age": ("GET", f"/{mode}/x?h=Cache-Control:max-age=5", []),
        f"expires-{mode}-404": ("GET", f"/{mode}/x?status=404", []),
        f"expires-{mode}-302": ("GET", f"/{mode}/x?status=302&h=Location:/x", []),
        f"expires-{mode}-304": ("GET", f"/{mode}/x?status=304&type=", []),
        f"expires-{mode}-wildcard": ("GET", f"/{mode}/wild?type=text/markdown", []),
        f"expires-{mode}-wildcard-other-major": ("GET", f"/{mode}/wild?type=image/gif", []),
        f"expires-{mode}-active-off": ("GET", f"/{mode}/off", []),
        f"expires-{mode}-header-set-after": ("GET", f"/{mode}/hdrset", []),
        f"expires-{mode}-header-append-unset-after": ("GET", f"/{mode}/hdrappend", []),
        f"expires-{mode}-capital-a-code": ("GET", f"/{mode}/trap?type=text/markdown", []),
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_expires_as_with_apache(pair: Differential, case: str) -> None:
    method, target, headers = CASES[case]
    pair.check(case, lambda server: observe(pair, server, method, target, headers))
