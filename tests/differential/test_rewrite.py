"""mod_rewrite beside Apache's: server-context rules in a virtual host, per-directory
rules in a <Directory> and in .htaccess files, the common uses, the flags, maps
and hostile requests (sites/rewrite.conf, apps/rewrite/).

Each case compares the answer (status, the compared headers: Location, Vary,
Set-Cookie, ...) and, where the echo app answers, what it sees of the rewrite:
the URL, the query string, SCRIPT_NAME/PATH_INFO, and the variables rewriting
and the internal redirect set (SCRIPT_URL, REDIRECT_URL, [E=] ones).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.cases import call, view
from tests.differential.client import Answer
from tests.differential.compare import Differential, LogMark
from tests.differential.conftest import topic
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

MAIN = "rewrite.test:{port}"
CANON = "canon.test:{port}"
WWW = "www.canon.test:{port}"
FC = "fc.test:{port}"
WP = "wp.test:{port}"
BOTH = "both.test:{port}"
LOOP = "loop.test:{port}"

# What the echo app's environ says about a rewrite.
SEEN = (
    "REQUEST_URI",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "SCRIPT_URL",
    "SCRIPT_URI",
    "REDIRECT_URL",
    "REDIRECT_STATUS",
    "REDIRECT_QUERY_STRING",
    "REDIRECT_SCRIPT_URL",
    "REDIRECT_SCRIPT_URI",
    "REDIRECT_FROM",
    "FROM",
    "UNSET_ME",
    "HTTP_AUTHORIZATION",
    "REDIRECT_HTTP_AUTHORIZATION",
)

# case: (host, target, extra request headers)
CASES: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "rewrite-http-to-https": (MAIN, "/secure/a%20b?x=1&y=%20", []),
    "rewrite-old-to-new-qsa": (MAIN, "/old/a/b?x=1", []),
    "rewrite-perm-qsa-merged": (MAIN, "/perm/p?x=2", []),
    "rewrite-trailing-question-mark-drops-query": (MAIN, "/drop/?x=1", []),
    "rewrite-qsd": (MAIN, "/discard/?x=1", []),
    "rewrite-seeother": (MAIN, "/seeother/", []),
    "rewrite-gone": (MAIN, "/gone", []),
    "rewrite-forbidden": (MAIN, "/forbidden", []),
    "rewrite-status-404": (MAIN, "/status404", []),
    "rewrite-map-hit-lowercased": (MAIN, "/page/ALPHA", []),
    "rewrite-map-second-key": (MAIN, "/page/beta", []),
    "rewrite-map-default": (MAIN, "/page/indented", []),
    "rewrite-pt-into-wsgiscriptalias": (MAIN, "/app/a/b?q=1", []),
    "rewrite-env-flag": (MAIN, "/env/alice", []),
    "rewrite-local-path-under-document-root": (MAIN, "/static/a.txt", []),
    "rewrite-b-flag-escapes-backreference": (MAIN, "/b/a%20b%26c", []),
    "rewrite-without-b-flag": (MAIN, "/nob/a%26b", []),
    "rewrite-ne-keeps-fragment": (MAIN, "/anchor/top", []),
    "rewrite-fragment-escaped": (MAIN, "/anchorx/top", []),
    "rewrite-n-flag-limit": (MAIN, "/loop/a", []),
    "rewrite-cookie": (MAIN, "/cookie", []),
    "rewrite-vary-from-condition": (MAIN, "/vary", [("X-Mode", "debug")]),
    "rewrite-vary-condition-false": (MAIN, "/vary", []),
    "rewrite-or-conditions-first": (MAIN, "/item?id=7", []),
    "rewrite-or-conditions-second": (MAIN, "/item?item=8", []),
    "rewrite-or-conditions-none": (MAIN, "/item?other=1", []),
    "rewrite-chain": (MAIN, "/chain/x", []),
    "rewrite-expr-condition": (MAIN, "/expr", [("X-Expr", "go-abc")]),
    "rewrite-expr-condition-false": (MAIN, "/expr", [("X-Expr", "stop")]),
    "rewrite-skip": (MAIN, "/skip", []),
    "rewrite-question-mark-after-a-literal-one": (MAIN, "/split/a%3Fb=1", []),
    "rewrite-unsafe-question-mark-refused": (MAIN, "/split2/a%3Fb=1", []),
    "rewrite-unsafe-question-mark-allowed": (MAIN, "/split3/a%3Fb=1", []),
    "rewrite-crlf-escaped-in-location": (MAIN, "/crlf/a%0D%0ASet-Cookie:%20x=1", []),
    "rewrite-backslash-open-redirect": (MAIN, "/go/%5Cevil.test/x", []),
    "rewrite-encoded-slash-refused": (MAIN, "/go/%2F%2Fevil.test", []),
    "rewrite-query-as-path-stays-here": (MAIN, "/next?//evil.test/x", []),
    "rewrite-query-as-url-leaves": (MAIN, "/next?http://evil.test/x", []),
    "rewrite-own-url-reduced": (MAIN, "/self/a.txt", []),
    "rewrite-other-host-implicit-redirect": (MAIN, "/elsewhere/x?y=1", []),
    "rewrite-type-flag-on-a-file": (MAIN, "/typed/a.txt", []),
    "rewrite-type-flag-on-an-app": (MAIN, "/typedapp/t", []),
    "rewrite-backreference-to-a-system-path": (MAIN, "/fs/etc/hostname", []),
    "rewrite-backreference-to-a-document": (MAIN, "/fs/files/a.txt", []),
    "rewrite-dot-segments-from-the-query": (MAIN, "/dl?../a.txt", []),
    "rewrite-dot-segments-above-the-root": (MAIN, "/dl?../../../../../../../../etc/hostname", []),
    "rewrite-dot-segments-pt": (MAIN, "/dlpt?../a.txt", []),
    "rewrite-dot-segments-pt-above-the-root": (
        MAIN,
        "/dlpt?../../../../../../../../etc/hostname",
        [],
    ),
    "rewrite-www-canonical": (CANON, "/p/q?x=1", []),
    "rewrite-www-already": (WWW, "/index.html", []),
    "rewrite-front-controller": (FC, "/blog/2024/post?x=1", []),
    "rewrite-front-controller-file": (FC, "/real.txt", []),
    "rewrite-front-controller-folder": (FC, "/sub/", []),
    "rewrite-front-controller-folder-no-slash": (FC, "/sub", []),
    "rewrite-front-controller-script-itself": (FC, "/index.wsgi/x", []),
    "rewrite-wordpress-permalink": (WP, "/2024/hello-world/?p=1", []),
    "rewrite-wordpress-file": (WP, "/readme.txt", []),
    "rewrite-wordpress-authorization": (WP, "/x", [("Authorization", "Bearer t0ken")]),
    "rewrite-htaccess-base-relative": (WP, "/blog/some/thing?x=1", []),
    "rewrite-htaccess-redirect-with-base": (WP, "/blog/moved/x", []),
    "rewrite-htaccess-result-decoded": (WP, "/blog/enc/x?%41b", []),
    "rewrite-htaccess-result-encoded-slash": (WP, "/blog/enc/x?a%2Fb", []),
    "rewrite-htaccess-result-above-root": (WP, "/blog/up", []),
    "rewrite-htaccess-in-an-alias": (WP, "/al/x", []),
    "rewrite-htaccess-in-an-alias-redirect": (WP, "/al/moved", []),
    "rewrite-server-then-directory-rules": (BOTH, "/srv/x?y=1", []),
    "rewrite-directory-rules-under-server-engine": (BOTH, "/other", []),
    "rewrite-redirect-status-guard": (LOOP, "/guarded/a/b?x=1", []),
    "rewrite-end-flag-stops-the-redirect": (LOOP, "/ended/a/b", []),
    "rewrite-internal-redirect-loop": (LOOP, "/endless/a", []),
}


# Cases whose [rewrite:error] line in the host's error log is compared too.
LOGGED = {
    "rewrite-n-flag-limit",
    "rewrite-unsafe-question-mark-refused",
}
_MESSAGE = re.compile(r"\[rewrite:(\w+)\] .*?\] (AH\d{5}: .*)$")


def _rewrite_lines(mark: LogMark) -> list[str]:
    found = []
    for name, lines in mark.new().items():
        for line in lines:
            m = _MESSAGE.search(line)
            if m and not name.endswith("access.log"):
                found.append(f"{m.group(1)}: {m.group(2)}")
    return found


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("rewrite.conf", warm=[(MAIN, "/index.html")])


def rewrite_view(diff: Differential, server: Server, case: str) -> Any:
    host, target, headers = CASES[case]
    mark = LogMark(server)
    answer = call(server, "GET", target, host, headers)
    masker = diff.masker(server)
    if case in LOGGED:
        mark.wait(lambda new: any("[rewrite:" in line for v in new.values() for line in v))
        return {"answer": view(answer, masker), "log": _rewrite_lines(mark)}
    if not isinstance(answer, Answer) or answer.header("content-type") != "application/json":
        return view(answer, masker)
    seen = view(answer, masker)
    env = json.loads(answer.body)["environ"]
    seen["body"] = masker.deep({k: env[k] for k in SEEN if k in env})
    seen["headers"].pop("content-length", None)  # the echo's length follows its environ
    return seen


@pytest.mark.parametrize("case", sorted(CASES))
def test_rewrite_as_in_apache(pair: Differential, case: str) -> None:
    pair.check(case, lambda server: rewrite_view(pair, server, case))
