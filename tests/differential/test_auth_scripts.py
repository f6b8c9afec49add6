"""Access control beside Apache + mod_wsgi: Require by address (ip, local, host)
and by user (valid-user, user, wsgi-group), Basic authentication through
mod_wsgi's WSGIAuthUserScript and WSGIAuthGroupScript, and WSGIAccessScript:
the answers, what the app and the scripts see, the error-log lines and the
access log's %u."""

from __future__ import annotations

import base64
import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.cases import call
from tests.differential.client import Answer
from tests.differential.compare import Differential, LogMark, mask_log_line
from tests.differential.conftest import topic
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

HOST = "auth.test:{port}"
# The error-log lines of the modules this topic is about.
OURS = re.compile(r"\[(auth_basic|authz_core|authz_host|authn_core|wsgi|core):")


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("auth.conf", warm=[(HOST, "/public/"), (HOST, "/gated/")])


def basic(user: str, password: str) -> tuple[str, str]:
    return ("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())


# case: (target, request headers, whether the logs are part of the observation)
CASES: dict[str, tuple[str, list[tuple[str, str]], bool]] = {
    "auth-no-credentials": ("/private/a", [], True),
    "auth-right-password": ("/private/a?x=1", [basic("alice", "secret")], True),
    "auth-wrong-password": ("/private/b", [basic("alice", "nope")], True),
    "auth-unknown-user": ("/private/c", [basic("mallory", "x")], True),
    "auth-script-raises": ("/private/d", [basic("boom", "x")], True),
    "auth-other-scheme": ("/private/e", [("Authorization", "Bearer abc")], True),
    "auth-daemon-right-password": ("/daemon/f", [basic("bob", "hunter2")], True),
    "auth-group-member": ("/staff/g", [basic("alice", "secret")], False),
    "auth-group-member-bytes": ("/staff/g", [basic("bob", "hunter2")], False),
    "auth-group-not-member": ("/staff/h", [basic("dave", "pw")], True),
    "auth-require-user-other": ("/alice/i", [basic("bob", "hunter2")], True),
    "auth-require-user-match": ("/alice/i", [basic("alice", "secret")], False),
    "auth-access-script-allows": ("/gated/j", [], False),
    "auth-access-script-denies": ("/gated/k", [("X-Let-Me-In", "no")], True),
    "auth-credentials-not-needed": ("/public/l", [basic("alice", "secret")], True),
    "auth-require-local": ("/local/m", [], False),
    "auth-require-ip-other": ("/ip-other/n", [], True),
    "auth-require-ip-partial": ("/ip-ours/o", [], False),
    "auth-valid-user-without-authtype": ("/no-type/p", [basic("alice", "secret")], True),
    "auth-head-no-credentials": ("HEAD /private/a", [], True),
    "auth-post-no-credentials": ("POST /private/a", [], True),
    "auth-script-returns-nonsense": ("/private/y", [basic("weird", "x")], True),
    "auth-no-group-script": ("/no-group-script/z", [basic("alice", "secret")], True),
    "auth-require-host-other": ("/host-other/a", [], True),
    "auth-empty-user": ("/private/v", [("Authorization", "Basic Og==")], True),
    "auth-bad-base64": ("/private/w", [("Authorization", "Basic !!!")], True),
    "auth-no-authname": ("/no-name/x", [basic("alice", "secret")], True),
    "auth-static-no-credentials": ("/files/digits.txt", [], True),
    "auth-static-right-password": ("/files/digits.txt", [basic("alice", "secret")], True),
    "auth-script-environ": (
        "/private/q/r?s=t",
        [basic("environ", "x"), ("X-Extra", "1")],
        False,
    ),
}


def _logs(mark: LogMark, diff: Differential) -> dict[str, list[str]]:
    site = str(diff.tree.site)
    seen: dict[str, list[str]] = {"errors": [], "access": []}
    for name, new in mark.new().items():
        if name.endswith("auth-access.log"):
            seen["access"] += new
            continue
        # The virtual host's log; mod_wsgi's configuration complaints go to the
        # main server's.
        key = "errors" if name.endswith("auth-error.log") else "server errors"
        if name.endswith("error.log"):
            lines = [mask_log_line(line).replace(site, "<SITE>") for line in new]
            if any(OURS.search(line) for line in lines):
                seen.setdefault(key, [])
                seen[key] += [line for line in lines if OURS.search(line)]
    return seen


def observe(
    diff: Differential, server: Server, target: str, headers: list[tuple[str, str]], logs: bool
) -> Any:
    mark = LogMark(server)
    method, _, path = target.rpartition(" ")
    body = b"a=1" if method == "POST" else b""
    answer = call(server, method or "GET", path, HOST, headers, body)
    if not isinstance(answer, Answer):
        return answer
    seen: dict[str, Any] = {"status": answer.status}
    if answer.status == 401:
        seen["challenge"] = answer.header("www-authenticate")
        seen["body"] = answer.body.decode("latin-1")
    if answer.status == 200 and path.startswith("/files/"):
        seen["body"] = answer.body.decode("latin-1")
    elif answer.status == 200:
        environ = json.loads(answer.body)["environ"]
        seen["environ"] = {
            key: environ.get(key, "(absent)")
            for key in ("REMOTE_USER", "AUTH_TYPE", "HTTP_AUTHORIZATION")
        }
        seen = diff.masker(server).deep(seen)
    # Every case waits for its access-log line, so none spills into the next one.
    mark.wait(lambda new: any(k.endswith("auth-access.log") for k in new))
    if logs:
        seen["logs"] = _logs(mark, diff)
    return seen


@pytest.mark.parametrize("case", sorted(CASES))
def test_access_control_as_with_apache(pair: Differential, case: str) -> None:
    target, headers, logs = CASES[case]
    pair.check(case, lambda server: observe(pair, server, target, headers, logs))


def _localhost_resolves() -> bool:
    try:
        name = socket.gethostbyaddr("127.0.0.1")[0]
        return name == "localhost" and "127.0.0.1" in socket.gethostbyname_ex(name)[2]
    except OSError:
        return False


def test_require_host_as_with_apache(pair: Differential) -> None:
    """127.0.0.1 -> localhost -> 127.0.0.1 on this machine: ``Require host localhost`` lets
    the test client in, on both servers."""
    if not _localhost_resolves():
        pytest.fail("this machine does not resolve 127.0.0.1 to localhost and back")
    _, wsgihost = pair.check(
        "auth-require-host", lambda server: observe(pair, server, "/host/u", [], False)
    )
    assert wsgihost["status"] == 200
