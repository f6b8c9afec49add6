"""mod_wsgi's options beside Apache + mod_wsgi 4.9: trusted proxy headers from a
trusted, an untrusted and any peer (embedded and daemon mode), WSGIMapHEADToGET,
WSGIRestrictStdin and the default stdout and signal rules, and %{ENV:NAME}
application groups (sites/wsgi_options.conf)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.cases import call, parse_json, view
from tests.differential.client import Answer
from tests.differential.compare import Differential, LogMark
from tests.differential.conftest import topic
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

# The environment both servers start with: what %{ENV:NAME} reads.
ENVIRONMENT = {"DIFF_OPTIONS_GROUP": "chosen-group", "DIFF_OPTIONS_GLOBAL": "%{GLOBAL}"}


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENVIRONMENT.items():
            patch.setenv(name, value)
        patch.delenv("DIFF_OPTIONS_UNSET", raising=False)
        yield from topic(
            "wsgi_options.conf",
            warm=[("trusted.test:{port}", "/daemon/"), ("probe.test:{port}", "/daemon/")],
        )


# What a proxy in front would say, and a client could make up.
FORWARDED = [
    ("X-Forwarded-For", "203.0.113.9, 10.1.2.3"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-SSL", "on"),
    ("X-Forwarded-Host", "www.example.com:8443"),
    ("X-Forwarded-Server", "www.example.com"),
    ("X-Forwarded-Port", "8443"),
    ("X-Script-Name", "/mounted"),
    ("X-Real-IP", "198.51.100.7"),
    ("X-Client-IP", "198.51.100.8"),
]

# The keys the proxy headers may change, and every X-* header left.
KEYS = (
    "REMOTE_ADDR",
    "wsgi.url_scheme",
    "HTTPS",
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "SCRIPT_NAME",
    "PATH_INFO",
    "REQUEST_SCHEME",
    "mod_wsgi.mount_point",
    "mod_wsgi.script_name",
    "mod_wsgi.application_group",
)

PROXY_CASES = {
    f"options-{host}-{mode}": (f"{host}.test:{{port}}", f"/{mode}/path")
    for host in ("trusted", "untrusted", "anyone")
    for mode in ("embedded", "daemon")
}


def proxy_view(diff: Differential, server: Server, host: str, target: str) -> Any:
    answer = call(server, "GET", target, host, FORWARDED)
    masker = diff.masker(server)
    if isinstance(answer, dict) or answer.status != 200:
        return view(answer, masker)
    env = parse_json(answer.body)["environ"]
    seen = {k: env.get(k, "<absent>") for k in KEYS}
    seen.update({k: v for k, v in env.items() if k.startswith("HTTP_X_")})
    return masker.deep(seen)


@pytest.mark.parametrize("case", sorted(PROXY_CASES))
def test_trusted_proxy_headers_as_with_mod_wsgi(pair: Differential, case: str) -> None:
    host, target = PROXY_CASES[case]
    pair.check(case, lambda server: proxy_view(pair, server, host, target))


def probe(server: Server, method: str, target: str) -> Any:
    answer = call(server, method, target, "probe.test:{port}")
    if not isinstance(answer, Answer):
        return answer
    seen: dict[str, Any] = {
        "status": answer.status,
        "method seen by the app": answer.header("x-request-method"),
    }
    if method != "HEAD":
        seen["body"] = parse_json(answer.body)
    return seen


HEAD_CASES = {
    "options-head-auto-daemon": "/daemon/",
    "options-head-auto-embedded": "/embedded/",
    "options-head-on": "/head-on/",
    "options-head-off": "/head-off/",
}


@pytest.mark.parametrize("case", sorted(HEAD_CASES))
def test_head_mapping_as_with_mod_wsgi(pair: Differential, case: str) -> None:
    target = HEAD_CASES[case]
    _, got = pair.check(case, lambda server: probe(server, "HEAD", target))
    assert got["method seen by the app"] == ("GET" if case == "options-head-on" else "HEAD")


@pytest.mark.parametrize("mode", ["embedded", "daemon"])
def test_restricted_stdin(pair: Differential, mode: str) -> None:
    _, got = pair.check(
        f"options-stdin-{mode}", lambda server: probe(server, "GET", f"/{mode}/stdin")
    )
    assert got["body"] == {"error": "OSError: sys.stdin access restricted by mod_wsgi"}


def _logged(mark: LogMark, text: str) -> bool:
    """Whether a log of the server (any of them) got a line with ``text``."""

    def found(new: dict[str, list[str]]) -> bool:
        return any(text in line for lines in new.values() for line in lines)

    mark.wait(found)
    return found(mark.new())


@pytest.mark.parametrize("mode", ["embedded", "daemon"])
def test_stdout_goes_to_the_error_log(pair: Differential, mode: str) -> None:
    def observe(server: Server) -> Any:
        mark = LogMark(server)
        seen = probe(server, "GET", f"/{mode}/stdout")
        seen["logged"] = _logged(mark, "probe: printed to sys.stdout")
        return seen

    _, got = pair.check(f"options-stdout-{mode}", observe)
    assert got["body"] == {"result": "printed"} and got["logged"]


@pytest.mark.parametrize("mode", ["embedded", "daemon"])
def test_signal_registration_is_ignored_with_a_warning(pair: Differential, mode: str) -> None:
    def observe(server: Server) -> Any:
        mark = LogMark(server)
        seen = probe(server, "GET", f"/{mode}/signal")
        seen["logged"] = _logged(mark, "Callback registration for signal 12 ignored.")
        return seen

    _, got = pair.check(f"options-signal-{mode}", observe)
    assert got["body"] == {"result": True} and got["logged"]


GROUP_CASES = {
    "options-env-group-daemon": ("/chosen/", "chosen-group"),
    "options-env-group-global": ("/global/", ""),
    "options-env-group-unset": ("/unset/", "%{ENV:DIFF_OPTIONS_UNSET}"),
}


@pytest.mark.parametrize("case", sorted(GROUP_CASES))
def test_env_application_groups(pair: Differential, case: str) -> None:
    target, group = GROUP_CASES[case]

    def observe(server: Server) -> Any:
        answer = call(server, "GET", target, "groups.test:{port}")
        if not isinstance(answer, Answer) or answer.status != 200:
            return view(answer, pair.masker(server))
        env = parse_json(answer.body)["environ"]
        return {k: env.get(k) for k in ("mod_wsgi.application_group", "mod_wsgi.process_group")}

    _, got = pair.check(case, observe)
    assert got["mod_wsgi.application_group"] == group
    assert os.environ.get("DIFF_OPTIONS_UNSET") is None
