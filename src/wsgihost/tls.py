"""TLS as mod_ssl configures it: SSLContexts from TlsSettings, and the SSL_* variables.

Used by the configuration reader (to check a certificate and its key where
they are named), and by the front-end workers, which build their contexts
while still root, before they drop to ``User`` (as Apache's children inherit
what its root parent loaded), so a ``0600`` key stays readable by root only
and no key material is copied anywhere: not into the model the master hands
over, not into a file, not into a log line.
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wsgihost.config.model import TlsSettings

# The protocols mod_ssl's SSLProtocol names, oldest first. This Python's
# OpenSSL (3.x, as Debian configures it) offers nothing below TLSv1.2, and
# neither does Apache on the same machine: the older ones are accepted in the
# syntax and stay off.
PROTOCOLS = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
OFFERED = ("TLSv1.2", "TLSv1.3")
_VERSIONS = {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
TLS13_CIPHERS_SETTABLE = hasattr(ssl.SSLContext, "set_ciphersuites")


def parse_protocols(words: Iterable[str]) -> tuple[str, ...]:
    """SSLProtocol's words to the protocols left on (of those this OpenSSL offers).

    As mod_ssl reads them: ``+X`` adds, ``-X`` removes, a bare word replaces
    what came before; ``all`` is every protocol from SSLv3 up.
    """
    names = {p.lower(): p for p in PROTOCOLS}
    enabled: set[str] = set()
    for word in words:
        sign = word[0] if word[:1] in ("+", "-") else ""
        name = word[len(sign) :].lower()
        if name == "all":
            chosen = set(PROTOCOLS)
        elif name in names:
            chosen = {names[name]}
        elif name == "sslv2":
            if sign == "-":
                continue  # mod_ssl 2.4 lets configurations still say -SSLv2
            raise ValueError("SSLv2 is not supported by this version of OpenSSL")
        else:
            raise ValueError(f"Illegal protocol '{word[len(sign) :]}'")
        if sign == "+":
            enabled |= chosen
        elif sign == "-":
            enabled -= chosen
        else:
            enabled = set(chosen)
    return tuple(p for p in OFFERED if p in enabled)


def check_ciphers(spec: str) -> str | None:
    """Why OpenSSL refuses a cipher string, or None."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).set_ciphers(spec)
    except ssl.SSLError:
        return f"'{spec}': no cipher can be selected from this cipher string (OpenSSL)"
    return None


def _no_pass_phrase() -> str:
    raise ssl.SSLError("encrypted")


def _read_text(path: str) -> str:
    with open(path, encoding="latin-1") as f:
        return f.read()


def check_pair(cert: str, key: str | None, chain: str | None) -> str | None:
    """Why a certificate and its key (None: the key in ``cert``) cannot serve, or None."""
    for path in (cert, key, chain):
        if path is None:
            continue
        try:
            text = _read_text(path)
        except OSError as e:
            return f"cannot read '{path}': {e.strerror}"
        if path in (key, cert) and "ENCRYPTED" in text and "PRIVATE KEY" in text:
            return (
                f"the private key in '{path}' is encrypted: pass phrases are not "
                "provided by wsgihost; decrypt it (openssl pkey -in KEY -out PLAIN) and "
                "keep it readable by root only"
            )
    try:
        context(TlsSettings(certificate_files=(cert,), key_files=(key,) if key else ()))
    except ssl.SSLError as e:
        reason = e.reason or str(e)
        if "KEY_VALUES_MISMATCH" in reason.upper():
            return f"the private key does not match the certificate '{cert}'"
        where = f"'{cert}'" if key is None else f"'{cert}' and '{key}'"
        return f"cannot load the certificate and key from {where}: {reason}"
    except OSError as e:
        return f"cannot load '{cert}': {e.strerror}"
    return None


def check_ca(path: str) -> str | None:
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_verify_locations(cafile=path)
    except (ssl.SSLError, OSError) as e:
        return f"cannot load the CA certificates in '{path}': {e}"
    return None


