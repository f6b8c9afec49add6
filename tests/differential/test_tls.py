"""TLS beside Apache + mod_ssl (sites/tls.conf): answers and the environ over TLS,
certificates chosen by SNI, mod_ssl's 421 when Host names another TLS virtual
host than SNI did, and the 400 for plain HTTP on the TLS port.

The certificates are made at test time (tests/tlscerts.py) into the tree's
``site/pki`` before both servers start.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests import tlscerts
from tests.differential.cases import call, echo_env, failed, log_lines, mentions, parse_json
from tests.differential.client import Conn, request
from tests.differential.compare import Differential, LogMark, answer_view
from tests.differential.conftest import topic
from tests.differential.servers import Server, Tree

pytestmark = pytest.mark.slow

_PKI: list[tlscerts.Pki] = []


def _certificates(tree: Tree) -> None:
    pki = tlscerts.make(tree.site / "pki", ("a.test", "b.test", "c.test"))
    _PKI.append(pki)
    # FakeBasicAuth's users: the client certificate's subject with an {SHA} hash of
    # "password", and bob with an apr1 one.
    lines = []
    for user, password, flag in ((_CLIENT_DN, "password", "-nbs"), ("bob", "b0b", "-nbm")):
        made = subprocess.run(
            ["htpasswd", flag, user, password], check=True, capture_output=True, text=True
        )
        lines.append(made.stdout.strip())
    (pki.dir / "users").write_text("\n".join(lines) + "\n")


_CLIENT_DN = "/C=US/O=wsgihost tests/CN=alice"  # tests/tlscerts.py's client, one-line form


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("tls.conf", prepare=_certificates)


def tls_port(server: Server) -> int:
    return int(server.extra["tls_port"])


def tls_conn(server: Server, sni: str | None, client_cert: bool = False) -> Conn:
    """A Conn (tests/differential/client.py) over TLS to the server's TLS port."""
    ctx = ssl.create_default_context(cafile=str(_PKI[-1].ca))
    if client_cert:
        ctx.load_cert_chain(str(_PKI[-1].client_cert), str(_PKI[-1].client_key))
    if sni is None:
        ctx.check_hostname = False
    raw = socket.create_connection(("127.0.0.1", tls_port(server)), timeout=10)
    conn = Conn.__new__(Conn)
    try:
        conn.sock = ctx.wrap_socket(raw, server_hostname=sni)
    except BaseException:
        raw.close()
        raise
    conn.buf, conn.pause, conn.read_size = b"", 0.0, 65536
    return conn


# The environ keys the two servers are compared on: the request's own, and the
# mod_ssl variables Python's ssl can give (docs/differences.md lists the rest).
KEYS = (
    "wsgi.url_scheme",
    "HTTPS",
    "REQUEST_SCHEME",
    "SERVER_NAME",
    "SERVER_PORT",
    "HTTP_HOST",
    "SCRIPT_NAME",
    "PATH_INFO",
    "mod_wsgi.process_group",
    "SSL_TLS_SNI",
    "SSL_PROTOCOL",
    "SSL_CIPHER",
    "SSL_CIPHER_EXPORT",
    "SSL_CIPHER_USEKEYSIZE",
    "SSL_CIPHER_ALGKEYSIZE",
    "SSL_COMPRESS_METHOD",
    "SSL_SESSION_RESUMED",
    "SSL_CLIENT_VERIFY",
    "SSL_SERVER_S_DN",
    "SSL_SERVER_S_DN_CN",
    "SSL_SERVER_S_DN_O",
    "SSL_SERVER_S_DN_C",
    "SSL_SERVER_I_DN",
    "SSL_SERVER_I_DN_CN",
    "SSL_SERVER_M_VERSION",
    "SSL_SERVER_M_SERIAL",
    "SSL_SERVER_SAN_DNS_0",
    "SSL_SECURE_RENEG",
    "SSL_SESSION_ID",
    "SSL_VERSION_INTERFACE",
    "SSL_VERSION_LIBRARY",
    "SSL_SERVER_A_KEY",
    "SSL_SERVER_A_SIG",
)


def observe(
    diff: Differential,
    server: Server,
    sni: str | None,
    host: str,
    target: str,
    client_cert: bool = False,
) -> dict[str, Any]:
    port = str(tls_port(server))
    masker = diff.masker(server)
    masker.ports.append((port, "<TLS_PORT>"))
    try:
        with tls_conn(server, sni, client_cert) as conn:
            peer = conn.sock.getpeercert() or {}  # type: ignore[attr-defined]
            conn.send(request(server, "GET", target, host.replace("{port}", port)))
            answer = conn.answer()
    except (OSError, ValueError) as e:
        return failed(e)
    seen: dict[str, Any] = {
        "certificate": dict(peer.get("subject", ((("commonName", "?"),),))[-1]),
        "answer": answer_view(answer, masker, body_masks=((r"\{.*\}", "<JSON>"),)),
    }
    if answer.status == 200 and answer.header("content-type") == "application/json":
        # The echo's whole environ differs beyond TLS (compared in test_environ.py):
        # its size is not what this topic is about.
        seen["answer"]["headers"].pop("content-length", None)
        seen["answer"]["body"] = "<JSON>"
        env = echo_env(parse_json(answer.body), masker)
        keys = KEYS + tuple(k.replace("SSL_SERVER", "SSL_CLIENT") for k in KEYS if "SERVER" in k)
        keys += ("SSL_CLIENT_CERT", "SSL_SERVER_CERT", "SSL_CLIENT_SAN_Email_0")
        seen["environ"] = {k: _masked(k, env.get(k, "<absent>")) for k in keys}
        # Every mod_ssl variable the app got, by name.
        seen["ssl_keys"] = {k: True for k in sorted(env) if k.startswith(("SSL_", "HTTPS"))}
    return seen


