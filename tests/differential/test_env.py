"""mod_env beside Apache + mod_wsgi: SetEnv, UnsetEnv and PassEnv in the server, a
virtual host and <Location> sections, and what the app sees of them in embedded
and daemon mode (and after an ErrorDocument's internal redirect, REDIRECT_*)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.cases import call
from tests.differential.client import Answer
from tests.differential.compare import Differential, LogMark, mask_log_line
from tests.differential.conftest import topic
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

HOST = "env.test:{port}"
# The variables the site sets, and the request's own ones they are named after.
KEYS = (
    "SERVER_LEVEL",
    "LEVEL",
    "level",
    "VHOST_ONLY",
    "EMPTY",
    "GONE",
    "STATIC_ONLY",
    "FRONT",
    "DIFF_SITE",
    "HTTP_X_FROM_ENV",
    "HTTP_USER_AGENT",
    "REMOTE_ADDR",
    "QUERY_STRING",
    "PATH",
    "HTTPS",
    "wsgi.url_scheme",
)


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("env.conf", warm=[(HOST, "/embedded/"), (HOST, "/daemon/")])


CASES = {
    "env-vhost-embedded": "/embedded/x?q=1",
    "env-vhost-daemon": "/daemon/x?q=1",
    "env-location-embedded": "/embedded/sub/x",
    "env-location-daemon": "/daemon/sub/x",
    "env-nested-location": "/embedded/sub/deeper/x",
    "env-unset-and-set-in-one-section": "/embedded/same-scope",
    "env-https-variable": "/embedded/https",
    "env-error-document-redirect": "/static/missing.txt?from=static",
    "env-rewrite-internal-redirect": "/front/page?from=front",
    "env-rewrite-redirect-loop": "/front/loop",
}


def observe(diff: Differential, server: Server, target: str) -> Any:
    mark = LogMark(server)
    answer = call(server, "GET", target, HOST, [("User-Agent", "differential")])
    if not isinstance(answer, Answer):
        return answer
    seen: dict[str, Any] = {"status": answer.status}
    if answer.status == 200:
        environ = json.loads(answer.body)["environ"]
        seen["environ"] = {key: environ.get(key, "(absent)") for key in KEYS}
        # Whatever an internal redirect renamed, by name.
        seen["redirect"] = {k: v for k, v in environ.items() if k.startswith("REDIRECT_")}
    mark.wait(lambda new: any(k.endswith("env-access.log") for k in new))
    seen["errors"] = [
        mask_log_line(line)
        for name, lines in mark.new().items()
        if name.endswith("env-error.log")
        for line in lines
        if "[core:" in line
    ]
    return diff.masker(server).deep(seen)


@pytest.mark.parametrize("case", sorted(CASES))
def test_request_variables_as_with_apache(pair: Differential, case: str) -> None:
    pair.check(case, lambda server: observe(pair, server, CASES[case]))
