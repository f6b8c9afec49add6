""".htaccess files beside Apache's: what AllowOverride lets each folder's file change.

The same folders (``apps/htaccess/``) are served by both servers from
``sites/htaccess.conf``. Each case asks for one URL and compares the answer
(a static file, an app, or the error status) and, where the file cannot be
applied, the error-log line that says why (its message, after the
``[module:level] [pid] [client]`` prefix, with paths masked).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from tests.differential.cases import call, view
from tests.differential.client import Answer
from tests.differential.compare import Differential, LogMark
from tests.differential.conftest import topic
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

HOST = "htaccess.test:{port}"

# name: URL; a 2xx/3xx/4xx answer is compared whole, an error with its log line.
CASES = {
    "htaccess-top-index": "/",
    "htaccess-directoryindex": "/sub/",
    "htaccess-addtype": "/sub/file.foo",
    "htaccess-directory-beats-shallower-file": "/sub/inner/",
    "htaccess-require-denied": "/deny/x.txt",
    "htaccess-allowoverride-none-ignores-file": "/none/x.txt",
    "htaccess-not-allowed-here": "/limited/x.txt",
    "htaccess-option-not-allowed": "/opts/x.txt",
    "htaccess-allowoverridelist": "/listed/",
    "htaccess-nonfatal": "/nonfatal/",
    "htaccess-files-section-denies": "/files/secret.txt",
    "htaccess-files-section-other-file": "/files/open.txt",
    "htaccess-filesmatch-addtype": "/files/data.bin",
    "htaccess-directory-section-refused": "/section/x.txt",
    "htaccess-invalid-command": "/bogus/x.txt",
    "htaccess-unreadable": "/unreadable/x.txt",
    "htaccess-app-callable-object": "/app/",
    "htaccess-app-group-not-allowed": "/appgroup/",
    "htaccess-not-a-regular-file": "/weird/x.txt",
    "htaccess-addhandler-wsgi-script": "/scripts/hello.wsgi",
    "htaccess-errordocument-text": "/errdoc/missing.txt",
    "htaccess-errordocument-local-url": "/errdoc/shut/x.txt",
    "htaccess-auth-basic-no-credentials": "/auth/page.txt",
    "htaccess-auth-basic-wrong-password": "/auth/page.txt",
    "htaccess-auth-basic-user": "/auth/page.txt",
    "htaccess-unset-comment-only": "/unset/quiet/x.txt",
    "htaccess-unset-any-directive-refused": "/unset/loud/x.txt",
    # PATH_TRANSLATED's sub-request walks bogus/, whose .htaccess fails: the app runs.
    "htaccess-path-translated-through-a-bad-file": "/pathapp/bogus/x.txt",
    "htaccess-path-translated-through-a-good-file": "/pathapp/sub/",
    "htaccess-directoryindex-wsgi-script": "/scriptindex/",
    "htaccess-wsgipassauthorization": "/envapp/",
    "htaccess-adddefaultcharset": "/charset/x.txt",
    "htaccess-require-ip": "/iponly/x.txt",
    # WordPress's block: skipped where mod_rewrite is absent, but <IfModule> itself
    # needs an override class, which a folder with no AllowOverride lacks.
    "htaccess-ifmodule-false-skipped": "/wp/x.txt",
    "htaccess-unset-ifmodule-not-allowed": "/unset/wp/x.txt",
}
# Basic credentials sent with a case (alice:wrong, alice:secret).
CREDENTIALS = {
    "htaccess-auth-basic-wrong-password": "Basic YWxpY2U6d3Jvbmc=",
    "htaccess-auth-basic-user": "Basic YWxpY2U6c2VjcmV0",
    "htaccess-wsgipassauthorization": "Basic YWxpY2U6c2VjcmV0",
}
# Refusals whose whole answer is compared (an ErrorDocument's body), not only the status.
WHOLE = {
    "htaccess-errordocument-text",
    "htaccess-errordocument-local-url",
    "htaccess-auth-basic-no-credentials",
    "htaccess-auth-basic-wrong-password",
}


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    servers = topic("htaccess.conf", warm=[(HOST, "/")])
    assert isinstance(servers, Generator)
    diff = next(servers)
    try:
        # A file the servers' user (www-data) cannot read: git keeps no mode 000.
        unreadable = diff.tree.site / "apps" / "htaccess" / "unreadable" / ".htaccess"
        unreadable.write_text("DirectoryIndex x.txt\n")
        unreadable.chmod(0)
        (diff.tree.site / "apps" / "htaccess" / "weird" / ".htaccess").mkdir()
        yield diff
    finally:
        servers.close()


_ERRNO = re.compile(r"\] (\(\d+\)[^:\[]*): ")  # Apache writes it before [client ...]
_MESSAGE = re.compile(r"\] ([^\[\]]*\.htaccess.*)$")


def _why(lines: dict[str, list[str]], site: str) -> list[str]:
    """The .htaccess messages of the error-log lines, without Apache's AH codes."""
    found = []
    for name, text in lines.items():
        if name.endswith("access.log"):
            continue
        for line in text:
            errno = _ERRNO.search(line)
            if errno:
                line = line.replace(errno.group(1) + ": ", "", 1)
            m = _MESSAGE.search(line)
            if m:
                message = re.sub(r"AH\d{5}: ", "", m.group(1)).replace(site, "<SITE>")
                found.append((errno.group(1) + ": " if errno else "") + message)
    return found


def htaccess_view(
    diff: Differential, server: Server, target: str, whole: bool = False, auth: str = ""
) -> Any:
    """A served answer whole; a refusal as its status and the .htaccess lines it logged
    (the server's own error pages are compared elsewhere)."""
    mark = LogMark(server)
    answer = call(server, "GET", target, HOST, [("Authorization", auth)] if auth else None)
    if isinstance(answer, Answer) and answer.status >= 400 and not whole:
        if answer.status >= 500 or target.startswith(("/unreadable", "/weird")):
            mark.wait(lambda new: any(".htaccess" in line for v in new.values() for line in v))
        return {"status": answer.status, "log": _why(mark.new(), str(diff.tree.site))}
    return view(answer, diff.masker(server))


@pytest.mark.parametrize("case", sorted(CASES))
def test_htaccess_changes_answers_as_in_apache(pair: Differential, case: str) -> None:
    target, whole, auth = CASES[case], case in WHOLE, CREDENTIALS.get(case, "")
    pair.check(case, lambda server: htaccess_view(pair, server, target, whole, auth))
