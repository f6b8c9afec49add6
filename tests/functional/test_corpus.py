"""Replay gunicorn's HTTP/1.x request corpus against the real server, over real sockets.

The corpus (``tests/corpora/gunicorn-requests``, MIT-licensed: its NOTICE and
LICENSE are beside it; ``WSGIHOST_CORPUS`` may point elsewhere) holds
gunicorn's ``tests/requests`` ``.http`` files and ``cases.json``, which gives
each case its expected parse (valid cases) or says it must be refused (invalid
cases), and a tier; its NOTICE describes both.
Every case is sent to one ``wsgihost serve`` (two workers, four threads, running
``tests/apps/corpus_echo.wsgi``, with ``--pass-authorization``) twice: in one
``sendall`` and one byte per ``send`` with TCP_NODELAY. How each tier is judged:

* ``core``: RFC 9110/9112 decide. Accepted cases must get one 2xx per pipelined
  request, in which the app saw the method, REQUEST_URI, protocol, PATH_INFO,
  query, headers and body the corpus gives; the client then half-closes and
  nothing more may come back before the server closes. Refused cases must get
  one 4xx, and the server must close by itself ("reject_or_close" cases may
  instead be processed, or just closed, if the connection then ends). The two
  cases whose message never ends (:data:`INCOMPLETE`) are half-closed by the
  client; then no 2xx may come and the server must close. After every case a
  fresh connection must still be served.
* ``optional`` / ``strict``: the RFCs leave a choice; :data:`DECISIONS` records
  ours, with a reason, and the test holds the server to it.
* ``limits``: :data:`LIMITS` says which cases our fixed Apache-default limits can
  judge and why the others are skipped.
* ``config`` / ``broken``: skipped with the corpus's own note.

How the app's view is compared with the corpus (both are deliberate server
behaviour, as in Apache httpd + mod_wsgi):

* headers are rebuilt from the CGI keys (``HTTP_*``, ``CONTENT_TYPE``,
  ``CONTENT_LENGTH``): a name containing ``_`` never reaches the app (so
  ``X_Foo`` cannot pose as ``X-Foo``), a ``Proxy`` header is dropped (httpoxy),
  and repeated fields are joined with ``", "`` (``"; "`` for Cookie);
* HTTP/1.1 requests without ``Host`` get ``400`` (RFC 9112 3.2 says MUST), but
  many gunicorn cases omit it. They are replayed with ``Host: wsgihost.test``
  inserted after the request line, so the rest of the request is still judged;
  :func:`test_http11_request_without_host_is_refused` checks the 400 on the
  unmodified bytes.

After all cases, :func:`test_no_worker_died_and_no_traceback` checks that the
workers are the ones the server started with (every pid the echo app reported
is one of them, and the master's children are unchanged) and that the error
log holds no traceback.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest

from tests.functional.server import APPS, Reader, ServerProcess, serve

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CORPUS_ENV = "WSGIHOST_CORPUS"


def corpus_dir() -> Path:
    override = os.environ.get(CORPUS_ENV)
    if override:
        return Path(override)
    return REPO / "tests" / "corpora" / "gunicorn-requests"


def load_cases() -> list[dict[str, Any]]:
    path = corpus_dir() / "cases.json"
    if not path.is_file():
        return []
    cases: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["cases"]
    return cases


CASES = load_cases()
BY_ID = {case["id"]: case for case in CASES}
MISSING = "corpus-missing"


def require_case(case_id: str) -> dict[str, Any]:
    if case_id == MISSING or not CASES:
        pytest.fail(
            f"the request corpus is missing: no cases.json in {corpus_dir()} "
            f"(it ships in tests/corpora/; {CORPUS_ENV} overrides the folder)."
        )
    return BY_ID[case_id]


# -- decisions -------------------------------------------------------------------

ACCEPT = "accept"

# Apache's core would de-chunk these and pass the other coding on, but the app
# is mod_wsgi's: its handler takes Transfer-Encoding "chunked" only (observed:
# Apache 2.4 + mod_wsgi 4.9.4 answers 501 to "gzip, chunked", and to the same
# codings on two lines, with WSGIChunkedRequest On or Off).
_ONLY_CHUNKED = "a coding besides chunked: 501, as mod_wsgi's handler answers it"

# optional (valid per gunicorn, the RFCs let a server refuse) and strict (invalid
# per gunicorn, the RFCs let a server accept): what wsgihost does, and why.
# ACCEPT: judged like a core valid case. An int: that status, then a close.
DECISIONS: dict[str, tuple[str | int, str]] = {
    # -- optional --
    "valid/005": (
        400,
        "a '#fragment' in the target is a 400, as Apache's strict mode answers (RFC 9112 3.2: "
        "clients never send one)",
    ),
    "valid/009": (400, "RFC 9112 6.3: a request whose final coding is not chunked MUST get 400"),
    "valid/014": (ACCEPT, "'\"' in the target: llhttp and Apache let it through, as most servers"),
    "valid/022": (ACCEPT, "HTTP/1.0 keep-alive is honoured (Connection: keep-alive), as in Apache"),
    "valid/025": (501, _ONLY_CHUNKED),
    "valid/025_line": (501, "same as valid/025 with the codings on one line"),
    "valid/027": (ACCEPT, "raw bytes over 0x7F in the target reach the app, as in Apache"),
    "valid/029": (501, "same as valid/025, with 'identity' before 'chunked'"),
    "valid/030": (501, "same as valid/029"),
    "valid/031": (ACCEPT, "any token is a method the app sees (Apache's LenientMethods)"),
    "valid/100": (ACCEPT, "REQUEST_URI keeps '///'; PATH_INFO merges them (Apache's MergeSlashes)"),
    "valid/rfc9112_smuggle_gzip_chunked_01": (501, "same as valid/025"),
    "valid/rfc9112_smuggle_te_identity_chunked_01": (501, "same as valid/029"),
    "valid/rfc9112_target_absolute_https_01": (
        ACCEPT,
        "absolute-form is served whatever its scheme (RFC 9112 3.2.2: the server uses the path)",
    ),
    "valid/rfc9112_target_absolute_userinfo_01": (
        400,
        "userinfo in an absolute-form target is a 400, as Apache's strict mode answers",
    ),
    "valid/rfc9112_target_asterisk_options_01": (
        ACCEPT,
        "'OPTIONS *' gets a 2xx: from the server itself (as Apache's core) or from the app",
    ),
    "valid/rfc9112_target_authority_connect_01": (405, "no tunnelling: CONNECT gets 405"),
    "valid/rfc9112_target_authority_ipv6_01": (405, "no tunnelling: CONNECT gets 405"),
    # -- strict --
    "invalid/003c": (ACCEPT, "'-bl' is a token: a method the app sees (Apache's LenientMethods)"),
    "invalid/041": (ACCEPT, "repeated Content-Type is joined with ', ' for the app, as Apache"),
    "invalid/chunked_09": (400, "llhttp refuses whitespace after a chunk size"),
    "invalid/invalid_field_value_01": (400, "a bare LF ending a field line is a 400 (llhttp)"),
    "invalid/obs_fold_01": (400, "obs-fold is refused with 400 (RFC 9112 5.2 allows either)"),
    "invalid/rfc9110_field_value_ctl_bel_01": (400, "CTLs in a field value are a 400 (llhttp)"),
    "invalid/rfc9110_field_value_ctl_del_01": (400, "DEL in a field value is a 400 (llhttp)"),
    "invalid/rfc9110_trailer_forbidden_cl_01": (
        400,
        "llhttp applies header rules to trailers: Content-Length beside chunked is a 400",
    ),
    "invalid/rfc9110_trailer_forbidden_host_01": (
        ACCEPT,
        "trailers are not merged into the header section (RFC 9110 6.5.1): Host stays",
    ),
    "invalid/rfc9110_trailer_forbidden_te_01": (
        400,
        "llhttp applies header rules to trailers: a second chunked coding is a 400",
    ),
    "invalid/rfc9112_smuggle_cl_list_form_01": (400, "'Content-Length: 5, 5' is refused (llhttp)"),
    "invalid/version_02": (
        400,
        "HTTP/2.0 is read as HTTP/1.1, as Apache reads it, and this one has no Host: 400",
    ),
}

# What the app must have seen for strict cases decided ACCEPT (cases.json has
# no parse for invalid cases).
STRICT_ACCEPTED: dict[str, list[dict[str, Any]]] = {
    "invalid/003c": [
        {
            "method": "-bl",
            "uri": "/foo",
            "path": "/foo",
            "query": "",
            "version": "HTTP/1.1",
            "headers": [],
            "body_b64": "",
        }
    ],
    "invalid/041": [
        {
            "method": "GET",
            "uri": "/stuff/here?foo=bar",
            "path": "/stuff/here",
            "query": "foo=bar",
            "version": "HTTP/1.1",
            "headers": [
                ["HOST", "localhost"],
                ["CONTENT-TYPE", "application/json"],
                ["CONTENT-TYPE", "text/html"],
            ],
            "body_b64": "",
        }
    ],
    "invalid/rfc9110_trailer_forbidden_host_01": [
        {
            "method": "POST",
            "uri": "/p",
            "path": "/p",
            "query": "",
            "version": "HTTP/1.1",
            "headers": [["HOST", "example.com"], ["TRANSFER-ENCODING", "chunked"]],
            "body_b64": base64.b64encode(b"hello").decode(),
        }
    ],
}

# PATH_INFO where our decision differs from the corpus's path (cases with soft_path).
PATH_INFO = {"valid/100": "/keeping_slashes"}

# Accepted cases the server may answer itself, without the app: any 2xx will do
# (if the app answers, it must have seen what the corpus says).
SERVER_MAY_ANSWER = {"valid/rfc9112_target_asterisk_options_01"}

# limits: our request-line and field limits are Apache's defaults (8190 bytes,
# 100 fields), fixed in the CLI. None: judged under those defaults; a string:
# why the case cannot be judged (it names the option that is missing).
LIMITS: dict[str, str | None] = {
    "invalid/006": (
        "needs LimitRequestLine 4094 (gunicorn's default): the 4112-byte request line is "
        "within Apache's 8190, and `wsgihost serve` has no --limit-request-line option"
    ),
    "invalid/007": None,  # an 8203-byte field line, over LimitRequestFieldSize 8190
    "invalid/008": (
        "needs a limit on the whole header block (gunicorn's): each field is within "
        "LimitRequestFieldSize 8190 and Apache has no total; `wsgihost serve` has no "
        "--limit-request-field-size / --limit-request-fields option to tighten them"
    ),
    "invalid/009": None,  # 104 fields, over LimitRequestFields 100
    "invalid/017": (
        "needs LimitRequestFieldSize below 8189: the 8189-byte field line is within Apache's "
        "8190 (gunicorn counts the CRLF), and `wsgihost serve` has no "
        "--limit-request-field-size option"
    ),
    "invalid/limit_header_default_01": (
        "needs LimitRequestFieldSize below 8190: an 8190-byte field line is exactly at "
        "Apache's limit, which allows it (gunicorn counts the CRLF), and `wsgihost serve` "
        "has no --limit-request-field-size option"
    ),
}

# Core refusals whose message never ends: the server cannot know until the
# client half-closes; after that no 2xx may come, and the server must close.
INCOMPLETE = {
    "invalid/001": "the header block never ends",
    "invalid/rfc9112_chunked_missing_final_crlf_01": "the chunked body never ends",
}

HOST = b"wsgihost.test"
READ_TIMEOUT = 5.0  # seconds to wait for a response or a close
MODES = ("whole", "bytewise")


# -- the request bytes -------------------------------------------------------------

_ESCAPE = re.compile(rb"\\(r\\n|n|t|0|x[0-9A-Fa-f]{2})")
_SIMPLE = {b"r\\n": b"\r\n", b"n": b"\n", b"t": b"\t", b"0": b"\0"}


def decode_http(text: bytes) -> bytes:
    """The corpus's text form -> wire bytes (real newlines are layout only)."""
    text = text.replace(b"\r", b"").replace(b"\n", b"")

    def sub(m: re.Match[bytes]) -> bytes:
        esc = m.group(1)
        return _SIMPLE.get(esc) or bytes([int(esc[1:], 16)])

    data = _ESCAPE.sub(sub, text)
    assert b"\\" not in data, "unknown escape in the corpus"
    return data


