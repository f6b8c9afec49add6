"""mod_setenvif beside Apache + mod_wsgi: SetEnvIf, SetEnvIfNoCase, BrowserMatch,
BrowserMatchNoCase and SetEnvIfExpr on request headers (by name and by a regex
of names), the special attributes, earlier variables and $N captures, at
server, virtual-host and section level; the variables as the app sees them in
both modes and as ``Header ... env=`` sees them; Debian's setenvif.conf."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.cases import call
from tests.differential.client import Answer
from tests.differential.compare import Differential
from tests.differential.conftest import topic
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

HOST = "setenvif.test:{port}"
# The variables the site's lines may set (Debian's setenvif.conf's among them).
VARIABLES = [
    *("MOBILE", "OLDIE", "FROM", "ADDR_SEEN", "SERVER_SEEN", "METHOD_SEEN", "PROTO_SEEN"),
    *("URI_SEEN", "TOKEN", "CHAIN", "NOT_SET", "NOKEEP", "CASELESS", "SPECIAL", "VIA_DIR"),
    *("REGEX_HEADER", "nokeepalive", "downgrade-1.0", "force-response-1.0"),
    *("redirect-carefully", "ssl-unclean-shutdown"),
]


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("setenvif.conf", warm=[(HOST, "/emb/x"), (HOST, "/dmn/x")])


def observe(server: Server, target: str, headers: list[tuple[str, str]], version: str) -> Any:
    method, _, path = target.rpartition(" ")
    body = b"a=1" if method == "POST" else b""
    answer = call(
        server, method or "GET", path, HOST.format(port=server.port), headers, body, version
    )
    if not isinstance(answer, Answer):
        return answer
    environ = json.loads(answer.body) if answer.status == 200 else {}
    return {
        "status": answer.status,
        "variables": {k: environ.get(k, "(unset)") for k in VARIABLES},
        "x-mobile": answer.all("x-mobile"),
        "x-old-ie": answer.all("x-old-ie"),
        # nokeepalive (Debian's line for Mozilla/2) closes the connection after the answer.
        "connection closed": answer.header("connection") == "close",
    }


UA = "User-Agent"
CASES: dict[str, tuple[str, list[tuple[str, str]], str]] = {}
for mode in ("emb", "dmn"):
    CASES |= {
        f"setenvif-{mode}-plain": (f"/{mode}/x", [], "HTTP/1.1"),
        f"setenvif-{mode}-mobile": (f"/{mode}/x", [(UA, "Some MOBILE Browser")], "HTTP/1.1"),
        f"setenvif-{mode}-old-ie": (
            f"/{mode}/x",
            [(UA, "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)")],
            "HTTP/1.1",
        ),
        f"setenvif-{mode}-curl-post-json": (
            f"POST /{mode}/data.json",
            [(UA, "curl/8.5.0")],
            "HTTP/1.1",
        ),
        f"setenvif-{mode}-http10-special": (f"/{mode}/special", [], "HTTP/1.0"),
        f"setenvif-{mode}-header-regex-and-chain": (
            f"/{mode}/x",
            [("X-Token-A", "zz"), ("X-Tok-B", "ab"), ("X-None", "")],
            "HTTP/1.1",
        ),
        f"setenvif-{mode}-unset-by-later-line": (
            f"/{mode}/x",
            [(UA, "mobile"), ("X-Keep", "no")],
            "HTTP/1.1",
        ),
        f"setenvif-{mode}-section-level": (
            f"/{mode}/dir/y",
            [(UA, "Mozilla/5.0 Mobile"), ("X-Regex-Header", "seen")],
            "HTTP/1.1",
        ),
        f"setenvif-{mode}-expr": (f"/{mode}/x", [("X-Case", "UPPER")], "HTTP/1.1"),
        f"setenvif-{mode}-expr-captures": (f"/{mode}/x", [("X-Ver", "v42")], "HTTP/1.1"),
        f"setenvif-{mode}-expr-no-regex": (f"/{mode}/x", [("X-Lit", "y")], "HTTP/1.1"),
    }
CASES |= {
    # Debian's setenvif.conf: the old browsers it names.
    "setenvif-debian-mozilla2": ("/emb/x", [(UA, "Mozilla/2.02Gold (Win95; I)")], "HTTP/1.1"),
    "setenvif-debian-msie4b2": (
        "/emb/x",
        [(UA, "Mozilla/4.0 (compatible; MSIE 4.0b2; Windows 95)")],
        "HTTP/1.0",
    ),
    "setenvif-debian-webdav": ("/emb/x", [(UA, "WebDAVFS/1.2 (01208000) Darwin")], "HTTP/1.1"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_setenvif_as_with_apache(pair: Differential, case: str) -> None:
    target, headers, version = CASES[case]
    pair.check(case, lambda server: observe(server, target, headers, version))
