"""Basic authentication from password and group files beside Apache: mod_authn_file
with each format Debian's htpasswd writes (DES crypt too, and plain text that looks
like it), mod_authz_groupfile's Require group, AuthBasicAuthoritative Off, and what
clients send wrong: the answers, the user the app sees, and the error-log lines."""

from __future__ import annotations

import base64
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

HOST = "authn.test:{port}"
OURS = re.compile(r"\[(auth_basic|authn_file|authz_core|authz_groupfile|authn_core|core):")


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("authn_file.conf", warm=[(HOST, "/public/")])


def basic(user: bytes, password: bytes) -> tuple[str, str]:
    return ("Authorization", "Basic " + base64.b64encode(user + b":" + password).decode())


CASES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "authn-file-no-credentials": ("/private/a", []),
    "authn-file-bcrypt": ("/private/b", [basic(b"bee", b"b-pw")]),
    "authn-file-apr1": ("/private/c", [basic(b"md5", b"m-pw")]),
    "authn-file-sha": ("/private/d", [basic(b"sha", b"s-pw")]),
    "authn-file-plain": ("/private/e", [basic(b"plain", b"p-pw")]),
    "authn-file-des": ("/private/des", [basic(b"des", b"d-pw")]),
    "authn-file-des-wrong": ("/private/des2", [basic(b"des", b"d-pX")]),
    # DES counts 8 bytes: the entry is eight8ch-long's.
    "authn-file-des-eight-bytes": ("/private/des3", [basic(b"des8", b"eight8ch-other")]),
    # Plain text of 13 characters of ./0-9A-Za-z: a DES hash to crypt(3).
    "authn-file-plain-like-des": ("/private/des4", [basic(b"plaindes", b"s3cretpass123")]),
    "authn-file-sha512-crypt": ("/private/e2", [basic(b"sha512", b"x-pw")]),
    "authn-file-sha512-crypt-wrong": ("/private/e3", [basic(b"sha512", b"x-pX")]),
    "authn-file-bcrypt-wrong": ("/private/f", [basic(b"bee", b"b-pX")]),
    "authn-file-apr1-wrong": ("/private/g", [basic(b"md5", b"m-pX")]),
    "authn-file-sha-wrong": ("/private/h", [basic(b"sha", b"")]),
    "authn-file-unknown-user": ("/private/i", [basic(b"nobody", b"x")]),
    "authn-file-malformed-line-user": ("/private/j", [basic(b"not a valid line", b"")]),
    "authn-file-latin1-password": ("/private/k", [basic(b"latin", "été".encode("latin-1"))]),
    "authn-file-utf8-password": ("/private/l", [basic(b"utf8", "été".encode())]),
    "authn-file-utf8-as-latin1": ("/private/m", [basic(b"utf8", "été".encode("latin-1"))]),
    "authn-file-bad-base64": ("/private/n", [("Authorization", "Basic !!!")]),
    "authn-file-no-colon": ("/private/o", [("Authorization", "Basic YmVl")]),
    "authn-file-other-scheme": ("/private/p", [("Authorization", "Digest x=1")]),
    "authn-file-huge-header": ("/private/q", [("Authorization", "Basic " + "QUFB" * 2500)]),
    "authn-file-group-member": ("/staff/r", [basic(b"sha", b"s-pw")]),
    "authn-file-group-other": ("/staff/s", [basic(b"bee", b"b-pw")]),
    "authn-file-group-none": ("/staff/t", [basic(b"utf8", "été".encode())]),
    "authn-file-missing-file": ("/nofile/u", [basic(b"bee", b"b-pw")]),
    "authn-file-missing-group-file": ("/nogroups/v", [basic(b"sha", b"s-pw")]),
    "authn-file-lenient-unknown": ("/lenient/w", [basic(b"nobody", b"x")]),
    "authn-file-lenient-wrong": ("/lenient/x", [basic(b"md5", b"x")]),
}


def observe(diff: Differential, server: Server, target: str, headers: list[tuple[str, str]]) -> Any:
    mark = LogMark(server)
    answer = call(server, "GET", target, HOST, headers, b"")
    if not isinstance(answer, Answer):
        return answer
    seen: dict[str, Any] = {"status": answer.status}
    if answer.status == 401:
        seen["challenge"] = answer.header("www-authenticate")
    elif answer.status == 200:
        environ = json.loads(answer.body)["environ"]
        seen["user"] = [environ.get("REMOTE_USER"), environ.get("AUTH_TYPE")]
    mark.wait(lambda new: any(k.endswith("authn-access.log") for k in new))
    site = str(diff.tree.site)
    errors: list[str] = []
    access: list[str] = []
    for name, new in mark.new().items():
        if name.endswith("authn-access.log"):
            access += new
        elif name.endswith("authn-error.log"):
            lines = [mask_log_line(line).replace(site, "<SITE>") for line in new]
            errors += [line for line in lines if OURS.search(line)]
    seen["errors"] = errors
    seen["access"] = access
    return seen


@pytest.mark.parametrize("case", sorted(CASES))
def test_password_files_as_with_apache(pair: Differential, case: str) -> None:
    target, headers = CASES[case]
    pair.check(case, lambda server: observe(pair, server, target, headers))