def raw_bytes(case: dict[str, Any]) -> bytes:
    return decode_http((corpus_dir() / case["file"]).read_bytes())


def _line_end(data: bytes, start: int) -> int:
    end = data.index(b"\n", start)
    return end + 1


def _head_has_host(data: bytes, line_end: int) -> bool:
    head_end = data.find(b"\r\n\r\n", line_end - 2)
    head = data[line_end - 1 : head_end if head_end >= 0 else len(data)]
    return re.search(rb"\n[Hh][Oo][Ss][Tt]:", head) is not None


def with_host(case: dict[str, Any], data: bytes) -> tuple[bytes, list[int]]:
    """Insert ``Host`` into each HTTP/1.1 request that lacks one (RFC 9112 3.2).

    Returns the bytes and the indexes of the requests that got one. For a
    valid case each expected request line is found in turn; for an invalid
    case only the first request, if it is HTTP/1.1 and has no Host.
    """
    added: list[int] = []
    if case["expect"] == "accept":
        cursor = 0
        for i, req in enumerate(case["requests"]):
            line = f"{req['method']} {req['uri']} {req['version']}".encode("latin-1")
            start = data.index(line, cursor)
            end = _line_end(data, start)
            cursor = end
            has_host = any(name == "HOST" for name, _ in req["headers"])
            if req["version"] == "HTTP/1.1" and not has_host:
                data = data[:end] + b"Host: " + HOST + b"\r\n" + data[end:]
                added.append(i)
        return data, added
    if b"\n" not in data:
        return data, added
    end = _line_end(data, 0)
    if data[:end].rstrip(b"\r\n").endswith(b" HTTP/1.1") and not _head_has_host(data, end):
        data = data[:end] + b"Host: " + HOST + b"\r\n" + data[end:]
        added.append(0)
    return data, added