# Values that change with each run (the certificates are made per run) or each
# connection: that they are there counts.
_PER_RUN = {
    "SSL_SERVER_M_SERIAL",
    "SSL_CLIENT_M_SERIAL",
    "SSL_SESSION_ID",
    "SSL_CLIENT_CERT",
    "SSL_SERVER_CERT",
}


def _masked(key: str, value: str) -> str:
    if key in _PER_RUN and value != "<absent>":
        return "<PER-RUN>"
    if key in ("SSL_VERSION_INTERFACE", "SSL_VERSION_LIBRARY"):
        # mod_ssl's and OpenSSL's versions change with Debian's updates.
        return re.sub(r"/[0-9.]+[a-z]?$", "/<VERSION>", value)
    return value


CASES = {
    "tls-sni-a-embedded": ("a.test", "a.test:{port}", "/embedded/x"),
    "tls-sni-a-daemon": ("a.test", "a.test:{port}", "/daemon/y"),
    "tls-sni-b-embedded": ("b.test", "b.test:{port}", "/embedded/"),
    "tls-sni-b-daemon": ("b.test", "b.test:{port}", "/daemon/"),
    "tls-no-sni": (None, "a.test:{port}", "/embedded/"),
    "tls-sni-a-host-b": ("a.test", "b.test:{port}", "/embedded/"),
    "tls-sni-b-host-unknown": ("b.test", "other.test:{port}", "/embedded/"),
    "tls-static": ("a.test", "a.test:{port}", "/digits.txt"),
    "tls-missing": ("b.test", "b.test:{port}", "/no-such-file"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tls(pair: Differential, case: str) -> None:
    sni, host, target = CASES[case]
    pair.check(case, lambda server: observe(pair, server, sni, host, target))


@pytest.mark.parametrize("mode", ["embedded", "daemon"])
@pytest.mark.parametrize("cert", [True, False])
def test_client_certificate(pair: Differential, mode: str, cert: bool) -> None:
    case = f"tls-client-{'cert' if cert else 'none'}-{mode}"
    pair.check(case, lambda s: observe(pair, s, "c.test", "c.test:{port}", f"/{mode}/", cert))


def test_client_certificate_is_the_one_sent(pair: Differential) -> None:
    """SSL_CLIENT_CERT is masked in the comparison (a new CA each run): check it here."""
    seen = {}
    for server in filter(None, (pair.apache, pair.wsgihost)):
        with tls_conn(server, "c.test", client_cert=True) as conn:
            conn.send(request(server, "GET", "/embedded/", f"c.test:{tls_port(server)}"))
            seen[server.name] = parse_json(conn.answer().body)["environ"]["SSL_CLIENT_CERT"]
    pem = _PKI[-1].client_cert.read_text()
    for value in seen.values():
        assert value.split() == pem[pem.index("-----BEGIN") :].split()


def refused(diff: Differential, server: Server, raw: bytes, code: str) -> dict[str, Any]:
    """mod_ssl's refusal of a request on a connection that named a host by SNI,
    and the error-log line it writes (``code``: its AHnnnnn)."""
    masker = diff.masker(server)
    masker.ports.append((str(tls_port(server)), "<TLS_PORT>"))
    mark = LogMark(server)
    try:
        with tls_conn(server, "a.test") as conn:
            conn.send(raw.replace(b"{port}", str(tls_port(server)).encode()))
            answer = conn.answer()
    except (OSError, ValueError) as e:
        return failed(e)
    mark.wait(lambda new: mentions(new, code))
    # log_lines() leaves Apache's AHnnnnn lines out: this one is the point here.
    errors = [line for lines in mark.new().values() for line in lines if code in line]
    said = [masker.text(line[line.index(code) :]) for line in errors]
    return {"answer": answer_view(answer, masker), "logged": said}


REFUSED = {
    # HTTP/1.0 with no Host: 400, AH02031.
    "tls-sni-no-host": (b"GET /embedded/ HTTP/1.0\r\n\r\n", "AH02031"),
    # Host names another TLS host, with another certificate: 421, AH02032.
    "tls-sni-a-host-b-logged": (
        b"GET /embedded/ HTTP/1.1\r\nHost: b.test:{port}\r\n\r\n",
        "AH02032",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_mod_ssl_refusals_and_their_log_lines(pair: Differential, case: str) -> None:
    raw, code = REFUSED[case]
    pair.check(case, lambda server: refused(pair, server, raw, code))


def logged(diff: Differential, server: Server, sni: str | None, host: str, target: str) -> Any:
    """The access-log lines one request over TLS leaves (%{SSL_PROTOCOL}x, %{SSL_CIPHER}x)."""
    mark = LogMark(server)
    seen = observe(diff, server, sni, host, target)
    mark.wait(lambda new: mentions(new, target))
    masker = diff.masker(server)
    masker.ports.append((str(tls_port(server)), "<TLS_PORT>"))
    return {
        "status": seen.get("answer", {}).get("status"),
        "access logs": masker.deep(log_lines(mark, access=True)),
    }


LOG_CASES = {
    "tls-log-a": ("a.test", "a.test:{port}", "/digits.txt?logged"),
    "tls-log-a-missing": ("a.test", "a.test:{port}", "/no-such?logged"),
}


@pytest.mark.parametrize("case", sorted(LOG_CASES))
def test_tls_access_log(pair: Differential, case: str) -> None:
    sni, host, target = LOG_CASES[case]
    pair.check(case, lambda server: logged(pair, server, sni, host, target))


def plain_logged(diff: Differential, server: Server) -> Any:
    mark = LogMark(server)
    answer = call(server, "GET", "/echo/?plain-logged", "plain.test:{port}")
    mark.wait(lambda new: mentions(new, "plain-logged"))
    return {
        "status": getattr(answer, "status", None),
        "access logs": diff.masker(server).deep(log_lines(mark, access=True)),
    }


def test_ssl_variables_are_dashes_on_plain_http(pair: Differential) -> None:
    pair.check("tls-log-plain", lambda server: plain_logged(pair, server))


def plain_to_tls(diff: Differential, server: Server) -> dict[str, Any]:
    port = str(tls_port(server))
    masker = diff.masker(server)
    masker.ports.append((port, "<TLS_PORT>"))
    mark = LogMark(server)
    try:
        conn = Conn.__new__(Conn)
        conn.sock = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
        conn.buf, conn.pause, conn.read_size = b"", 0.0, 65536
        with conn:
            conn.send(request(server, "GET", "/embedded/", f"a.test:{port}"))
            answer = conn.answer()
            closed = conn.sock.recv(1) == b""
    except (OSError, ValueError) as e:
        return failed(e)
    mark.wait(lambda new: mentions(new, '"GET /embedded/ HTTP/1.1" 400'), timeout=2)
    return {
        "answer": answer_view(answer, masker),
        "closed": closed,
        "access logs": masker.deep(log_lines(mark, access=True)),
    }


def test_plain_http_to_the_tls_port(pair: Differential) -> None:
    pair.check("tls-plain-http", lambda server: plain_to_tls(pair, server))


def fake_basic(diff: Differential, server: Server, cert: bool, sent: str | None) -> dict[str, Any]:
    """A request to c.test's FakeBasicAuth section: its status, the user the app got,
    and mod_ssl's error-log lines (AH02035, a spoof) it left."""
    port = str(tls_port(server))
    masker = diff.masker(server)
    masker.ports.append((port, "<TLS_PORT>"))
    headers = []
    if sent is not None:
        headers.append(("Authorization", "Basic " + base64.b64encode(sent.encode()).decode()))
    mark = LogMark(server)
    try:
        with tls_conn(server, "c.test", cert) as conn:
            conn.send(request(server, "GET", "/embedded/fake", f"c.test:{port}", headers))
            answer = conn.answer()
    except (OSError, ValueError) as e:
        return failed(e)
    seen: dict[str, Any] = {"status": answer.status}
    if answer.status == 200:
        env = parse_json(answer.body)["environ"]
        seen["user"] = [env.get("REMOTE_USER"), env.get("AUTH_TYPE")]
        seen["authorization"] = env.get("HTTP_AUTHORIZATION")  # WSGIPassAuthorization On
    else:
        seen["challenge"] = answer.header("www-authenticate")
    if answer.status == 403:
        mark.wait(lambda new: mentions(new, "AH02035"))
        errors = [line for lines in mark.new().values() for line in lines if "AH02035" in line]
        seen["logged"] = [masker.text(line[line.index("AH02035") :]) for line in errors]
    return seen


FAKE_BASIC = {
    "tls-fake-basic-cert": (True, None),
    "tls-fake-basic-cert-and-credentials": (True, "bob:b0b"),
    "tls-fake-basic-none": (False, None),
    "tls-fake-basic-password": (False, "bob:b0b"),
    "tls-fake-basic-spoof": (False, f"{_CLIENT_DN}:password"),
    "tls-fake-basic-not-a-spoof": (False, "/CN=x:other"),
}


@pytest.mark.parametrize("case", sorted(FAKE_BASIC))
def test_fake_basic_auth(pair: Differential, case: str) -> None:
    cert, sent = FAKE_BASIC[case]
    pair.check(case, lambda server: fake_basic(pair, server, cert, sent))
