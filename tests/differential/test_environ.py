"""The environ the app sees, key by key, beside mod_wsgi's.

Values that change with every request (REMOTE_PORT, request ids and times)
count by their presence; the port and the temporary folder are masked. What
wsgihost gives differently on purpose, or lacks today, is in known.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.differential.cases import VOLATILE, call, echo_env, parse_json, view
from tests.differential.compare import Differential
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

HEADERS = [
    ("User-Agent", "differential/1.0"),
    ("Accept", "text/plain"),
    ("X-Forwarded-For", "192.0.2.1"),
    ("Cookie", "a=1; b=2"),
]

CASES = {
    # name: (host, target, headers)
    "environ-embedded": ("embedded.test:{port}", "/echo/some/path?a=1&b=%20x", HEADERS),
    "environ-daemon": ("daemon.test:{port}", "/echo/some/path?a=1&b=%20x", HEADERS),
    "environ-daemon-home": ("daemon.test:{port}", "/homed", HEADERS),
    # A Host without a port: mod_wsgi's SERVER_PORT and application group follow it.
    "environ-host-without-port": ("daemon.test", "/echo/", []),
    # Underscores in header names never become HTTP_* keys (they could spoof others).
    "environ-underscore-header": ("daemon.test:{port}", "/echo/", [("X_Forwarded_For", "1.2.3.4")]),
    "environ-encoded-path": ("daemon.test:{port}", "/echo/%7Euser/caf%C3%A9;p?q=%2F", []),
}


def environ_view(
    diff: Differential, server: Server, host: str, target: str, headers: list[tuple[str, str]]
) -> dict[str, Any]:
    answer = call(server, "GET", target, host, headers)
    masker = diff.masker(server)
    if isinstance(answer, dict) or answer.status != 200:
        return view(answer, masker)
    info = parse_json(answer.body)
    shapes = {k: shape(v) for k, v in info["environ"].items() if k in VOLATILE}
    return {
        "environ": echo_env(info, masker),
        "wsgi.version": info["version"],
        "volatile values' shapes": shapes,
    }


def shape(value: Any) -> str:
    """What a value that changes with every request looks like: its type, and a
    string's form (mod_wsgi's times are microseconds since the epoch, its counts
    ints, its request id Apache's 11-character log id)."""
    if not isinstance(value, str):
        return type(value).__name__
    for form, pattern in (
        ("microseconds", r"\d{16}"),
        ("number", r"\d+"),
        ("log id", r"[A-Za-z0-9+/]{11}"),
    ):
        if re.fullmatch(pattern, value):
            return f"str: {form}"
    return "str"


@pytest.mark.parametrize("case", sorted(CASES))
def test_environ_is_mod_wsgis(diff: Differential, case: str) -> None:
    host, target, headers = CASES[case]
    diff.check(case, lambda server: environ_view(diff, server, host, target, headers))