def expected_requests(case: dict[str, Any], hosts_added: list[int]) -> list[dict[str, Any]]:
    reqs = case.get("requests") or STRICT_ACCEPTED[case["id"]]
    out = []
    for i, req in enumerate(reqs):
        req = dict(req)
        if i in hosts_added:
            req["headers"] = [*req["headers"], ["HOST", HOST.decode()]]
        out.append(req)
    return out


def cgi_headers(headers: list[list[str]]) -> dict[str, str]:
    """The environ keys an app sees for these header lines (see the module docstring)."""
    env: dict[str, str] = {}
    for name, value in headers:
        if "_" in name:
            continue  # never passed: it would collide with the '-' spelling
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        if key == "HTTP_PROXY":
            continue  # httpoxy
        if key in env:
            env[key] += ("; " if key == "HTTP_COOKIE" else ", ") + value
        else:
            env[key] = value
    return env


# -- talking to the server ----------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def describe(self) -> str:
        return f"{self.status} {self.headers} {self.body[:300]!r}"


@dataclass
class Outcome:
    responses: list[Response] = field(default_factory=list)
    closed: bool = False  # the server closed (EOF or reset) within READ_TIMEOUT
    leftover: bytes = b""  # bytes that do not form a response
    send_error: str = ""

    def describe(self) -> str:
        parts = [r.describe() for r in self.responses] or ["no response"]
        parts.append("then closed" if self.closed else f"no close within {READ_TIMEOUT}s")
        if self.leftover:
            parts.append(f"and stray bytes {self.leftover[:200]!r}")
        if self.send_error:
            parts.append(f"(send failed: {self.send_error})")
        return "; ".join(parts)