def _with_chain(cert: str, chain: str) -> int:
    """A memory file holding the certificate and then the chain (both public)."""
    fd = os.memfd_create("wsgihost-chain", os.MFD_CLOEXEC)
    with open(cert, "rb") as f1, open(chain, "rb") as f2:
        data = f1.read().rstrip(b"\n") + b"\n" + f2.read()
    os.write(fd, data)
    return fd


def context(settings: TlsSettings, siblings: tuple[TlsSettings, ...] = ()) -> ssl.SSLContext:
    """A server SSLContext for one host (raises ssl.SSLError or OSError).

    ``siblings`` are the other TLS hosts on its ports. OpenSSL keeps the
    verify mode of the context a handshake began with when SNI switches to
    another host's (only the certificate and the CA store change), so where
    the hosts of a port differ in SSLVerifyClient, every one of them asks
    for a certificate without demanding it (CERT_OPTIONAL), each trusting the
    CAs of all of them, and ``require`` is enforced once the handshake has
    picked its host (tlslayer); hosts that do not verify never show one.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    protocols = settings.protocols or OFFERED
    ctx.minimum_version = _VERSIONS[protocols[0]]
    ctx.maximum_version = _VERSIONS[protocols[-1]]
    ctx.options |= ssl.OP_NO_COMPRESSION
    if settings.cipher_suite:
        ctx.set_ciphers(settings.cipher_suite)
    if settings.honor_cipher_order:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    if settings.session_tickets is False:
        ctx.options |= ssl.OP_NO_TICKET
    for index, cert in enumerate(settings.certificate_files):
        key = settings.key_files[index] if index < len(settings.key_files) else None
        if settings.chain_file:
            fd = _with_chain(cert, settings.chain_file)
            try:
                ctx.load_cert_chain(f"/proc/self/fd/{fd}", key or cert, _no_pass_phrase)
            finally:
                os.close(fd)
        else:
            ctx.load_cert_chain(cert, key, _no_pass_phrase)
    mode = settings.verify_client or "none"
    group = (settings, *siblings)
    modes = {s.verify_client or "none" for s in group}
    if modes != {"none"}:
        uniform_require = modes == {"require"}
        ctx.verify_mode = ssl.CERT_REQUIRED if uniform_require else ssl.CERT_OPTIONAL
        for other in group if mode == "none" else (settings,):
            if other.ca_file or other.ca_path:
                ctx.load_verify_locations(cafile=other.ca_file, capath=other.ca_path)
    ctx.set_alpn_protocols(["http/1.1"])  # Protocols h2 is not provided
    return ctx


def compatible(a: TlsSettings, b: TlsSettings) -> bool:
    """mod_ssl's ssl_server_compatible: may a request for ``b`` use a handshake made for ``a``?"""
    return (
        (a.protocols or OFFERED) == (b.protocols or OFFERED)
        and (a.verify_client or "none") == (b.verify_client or "none")
        and a.verify_depth == b.verify_depth
        and a.ca_file == b.ca_file
        and a.ca_path == b.ca_path
        and a.cipher_suite == b.cipher_suite
        and a.tls13_ciphers == b.tls13_ciphers
        and a.certificate_files == b.certificate_files
        and a.key_files == b.key_files
    )


# -- the SSL_* variables ----------------------------------------------------------------

_SHORT_NAMES = {
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "commonName": "CN",
    "title": "T",
    "initials": "I",
    "givenName": "G",
    "surname": "S",
    "description": "D",
    "userId": "UID",
    "emailAddress": "Email",
    "domainComponent": "DC",
}
_RFC2253_NAMES = {**_SHORT_NAMES, "emailAddress": "emailAddress"}
_SPECIAL = ',+"\\<>;'


def _escape(value: str) -> str:
    out = "".join("\\" + c if c in _SPECIAL else c for c in value)
    if out.startswith(("#", " ")):
        out = "\\" + out
    return out[:-1] + "\\ " if out.endswith(" ") else out


