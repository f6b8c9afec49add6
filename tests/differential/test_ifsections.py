"""<If>, <ElseIf> and <Else> beside Apache + mod_wsgi: the sections whose expression
holds are merged after the <Location>s, for each request, in both modes; a
header an expression read is in the response's Vary; an expression that fails
is false and logged (AH00039)."""

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

HOST = "if.test:{port}"
KEYS = ("WHERE", "MODE", "NESTED", "BROKEN")


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("ifsections.conf", warm=[(HOST, "/embedded/"), (HOST, "/daemon/")])


# case: (method and target, request headers)
CASES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "if-none-holds-embedded": ("GET /embedded/x", []),
    "if-host-level": ("GET /embedded/x?host-if=1", []),
    "if-chain-if-embedded": ("GET /embedded/chain/x", [("X-Mode", "a")]),
    "if-chain-if-daemon": ("GET /daemon/chain/x", [("X-Mode", "a")]),
    "if-chain-elseif": ("GET /embedded/chain/x", [("X-Mode", "b")]),
    "if-chain-else-nested": ("GET /embedded/chain/x", [("X-Mode", "c")]),
    "if-chain-else-nested-post": ("POST /daemon/chain/x", []),
    "if-after-later-location": ("GET /embedded/chain/later", [("X-Mode", "a")]),
    "if-location-and-host-if": ("GET /embedded/chain/x?host-if", [("X-Mode", "b")]),
    "if-evaluation-fails": ("GET /embedded/broken", []),
    "if-error-document": ("GET /files/missing.txt?custom", []),
    "if-error-document-not-chosen": ("GET /files/missing.txt?other", []),
}


def observe(diff: Differential, server: Server, target: str, headers: list[tuple[str, str]]) -> Any:
    mark = LogMark(server)
    method, _, path = target.partition(" ")
    body = b"x=1" if method == "POST" else b""
    answer = call(server, method, path, HOST, headers, body)
    if not isinstance(answer, Answer):
        return answer
    seen: dict[str, Any] = {"status": answer.status, "vary": answer.all("vary")}
    if answer.status == 200:
        environ = json.loads(answer.body)["environ"]
        seen["environ"] = {key: environ.get(key, "(absent)") for key in KEYS}
    else:
        seen["body"] = answer.body.decode("latin-1")
    mark.wait(lambda new: any(k.endswith("if-access.log") for k in new))
    errors = [
        mask_log_line(line)
        for name, lines in mark.new().items()
        if name.endswith("if-error.log")
        for line in lines
        if re.search(r"\[core:error\]", line)
    ]
    # Apache writes them again for each sub-request that walks the same sections
    # (PATH_TRANSLATED's); the lines themselves are what a reader of the log sees.
    seen["errors"] = sorted(set(errors))
    return diff.masker(server).deep(seen)


@pytest.mark.parametrize("case", sorted(CASES))
def test_if_sections_as_with_apache(pair: Differential, case: str) -> None:
    target, headers = CASES[case]
    pair.check(case, lambda server: observe(pair, server, target, headers))
