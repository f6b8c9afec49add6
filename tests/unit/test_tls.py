"""mod_ssl's directives read into TlsSettings, and the SSLContexts built from them."""

from __future__ import annotations

import base64
import ssl
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests import tlscerts
from wsgihost import tls
from wsgihost.access import htpasswd
from wsgihost.access.basic import fake_basic_credentials, fake_basic_spoof
from wsgihost.config import load
from wsgihost.config.model import Server, TlsSettings


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tlscerts.Pki:
    return tlscerts.make(tmp_path_factory.mktemp("pki"))


@pytest.mark.parametrize(
    ("words", "enabled"),
    [
        ("all -SSLv3", ("TLSv1.2", "TLSv1.3")),
        ("all -SSLv3 -TLSv1 -TLSv1.1", ("TLSv1.2", "TLSv1.3")),
        ("-all +TLSv1.3", ("TLSv1.3",)),
        ("TLSv1.2", ("TLSv1.2",)),
        ("+TLSv1.2 +TLSv1.3", ("TLSv1.2", "TLSv1.3")),
        ("all -TLSv1.3", ("TLSv1.2",)),
        ("TLSv1.3 TLSv1.2", ("TLSv1.2",)),  # a bare word replaces, as in mod_ssl
        ("TLSv1 TLSv1.1", ()),  # only what this OpenSSL no longer offers
    ],
)
def test_ssl_protocol(words: str, enabled: tuple[str, ...]) -> None:
    assert tls.parse_protocols(words.split()) == enabled


def test_ssl_protocol_refuses_unknown_names() -> None:
    with pytest.raises(ValueError, match="Illegal protocol 'TLSv9'"):
        tls.parse_protocols(["+TLSv9"])


def test_ssl_options_merge_in_order() -> None:
    host = ("+StdEnvVars", "+ExportCertData")
    assert tls.options_on(host, ()) == {"StdEnvVars", "ExportCertData"}
    assert tls.options_on(host, ("-ExportCertData",)) == {"StdEnvVars"}
    assert tls.options_on(host, ("=StrictRequire",)) == {"StrictRequire"}
    assert tls.options_on((), ("+StdEnvVars",)) == {"StdEnvVars"}


def test_dn_as_mod_ssl_writes_it() -> None:
    subject = ((("countryName", "US"),), (("organizationName", "A, B"),), (("commonName", "x"),))
    assert tls.dn_string(subject) == "CN=x,O=A\\, B,C=US"
    env: dict[str, str] = {}
    tls.cert_vars("SSL_CLIENT", {"subject": subject, "issuer": subject, "version": 3}, env)
    assert env["SSL_CLIENT_S_DN_CN"] == "x" and env["SSL_CLIENT_S_DN_O"] == "A, B"
    assert env["SSL_CLIENT_M_VERSION"] == "3"