def dn_string(name: Any) -> str:
    """A decoded X.509 name as mod_ssl writes SSL_*_S_DN: RFC 2253, the last RDN first."""
    rdns = []
    for rdn in reversed(name or ()):
        parts = [f"{_RFC2253_NAMES.get(k, k)}={_escape(v)}" for k, v in rdn]
        rdns.append("+".join(parts))
    return ",".join(rdns)


def _dn_parts(prefix: str, name: Any, into: dict[str, str]) -> None:
    """SSL_*_DN_CN and friends: the first of each, ``_n`` for the next ones (as mod_ssl)."""
    seen: dict[str, int] = {}
    for rdn in name or ():
        for key, value in rdn:
            short = _SHORT_NAMES.get(key)
            if short is None:
                continue
            n = seen.get(short, 0)
            seen[short] = n + 1
            into[f"{prefix}_{short}" + (f"_{n}" if n else "")] = value


# The algorithms SSL_*_A_KEY and SSL_*_A_SIG name, by OID (OpenSSL's short names).
_ALGORITHMS = {
    "1.2.840.10045.2.1": "id-ecPublicKey",
    "1.2.840.113549.1.1.1": "rsaEncryption",
    "1.2.840.113549.1.1.10": "rsassaPss",
    "1.3.101.112": "ED25519",
    "1.3.101.113": "ED448",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
}


def _tlv(der: bytes, pos: int) -> tuple[int, int, int]:
    """One DER element at ``pos``: its tag, where its content starts and ends."""
    tag, size = der[pos], der[pos + 1]
    pos += 2
    if size & 0x80:
        count = size & 0x7F
        size = int.from_bytes(der[pos : pos + count], "big")
        pos += count
    return tag, pos, pos + size


