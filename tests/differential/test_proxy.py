"""mod_proxy, mod_proxy_http and mod_proxy_wstunnel beside Apache, to one backend.

The backend (``backend.py``) is started here on a free loopback port, and both
servers proxy to it (``sites/proxy.conf`` reads its port from the
environment). Each case compares what the backend received (its answer
echoes the request line, the header lines in order and the body's framing
and digest) and what the client got, with the error-log lines: prefix and
regex mappings, ``!``, ProxyPassReverse and its cookie forms,
ProxyPreserveHost, X-Forwarded-*, hop-by-hop headers, bodies both ways,
a backend that is down, breaks off or stalls, ``<Proxy>`` with Require,
absolute-form targets, and WebSocket tunnels.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.differential.backend import Backend, UnixBackend, dead_port, make_frame, read_frame
from tests.differential.cases import APACHE_NOTICE, call, view
from tests.differential.client import Answer, Conn
from tests.differential.compare import Differential, LogMark, mask_log_line, mask_port
from tests.differential.conftest import topic
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

HOST = "proxy.test:{port}"
_BACKEND = ["", ""]  # the backend's port and the dead one


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    backend = Backend().start()
    unix = UnixBackend().start()
    _BACKEND[:] = [str(backend.port), str(dead_port())]
    env = {
        "PROXY_BACKEND_PORT": _BACKEND[0],
        "PROXY_DEAD_PORT": _BACKEND[1],
        "PROXY_BACKEND_SOCKET": unix.path,
    }
    try:
        yield from topic("proxy.conf", warm=[(HOST, "/p/warm")], env=env)
    finally:
        backend.stop()
        unix.stop()


def _chunked(body: bytes, size: int = 4000) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


_BIG = bytes(range(256)) * 4096  # 1 MiB
_CHUNKED = [("Transfer-Encoding", "chunked")]

# case -> (method, target, extra headers, body)
CASES: dict[str, tuple[str, str, list[tuple[str, str]], bytes]] = {
    "proxy-prefix": ("GET", "/p/a/b?x=1&y=%20z", [], b""),
    "proxy-prefix-bare": ("GET", "/p", [], b""),
    "proxy-prefix-slashes": ("GET", "//p//a///b", [], b""),
    "proxy-prefix-not-a-segment": ("GET", "/pp/x", [], b""),
    "proxy-no-trailing-slash": ("GET", "/bare/x", [], b""),
    "proxy-no-trailing-slash-exact": ("GET", "/bare", [], b""),
    "proxy-no-trailing-slash-longer": ("GET", "/barely", [], b""),
    "proxy-encoded-path": ("GET", "/p/a%20b/%C3%A9/c%3Fd/e%25f;g", [], b""),
    "proxy-exclusion": ("GET", "/p/keep/x", [], b""),
    "proxy-exclusion-too-late": ("GET", "/p/late/x", [], b""),
    "proxy-match-groups": ("GET", "/m/abc/42?q=v", [], b""),
    "proxy-match-no-match": ("GET", "/m/abc/x", [], b""),
    "proxy-match-whole-path": ("GET", "/whole/a/b?c", [], b""),
    "proxy-location": ("GET", "/kept/sub?k=1", [], b""),
    "proxy-head": ("HEAD", "/p/head", [], b""),
    "proxy-post-length": ("POST", "/p/post", [("Content-Type", "text/plain")], b"a=1&b=2"),
    "proxy-post-empty": ("POST", "/p/post", [("Content-Length", "0")], b""),
    "proxy-post-large": ("PUT", "/p/large", [], _BIG),
    "proxy-chunked-small": ("POST", "/p/chunks", _CHUNKED, _chunked(b"hello world")),
    "proxy-chunked-large": ("POST", "/p/chunks", _CHUNKED, _chunked(_BIG[:100000])),
    "proxy-forwarded-append": (
        "GET",
        "/p/fwd",
        [("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Host", "first.example")],
        b"",
    ),
    "proxy-hop-by-hop": (
        "GET",
        "/p/hop",
        [
            ("Connection", "keep-alive, X-Private"),
            ("X-Private", "secret"),
            ("Keep-Alive", "timeout=5"),
            ("TE", "trailers"),
            ("Proxy-Connection", "keep-alive"),
            ("Trailer", "X-T"),
            ("Upgrade", "h2c"),
            ("X-Kept", "yes"),
        ],
        b"",
    ),
    "proxy-repeated-headers": (
        "GET",
        "/p/rep",
        [("Accept", "text/html"), ("X-A", "1"), ("accept", "text/plain")],
        b"",
    ),
    "proxy-reverse-location": ("GET", "/p/redirect", [], b""),
    "proxy-reverse-cookies": ("GET", "/p/cookie", [], b""),
    "proxy-stream-response": ("GET", "/p/stream?n=40&size=20000", [], b""),
    "proxy-small-chunked-response": ("GET", "/p/small-chunked", [], b""),
    "proxy-big-response": ("GET", "/p/big?size=3000000", [], b""),
    "proxy-backend-down": ("GET", "/down/x", [], b""),
    "proxy-backend-closes": ("GET", "/p/close", [], b""),
    "proxy-backend-cuts-body": ("GET", "/p/cut", [], b""),
    "proxy-timeout": ("GET", "/p/stall?s=4", [], b""),
    "proxy-worker-timeout": ("GET", "/quick/stall?s=2.5", [], b""),
    "proxy-denied-by-proxy-section": ("GET", "/p/secret/x", [], b""),
    "proxy-ws-without-upgrade": ("GET", "/ws/plain", [], b""),
    "proxy-absolute-target": ("GET", "http://127.0.0.1:{backend}/inner/x", [], b""),
    "proxy-absolute-target-mapped": ("GET", "http://elsewhere.example/p/abs", [], b""),
    "proxy-connect-refused": ("CONNECT", "127.0.0.1:{backend}", [], b""),
    "proxy-denied-by-proxymatch": ("GET", "/p/private.key", [], b""),
    "proxy-options": ("OPTIONS", "/p/opt", [], b""),
    "proxy-response-hop-by-hop": ("GET", "/p/hop-response", [], b""),
    "proxy-response-both-framings": ("GET", "/p/both-framings", [], b""),
    "proxy-proxy-authorization": (
        "GET",
        "/p/pa",
        [("Proxy-Authorization", "Basic Zm9vOmJhcg=="), ("Max-Forwards", "3"), ("Via", "1.0 a")],
        b"",
    ),
    "proxy-max-forwards-zero": ("GET", "/p/mf", [("Max-Forwards", "0")], b""),
    "proxy-max-forwards-zero-options": ("OPTIONS", "/p/mf", [("Max-Forwards", "0")], b""),
    "proxy-max-forwards-zero-trace": ("TRACE", "/p/mf", [("Max-Forwards", "0")], b""),
    "proxy-max-forwards-bad": ("GET", "/p/mf", [("Max-Forwards", "x1")], b""),
    "proxy-location-reverse": ("GET", "/kept/x/redirect", [], b""),
    "proxy-locationmatch": ("GET", "/lm/abc?q=1", [], b""),
    "proxy-locationmatch-no-match": ("GET", "/lm/a/b", [], b""),
    "proxy-unix-socket": ("GET", "/sock/x?y=1", [], b""),
    "proxy-status-without-reason": ("GET", "/p/noreason", [], b""),
    "proxy-unknown-status-without-reason": ("GET", "/p/noreason?code=299", [], b""),
    "proxy-unknown-status": ("GET", "/p/noreason?code=299%20Fine", [], b""),
    "proxy-before-wsgi-app": ("GET", "/app/proxied/x", [], b""),
    "proxy-wsgi-app-beside": ("GET", "/app/other", [], b""),
    "proxy-trace": ("TRACE", "/p/trace", [("X-Seen", "1")], b""),
    "proxy-http10-stream": ("GET", "/p/stream?n=3&size=100", [], b""),
    "proxy-http10-echo": ("GET", "/p/ten", [], b""),
}
# Cases whose every response header is compared.
ALL_HEADERS = {"proxy-response-hop-by-hop", "proxy-response-both-framings", "proxy-prefix"}
# The protocol a case's request line names, where not HTTP/1.1.
VERSIONS = {"proxy-http10-stream": "HTTP/1.0", "proxy-http10-echo": "HTTP/1.0"}

# The Host header a case sends, where not HOST.
HOSTS = {
    "proxy-preserve-host-client-port": "Client.Example:8080",
}
CASES["proxy-preserve-host-client-port"] = ("GET", "/kept/ph", [], b"")
CASES["proxy-host-not-preserved"] = ("GET", "/p/host", [], b"")
# The main server's ProxyPass: inherited, unless ProxyPassInherit Off.
CASES["proxy-inherited"] = ("GET", "/main-only/x", [], b"")
CASES["proxy-not-inherited"] = ("GET", "/main-only/x", [], b"")
CASES["proxy-not-inherited-own"] = ("GET", "/own/y", [], b"")
HOSTS["proxy-not-inherited"] = HOSTS["proxy-not-inherited-own"] = "noinherit.test:{port}"
# A Host naming the backend picks nothing: the path is served as any other.
HOSTS["proxy-host-names-backend"] = "127.0.0.1:{backend}"
CASES["proxy-host-names-backend"] = ("GET", "/inner/x", [], b"")


def _ports(text: str) -> str:
    """The backend's and the dead port, which change from run to run, masked."""
    for port, name in zip(_BACKEND, ("<BACKEND>", "<DEAD>"), strict=True):
        text = mask_port(text, port, name)
    return text