def _openssl_oneline(pem: Path) -> str:
    """OpenSSL's own X509_NAME_oneline of a certificate's subject (-nameopt compat)."""
    out = subprocess.run(
        ["openssl", "x509", "-in", str(pem), "-noout", "-subject", "-nameopt", "compat"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip().removeprefix("subject=").strip()


def test_oneline_dn_is_x509_name_oneline(pki: tlscerts.Pki) -> None:
    """FakeBasicAuth's user: the subject as X509_NAME_oneline writes it (not SSL_CLIENT_S_DN's
    RFC 2253 form), the same as OpenSSL's, for the test client's and an odd subject."""
    der = ssl.PEM_cert_to_DER_cert(pki.client_cert.read_text())
    assert tls.oneline_dn(der) == "/C=US/O=wsgihost tests/CN=alice"
    assert tls.oneline_dn(der) == _openssl_oneline(pki.client_cert)
    d = pki.dir
    odd = {
        # "/" and "+" escaped (OpenSSL 3), UTF-8 bytes as \\xHH, a multi-valued RDN.
        "odd": ("/DC=org/CN=a\\/b\\+c, d/emailAddress=b@example.org/OU=caf\u00e9", ()),
        "multi": ("/CN=a+UID=b/C=US", ("-multivalue-rdn",)),
    }
    for name, (subject, flags) in odd.items():
        subprocess.run(
            ["openssl", "req", "-x509", "-new", "-key", str(pki.client_key), "-days", "1",
             "-utf8", *flags, "-subj", subject, "-out", str(d / f"{name}.pem")],
            check=True, capture_output=True,
        )  # fmt: skip
    for name, expected in (
        ("odd", "/DC=org/CN=a\\/b\\+c, d/emailAddress=b@example.org/OU=caf\\xC3\\xA9"),
        ("multi", "/CN=a+UID=b/C=US"),
    ):
        der = ssl.PEM_cert_to_DER_cert((d / f"{name}.pem").read_text())
        assert tls.oneline_dn(der) == expected
        assert tls.oneline_dn(der) == _openssl_oneline(d / f"{name}.pem")
    assert tls.oneline_dn(b"not a certificate") is None


def test_fake_basic_auth_spoof_check() -> None:
    """mod_ssl's AH02035 guard: a Basic user starting with "/" and the password "password"."""

    def basic(text: bytes, scheme: bytes = b"Basic") -> bytes:
        return scheme + b" " + base64.b64encode(text)

    assert fake_basic_spoof(basic(b"/CN=x:password")) == "/CN=x"
    assert fake_basic_spoof(basic(b"/C=US/O=A/CN=alice:password")) == "/C=US/O=A/CN=alice"
    assert fake_basic_spoof(basic(b"/CN=x:password", b"Basic  \t")) == "/CN=x"
    assert fake_basic_spoof(basic(b"/CN=x:other")) is None  # another password: no spoof
    assert fake_basic_spoof(basic(b"/CN=x")) is None  # no password at all
    assert fake_basic_spoof(basic(b"alice:password")) is None
    assert fake_basic_spoof(basic(b"/CN=x:password", b"basic")) is None  # mod_ssl: strcEQ
    assert fake_basic_spoof(None) is None
    assert fake_basic_spoof(b"Bearer abc") is None
    sent = fake_basic_credentials("/CN=alice")
    assert (sent.user, sent.password, sent.raw_password) == ("/CN=alice", "password", b"password")


def test_fake_basic_auth_users_file_line(tmp_path: Path) -> None:
    """mod_ssl's documented line: the subject and xxj31ZMTZzkVA (DES crypt of "password")."""
    dn = "/C=US/O=wsgihost tests/CN=alice"
    users = tmp_path / "users"
    users.write_text(f"{dn}:xxj31ZMTZzkVA\n")
    sent = fake_basic_credentials(dn)
    answer = htpasswd.check(htpasswd.FILES, str(users), sent.user, sent.raw_password)
    assert answer.lookup is htpasswd.Lookup.GRANTED


def test_fake_basic_auth_is_accepted_per_section(tmp_path: Path, pki: tlscerts.Pki) -> None:
    server, problems = site(
        tmp_path,
        "SSLOptions +StdEnvVars\n<Location /x>\nSSLOptions +FakeBasicAuth\n</Location>\n",
    )
    assert server is not None, problems
    assert not [p for p in problems if "FakeBasicAuth" in p]


def site(tmp_path: Path, body: str) -> tuple[Server | None, list[str]]:
    conf = tmp_path / "site.conf"
    conf.write_text("Listen 127.0.0.1:8443 https\n" + textwrap.dedent(body))
    server, problems = load(str(conf))
    return server, [f"{p.line}: {p.message}" for p in problems]


def test_settings_merge_main_under_vhost(tmp_path: Path, pki: tlscerts.Pki) -> None:
    server, problems = site(
        tmp_path,
        f"""\
        SSLProtocol -all +TLSv1.3
        SSLOptions +StdEnvVars
        <VirtualHost *:8443>
            ServerName a.test
            SSLEngine on
            SSLCertificateFile {pki.cert("a.test")}
            SSLCertificateKeyFile {pki.key("a.test")}
            SSLOptions +ExportCertData
            <Location /x>
                SSLOptions -StdEnvVars
            </Location>
        </VirtualHost>
        <VirtualHost *:8443>
            ServerName plain.test
        </VirtualHost>
        """,
    )
    assert server is not None, problems
    a, plain = server.vhosts
    assert plain.tls is None
    assert server.listeners[0].url().startswith("http://")  # a plain host shares the port
    assert a.tls is not None
    assert a.tls.protocols == ("TLSv1.3",)
    assert a.tls.options == ("+StdEnvVars", "+ExportCertData")
    assert a.tls.key_files == (str(pki.key("a.test")),)
    assert a.sections[0].settings.ssl_options == ("-StdEnvVars",)


def test_context_follows_the_settings(pki: tlscerts.Pki) -> None:
    settings = TlsSettings(
        engine=True,
        certificate_files=(str(pki.cert("a.test")),),
        key_files=(str(pki.key("a.test")),),
        chain_file=str(pki.ca),
        ca_file=str(pki.ca),
        verify_client="require",
        protocols=("TLSv1.3",),
        session_tickets=False,
        honor_cipher_order=True,
    )
    ctx = tls.context(settings)
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_3
    assert ctx.maximum_version == ssl.TLSVersion.TLSv1_3
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.options & ssl.OP_NO_TICKET
    assert ctx.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    assert ctx.options & ssl.OP_NO_COMPRESSION


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("SSLEngine on\n", "2: SSLEngine on, but no certificate is configured"),
        ("SSLEngine optional\n", "2: SSLEngine: 'optional'"),
        ("SSLProtocol +TLSv9\n", "2: SSLProtocol: Illegal protocol 'TLSv9'"),
        ("SSLCipherSuite NOTACIPHER\n", "2: SSLCipherSuite: 'NOTACIPHER': no cipher"),
        ("SSLVerifyClient sometimes\n", "2: SSLVerifyClient: 'sometimes'"),
        ("SSLRequire %{HTTPS}\n", "2: SSLRequire: this mod_ssl access check is not provided"),
        ("SSLCertificateFile /no/such.pem\n", "2: SSLCertificateFile: file '/no/such.pem'"),
    ],
)
def test_refusals_point_at_their_line(tmp_path: Path, body: str, expected: str) -> None:
    server, problems = site(tmp_path, body)
    assert server is None
    assert any(p.startswith(expected) for p in problems), problems


