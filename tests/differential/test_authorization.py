"""Credentials in request headers: ``Proxy-Authorization`` never reaches the app,
``Authorization`` only where ``WSGIPassAuthorization On`` says so."""

from __future__ import annotations

from typing import Any

import pytest

from tests.differential.cases import call, parse_json, view
from tests.differential.compare import Differential
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

CREDENTIALS = [
    ("Authorization", "Basic dXNlcjpwYXNz"),
    ("Proxy-Authorization", "Basic cHJveHk6c2VjcmV0"),
]
KEYS = ("HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION")

CASES = {
    "authorization-embedded-default": ("embedded.test:{port}", "/echo/"),
    "authorization-daemon-default": ("daemon.test:{port}", "/echo/"),
    "authorization-daemon-pass-on": ("daemon.test:{port}", "/auth/"),
}


def credentials_view(diff: Differential, server: Server, host: str, target: str) -> Any:
    answer = call(server, "GET", target, host, CREDENTIALS)
    if isinstance(answer, dict) or answer.status != 200:
        return view(answer, diff.masker(server))
    environ = parse_json(answer.body)["environ"]
    return {key: environ.get(key, "(absent)") for key in KEYS}


@pytest.mark.parametrize("case", sorted(CASES))
def test_credentials_reach_the_app_as_with_mod_wsgi(diff: Differential, case: str) -> None:
    host, target = CASES[case]
    diff.check(case, lambda server: credentials_view(diff, server, host, target))