def observe(server: Server, case: str, masker: Any) -> Any:
    method, target, headers, body = CASES[case]
    mark = LogMark(server)
    host = HOSTS.get(case, HOST).format(port=server.port, backend=_BACKEND[0])
    version = VERSIONS.get(case, "HTTP/1.1")
    answer = call(server, method, target.format(backend=_BACKEND[0]), host, headers, body, version)
    seen = json.loads(_ports(json.dumps(view(answer, masker))))
    if isinstance(answer, Answer) and case in ALL_HEADERS:
        # Every header, in order, but the two that differ anyway.
        seen["all headers"] = [[n, v] for n, v in answer.headers if n not in ("date", "server")]
        seen["server"] = answer.header("server") == "backend/1.0"
    if isinstance(answer, Answer) and case == "proxy-wsgi-app-beside" and answer.status == 200:
        # The echo app's environ is compared in its own topic: here only who answered.
        seen["body"] = "(the app answered)"
        seen["headers"].pop("content-length", None)
    if isinstance(answer, Answer):
        seen["framing"] = answer.framing
        # Whether the client's connection goes on (Apache's echo of a client's
        # "Connection: keep-alive" is its core's, not the proxy's).
        seen["closes"] = (answer.header("connection") or "").lower() == "close"
        if answer.header("x-backend") and answer.body[:1] == b"{":
            got = json.loads(answer.body)
            got["headers"] = [[n, _ports(masker.text(v))] for n, v in got["headers"]]
            got["target"] = _ports(got["target"])
            seen["body"] = masker.deep(got)
            seen["headers"].pop("content-length", None)  # the JSON's: its ports vary
    mark.wait(lambda new: any(k.endswith("proxy-access.log") for k in new))
    new = mark.new()
    seen["access"] = [
        _ports(mask_port(line, server.port))
        for name, lines in new.items()
        if name.endswith("proxy-access.log")
        for line in lines
    ]
    errors = [
        _ports(masker.text(mask_log_line(line)))
        for name, lines in new.items()
        if name.endswith("proxy-error.log")
        for line in lines
        if not APACHE_NOTICE.search(line) or "AH0" in line or "AH1" in line
    ]
    if errors:
        seen["errors"] = errors
    return seen


