"""Charsets and types beside Apache + mod_wsgi: AddDefaultCharset On, Off and a
name on static files and on embedded and daemon app answers (Apache adds it to
an app's text/plain and text/html that name no charset); AddCharset and AddType
(with parameters), RemoveType and RemoveCharset for extensions; ForceType on
files and on an app that sends no Content-Type; .htaccess (AllowOverride
FileInfo); DefaultType (ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.cases import call
from tests.differential.client import Answer
from tests.differential.compare import Differential
from tests.differential.conftest import topic
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

HOST = "mime.test:{port}"


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("mime.conf", warm=[(HOST, "/emb/x"), (HOST, "/dmn/x")])


def observe(server: Server, target: str) -> Any:
    answer = call(server, "GET", target, HOST.format(port=server.port))
    if not isinstance(answer, Answer):
        return answer
    return {"status": answer.status, "content-type": answer.all("content-type")}


CASES: dict[str, str] = {
    "mime-static-html-default-charset": "/page.html",
    "mime-static-plain-default-charset": "/notes.txt",
    "mime-static-addtype": "/data.foo",
    "mime-static-json-no-charset": "/data.json",
    "mime-static-charset-off-in-subdirectory": "/off/page.html",
    "mime-static-charset-named": "/utf8/notes.txt",
    "mime-static-forcetype": "/forced/data.json",
    "mime-static-htaccess-charset": "/hta/notes.txt",
    "mime-static-htaccess-addtype": "/hta/data.bar",
    "mime-static-addcharset": "/notes.txt.latin",
    "mime-static-addtype-with-parameter": "/page.html.tagged",
    "mime-static-addtype-with-charset": "/data.typed",
    "mime-static-addtype-over-types-config": "/types/data.json",
    "mime-static-addtype-letter-case": "/types/data.UP",
    "mime-static-addtype-last-extension": "/types/a.tar.gz",
    "mime-static-addcharset-letter-case": "/types/page.html.en",
    "mime-static-no-extension": "/types/noext",
    "mime-static-removetype": "/types/rm/data.json",
    "mime-static-removetype-unknown-to-types-config": "/types/rm/data.UP",
    "mime-static-removecharset": "/types/rm/page.html.en",
    # An app in app.py (text/x-python by mime.types), with and without a type of its own.
    "mime-typed-script-own-type": "/py/x?type=text/html",
    "mime-typed-script-no-type": "/py/x?type=",
    "mime-typed-script-no-type-daemon": "/pyd/x?type=",
}
for mode in ("emb", "dmn"):
    CASES |= {
        f"mime-{mode}-plain": f"/{mode}/x",
        f"mime-{mode}-html": f"/{mode}/x?type=text/html",
        f"mime-{mode}-html-own-charset": f"/{mode}/x?type=text/html;charset=utf-8",
        f"mime-{mode}-html-own-charset-capital": f"/{mode}/x?type=text/html;%20Charset=utf-8",
        f"mime-{mode}-capital-type": f"/{mode}/x?type=TEXT/HTML",
        f"mime-{mode}-plain-in-longer-type": f"/{mode}/x?type=text/plainfoo",
        f"mime-{mode}-html-with-parameter": f"/{mode}/x?type=text/html;%20level=1",
        f"mime-{mode}-xhtml": f"/{mode}/x?type=application/xhtml%2Bxml",
        f"mime-{mode}-css": f"/{mode}/x?type=text/css",
        f"mime-{mode}-no-type": f"/{mode}/x?type=",
        f"mime-{mode}-charset-off": f"/{mode}/off?type=text/html",
        f"mime-{mode}-charset-named": f"/{mode}/utf8?type=text/plain",
        f"mime-{mode}-forcetype-no-type": f"/{mode}/forced?type=",
        f"mime-{mode}-forcetype-own-type": f"/{mode}/forced?type=text/plain",
        f"mime-{mode}-404": f"/{mode}/x?status=404",
        f"mime-{mode}-204": f"/{mode}/x?status=204&type=",
        f"mime-{mode}-304-with-type": f"/{mode}/x?status=304&type=text/html",
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_types_as_with_apache(pair: Differential, case: str) -> None:
    target = CASES[case]
    pair.check(case, lambda server: observe(server, target))