def send(sock: socket.socket, data: bytes, mode: str) -> str:
    """Send ``data`` whole or one byte per send; return the error that stopped it, if any."""
    try:
        if mode == "whole":
            sock.sendall(data)
        else:
            for i in range(len(data)):
                sock.sendall(data[i : i + 1])
    except OSError as e:  # the server may close once it has refused the request
        return repr(e)
    return ""


def read_responses(reader: Reader, out: Outcome, limit: int | None = None) -> Outcome:
    """Read responses into ``out`` until the server closes, ``limit`` are there, or a timeout.

    Bytes that do not (yet) form a whole response stay in ``reader.buf``; they
    are reported as ``out.leftover``.
    """
    reader.sock.settimeout(READ_TIMEOUT)
    while limit is None or len(out.responses) < limit:
        try:
            if not reader.buf:
                data = reader.sock.recv(65536)
                if not data:
                    out.closed = True
                    break
                reader.buf = data
            status, headers, body = reader.response()
        except TimeoutError:
            break
        except ConnectionError:  # closed inside a response, or reset
            out.closed = True
            break
        out.responses.append(Response(status, headers, body))
    out.leftover = reader.buf
    return out


def finish(reader: Reader, out: Outcome) -> Outcome:
    """Half-close, then read what else comes until the server closes."""
    try:
        reader.sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    return read_responses(reader, out)


