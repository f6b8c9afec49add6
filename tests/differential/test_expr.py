"""Apache's expressions and mod_macro beside Apache + mod_wsgi: ``Require expr`` with
string, integer and regex tests (captures read as $1), -ipmatch and -R, functions,
file tests and an expression that fails; ``<If>``/``<ElseIf>``/``<Else>`` around
``Require``; virtual hosts a ``<Macro>`` generates with ``Use``. What is compared:
the status, which host and app answered, the Vary header, and authz_core's
error-log lines."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.cases import call
from tests.differential.client import Answer
from tests.differential.compare import Differential, LogMark, mask_log_line
from tests.differential.conftest import topic
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

OURS = re.compile(r"\[(authz_core|core):")


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("expr.conf", warm=[("expr.test:{port}", "/open/")])


# case: (host, method and target, request headers)
CASES: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "expr-macro-vhost-one": ("m1.expr.test", "/one/x", []),
    "expr-macro-vhost-two": ("m2.expr.test", "/two/y", []),
    "expr-macro-vhost-not-other-mount": ("m1.expr.test", "/two/y", []),
    "expr-host-granted": ("expr.test", "/host/a?ok", []),
    "expr-host-query-denied": ("expr.test", "/host/a?deny=1", []),
    "expr-host-alias-denied": ("deny.expr.test", "/host/a", []),
    "expr-http-host-has-the-port": ("expr.test", "/hostport/a", []),
    "expr-regex-capture-small": ("expr.test", "/regex/42", []),
    "expr-regex-capture-large": ("expr.test", "/regex/420", []),
    "expr-regex-no-match": ("expr.test", "/regex/abc", []),
    "expr-header-token": ("expr.test", "/header/h", [("X-Token", "b")]),
    "expr-header-agent": ("expr.test", "/header/h", [("User-Agent", "A Friendly Bot")]),
    "expr-header-neither": ("expr.test", "/header/h", [("X-Token", "c")]),
    "expr-ipmatch": ("expr.test", "/net/n", []),
    "expr-md5": ("expr.test", "/fn/f?abc", []),
    "expr-unescape": ("expr.test", "/fn/f?a%20b", []),
    "expr-functions-false": ("expr.test", "/fn/f?zzz", []),
    "expr-file-tests": ("expr.test", "/file/f", []),
    "expr-evaluation-fails": ("expr.test", "/broken/b", []),
    "expr-method-get": ("expr.test", "/method/m", []),
    "expr-method-post": ("expr.test", "POST /method/m", []),
    "expr-if-else-granted": ("expr.test", "/cond/c", []),
    "expr-if-host-denied": ("deny.expr.test", "/cond/c", []),
    "expr-elseif-denied": ("expr.test", "/cond/c?shut", []),
}


def observe(diff: Differential, server: Server, case: str) -> Any:
    host, target, headers = CASES[case]
    method, _, path = target.rpartition(" ")
    mark = LogMark(server)
    answer = call(server, method or "GET", path, f"{host}:{{port}}", headers, b"")
    if not isinstance(answer, Answer):
        return answer
    seen: dict[str, Any] = {"status": answer.status, "vary": answer.header("vary")}
    if answer.status == 200:
        environ = json.loads(answer.body)["environ"]
        seen["app"] = {k: environ.get(k) for k in ("SERVER_NAME", "SCRIPT_NAME", "PATH_INFO")}
    mark.wait(lambda new: any(k.endswith("expr-access.log") for k in new))
    site = str(diff.tree.site)
    seen["errors"] = [
        mask_log_line(line).replace(site, "<SITE>")
        for name, new in mark.new().items()
        if name.endswith("expr-error.log")
        for line in new
        if OURS.search(line)
    ]
    return seen


@pytest.mark.parametrize("case", sorted(CASES))
def test_expressions_as_with_apache(pair: Differential, case: str) -> None:
    pair.check(case, lambda server: observe(pair, server, case))
