"""TLS as mod_ssl does it: `serve --config` with SSLEngine vhosts, spoken to by real clients.

Certificates come from a CA made at test time (tests/tlscerts.py). Clients
are Python's ssl module (which checks the chain against that CA and the
name) and ``curl``.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import tlscerts
from tests.functional.helpers import free_port
from tests.functional.server import APPS, ServerProcess, read_response

pytestmark = pytest.mark.slow

BIG = 3 * 1024 * 1024 + 17


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tlscerts.Pki:
    return tlscerts.make(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, pki: tlscerts.Pki) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("tls-site")
    docs = root / "htdocs"
    docs.mkdir()
    (docs / "index.html").write_text("a index\n")
    (docs / "big.bin").write_bytes(bytes(range(256)) * (BIG // 256) + b"x" * (BIG % 256))
    echo = APPS / "echo.wsgi"
    conf = root / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:${{TLS_PORT}} https
            Listen 127.0.0.1:${{MTLS_PORT}}
            Listen 127.0.0.1:${{PLAIN_PORT}}
            ServerName main.test
            ErrorLog {root}/error.log
            LogFormat "%h %>s %{{SSL_PROTOCOL}}x %{{SSL_CIPHER}}x \\"%r\\"" ssl
            CustomLog {root}/access.log ssl
            SSLProtocol all -SSLv3 -TLSv1 -TLSv1.1
            SSLSessionCache shmcb:{root}/scache(512000)
            RequestReadTimeout header=2
            WSGIDaemonProcess tlsd processes=1 threads=4

            <VirtualHost *:${{TLS_PORT}}>
                ServerName a.test
                DocumentRoot {docs}
                SSLEngine on
                SSLCertificateFile {pki.cert("a.test")}
                SSLCertificateKeyFile {pki.key("a.test")}
                SSLOptions +StdEnvVars
                WSGIScriptAlias /app {echo}
                WSGIScriptAlias /daemon {echo} process-group=tlsd
                <Location /app>
                    SSLRequireSSL
                </Location>
            </VirtualHost>

            <VirtualHost *:${{PLAIN_PORT}}>
                ServerName a.test
                WSGIScriptAlias /app {echo}
                <Location /app>
                    SSLRequireSSL
                </Location>
            </VirtualHost>

            <VirtualHost *:${{TLS_PORT}}>
                ServerName b.test
                DocumentRoot {docs}
                SSLEngine on
                SSLCertificateFile {pki.cert("b.test")}
                SSLCertificateKeyFile {pki.key("b.test")}
                SSLStrictSNIVHostCheck on
                WSGIScriptAlias /app {echo}
            </VirtualHost>

            <VirtualHost 127.0.0.1:${{MTLS_PORT}}>
                ServerName a.test
                SSLEngine on
                SSLCertificateFile {pki.cert("a.test")}
                SSLCertificateKeyFile {pki.key("a.test")}
                SSLCACertificateFile {pki.ca}
                SSLVerifyClient optional
                SSLOptions +StdEnvVars +ExportCertData
                WSGIScriptAlias /app {echo}
            </VirtualHost>
            """
        )
    )
    ports = {n: str(free_port()) for n in ("TLS_PORT", "MTLS_PORT", "PLAIN_PORT")}
    server = ServerProcess(["serve", "--config", str(conf)], env=ports)
    try:
        server.wait_listening(count=3)
        server.root = root  # type: ignore[attr-defined]
        server.plain_port = int(ports["PLAIN_PORT"])  # type: ignore[attr-defined]
        server.tls_port = int(ports["TLS_PORT"])  # type: ignore[attr-defined]
        server.mtls_port = int(ports["MTLS_PORT"])  # type: ignore[attr-defined]
        yield server
    finally:
        server.close()


