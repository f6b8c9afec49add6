"""Handler-mapped WSGI scripts, WSGIHandlerScript and WSGIDispatchScript, as mod_wsgi
serves them: which file is the script, SCRIPT_NAME and PATH_INFO, ExecCGI, daemon
mode, reloading a changed script, and the dispatch script's choices."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.cases import APACHE_NOTICE, call, mask_log_line
from tests.differential.client import Answer
from tests.differential.compare import Differential, LogMark
from tests.differential.conftest import topic
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

HOST = "handlers.test:{port}"


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("handlers.conf", warm=[(HOST, "/daemon/env.wsgi"), (HOST, "/dispatched")])


# case: (target, whether the error log is part of the observation)
CASES = {
    "handlers-set-script": ("/set/env.wsgi/a/b/?q=1", False),
    "handlers-set-subfolder": ("/set/sub/deeper.py", False),
    "handlers-set-missing": ("/set/missing.wsgi/x", True),
    "handlers-ext-script": ("/ext/env.wsgi/more", False),
    "handlers-ext-inner-extension": ("/ext/env.wsgi.bak", False),
    "handlers-ext-static-unknown-handler": ("/ext/page.txt", True),
    "handlers-server-status": ("/server-status", False),
    "handlers-noexec": ("/noexec/env.wsgi", True),
    "handlers-daemon-script": ("/daemon/env.wsgi/p", False),
    "handlers-handler-script": ("/files/note.txt/extra", False),
    "handlers-dispatch-default": ("/dispatched/x", False),
    "handlers-dispatch-group": ("/dispatched/x?group=other", False),
    "handlers-dispatch-global": ("/dispatched/x?group=other&app=%25%7BGLOBAL%7D", False),
    "handlers-dispatch-callable": ("/dispatched/x?callable=other", False),
    "handlers-dispatch-undefined-group": ("/dispatched/x?group=nosuch", True),
    "handlers-set-directory-no-slash": ("/set/sub", False),
    "handlers-set-directory": ("/set/sub/", True),
    "handlers-set-directory-index": ("/set/indexed/", False),
    "handlers-dispatch-bad-return": ("/dispatched/x?group=", False),
}


def _errors(mark: LogMark, diff: Differential, server: Server) -> list[str]:
    """The error-log lines the request left, masked, without Apache's own notices."""
    site = str(diff.tree.site)
    lines = []
    for name, new in mark.new().items():
        if name.endswith("access.log") or name == "<standard output>":
            continue
        for line in new:
            if APACHE_NOTICE.search(line):
                continue
            lines.append(mask_log_line(line).replace(site, "<SITE>"))
    return lines


def observe(diff: Differential, server: Server, target: str, errors: bool) -> Any:
    mark = LogMark(server)
    answer = call(server, "GET", target, HOST)
    if not isinstance(answer, Answer):
        return answer
    seen: dict[str, Any] = {"status": answer.status}
    if answer.status == 200:
        kind = answer.header("content-type") or ""
        body = answer.body.decode("latin-1")
        seen["type"] = kind
        seen["body"] = json.loads(body) if kind.startswith("application/json") else body
        seen = diff.masker(server).deep(seen)
    if errors:
        mark.wait(lambda new: any(not k.endswith("access.log") for k in new))
        seen["errors"] = _errors(mark, diff, server)
    return seen


@pytest.mark.parametrize("case", sorted(CASES))
def test_handler_mapped_scripts_as_with_mod_wsgi(pair: Differential, case: str) -> None:
    target, errors = CASES[case]
    pair.check(case, lambda server: observe(pair, server, target, errors))


def _version(server: Server) -> str:
    answer = call(server, "GET", "/daemon/version.wsgi", HOST)
    assert isinstance(answer, Answer), answer
    return f"{answer.status} {answer.body.decode().strip()}"


def test_a_changed_script_is_served_anew(pair: Differential) -> None:
    """Touching a handler-mapped script in a daemon group: the next request (once the
    change is seen) gets the new code, on both servers."""
    script = pair.tree.site / "apps" / "handlers" / "daemon" / "version.wsgi"
    original = script.read_text()

    def observe_reload(server: Server) -> list[str]:
        seen = [_version(server)]
        try:
            script.write_text(original.replace('b"one"', 'b"two"'))
            deadline = time.monotonic() + 10
            while _version(server) != "200 two" and time.monotonic() < deadline:
                time.sleep(0.2)
            seen.append(_version(server))
        finally:
            script.write_text(original)
            # Back to the first version, so the other server starts where this one did.
            deadline = time.monotonic() + 10
            while _version(server) != "200 one" and time.monotonic() < deadline:
                time.sleep(0.2)
        return seen

    _, wsgihost = pair.check("handlers-daemon-reload", observe_reload)
    assert wsgihost == ["200 one", "200 two"]