def _children(der: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    found = []
    while start < end:
        tag, begin, stop = _tlv(der, start)
        found.append((tag, begin, stop))
        start = stop
    return found


def _oid(der: bytes, start: int, end: int) -> str:
    first, values, n = der[start], [], 0
    for byte in der[start + 1 : end]:
        n = (n << 7) | (byte & 0x7F)
        if not byte & 0x80:
            values.append(n)
            n = 0
    return ".".join(str(v) for v in (first // 40, first % 40, *values))


def algorithms(der: bytes) -> tuple[str, str]:
    """A certificate's key and signature algorithms (SSL_*_A_KEY, SSL_*_A_SIG)."""
    try:
        _, start, end = _tlv(der, 0)
        tbs, sig_alg = _children(der, start, end)[:2]
        fields = _children(der, tbs[1], tbs[2])
        if fields[0][0] == 0xA0:  # [0] version
            fields = fields[1:]
        spki = fields[5]
        key_alg = _children(der, spki[1], spki[2])[0]
        key_oid = _children(der, key_alg[1], key_alg[2])[0]
        sig_oid = _children(der, sig_alg[1], sig_alg[2])[0]
    except (IndexError, ValueError):
        return "", ""
    key = _oid(der, key_oid[1], key_oid[2])
    sig = _oid(der, sig_oid[1], sig_oid[2])
    return _ALGORITHMS.get(key, key), _ALGORITHMS.get(sig, sig)


# OpenSSL's short names of the attributes of a name, by OID (OBJ_nid2sn), for
# X509_NAME_oneline; an attribute not named here is written as its OID.
_ONELINE_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.4": "SN",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.9": "street",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "title",
    "2.5.4.13": "description",
    "2.5.4.15": "businessCategory",
    "2.5.4.17": "postalCode",
    "2.5.4.41": "name",
    "2.5.4.42": "GN",
    "2.5.4.43": "initials",
    "2.5.4.44": "generationQualifier",
    "2.5.4.45": "x500UniqueIdentifier",
    "2.5.4.46": "dnQualifier",
    "2.5.4.65": "pseudonym",
    "2.5.4.97": "organizationIdentifier",
    "0.9.2342.19200300.100.1.1": "UID",
    "0.9.2342.19200300.100.1.25": "DC",
    "1.2.840.113549.1.9.1": "emailAddress",
    "1.2.840.113549.1.9.2": "unstructuredName",
}


def oneline_value(tag: int, raw: bytes) -> str:
    """One attribute's value as OpenSSL 3's X509_NAME_oneline writes it: its bytes,
    ``/`` and ``+`` behind a backslash, each outside printable ASCII as ``\\xHH``
    (a GeneralString of 4-byte characters that are
    all ASCII: their last bytes)."""
    if tag == 0x1B and len(raw) % 4 == 0:  # GeneralString
        wide = any(raw[j] for j in range(len(raw)) if j % 4 != 3)
        if not wide:
            raw = raw[3::4]
    out = []
    for b in raw:
        if b in (0x2F, 0x2B):  # "/" and "+" (OpenSSL 3 escapes them)
            out.append("\\" + chr(b))
        elif 0x20 <= b <= 0x7E:
            out.append(chr(b))
        else:
            out.append(f"\\x{b:02X}")
    return "".join(out)


def oneline_dn(der: bytes) -> str | None:
    """A certificate's subject as mod_ssl's FakeBasicAuth names the user: OpenSSL's
    X509_NAME_oneline, ``/C=US/O=Example/CN=alice`` (the first attribute first, each
    behind a ``/``, or a ``+`` in a multi-valued RDN). None if ``der`` is not
    a certificate this can read."""
    try:
        _, start, end = _tlv(der, 0)
        tbs = _children(der, start, end)[0]
        fields = _children(der, tbs[1], tbs[2])
        if fields[0][0] == 0xA0:  # [0] version
            fields = fields[1:]
        subject = fields[4]  # serial, signature, issuer, validity, subject
        if subject[0] != 0x30:
            return None
        out = []
        for rdn in _children(der, subject[1], subject[2]):
            # The attributes of one RDN (a multi-valued one) are joined by "+".
            for n, attr in enumerate(_children(der, rdn[1], rdn[2])):
                oid_tlv, value = _children(der, attr[1], attr[2])[:2]
                oid = _oid(der, oid_tlv[1], oid_tlv[2])
                raw = der[value[1] : value[2]]
                name = _ONELINE_NAMES.get(oid, oid)
                out.append(f"{'+' if n else '/'}{name}={oneline_value(value[0], raw)}")
    except (IndexError, ValueError):
        return None
    return "".join(out)


def cert_vars(prefix: str, decoded: dict[str, Any], into: dict[str, str], der: bytes = b"") -> None:
    into[f"{prefix}_M_VERSION"] = str(decoded.get("version", ""))
    into[f"{prefix}_M_SERIAL"] = str(decoded.get("serialNumber", ""))
    into[f"{prefix}_V_START"] = str(decoded.get("notBefore", ""))
    into[f"{prefix}_V_END"] = str(decoded.get("notAfter", ""))
    into[f"{prefix}_S_DN"] = dn_string(decoded.get("subject"))
    into[f"{prefix}_I_DN"] = dn_string(decoded.get("issuer"))
    _dn_parts(f"{prefix}_S_DN", decoded.get("subject"), into)
    _dn_parts(f"{prefix}_I_DN", decoded.get("issuer"), into)
    if der:
        into[f"{prefix}_A_KEY"], into[f"{prefix}_A_SIG"] = algorithms(der)
    counts: dict[str, int] = {}
    for kind, value in decoded.get("subjectAltName", ()):
        name = {"DNS": "DNS", "email": "Email"}.get(kind)
        if name is not None:
            n = counts.get(name, 0)
            counts[name] = n + 1
            into[f"{prefix}_SAN_{name}_{n}"] = value


def decode_file(path: str) -> dict[str, Any]:
    """The first certificate in a PEM file, decoded as getpeercert() decodes one."""
    try:
        decoded: dict[str, Any] = ssl._ssl._test_decode_cert(path)  # type: ignore[attr-defined]
    except (ssl.SSLError, OSError, AttributeError):
        return {}
    return decoded


def name_matches(pattern: str, name: str) -> bool:
    """Does a certificate's DNS name (``*.example.com`` covers one label) match ``name``?"""
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name


def first_pem(path: str) -> str:
    """The first certificate in a PEM file (SSL_SERVER_CERT), or ""."""
    try:
        text = _read_text(path)
    except OSError:
        return ""
    begin = text.find("-----BEGIN CERTIFICATE-----")
    end = text.find("-----END CERTIFICATE-----", begin)
    if begin < 0 or end < 0:
        return ""
    return text[begin : end + len("-----END CERTIFICATE-----")] + "\n"


@dataclass(frozen=True)
class ServerCert:
    """What the SSL_SERVER_* variables say of a host's certificate (public data only)."""

    decoded: dict[str, Any]
    pem: str

    @classmethod
    def load(cls, settings: TlsSettings) -> ServerCert:
        cert = settings.certificate_files[0] if settings.certificate_files else ""
        return cls(decode_file(cert) if cert else {}, first_pem(cert) if cert else "")

    @property
    def der(self) -> bytes:
        return ssl.PEM_cert_to_DER_cert(self.pem) if self.pem else b""


LIBRARY = "OpenSSL/" + ssl.OPENSSL_VERSION.split()[1] if ssl.OPENSSL_VERSION else "OpenSSL"
# SSL_VERSION_INTERFACE: the mod_ssl whose behaviour this is (the 2.4 series).
INTERFACE = "mod_ssl/2.4.62"


def options_on(host_options: tuple[str, ...], section_options: tuple[str, ...]) -> set[str]:
    """The SSLOptions in effect: the host's words, then the sections', in order."""
    on: set[str] = set()
    for word in (*host_options, *section_options):
        sign, name = word[0], word[1:]
        if sign == "=":
            on = {name}
        elif sign == "+":
            on.add(name)
        else:
            on.discard(name)
    return on


def connection_vars(
    obj: ssl.SSLObject, sni: str | None, server: ServerCert, verify_mode: str, export: bool
) -> dict[str, str]:
    """mod_ssl's StdEnvVars (and ExportCertData's certificates) for one connection."""
    cipher = obj.cipher()
    name, _, bits = cipher if cipher is not None else ("", "", 0)
    session = obj.session
    env = {
        "SSL_VERSION_INTERFACE": INTERFACE,
        "SSL_VERSION_LIBRARY": LIBRARY,
        # OpenSSL 3 always has RFC 5746's secure renegotiation (mod_ssl says true
        # for TLSv1.3 connections too).
        "SSL_SECURE_RENEG": "true",
        "SSL_PROTOCOL": obj.version() or "",
        "SSL_CIPHER": name,
        "SSL_CIPHER_EXPORT": "false",
        "SSL_CIPHER_USEKEYSIZE": str(bits),
        "SSL_CIPHER_ALGKEYSIZE": str(bits),
        "SSL_COMPRESS_METHOD": "NULL",
        "SSL_SESSION_RESUMED": "Resumed" if obj.session_reused else "Initial",
    }
    if session is not None and session.id:
        env["SSL_SESSION_ID"] = session.id.hex()
    cert_vars("SSL_SERVER", server.decoded, env, server.der)
    # A host that does not verify shows no certificate, even one its port asked for.
    der = obj.getpeercert(binary_form=True) if verify_mode != "none" else None
    if der:
        decoded = obj.getpeercert() or {}
        cert_vars("SSL_CLIENT", decoded, env, der)
        env["SSL_CLIENT_VERIFY"] = "SUCCESS"
        end = decoded.get("notAfter")
        if isinstance(end, str):
            left = ssl.cert_time_to_seconds(end) - time.time()
            env["SSL_CLIENT_V_REMAIN"] = str(max(0, int(left // 86400)))
        if export:
            env["SSL_CLIENT_CERT"] = ssl.DER_cert_to_PEM_cert(der)
    else:
        env["SSL_CLIENT_VERIFY"] = "NONE"
        if export:
            env["SSL_CLIENT_CERT"] = ""
    if export:
        env["SSL_SERVER_CERT"] = server.pem
    if sni:
        env["SSL_TLS_SNI"] = sni
    return env