@pytest.mark.parametrize("case", sorted(CASES))
def test_proxy_as_with_apache(pair: Differential, case: str) -> None:
    pair.check(case, lambda server: observe(server, case, pair.masker(server)))


# -- WebSocket ---------------------------------------------------------------------


def websocket(server: Server, path: str, eager: bool = False) -> dict[str, Any]:
    """A WebSocket echo through the proxy; ``eager``: the first frame goes in the
    handshake's packet, before the 101 (RFC 6455 clients wait; a few do not)."""
    key = base64.b64encode(b"0123456789abcdef").decode()
    head = (
        f"GET {path} HTTP/1.1\r\nHost: proxy.test:{server.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    seen: dict[str, Any] = {}
    mark = LogMark(server)
    try:
        with Conn(server, timeout=10) as conn:
            # (longer than a request line may be: never read as one)
            early = make_frame(1, b"early-" + b"y" * 9000) if eager else b""
            conn.send(head.encode() + early)
            answer = conn.answer(head_only=True)
            seen["status"] = answer.status
            seen["headers"] = {
                n: answer.header(n)
                for n in ("upgrade", "connection", "sec-websocket-accept", "content-length")
            }
            if answer.status != 101:
                return seen
            echoes: list[Any] = []
            if eager:
                frame = read_frame(_Reader(conn))  # type: ignore[arg-type]
                echoes.append(frame and [frame[0], len(frame[1]), frame[1][:12].decode()])
            for text in (b"hello", b"x" * 70000):
                conn.send(make_frame(1, text))
                frame = read_frame(_Reader(conn))  # type: ignore[arg-type]
                echoes.append(frame and [frame[0], len(frame[1]), frame[1][:12].decode()])
            conn.send(make_frame(8, b"\x03\xe8"))
            closing = read_frame(_Reader(conn))  # type: ignore[arg-type]
            seen["echoes"] = echoes
            seen["close"] = None if closing is None else closing[0]
            seen["then"] = "closed" if not conn._more("end") else "open"
    except (OSError, ValueError) as e:
        seen["failed"] = type(e).__name__
    # The tunnel's line is written when it closes: status 101.
    mark.wait(lambda new: any(k.endswith("proxy-access.log") for k in new))
    seen["access"] = [
        _ports(mask_port(line, server.port))
        for name, lines in mark.new().items()
        if name.endswith("proxy-access.log")
        for line in lines
    ]
    return seen


class _Reader:
    """backend.read_frame's view of the test client's connection."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    def exactly(self, n: int) -> bytes:
        return self.conn._need(n)


@pytest.mark.parametrize(
    ("case", "path", "eager"),
    [
        ("proxy-ws-scheme", "/ws/echo/ws", False),
        ("proxy-ws-upgrade-param", "/up/ws", False),
        ("proxy-ws-eager-frame", "/ws/eager/ws", True),
    ],
)
def test_websocket_as_with_apache(pair: Differential, case: str, path: str, eager: bool) -> None:
    pair.check(case, lambda server: websocket(server, path, eager))


def test_forward_proxy_refused_at_config_time(tmp_path: Any) -> None:
    """ProxyRequests On is an error naming its file and line (wsgihost's refusal)."""
    import subprocess
    import sys

    conf = tmp_path / "f.conf"
    conf.write_text("Listen 127.0.0.1:8\nServerName x\n\nProxyRequests On\n")
    done = subprocess.run(
        [sys.executable, "-m", "wsgihost", "configtest", "--config", str(conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert f"{conf}:4: ProxyRequests" in done.stdout + done.stderr


def keep_alive(server: Server) -> dict[str, Any]:
    """Three requests on one client connection, each proxied: all answered, in order."""
    seen: dict[str, Any] = {"statuses": [], "targets": []}
    try:
        with Conn(server, timeout=10) as conn:
            for n in range(3):
                head = f"GET /p/again/{n} HTTP/1.1\r\nHost: proxy.test:{server.port}\r\n\r\n"
                conn.send(head.encode())
                answer = conn.answer()
                seen["statuses"].append(answer.status)
                seen["targets"].append(json.loads(answer.body)["target"])
    except (OSError, ValueError) as e:
        seen["failed"] = type(e).__name__
    return seen


def test_keep_alive_as_with_apache(pair: Differential) -> None:
    pair.check("proxy-keep-alive", keep_alive)


def expect_continue(server: Server, path: str) -> dict[str, Any]:
    """A client that waits for 100 Continue before its body, as curl does."""
    masker_port = str(server.port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: proxy.test:{server.port}\r\n"
        "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n"
    )
    seen: dict[str, Any] = {}
    try:
        with Conn(server, timeout=10) as conn:
            conn.send(head.encode())
            first = conn.answer()
            seen["first"] = [first.status, first.reason]
            if first.status == 100:
                conn.send(b"hello")
                final = conn.answer()
            else:
                final = first
            seen["status"] = final.status
            if final.header("x-backend"):
                got = json.loads(final.body)
                got["headers"] = [[n, _ports(mask_port(v, masker_port))] for n, v in got["headers"]]
                seen["backend"] = got
            else:
                seen["body"] = final.body.decode("latin-1")
    except (OSError, ValueError) as e:
        seen["failed"] = type(e).__name__
    return seen


@pytest.mark.parametrize(
    ("case", "path"),
    [("proxy-expect-continue", "/p/cont"), ("proxy-expect-no-continue", "/p/nocontinue")],
)
def test_expect_continue_as_with_apache(pair: Differential, case: str, path: str) -> None:
    pair.check(case, lambda server: expect_continue(server, path))


def broken_after_first(server: Server, second: str, first: str = "/p/first") -> dict[str, Any]:
    """A second request on a kept-alive connection whose backend gives no answer (or
    whose backend is down: the first try puts its worker in error, the second finds
    it so)."""
    seen: dict[str, Any] = {}
    mark = LogMark(server)
    with Conn(server, timeout=10) as conn:
        for n, path in enumerate((first, second)):
            conn.send(f"GET {path} HTTP/1.1\r\nHost: proxy.test:{server.port}\r\n\r\n".encode())
            try:
                answer = conn.answer()
                seen[str(n)] = [answer.status, answer.reason]
            except (OSError, ValueError) as e:
                seen[str(n)] = type(e).__name__
    mark.wait(lambda new: sum(len(v) for k, v in new.items() if "proxy-access" in k) >= 2)
    for name, lines in mark.new().items():
        if name.startswith("proxy-"):
            seen[name] = [_ports(mask_log_line(line)) for line in lines]
    return seen


@pytest.mark.parametrize(
    ("case", "path"),
    [("proxy-second-request-closes", "/p/close"), ("proxy-second-request-stalls", "/p/stall?s=4")],
)
def test_second_request_as_with_apache(pair: Differential, case: str, path: str) -> None:
    pair.check(case, lambda server: broken_after_first(server, path))


def test_backend_in_error_as_with_apache(pair: Differential) -> None:
    pair.check(
        "proxy-backend-down-twice",
        lambda server: broken_after_first(server, "/down2/b", "/down2/a"),
    )
