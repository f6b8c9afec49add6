"""mod_alias's redirects beside Apache + mod_wsgi: each form and status, the rest of
the path and the query string, a <Location>'s own redirect before the access checks
and one with a URL-path after them, .htaccess, the order against Alias and
WSGIScriptAlias, and hostile paths (open redirects through $1, CR/LF)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.cases import call, view
from tests.differential.client import Answer
from tests.differential.compare import Differential, LogMark, mask_log_line, mask_port
from tests.differential.conftest import topic
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

HOST = "redirect.test:{port}"


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("redirect.conf", warm=[(HOST, "/app/")])


# case -> request target (a method first where not GET), and the Host header.
CASES: dict[str, tuple[str, str]] = {
    "redirect-prefix": ("/old", HOST),
    "redirect-prefix-rest": ("/old/a/b.html", HOST),
    "redirect-prefix-query": ("/old/x?a=1&b=%20", HOST),
    "redirect-prefix-not-a-segment": ("/older", HOST),
    "redirect-prefix-case": ("/OLD/x", HOST),
    "redirect-prefix-slashes": ("//old//x", HOST),
    "redirect-prefix-escaped-rest": ("/old/a%20b/%C3%A9?q", HOST),
    "redirect-trailing-slash": ("/slash/x", HOST),
    "redirect-trailing-slash-bare": ("/slash", HOST),
    "redirect-permanent-path": ("/perm/x?y=1", HOST),
    "redirect-permanent-no-port": ("/perm", "redirect.test"),
    "redirect-temp": ("/temp", HOST),
    "redirect-seeother": ("/other", HOST),
    "redirect-307": ("/seven/x", HOST),
    "redirect-308": ("/eight", HOST),
    "redirect-300": ("/three-hundred", HOST),
    "redirect-gone": ("/gone/x", HOST),
    "redirect-404": ("/missing", HOST),
    "redirect-redirectpermanent": ("/rp/z", HOST),
    "redirect-redirecttemp": ("/rt", HOST),
    "redirect-target-query-wins": ("/withq/x?a=1", HOST),
    "redirect-vhost-before-main": ("/main-old/x", HOST),
    "redirectmatch-groups": ("/match/abc/42?z=9", HOST),
    "redirectmatch-no-match": ("/match/abc/x", HOST),
    "redirectmatch-gone": ("/dead/x", HOST),
    "redirectmatch-relative": ("/rel/a%20b", HOST),
    "redirectmatch-fragment": ("/frag/a b", HOST),
    "redirect-head": ("HEAD /old/x", HOST),
    "redirect-post": ("POST /temp", HOST),
    "redirect-before-scriptalias": ("/app/moved/x", HOST),
    "redirect-app-beside": ("/app/other", HOST),
    "redirect-shadows-scriptalias": ("/shadow/x", HOST),
    "redirect-before-alias": ("/aliased/away", HOST),
    "redirect-alias-beside": ("/aliased/landed.txt", HOST),
    "redirect-location-own": ("/loc/anything?k=v", HOST),
    "redirect-location-gone": ("/locgone", HOST),
    "redirect-location-permanent": ("/locperm/x", HOST),
    "redirect-location-before-access": ("/locdenied/x", HOST),
    "redirect-location-path-after-access": ("/locthree/x", HOST),
    "redirect-location-path": ("/locopen/x/y?q=1", HOST),
    "redirect-location-expression": ("/exprloc/a%20b?q=1", HOST),
    "redirect-htaccess": ("/sub/h/i?j=k", HOST),
    "redirect-htaccess-match": ("/sub/m-more", HOST),
    "redirect-htaccess-other-file": ("/sub/file.txt", HOST),
    # Hostile: a group the client controls becomes the whole target.
    "redirect-open-absolute": ("/go/https://evil.example/x", HOST),
    "redirect-open-scheme-relative": ("/go//evil.example/x", HOST),
    "redirect-open-bare-name": ("/go/evil.example", HOST),
    "redirect-open-encoded-slashes": ("/go/%2F%2Fevil.example", HOST),
    "redirect-crlf-in-path": ("/old/%0d%0aSet-Cookie:%20a=1", HOST),
    "redirect-crlf-in-query-group": ("/qs/%0d%0aSet-Cookie:%20a=1", HOST),
    "redirect-crlf-in-query": ("/old/x?%0d%0aSet-Cookie:%20a=1", HOST),
}


def observe(diff: Differential, server: Server, target: str, host: str) -> Any:
    mark = LogMark(server)
    method, _, path = target.rpartition(" ")
    method = method or "GET"
    answer = call(
        server, method, path, host.format(port=server.port), body=b"a=1" * (method == "POST")
    )
    if not isinstance(answer, Answer):
        return answer
    seen = view(answer, diff.masker(server))
    if answer.status == 200 and path.startswith(("/app", "/shadow")):
        # The echo app's environ is compared elsewhere; here only that the app answered.
        seen["body"] = "(the app answered)"
        seen["headers"].pop("content-length", None)
    mark.wait(lambda new: any(k.endswith("redirect-access.log") for k in new))
    new = mark.new()
    seen["access"] = [
        mask_port(line, server.port)
        for name, lines in new.items()
        if name.endswith("redirect-access.log")
        for line in lines
    ]
    # mod_alias's own error lines (a target that is no URL).
    errors = [
        mask_log_line(line)
        for name, lines in new.items()
        if name.endswith("redirect-error.log")
        for line in lines
        if "[alias:" in line or "[http:" in line
    ]
    if errors:
        seen["errors"] = errors
    return seen


@pytest.mark.parametrize("case", sorted(CASES))
def test_redirects_as_with_apache(pair: Differential, case: str) -> None:
    target, host = CASES[case]
    pair.check(case, lambda server: observe(pair, server, target, host))