def test_encrypted_key_is_refused_without_showing_it(tmp_path: Path, pki: tlscerts.Pki) -> None:
    import subprocess

    locked = tmp_path / "locked.key"
    subprocess.run(
        ["openssl", "pkey", "-in", str(pki.key("a.test")), "-aes256", "-passout", "pass:x",
         "-out", str(locked)],
        check=True, capture_output=True,
    )  # fmt: skip
    server, problems = site(
        tmp_path,
        f"""\
        <VirtualHost *:8443>
            SSLEngine on
            SSLCertificateFile {pki.cert("a.test")}
            SSLCertificateKeyFile {locked}
        </VirtualHost>
        """,
    )
    assert server is None
    assert any(p.startswith("5: ") and "is encrypted" in p for p in problems), problems
    assert not any("BEGIN" in p for p in problems)


def test_stapling_and_proxy_are_warnings(tmp_path: Path, pki: tlscerts.Pki) -> None:
    server, problems = site(
        tmp_path,
        f"""\
        SSLStaplingCache shmcb:/tmp/stapling(32768)
        SSLProxyEngine on
        <VirtualHost *:8443>
            SSLEngine on
            SSLCertificateFile {pki.cert("a.test")}
            SSLCertificateKeyFile {pki.key("a.test")}
            SSLUseStapling on
        </VirtualHost>
        """,
    )
    assert server is not None
    assert server.listeners[0].url() == "https://127.0.0.1:8443"  # every host on it: TLS
    assert [p.split(": ")[0] for p in problems] == ["2", "3", "8"]
    assert all("not provided" in p for p in problems)