def exchange(server: CorpusServer, data: bytes, mode: str, *, half_close: bool) -> Outcome:
    """Send ``data`` on a new connection and read every response until the server closes.

    With ``half_close``, the client shuts its side down once it has sent everything.
    """
    with server.process.connect(timeout=READ_TIMEOUT) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        out = Outcome(send_error=send(sock, data, mode))
        reader = Reader(sock)
        if half_close:
            finish(reader, out)
        else:
            read_responses(reader, out)
    server.note_pids(out)
    return out


# -- the server -------------------------------------------------------------------


def child_pids(parent: int) -> set[int]:
    pids = set()
    proc = Path("/proc")
    if proc.is_dir():
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...; comm may hold spaces and parentheses
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                pids.add(int(entry.name))
        return pids
    listing = subprocess.run(
        ["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True, check=True
    ).stdout
    for line in listing.splitlines():
        pid, ppid = line.split()
        if int(ppid) == parent:
            pids.add(int(pid))
    return pids


def is_worker(pid: int) -> bool:
    """Is ``pid`` still a front-end worker of ours (and not a reused pid)?"""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.parent.is_dir():
        try:
            return b"wsgihost" in cmdline.read_bytes()
        except OSError:
            return False
    return True


@dataclass
class CorpusServer:
    process: ServerProcess
    workers: set[int]  # the master's children once it was up
    seen: set[int] = field(default_factory=set)  # pids the echo app reported

    def note_pids(self, out: Outcome) -> None:
        for resp in out.responses:
            if resp.status == 200 and resp.headers.get("content-type") == "application/json":
                pid = json.loads(resp.body)["pid"]
                assert pid in self.workers, (
                    f"served by pid {pid}, not one of the workers {sorted(self.workers)} "
                    "started with the server: a worker died and was replaced"
                )
                self.seen.add(pid)

    def probe(self) -> int:
        """A normal request on a new connection; returns the serving pid."""
        request = b"GET /probe?x=1 HTTP/1.1\r\nHost: " + HOST + b"\r\nConnection: close\r\n\r\n"
        with self.process.connect(timeout=READ_TIMEOUT) as sock:
            sock.sendall(request)
            out = read_responses(Reader(sock), Outcome(), limit=1)
        assert out.responses and out.responses[0].status == 200, (
            f"the server stopped serving: a normal request got {out.describe()}"
        )
        self.note_pids(out)
        return int(json.loads(out.responses[0].body)["pid"])


@pytest.fixture(scope="module", params=["embedded", "daemon"])
def server(request: pytest.FixtureRequest) -> Iterator[CorpusServer]:
    """One server for the module, in each mode: the parser must not care which runs the app."""
    if not CASES:
        require_case(MISSING)
    mode = request.param
    process = serve(
        APPS / "corpus_echo.wsgi",
        "--pass-authorization",
        # The corpus is about framing: chunked bodies must reach the app (the
        # 411 they get by default is checked at the end of this module).
        "--chunked-request",
        "--graceful-timeout",
        "3",
        processes=2,
        threads=4,
        mode=mode,
    )
    # Embedded: two front-end workers. Daemon: up to two front ends and two daemon processes.
    expected = 2 if mode == "embedded" else min(2, os.cpu_count() or 1) + 2
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 20
        while len(workers) < expected and time.monotonic() < deadline:
            workers = child_pids(process.proc.pid)
            time.sleep(0.05)
        assert len(workers) == expected, f"expected {expected} children, found {sorted(workers)}"
        state = CorpusServer(process, set(workers))
        state.probe()
        yield state
    finally:
        process.close()
        # The workers run in process groups of their own: make sure none outlives the test.
        for pid in workers:
            if is_worker(pid):
                os.kill(pid, signal.SIGKILL)


# -- judging ----------------------------------------------------------------------


def assert_app_saw(resp: Response, req: dict[str, Any], case: dict[str, Any], n: int) -> None:
    where = f"request {n + 1} ({req['method']} {req['uri']})"
    assert 200 <= resp.status < 300, f"{where}: expected 2xx, got {resp.describe()}"
    seen = json.loads(resp.body)
    assert seen["method"] == req["method"], where
    assert seen["uri"] == req["uri"], f"{where}: REQUEST_URI"
    assert seen["protocol"] == req["version"], f"{where}: SERVER_PROTOCOL"
    assert seen["query"] == req["query"], f"{where}: QUERY_STRING"
    if case["id"] in PATH_INFO:
        assert seen["path_info"] == PATH_INFO[case["id"]], f"{where}: PATH_INFO"
    elif not case.get("soft_path") and req["uri"] != "*":
        path = unquote_to_bytes(req["path"].encode("latin-1")).decode("latin-1")
        assert seen["path_info"] == path, f"{where}: PATH_INFO"
    want = cgi_headers(req["headers"])
    got = dict(seen["headers"])
    for name in case.get("soft_headers", []):
        # A name a CGI mapping may drop: if it is there, it must be right.
        for key in cgi_headers([[name, ""]]):
            expected = want.pop(key, None)
            if key in got:
                assert got.pop(key) == expected, f"{where}: {key}"
    for key in case.get("absent_env", []):
        assert key not in got, f"{where}: {key} must not reach the app"
    assert got == want, f"{where}: headers as the app saw them"
    body = base64.b64decode(seen["body_b64"])
    assert body == base64.b64decode(req["body_b64"]), f"{where}: body"


def judge_accept(server: CorpusServer, case: dict[str, Any], data: bytes, mode: str) -> None:
    data, hosts_added = with_host(case, data)
    reqs = expected_requests(case, hosts_added)
    with server.process.connect(timeout=READ_TIMEOUT) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        out = Outcome(send_error=send(sock, data, mode))
        reader = Reader(sock)
        # The expected responses first, then whatever else comes once we are done.
        read_responses(reader, out, limit=len(reqs))
        if not out.closed:
            finish(reader, out)
    server.note_pids(out)
    assert len(out.responses) >= len(reqs) and not out.leftover, (
        f"expected {len(reqs)} answered request(s), got: {out.describe()}"
    )
    for n, (resp, req) in enumerate(zip(out.responses, reqs, strict=False)):
        from_app = resp.headers.get("content-type") == "application/json"
        if case["id"] in SERVER_MAY_ANSWER and not from_app:
            assert 200 <= resp.status < 300, f"expected 2xx, got {resp.describe()}"
        else:
            assert_app_saw(resp, req, case, n)
    assert len(out.responses) == len(reqs), f"responses to requests not sent: {out.describe()}"
    assert out.closed, f"the connection did not end after the client's: {out.describe()}"


def judge_reject(
    server: CorpusServer, case: dict[str, Any], data: bytes, mode: str, status: int | None
) -> None:
    data, _ = with_host(case, data)
    incomplete = case["id"] in INCOMPLETE
    out = exchange(server, data, mode, half_close=incomplete)
    statuses = [r.status for r in out.responses]
    if incomplete:
        assert all(400 <= s < 500 for s in statuses), (
            f"{INCOMPLETE[case['id']]}; only a 4xx may answer it: {out.describe()}"
        )
    elif case["expect"] == "reject_or_close" and all(200 <= s < 300 for s in statuses):
        # RFC 9112 6.1 / 6.3: processing the request is allowed if the connection then ends.
        if statuses:
            last = out.responses[-1]
            assert last.headers.get("connection", "").lower() == "close", out.describe()
    elif status is not None:
        assert statuses == [status], f"expected {status} then a close: {out.describe()}"
    else:
        assert len(statuses) == 1 and 400 <= statuses[0] < 500, (
            f"expected one 4xx then a close: {out.describe()}"
        )
    assert out.closed and not out.leftover, f"expected the server to close: {out.describe()}"


# -- the tests --------------------------------------------------------------------


def test_corpus_is_present() -> None:
    case = require_case(CASES[0]["id"] if CASES else MISSING)
    assert case["id"]
    assert len(CASES) == 137, "cases.json does not hold the 137 cases its NOTICE describes"


CASE_IDS = [case["id"] for case in CASES] or [MISSING]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_case(server: CorpusServer, case_id: str, mode: str) -> None:
    case = require_case(case_id)
    tier = case["tier"]
    if tier in ("config", "broken"):
        pytest.skip(f"{tier}: {case['note']}")
    if tier == "limits":
        why = LIMITS[case_id]
        if why is not None:
            pytest.skip(f"limits: {why}")
    data = raw_bytes(case)
    if tier in ("optional", "strict"):
        decision, _ = DECISIONS[case_id]
    else:
        decision = ACCEPT if case["expect"] == "accept" else 0
    if decision == ACCEPT:
        judge_accept(server, case, data, mode)
    else:
        judge_reject(server, case, data, mode, int(decision) or None)
    server.probe()  # the server keeps serving on a new connection


def _refused_for_host(case: dict[str, Any]) -> bool:
    if case["expect"] != "accept" or case["tier"] not in ("core", "optional"):
        return False
    if DECISIONS.get(case["id"], (ACCEPT, ""))[0] != ACCEPT:
        return False
    return bool(with_host(case, raw_bytes(case))[1])


HOSTLESS_IDS = [case["id"] for case in CASES if _refused_for_host(case)] or [MISSING]


@pytest.mark.parametrize("case_id", HOSTLESS_IDS)
def test_http11_request_without_host_is_refused(server: CorpusServer, case_id: str) -> None:
    """RFC 9112 3.2: an HTTP/1.1 request without Host gets 400, the requests before it 2xx."""
    case = require_case(case_id)
    first = with_host(case, raw_bytes(case))[1][0]
    out = exchange(server, raw_bytes(case), "whole", half_close=False)
    statuses = [r.status for r in out.responses]
    assert statuses == [200] * first + [400], out.describe()
    assert out.closed, out.describe()
    server.probe()


def test_no_worker_died_and_no_traceback(server: CorpusServer) -> None:
    pids = {server.probe() for _ in range(10)}
    assert pids <= server.workers
    assert server.seen <= server.workers
    assert child_pids(server.process.proc.pid) == server.workers, "a worker was replaced"
    assert server.process.proc.poll() is None, "the master exited"
    log = server.process.stderr()
    assert "Traceback" not in log, f"the error log has a traceback:\n{log[-4000:]}"


def test_decision_tables_match_the_corpus() -> None:
    """Every optional/strict case has a decision, every limits case an entry, and no more."""
    if not CASES:
        require_case(MISSING)
    tiers = {case["id"]: case["tier"] for case in CASES}
    assert {i for i, t in tiers.items() if t in ("optional", "strict")} == set(DECISIONS)
    assert {i for i, t in tiers.items() if t == "limits"} == set(LIMITS)
    assert set(INCOMPLETE) <= {i for i, t in tiers.items() if t == "core"}
    for case_id in STRICT_ACCEPTED:
        assert DECISIONS[case_id][0] == ACCEPT


# -- WSGIChunkedRequest Off, the default -------------------------------------------


def _first_chunked(case: dict[str, Any]) -> int | None:
    """The index of an accepted case's first request with a chunked body, if any."""
    if case["tier"] not in ("core", "optional") or case["expect"] != "accept":
        return None
    if DECISIONS.get(case["id"], (ACCEPT, ""))[0] != ACCEPT:
        return None
    for i, req in enumerate(case["requests"]):
        codings = [value for name, value in req["headers"] if name == "TRANSFER-ENCODING"]
        if codings:
            assert codings == ["chunked"], f"{case['id']}: only 'chunked' gets this far"
            return i
    return None


CHUNKED_IDS = [case["id"] for case in CASES if _first_chunked(case) is not None] or [MISSING]


@pytest.fixture(scope="module", params=["embedded", "daemon"])
def default_server(request: pytest.FixtureRequest) -> Iterator[CorpusServer]:
    """The same app without ``--chunked-request``: WSGIChunkedRequest Off."""
    mode = request.param
    process = serve(APPS / "corpus_echo.wsgi", processes=1, threads=2, mode=mode)
    try:
        expected = 1 if mode == "embedded" else min(2, os.cpu_count() or 1) + 1
        deadline = time.monotonic() + 20
        while len(child_pids(process.proc.pid)) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        yield CorpusServer(process, child_pids(process.proc.pid))
    finally:
        process.close()


@pytest.mark.parametrize("case_id", CHUNKED_IDS)
def test_chunked_bodies_get_411_by_default(default_server: CorpusServer, case_id: str) -> None:
    """As mod_wsgi: the requests before the chunked one are served, it gets 411, then a close."""
    case = require_case(case_id)
    first = _first_chunked(case)
    assert first is not None
    data, _ = with_host(case, raw_bytes(case))
    out = exchange(default_server, data, "whole", half_close=False)
    statuses = [r.status for r in out.responses]
    assert statuses == [200] * first + [411], out.describe()
    assert out.responses[-1].headers.get("connection") == "close", out.describe()
    assert out.closed and not out.leftover, out.describe()