def client_context(pki: tlscerts.Pki, cert: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    if cert:
        ctx.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    return ctx


def tls_connect(
    port: int, ctx: ssl.SSLContext, sni: str | None, timeout: float = 10.0
) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if sni is None:
        ctx.check_hostname = False
    return ctx.wrap_socket(raw, server_hostname=sni)


def ask(sock: ssl.SSLSocket, path: str, host: str) -> tuple[int, dict[str, str], bytes]:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return read_response(sock)  # type: ignore[arg-type]


def test_sni_picks_the_certificate_and_the_app_sees_https(
    site: ServerProcess, pki: tlscerts.Pki
) -> None:
    for name in ("a.test", "b.test"):
        with tls_connect(site.tls_port, client_context(pki), name) as s:  # type: ignore[attr-defined]
            # The chain verified against the test CA for this very name.
            assert s.getpeercert()["subject"][-1] == (("commonName", name),)
            assert s.selected_alpn_protocol() in (None, "http/1.1")
            status, _, body = ask(s, "/app/x", name)
            assert status == 200
            env = json.loads(body)["environ"]
            assert env["wsgi.url_scheme"] == "https"
            assert "HTTPS" not in env  # mod_wsgi leaves mod_ssl's HTTPS out
            assert env["SERVER_NAME"] == name
            assert env["SSL_TLS_SNI"] == name
            # StdEnvVars is set on a.test only.
            assert ("SSL_PROTOCOL" in env) == (name == "a.test")
            if name == "a.test":
                assert env["SSL_PROTOCOL"] == s.version()
                assert env["SSL_CIPHER"] == s.cipher()[0]
                assert env["SSL_SERVER_S_DN_CN"] == "a.test"
                assert env["SSL_SERVER_S_DN"] == "CN=a.test,O=wsgihost tests,C=US"
                assert env["SSL_CLIENT_VERIFY"] == "NONE"
                assert env["SSL_SERVER_SAN_DNS_0"] == "a.test"
                assert env["SSL_SERVER_A_KEY"] == "id-ecPublicKey"
                assert env["SSL_SERVER_A_SIG"] == "ecdsa-with-SHA256"


def test_tls_listeners_are_announced_as_https(site: ServerProcess) -> None:
    out = site.stdout()
    assert f"listening on https://127.0.0.1:{site.tls_port}" in out  # type: ignore[attr-defined]
    assert f"listening on http://127.0.0.1:{site.plain_port}" in out  # type: ignore[attr-defined]


def test_no_sni_gets_the_first_host(site: ServerProcess, pki: tlscerts.Pki) -> None:
    with tls_connect(site.tls_port, client_context(pki), None) as s:  # type: ignore[attr-defined]
        assert s.getpeercert()["subject"][-1] == (("commonName", "a.test"),)
        status, _, body = ask(s, "/app/", "a.test")
        assert status == 200
        assert "SSL_TLS_SNI" not in json.loads(body)["environ"]


def test_sni_and_host_naming_other_tls_hosts_is_421(site: ServerProcess, pki: tlscerts.Pki) -> None:
    with tls_connect(site.tls_port, client_context(pki), "a.test") as s:  # type: ignore[attr-defined]
        status, _, body = ask(s, "/app/", "b.test")
        assert status == 421
        assert b"Misdirected Request" in body
        # The connection stays usable for the host it was made for.
        status, _, _ = ask(s, "/", "a.test")
        assert status == 200


def test_daemon_mode_over_tls_keepalive(site: ServerProcess, pki: tlscerts.Pki) -> None:
    with tls_connect(site.tls_port, client_context(pki), "a.test") as s:  # type: ignore[attr-defined]
        for _ in range(3):  # one connection, three requests
            status, _, body = ask(s, "/daemon/d", "a.test")
            assert status == 200
            env = json.loads(body)["environ"]
            assert env["mod_wsgi.process_group"] == "tlsd"
            assert env["wsgi.url_scheme"] == "https"
            assert env["SSL_PROTOCOL"] in ("TLSv1.2", "TLSv1.3")


def test_big_static_file_and_a_stream_through_tls(site: ServerProcess, pki: tlscerts.Pki) -> None:
    expected = (site.root / "htdocs" / "big.bin").read_bytes()  # type: ignore[attr-defined]
    with tls_connect(site.tls_port, client_context(pki), "a.test", timeout=30) as s:  # type: ignore[attr-defined]
        status, headers, body = ask(s, "/big.bin", "a.test")
        assert status == 200
        assert body == expected  # sendfile cannot be used: it must come through TLS
        status, headers, body = ask(s, "/app/stream?n=200&size=10000", "a.test")
        assert status == 200
        assert headers.get("transfer-encoding") == "chunked"
        assert body == b"x" * 2_000_000


def test_close_notify_ends_the_connection(site: ServerProcess, pki: tlscerts.Pki) -> None:
    raw = socket.create_connection(("127.0.0.1", site.tls_port), timeout=10)  # type: ignore[attr-defined]
    # Without suppress_ragged_eofs, a close with no close_notify raises SSLEOFError.
    ctx = client_context(pki)
    with ctx.wrap_socket(raw, server_hostname="a.test", suppress_ragged_eofs=False) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)  # a clean TLS end reads as b""; a cut one raises
            if not chunk:
                break
            data += chunk
        assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"a index\n")