def test_compatible_is_mod_ssls_check() -> None:
    a = TlsSettings(certificate_files=("a.pem",))
    assert tls.compatible(a, TlsSettings(certificate_files=("a.pem",), options=("+StdEnvVars",)))
    assert not tls.compatible(a, TlsSettings(certificate_files=("b.pem",)))
    assert not tls.compatible(a, TlsSettings(certificate_files=("a.pem",), verify_client="require"))


def test_per_directory_client_verification(tmp_path: Path, pki: tlscerts.Pki) -> None:
    vhost = f"""\
        <VirtualHost *:8443>
            SSLEngine on
            SSLCertificateFile {pki.cert("a.test")}
            SSLCertificateKeyFile {pki.key("a.test")}
            SSLCACertificateFile {pki.ca}
            <Location /certs>
                SSLVerifyClient MODE
            </Location>
        </VirtualHost>
        """
    # optional refuses no one: asked for at the handshake, host-wide, with a warning.
    server, problems = site(tmp_path, vhost.replace("MODE", "optional"))
    assert server is not None and server.vhosts[0].tls is not None
    assert server.vhosts[0].tls.verify_client == "optional"
    assert any(p.startswith("8: SSLVerifyClient: asked for at the handshake") for p in problems)
    # require: asked for at the handshake too (optional, so the rest of the host is
    # open), and the section refuses a connection that presented none.
    server, problems = site(tmp_path, vhost.replace("MODE", "require"))
    assert server is not None and server.vhosts[0].tls is not None
    assert server.vhosts[0].tls.verify_client == "optional"
    assert any(p.startswith("8: SSLVerifyClient: asked for at the handshake") for p in problems)
    (section,) = [s for s in server.vhosts[0].sections if s.pattern == "/certs"]
    assert section.settings.require_client_cert is True
    assert not server.vhosts[0].settings.require_client_cert


def test_a_key_this_user_cannot_read_is_a_warning(
    tmp_path: Path, pki: tlscerts.Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    # configtest run by a user on a tree whose keys are root's: checked when root starts it.
    from wsgihost.config import mod_ssl

    key = str(pki.key("a.test"))
    monkeypatch.setattr(mod_ssl.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(mod_ssl.os, "access", lambda path, mode: path != key)
    server, problems = site(
        tmp_path,
        f"""\
        <VirtualHost *:8443>
            SSLEngine on
            SSLCertificateFile {pki.cert("a.test")}
            SSLCertificateKeyFile {key}
        </VirtualHost>
        """,
    )
    assert server is not None
    assert problems == [
        f"5: '{key}' cannot be read by this user: not checked (the server, "
        "started as root, reads it)"
    ]


@pytest.mark.parametrize(
    ("server_name", "warned"),
    [("a.test", False), ("https://a.test:8443", False), ("b.test", True), ("x.a.test", True)],
)
def test_a_certificate_for_another_name_is_a_warning(
    tmp_path: Path, pki: tlscerts.Pki, server_name: str, warned: bool
) -> None:
    server, problems = site(
        tmp_path,
        f"""\
        <VirtualHost *:8443>
            ServerName {server_name}
            SSLEngine on
            SSLCertificateFile {pki.cert("a.test")}
            SSLCertificateKeyFile {pki.key("a.test")}
        </VirtualHost>
        """,
    )
    assert server is not None  # as Apache, which starts with a warning (AH01909)
    warning = "5: the server certificate does not include an ID which matches"
    assert [p.startswith(warning) for p in problems] == ([True] if warned else [])


def test_wildcard_names() -> None:
    assert tls.name_matches("*.example.com", "www.example.com")
    assert not tls.name_matches("*.example.com", "a.b.example.com")
    assert not tls.name_matches("*.example.com", "example.com")
