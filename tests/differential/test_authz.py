"""Authorization beside Apache + mod_wsgi: <RequireAll>, <RequireAny> and
<RequireNone> nested, ``Require not`` inside <RequireAll>, ``Require env`` with
SetEnvIf, a <Location>'s Require over a <Directory>'s and AuthMerging, for clients at
127.0.0.1 and 127.0.0.2: the answers, the access log's user and status, and
the error-log lines of the access modules."""

from __future__ import annotations

import base64
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

HOST = "authz.test:{port}"
OURS = re.compile(r"\[(auth_basic|authz_core|authz_host|authn_core|access_compat|wsgi):")
OTHER = "127.0.0.2"
# The shared masking knows 127.0.0.1's client ports only.
CLIENT_PORT = re.compile(r"(\[client 127\.0\.0\.\d+):\d+\]")


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("authz.conf", warm=[(HOST, "/loc-over-dir/")])


def basic(user: str, password: str) -> tuple[str, str]:
    return ("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())


# case: ("[METHOD ]path", request headers, client address)
CASES: dict[str, tuple[str, list[tuple[str, str]], str]] = {
    "authz-directory-denies": ("/dir-only/a", [], "127.0.0.1"),
    "authz-location-over-directory": ("/loc-over-dir/a", [], "127.0.0.1"),
    "authz-not-ip-other-client": ("/not-ip/a", [], "127.0.0.1"),
    "authz-not-ip-excluded-client": ("/not-ip/a", [], OTHER),
    "authz-none-neither": ("/none/a", [], "127.0.0.1"),
    "authz-none-address": ("/none/a", [], OTHER),
    "authz-none-env": ("/none/a", [("X-Pass", "yes")], "127.0.0.1"),
    "authz-env-set": ("/env/a", [("X-Pass", "yes")], "127.0.0.1"),
    "authz-env-unset": ("/env/a", [("X-Pass", "no")], "127.0.0.1"),
    "authz-nested-address": ("/nested/a", [], OTHER),
    "authz-nested-no-user": ("/nested/a", [], "127.0.0.1"),
    "authz-nested-user": ("/nested/a", [basic("alice", "secret")], "127.0.0.1"),
    "authz-nested-excluded-user": ("/nested/a", [basic("bob", "hunter2")], "127.0.0.1"),
    "authz-merge-and-both": ("/merge/and/a", [("X-Pass", "yes")], "127.0.0.1"),
    "authz-merge-and-one": ("/merge/and/a", [], "127.0.0.1"),
    "authz-merge-or-env": ("/merge/or/a", [("X-Pass", "yes")], OTHER),
    "authz-merge-or-neither": ("/merge/or/a", [], OTHER),
    "authz-merge-off-nothing-required": ("/merge/off/a", [], OTHER),
    "authz-merge-replaced": ("/merge/a", [], OTHER),
    "authz-merge-directory-or-address": ("/dir-or/a", [], OTHER),
    "authz-merge-directory-or-denied": ("/dir-or/a", [], "127.0.0.1"),
    "authz-limit-except-get": ("/limit-except/a", [], "127.0.0.1"),
    "authz-limit-except-head": ("HEAD /limit-except/a", [], "127.0.0.1"),
    "authz-limit-except-post": ("POST /limit-except/a", [], "127.0.0.1"),
    "authz-limit-except-post-user": (
        "POST /limit-except/a",
        [basic("alice", "secret")],
        "127.0.0.1",
    ),
    "authz-limit-get": ("/limit-post/a", [], "127.0.0.1"),
    "authz-limit-post": ("POST /limit-post/a", [], "127.0.0.1"),
    "authz-limit-delete": ("DELETE /limit-post/a", [], OTHER),
    "authz-limit-put": ("PUT /limit-post/a", [], OTHER),
    "authz-limit-in-any-post": ("POST /limit-any/a", [], "127.0.0.1"),
    "authz-compat-deny-allow-both": ("/deny-allow/a", [], OTHER),
    "authz-compat-deny-allow-denied": ("/deny-allow/a", [], "127.0.0.1"),
    "authz-compat-allow-deny-both": ("/allow-deny/a", [], OTHER),
    "authz-compat-allow-deny-allowed": ("/allow-deny/a", [], "127.0.0.1"),
    "authz-satisfy-any-address": ("/satisfy-any/a", [], OTHER),
    "authz-satisfy-any-no-user": ("/satisfy-any/a", [], "127.0.0.1"),
    "authz-satisfy-any-user": ("/satisfy-any/a", [basic("alice", "secret")], "127.0.0.1"),
    "authz-satisfy-any-wrong-password": ("/satisfy-any/a", [basic("alice", "x")], "127.0.0.1"),
    "authz-compat-env-set": ("/compat-env/a", [("X-Pass", "yes")], "127.0.0.1"),
    "authz-compat-env-unset": ("/compat-env/a", [], "127.0.0.1"),
    "authz-compat-limit-get": ("/limit-compat/a", [], "127.0.0.1"),
    "authz-compat-limit-post-denied": ("POST /limit-compat/a", [], "127.0.0.1"),
    "authz-compat-limit-post-allowed": ("POST /limit-compat/a", [], OTHER),
}


def observe(
    diff: Differential, server: Server, target: str, headers: list[tuple[str, str]], source: str
) -> Any:
    mark = LogMark(server)
    method, _, path = target.rpartition(" ")
    answer = call(server, method or "GET", path, HOST, headers, source=source)
    if not isinstance(answer, Answer):
        return answer
    seen: dict[str, Any] = {"status": answer.status}
    if answer.status == 401:
        seen["challenge"] = answer.header("www-authenticate")
    if answer.status == 200 and method != "HEAD":
        seen["body"] = answer.body.decode("latin-1")
    mark.wait(lambda new: any(k.endswith("authz-access.log") for k in new))
    logs: dict[str, list[str]] = {"access": [], "errors": []}
    for name, new in mark.new().items():
        if name.endswith("authz-access.log"):
            logs["access"] += new
        elif name.endswith("authz-error.log"):
            site = str(diff.tree.site)
            lines = [
                CLIENT_PORT.sub(r"\1:<CLIENT-PORT>]", mask_log_line(line)).replace(site, "<SITE>")
                for line in new
            ]
            logs["errors"] += [line for line in lines if OURS.search(line)]
    seen["logs"] = logs
    return seen


@pytest.mark.parametrize("case", sorted(CASES))
def test_authorization_as_with_apache(pair: Differential, case: str) -> None:
    path, headers, source = CASES[case]
    pair.check(case, lambda server: observe(pair, server, path, headers, source))