def test_client_certificate_optional(site: ServerProcess, pki: tlscerts.Pki) -> None:
    port = site.mtls_port  # type: ignore[attr-defined]
    with tls_connect(port, client_context(pki, cert=True), "a.test") as s:
        status, _, body = ask(s, "/app/", "a.test")
        env = json.loads(body)["environ"]
        assert status == 200
        assert env["SSL_CLIENT_VERIFY"] == "SUCCESS"
        assert env["SSL_CLIENT_S_DN"] == "CN=alice,O=wsgihost tests,C=US"
        assert env["SSL_CLIENT_S_DN_CN"] == "alice"
        assert env["SSL_CLIENT_I_DN_CN"] == "wsgihost test CA"
        pem = pki.client_cert.read_text()
        assert env["SSL_CLIENT_CERT"].split() == pem[pem.index("-----BEGIN") :].split()
        assert env["SSL_SERVER_CERT"].startswith("-----BEGIN CERTIFICATE-----")
    with tls_connect(port, client_context(pki), "a.test") as s:
        status, _, body = ask(s, "/app/", "a.test")
        assert json.loads(body)["environ"]["SSL_CLIENT_VERIFY"] == "NONE"


@pytest.mark.parametrize("alone", [True, False])
def test_client_certificate_required(tmp_path: Path, pki: tlscerts.Pki, alone: bool) -> None:
    """``require`` on its own port, and on a port whose first host asks for nothing
    (SNI then switches hosts, and OpenSSL keeps the first host's verify mode)."""
    first = f"""\
            <VirtualHost *:${{PORT}}>
                ServerName a.test
                SSLEngine on
                SSLCertificateFile {pki.cert("a.test")}
                SSLCertificateKeyFile {pki.key("a.test")}
                SSLOptions +StdEnvVars
                WSGIScriptAlias / {APPS / "echo.wsgi"}
            </VirtualHost>
            """
    conf = tmp_path / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:${{PORT}}
            ErrorLog {tmp_path}/error.log
            {"" if alone else first}
            <VirtualHost *:${{PORT}}>
                ServerName b.test
                SSLEngine on
                SSLCertificateFile {pki.cert("b.test")}
                SSLCertificateKeyFile {pki.key("b.test")}
                SSLCACertificateFile {pki.ca}
                SSLVerifyClient require
                SSLOptions +StdEnvVars
                WSGIScriptAlias / {APPS / "echo.wsgi"}
            </VirtualHost>
            """
        )
    )
    port = free_port()
    server = ServerProcess(["serve", "--config", str(conf)], env={"PORT": str(port)})
    try:
        server.wait_listening()
        with tls_connect(port, client_context(pki, cert=True), "b.test") as s:
            status, _, body = ask(s, "/", "b.test")
            assert status == 200
            assert json.loads(body)["environ"]["SSL_CLIENT_S_DN_CN"] == "alice"
        # Without a certificate: refused (TLS 1.3 fails at the first read).
        with (
            pytest.raises((ssl.SSLError, ConnectionError)),
            tls_connect(port, client_context(pki), "b.test") as s,
        ):
            ask(s, "/", "b.test")
        if not alone:
            # The host that verifies nothing shows no certificate, though one was sent.
            with tls_connect(port, client_context(pki, cert=True), "a.test") as s:
                status, _, body = ask(s, "/", "a.test")
                env = json.loads(body)["environ"]
                assert status == 200
                assert env["SSL_CLIENT_VERIFY"] == "NONE" and "SSL_CLIENT_S_DN" not in env
            with tls_connect(port, client_context(pki), "a.test") as s:
                assert ask(s, "/", "a.test")[0] == 200
    finally:
        server.close()


def test_a_section_that_requires_a_client_certificate(tmp_path: Path, pki: tlscerts.Pki) -> None:
    """SSLVerifyClient require in a <Location>: asked for at the handshake for the
    whole host, the rest of it open, the section 403 without a certificate."""
    conf = tmp_path / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:${{PORT}}
            ErrorLog {tmp_path}/error.log
            <VirtualHost *:${{PORT}}>
                ServerName b.test
                SSLEngine on
                SSLCertificateFile {pki.cert("b.test")}
                SSLCertificateKeyFile {pki.key("b.test")}
                SSLCACertificateFile {pki.ca}
                SSLOptions +StdEnvVars
                WSGIScriptAlias / {APPS / "echo.wsgi"}
                <Location /private>
                    SSLVerifyClient require
                </Location>
            </VirtualHost>
            """
        )
    )
    port = free_port()
    server = ServerProcess(["serve", "--config", str(conf)], env={"PORT": str(port)})
    try:
        server.wait_listening()
        with tls_connect(port, client_context(pki), "b.test") as s:
            assert ask(s, "/open", "b.test")[0] == 200
            assert ask(s, "/private/x", "b.test")[0] == 403
        with tls_connect(port, client_context(pki, cert=True), "b.test") as s:
            status, _, body = ask(s, "/private/x", "b.test")
            assert status == 200
            assert json.loads(body)["environ"]["SSL_CLIENT_S_DN_CN"] == "alice"
        log = (tmp_path / "error.log").read_text()
        assert "access to /private/x failed, reason: no verified client certificate" in log
    finally:
        server.close()


def test_plain_http_to_the_tls_port_gets_apaches_400(site: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", site.tls_port), timeout=10) as s:  # type: ignore[attr-defined]
        s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        status, headers, body = read_response(s)
        assert status == 400
        assert headers["connection"] == "close"
        assert b"You're speaking plain HTTP to an SSL-enabled server port" in body


def test_access_log_has_ssl_protocol_and_cipher(site: ServerProcess, pki: tlscerts.Pki) -> None:
    with tls_connect(site.tls_port, client_context(pki), "a.test") as s:  # type: ignore[attr-defined]
        ask(s, "/index.html?logged", "a.test")
        version, cipher = s.version(), s.cipher()[0]
    log = site.root / "access.log"  # type: ignore[attr-defined]
    for _ in range(100):
        lines = [line for line in log.read_text().splitlines() if "logged" in line]
        if lines:
            break
        time.sleep(0.05)
    assert lines and f" 200 {version} {cipher} " in lines[0]


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_verifies_and_resolves(site: ServerProcess, pki: tlscerts.Pki) -> None:
    port = site.tls_port  # type: ignore[attr-defined]
    out = subprocess.run(
        ["curl", "-sS", "--cacert", str(pki.ca), "--resolve", f"b.test:{port}:127.0.0.1",
         f"https://b.test:{port}/app/c", "-o", "-", "-w", "\n%{http_code} %{http_version}"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    body, _, tail = out.stdout.rpartition("\n")
    assert tail == "200 1.1", out.stderr
    assert json.loads(body)["environ"]["SERVER_NAME"] == "b.test"


def test_configtest_refuses_a_key_of_another_certificate(tmp_path: Path, pki: tlscerts.Pki) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:8443
            <VirtualHost *:8443>
                ServerName a.test
                SSLEngine on
                SSLCertificateFile {pki.cert("a.test")}
                SSLCertificateKeyFile {pki.other_key}
            </VirtualHost>
            <VirtualHost *:8443>
                ServerName b.test
                SSLEngine on
                SSLCertificateFile {tmp_path}/missing.pem
            </VirtualHost>
            """
        )
    )
    out = subprocess.run(
        [sys.executable, "-m", "wsgihost", "configtest", "--config", str(conf)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert f"{conf}:6: " in text and "does not match the certificate" in text
    assert f"{conf}:11: SSLCertificateFile: file '{tmp_path}/missing.pem' does not exist" in text
    assert "BEGIN" not in text  # no key material in any message


def test_ssl_require_ssl_refuses_plain_http(site: ServerProcess, pki: tlscerts.Pki) -> None:
    with socket.create_connection(("127.0.0.1", site.plain_port), timeout=10) as s:  # type: ignore[attr-defined]
        s.sendall(b"GET /app/ HTTP/1.1\r\nHost: a.test\r\n\r\n")
        assert read_response(s)[0] == 403
    with tls_connect(site.tls_port, client_context(pki), "a.test") as t:  # type: ignore[attr-defined]
        assert ask(t, "/app/", "a.test")[0] == 200


def test_strict_sni_refuses_a_client_without_sni(site: ServerProcess, pki: tlscerts.Pki) -> None:
    # b.test has SSLStrictSNIVHostCheck on: reached by Host alone, 403 (mod_ssl's check).
    with tls_connect(site.tls_port, client_context(pki), None) as s:  # type: ignore[attr-defined]
        assert ask(s, "/app/", "b.test")[0] == 403
    with tls_connect(site.tls_port, client_context(pki), "b.test") as s:  # type: ignore[attr-defined]
        assert ask(s, "/app/", "b.test")[0] == 200


def test_header_timeout_over_tls(site: ServerProcess, pki: tlscerts.Pki) -> None:
    with tls_connect(site.tls_port, client_context(pki), "a.test") as s:  # type: ignore[attr-defined]
        s.sendall(b"GET / HTTP/1.1\r\nHost: a.t")  # and nothing more
        started = time.monotonic()
        assert read_response(s)[0] == 408  # type: ignore[arg-type]
        assert 1.5 < time.monotonic() - started < 10
        assert s.recv(1) == b""  # then closed


def test_a_request_body_through_tls(site: ServerProcess, pki: tlscerts.Pki) -> None:
    body = bytes(range(256)) * 8192  # 2 MiB, many TLS records
    with tls_connect(site.tls_port, client_context(pki), "a.test", timeout=30) as s:  # type: ignore[attr-defined]
        for path in ("/app/post", "/daemon/post"):
            head = f"POST {path} HTTP/1.1\r\nHost: a.test\r\nContent-Length: {len(body)}\r\n\r\n"
            s.sendall(head.encode() + body)
            status, _, answer = read_response(s)  # type: ignore[arg-type]
            assert status == 200
            assert json.loads(answer)["body"].encode("latin-1") == body


def test_the_first_host_of_an_address_decides_tls(tmp_path: Path, pki: tlscerts.Pki) -> None:
    """As Apache (which accepts TLS and plain hosts on one port): a connection speaks
    TLS when the host its address alone picks does; the request then goes by Host."""

    def vhost(port: str, name: str, tls: bool) -> str:
        lines = [f"<VirtualHost *:${{{port}}}>", f"ServerName {name}"]
        if tls:
            lines += [
                "SSLEngine on",
                f"SSLCertificateFile {pki.cert('a.test')}",
                f"SSLCertificateKeyFile {pki.key('a.test')}",
            ]
        lines += [f"WSGIScriptAlias / {APPS / 'echo.wsgi'}", "</VirtualHost>"]
        return "\n".join(lines) + "\n"

    conf = tmp_path / "site.conf"
    conf.write_text(
        "Listen 127.0.0.1:${TLS_FIRST}\nListen 127.0.0.1:${PLAIN_FIRST}\n"
        f"ErrorLog {tmp_path}/error.log\n"
        + vhost("TLS_FIRST", "a.test", True)
        + vhost("TLS_FIRST", "b.test", False)
        + vhost("PLAIN_FIRST", "c.test", False)
        + vhost("PLAIN_FIRST", "d.test", True)
    )
    ports = {"TLS_FIRST": free_port(), "PLAIN_FIRST": free_port()}
    server = ServerProcess(
        ["serve", "--config", str(conf)], env={k: str(v) for k, v in ports.items()}
    )
    try:
        server.wait_listening(count=2)
        ctx = client_context(pki)
        ctx.check_hostname = False
        with tls_connect(ports["TLS_FIRST"], ctx, "b.test") as s:
            status, _, body = ask(s, "/", "b.test")
            env = json.loads(body)["environ"]
            assert status == 200
            assert (env["SERVER_NAME"], env["wsgi.url_scheme"]) == ("b.test", "https")
        with socket.create_connection(("127.0.0.1", ports["PLAIN_FIRST"]), timeout=10) as p:
            p.sendall(b"GET / HTTP/1.1\r\nHost: d.test\r\n\r\n")
            status, _, body = read_response(p)
            env = json.loads(body)["environ"]
            assert status == 200
            assert (env["SERVER_NAME"], env["wsgi.url_scheme"]) == ("d.test", "http")
    finally:
        server.close()


def test_fake_basic_auth(tmp_path: Path, pki: tlscerts.Pki) -> None:
    """SSLOptions +FakeBasicAuth: the verified certificate's subject (X509_NAME_oneline
    form) is the Basic user, with the password "password"; a client that sends such
    credentials itself is refused (mod_ssl's AH02035), one with no certificate asked."""
    dn = "/C=US/O=wsgihost tests/CN=alice"
    lines = []
    for user, password, flag in ((dn, "password", "-nbs"), ("bob", "b0b", "-nbm")):
        made = subprocess.run(
            ["htpasswd", flag, user, password], check=True, capture_output=True, text=True
        )
        lines.append(made.stdout.strip())
    (tmp_path / "users").write_text("\n".join(lines) + "\n")
    conf = tmp_path / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:${{PORT}}
            ErrorLog {tmp_path}/error.log
            LogLevel info
            <VirtualHost *:${{PORT}}>
                ServerName b.test
                SSLEngine on
                SSLCertificateFile {pki.cert("b.test")}
                SSLCertificateKeyFile {pki.key("b.test")}
                SSLCACertificateFile {pki.ca}
                SSLVerifyClient optional
                WSGIScriptAlias / {APPS / "echo.wsgi"}
                <Location /cert>
                    SSLOptions +FakeBasicAuth
                    WSGIPassAuthorization On
                    AuthType Basic
                    AuthName certs
                    AuthUserFile {tmp_path}/users
                    Require valid-user
                </Location>
            </VirtualHost>
            """
        )
    )

    def get(s: ssl.SSLSocket, user: str | None = None) -> tuple[int, dict[str, str], bytes]:
        auth = ""
        if user is not None:
            auth = f"Authorization: Basic {base64.b64encode(user.encode()).decode()}\r\n"
        s.sendall(f"GET /cert/x HTTP/1.1\r\nHost: b.test\r\n{auth}\r\n".encode())
        return read_response(s)  # type: ignore[arg-type]

    port = free_port()
    server = ServerProcess(["serve", "--config", str(conf)], env={"PORT": str(port)})
    try:
        server.wait_listening()
        with tls_connect(port, client_context(pki, cert=True), "b.test") as s:
            status, _, body = get(s)
            env = json.loads(body)["environ"]
            assert status == 200
            assert (env["REMOTE_USER"], env["AUTH_TYPE"]) == (dn, "Basic")
            fake = "Basic " + base64.b64encode(f"{dn}:password".encode()).decode()
            assert env["HTTP_AUTHORIZATION"] == fake  # the header mod_ssl made
            # mod_ssl puts the certificate's user in place of the one sent.
            status, _, body = get(s, "bob:b0b")
            env = json.loads(body)["environ"]
            assert status == 200 and env["REMOTE_USER"] == dn
            assert env["HTTP_AUTHORIZATION"] == fake
        with tls_connect(port, client_context(pki), "b.test") as s:
            status, headers, _ = get(s)
            assert status == 401
            assert headers["www-authenticate"] == 'Basic realm="certs"'
            assert get(s, f"{dn}:password")[0] == 403  # a spoof: no certificate behind it
            assert get(s, "/CN=x:password")[0] == 403
            assert get(s, "/CN=x:other")[0] == 401  # not the fake password: not a spoof
            status, _, body = get(s, "bob:b0b")
            assert status == 200 and json.loads(body)["environ"]["REMOTE_USER"] == "bob"
        log = (tmp_path / "error.log").read_text()
        assert "[ssl:error] [pid " in log
        assert f"AH02035: Encountered FakeBasicAuth spoof: {dn}" in log
        assert "AH02035: Encountered FakeBasicAuth spoof: /CN=x" in log
        assert f'AH02036: Faking HTTP Basic Auth header: "Authorization: {fake}"' in log
    finally:
        server.close()
