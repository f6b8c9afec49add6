"""mod_ssl's directives: TLS termination per virtual host.

Pure apart from reading the files the directives name, as the rest of the
configuration reader does (``DocumentRoot``, WSGI scripts): at the end of
the walk (:func:`finish`) every host with ``SSLEngine on`` gets its merged
:class:`~wsgihost.config.model.TlsSettings`, and its certificate and key are
loaded once (:func:`wsgihost.tls.check_pair`) so that a missing, unreadable,
encrypted or mismatched pair is an error at its line, as Apache refuses to
start with one. The processes that serve read the files again themselves
(:mod:`wsgihost.tls`); no key material is ever kept in the model.
"""

from __future__ import annotations

import os
from dataclasses import replace

from wsgihost.config.draft import Context, ServerDraft
from wsgihost.config.model import Host, Listener, TlsSettings, Where
from wsgihost.config.problems import Problems
from wsgihost.config.table import ANY, GLOBAL, TOP, Directive, not_ours, record, refused
from wsgihost.config.values import parse_flag, parse_int

MODULE = "mod_ssl"


def _settings(ctx: Context) -> TlsSettings:
    found = ctx.server.tls.get(ctx.host.where)
    return found if found is not None else TlsSettings(where=ctx.host.where)


def _store(ctx: Context, **changes: object) -> None:
    ctx.server.tls[ctx.host.where] = replace(_settings(ctx), **changes)  # type: ignore[arg-type]


def _engine(ctx: Context, args: list[str]) -> None:
    value = args[0].lower()
    if value == "optional":
        ctx.error("'optional' (an Upgrade to TLS, RFC 2817) is not provided: use on or off")
        return
    if value not in ("on", "off"):
        ctx.error(f"'{args[0]}': SSLEngine takes on or off")
        return
    _store(ctx, engine=value == "on", where=ctx.where)  # where problems of the host point


def _readable_file(ctx: Context, path: str) -> str | None:
    full = ctx.path(path)
    if not os.path.isfile(full) or os.path.getsize(full) == 0:
        # mod_ssl's own words (ssl_cmd_check_file).
        ctx.error(f"file '{full}' does not exist or is empty")
        return None
    _store(ctx, sources=(*_settings(ctx).sources, (full, ctx.where)))
    return full


def _certificate_file(ctx: Context, args: list[str]) -> None:
    full = _readable_file(ctx, args[0])
    if full is not None:
        _store(ctx, certificate_files=(*_settings(ctx).certificate_files, full))


def _key_file(ctx: Context, args: list[str]) -> None:
    full = _readable_file(ctx, args[0])
    if full is not None:
        _store(ctx, key_files=(*_settings(ctx).key_files, full))


def _chain_file(ctx: Context, args: list[str]) -> None:
    full = _readable_file(ctx, args[0])
    if full is not None:
        _store(ctx, chain_file=full)


def _ca_file(ctx: Context, args: list[str]) -> None:
    full = _readable_file(ctx, args[0])
    if full is not None:
        _store(ctx, ca_file=full)


def _ca_path(ctx: Context, args: list[str]) -> None:
    full = ctx.path(args[0])
    if not os.path.isdir(full):
        ctx.error(f"directory '{full}' does not exist")
        return
    _store(ctx, ca_path=full)


VERIFY_MODES = ("none", "optional", "require", "optional_no_ca")


def _verify_client(ctx: Context, args: list[str]) -> None:
    mode = args[0].lower()
    if mode not in VERIFY_MODES:
        ctx.error(f"'{args[0]}': SSLVerifyClient takes none, optional, require or optional_no_ca")
        return
    if mode == "optional_no_ca":
        ctx.error(
            "optional_no_ca is not provided: Python's ssl cannot accept a client "
            "certificate it cannot verify (use optional with SSLCACertificateFile)"
        )
        return
    if ctx.section is not None and mode == "optional":
        # Apache asks for the certificate again (a renegotiation, or TLS 1.3's
        # post-handshake request) when a request reaches the section. Asking at
        # the handshake instead, for the whole host, refuses no one: optional
        # lets clients without a certificate in, here as there.
        if (_settings(ctx).verify_client or "none") == "none":
            _store(ctx, verify_client="optional")
        ctx.warn(
            "asked for at the handshake, for the whole virtual host (no renegotiation): "
            "clients are asked everywhere on it, and none is refused for lacking one"
        )
        return
    if ctx.section is not None:
        # Apache renegotiates (TLS 1.2) or asks again after the handshake
        # (TLS 1.3) for a section. wsgihost asks at the handshake, for the
        # whole host, and refuses the section's requests (403) on a
        # connection that presented no verified certificate: no one gets in
        # whom Apache would keep out.
        if (_settings(ctx).verify_client or "none") == "none":
            _store(ctx, verify_client="optional")
        ctx.dir.settings = replace(ctx.dir.settings, require_client_cert=True)
        ctx.warn(
            "asked for at the handshake, for the whole virtual host (no renegotiation): "
            "clients are asked everywhere on it, and a request here without a verified "
            "certificate is refused (403)"
        )
        return
    _store(ctx, verify_client=mode)


def _verify_depth(ctx: Context, args: list[str]) -> None:
    depth = parse_int(ctx, args[0], 0)
    if depth is not None:
        ctx.warn(
            "the chain depth is not limited: Python's ssl cannot set it (OpenSSL's 100 "
            "applies); the CAs of SSLCACertificateFile still decide who gets in"
        )
        _store(ctx, verify_depth=depth)


def _protocol(ctx: Context, args: list[str]) -> None:
    from wsgihost import tls  # ssl and OpenSSL: 3 MB, for TLS sites only

    try:
        enabled = tls.parse_protocols(args)
    except ValueError as e:
        ctx.error(str(e))
        return
    if not enabled:
        ctx.error("no protocol left enabled (this Python's OpenSSL offers TLSv1.2 and TLSv1.3)")
        return
    _store(ctx, protocols=enabled)


def _cipher_suite(ctx: Context, args: list[str]) -> None:
    from wsgihost import tls  # ssl and OpenSSL: 3 MB, for TLS sites only

    if len(args) == 2:
        protocol = args[0]
        if protocol.lower() == "tlsv1.3":
            if not tls.TLS13_CIPHERS_SETTABLE:
                ctx.warn(
                    "Python's ssl cannot choose the TLSv1.3 cipher suites: OpenSSL's "
                    "default ones are used"
                )
            _store(ctx, tls13_ciphers=args[1])
            return
        if protocol.lower() not in ("ssl", "tlsv1.2"):
            ctx.error(f"'{protocol}': give SSL or TLSv1.3 before the cipher string")
            return
    spec = args[-1]
    problem = tls.check_ciphers(spec)
    if problem is not None:
        ctx.error(problem)
        return
    _store(ctx, cipher_suite=spec)


def _flag_setter(field: str) -> object:
    def apply(ctx: Context, args: list[str]) -> None:
        on = parse_flag(ctx, args[0])
        if on is not None:
            _store(ctx, **{field: on})

    return apply


def _compression(ctx: Context, args: list[str]) -> None:
    on = parse_flag(ctx, args[0])
    if on:
        ctx.warn("TLS compression is not provided (CRIME): connections stay uncompressed")


OPTIONS = {"stdenvvars", "exportcertdata", "fakebasicauth", "strictrequire", "optrenegotiate"}
_OPTION_NAMES = {
    "stdenvvars": "StdEnvVars",
    "exportcertdata": "ExportCertData",
    "fakebasicauth": "FakeBasicAuth",
    "strictrequire": "StrictRequire",
    "optrenegotiate": "OptRenegotiate",
    "compatenvvars": "CompatEnvVars",
    "legacydnstringformat": "LegacyDNStringFormat",
}


def parse_options(ctx: Context, args: list[str]) -> tuple[str, ...] | None:
    """SSLOptions' words as ``+Name``/``-Name``; a bare word replaces (``=Name``)."""
    words: list[str] = []
    for arg in args:
        sign = arg[0] if arg[:1] in ("+", "-") else "="
        name = arg.lstrip("+-").lower()
        if name not in _OPTION_NAMES:
            ctx.error(f"Illegal SSLOptions option '{arg}'")
            return None
        if name in ("compatenvvars", "legacydnstringformat", "optrenegotiate") and sign != "-":
            ctx.warn(f"{_OPTION_NAMES[name]} is not provided by wsgihost; ignored")
        words.append(sign + _OPTION_NAMES[name])
    return tuple(words)


def _options(ctx: Context, args: list[str]) -> None:
    words = parse_options(ctx, args)
    if words is None:
        return
    if ctx.section is not None:
        settings = ctx.dir.settings
        ctx.dir.settings = replace(settings, ssl_options=settings.ssl_options + words)
        return
    _store(ctx, options=_settings(ctx).options + words)


def _require_ssl(ctx: Context, args: list[str]) -> None:
    ctx.dir.settings = replace(ctx.dir.settings, require_ssl=True)


def _accepted(ctx: Context, args: list[str]) -> None:
    """Read and checked elsewhere or not at all: OpenSSL does this on its own."""


def _session_cache(ctx: Context, args: list[str]) -> None:
    kind = args[0].split(":", 1)[0].lower()
    if kind not in ("none", "nonenotnull", "shmcb", "dbm", "dc", "memcache", "redis", "default"):
        ctx.error(f"'{args[0]}': not a session cache type mod_ssl knows")


def _pass_phrase_dialog(ctx: Context, args: list[str]) -> None:
    # Debian's ssl.conf names exec:/usr/share/apache2/ask-for-passphrase, which
    # Apache runs only for an encrypted key: that key is the error, not this line.
    value = args[0]
    if value.lower() != "builtin" and not value.startswith(("exec:", "|")):
        ctx.error(f"'{value}': SSLPassPhraseDialog takes builtin, exec:/path or |/path")


def _seed(ctx: Context, args: list[str]) -> None:
    if args[0].lower() not in ("startup", "connect"):
        ctx.error(f"'{args[0]}': SSLRandomSeed takes startup or connect")


# -- the end of the walk --------------------------------------------------------


def merged(main: TlsSettings | None, host: TlsSettings | None) -> TlsSettings:
    """``host``'s settings over the main server's, as mod_ssl merges server configs."""
    under = main or TlsSettings()
    over = host or TlsSettings()
    values: dict[str, object] = {}
    for name in TlsSettings.__dataclass_fields__:
        if name in ("where", "options", "sources"):
            continue
        mine = getattr(over, name)
        unset = mine is None or mine == ()
        values[name] = getattr(under, name) if unset else mine
    return TlsSettings(
        **values,  # type: ignore[arg-type]
        options=under.options + over.options,
        sources=under.sources + over.sources,
        where=over.where if over.engine is not None else under.where,
    )


def finish(server: ServerDraft, hosts: tuple[Host, ...], problems: Problems) -> tuple[Host, ...]:
    """``hosts`` (the main server first) with their TLS settings, the files checked;
    the listeners all of whose virtual hosts speak TLS say https."""
    main = server.tls.get(server.main.where)
    result: list[Host] = []
    for host in hosts:
        own = server.tls.get(host.where)
        settings = merged(main, own) if host is not hosts[0] else (main or TlsSettings())
        if settings.engine and _check_files(settings, settings.where, problems):
            host = replace(host, tls=settings)
            name = host.server_name or (hosts[0].server_name if hosts else None)
            _check_name(settings, name, problems)
        result.append(host)
    server.listeners[:] = [
        replace(listener, scheme="https") if _speaks_tls(listener, result) else listener
        for listener in server.listeners
    ]
    return tuple(result)


def _check_name(settings: TlsSettings, server_name: str | None, problems: Problems) -> None:
    """Apache's AH01909 warning: no certificate of the host names its ServerName."""
    from wsgihost import tls  # ssl and OpenSSL: 3 MB, for TLS sites only

    if not server_name:
        return
    name = server_name.split("://")[-1].rsplit(":", 1)[0].lower()
    if name.startswith("["):
        return  # an address: clients compare IP SANs, which this does not read
    names: list[str] = []
    for cert in settings.certificate_files:
        decoded = tls.decode_file(cert)
        names += [v.lower() for k, v in decoded.get("subjectAltName", ()) if k == "DNS"]
        names += [
            v.lower() for rdn in decoded.get("subject", ()) for k, v in rdn if k == "commonName"
        ]
    if any(tls.name_matches(pattern, name) for pattern in names):
        return
    where = dict(settings.sources).get(settings.certificate_files[0], settings.where)
    problems.warning(
        where.file,
        where.line,
        f"the server certificate does not include an ID which matches the server name "
        f"{name} (it names {', '.join(sorted(set(names))) or 'nothing'}): clients will "
        "refuse it",
    )


def _speaks_tls(listener: Listener, hosts: list[Host]) -> bool:
    """Do the hosts a connection to ``listener`` may reach all speak TLS?
    (Announcements and configtest's list say so; each connection still decides.)"""
    reached = [
        h
        for h in hosts[1:]
        if any(
            a.port in (None, listener.port)
            and (a.host in ("*", "_default_") or not listener.host or a.host == listener.host)
            for a in h.addresses
        )
    ]
    return all(h.tls is not None for h in reached or hosts[:1])


def _check_files(settings: TlsSettings, where: Where, problems: Problems) -> bool:
    from wsgihost import tls  # ssl and OpenSSL: 3 MB, for TLS sites only

    if not settings.certificate_files:
        problems.error(
            where.file,
            where.line,
            "SSLEngine on, but no certificate is configured [Hint: SSLCertificateFile]",
        )
        return False
    good = True
    named = dict(settings.sources)  # path -> where it was named (the last naming wins)
    for index, cert in enumerate(settings.certificate_files):
        key = settings.key_files[index] if index < len(settings.key_files) else None
        hidden = [p for p in (cert, key) if p is not None and not os.access(p, os.R_OK)]
        if hidden and os.geteuid() != 0:
            # A key readable by root only, checked by someone else (configtest
            # as a user): the server, started as root, reads it.
            at = named.get(hidden[0], where)
            problems.warning(
                at.file,
                at.line,
                f"'{hidden[0]}' cannot be read by this user: not checked (the server, "
                "started as root, reads it)",
            )
            continue
        problem = tls.check_pair(cert, key, settings.chain_file)
        if problem is not None:
            at = named.get(key or cert, where)
            problems.error(at.file, at.line, problem)
            good = False
    if settings.ca_file is not None:
        problem = tls.check_ca(settings.ca_file)
        if problem is not None:
            at = named.get(settings.ca_file, where)
            problems.error(at.file, at.line, problem)
            good = False
    return good


_SHORT = "this mod_ssl setting is not provided by wsgihost"

DIRECTIVES: tuple[Directive, ...] = (
    record(
        "SSLEngine",
        "SSLEngine on|off",
        TOP,
        (1, 1),
        "off",
        "The host speaks TLS on its addresses (every virtual host on one address and "
        "port must agree). `optional` (RFC 2817 upgrades) is refused.",
        _engine,
        MODULE,
    ),
    record(
        "SSLCertificateFile",
        "SSLCertificateFile path",
        TOP,
        (1, 1),
        "",
        "The server's certificate in PEM, optionally followed by its chain (and by its key "
        "when no SSLCertificateKeyFile is given). Given twice (RSA and ECDSA), both are "
        "loaded. Read, and checked against its key, when the configuration is read.",
        _certificate_file,
        MODULE,
    ),
    record(
        "SSLCertificateKeyFile",
        "SSLCertificateKeyFile path",
        TOP,
        (1, 1),
        "the key in SSLCertificateFile",
        "The private key (PEM) of the certificate given at the same position. Read by the "
        "master at start and by each front-end worker before it drops to User; an "
        "encrypted key is refused (no pass phrase dialog).",
        _key_file,
        MODULE,
    ),
    record(
        "SSLCertificateChainFile",
        "SSLCertificateChainFile path",
        TOP,
        (1, 1),
        "",
        "Intermediate certificates sent after the server's own.",
        _chain_file,
        MODULE,
    ),
    record(
        "SSLCACertificateFile",
        "SSLCACertificateFile path",
        TOP,
        (1, 1),
        "",
        "The certificate authorities client certificates are checked against.",
        _ca_file,
        MODULE,
    ),
    record(
        "SSLCACertificatePath",
        "SSLCACertificatePath directory",
        TOP,
        (1, 1),
        "",
        "A hashed directory (c_rehash) of certificate authorities for client certificates.",
        _ca_path,
        MODULE,
    ),
    record(
        "SSLVerifyClient",
        "SSLVerifyClient none|optional|require|optional_no_ca",
        ANY,
        (1, 1),
        "none",
        "Ask for a client certificate: `require` refuses the handshake without a valid "
        "one, `optional` also accepts none (SSL_CLIENT_VERIFY says which). "
        "`optional_no_ca` is refused (Python's ssl cannot accept an unverifiable "
        "certificate). In a section, the certificate is asked for at the handshake for "
        "the whole host (a warning; no renegotiation); with `require`, the section's "
        "requests on a connection that presented none are refused (403).",
        _verify_client,
        MODULE,
    ),
    record(
        "SSLVerifyDepth",
        "SSLVerifyDepth number",
        ANY,
        (1, 1),
        "1",
        "Accepted with a warning: Python's ssl cannot limit the chain depth.",
        _verify_depth,
        MODULE,
    ),
    record(
        "SSLProtocol",
        "SSLProtocol [+|-]protocol ...",
        TOP,
        (1, None),
        "all -SSLv3",
        "`all`, `SSLv3`, `TLSv1`, `TLSv1.1`, `TLSv1.2`, `TLSv1.3` with `+`/`-` as mod_ssl "
        "reads them; the protocols this Python's OpenSSL no longer offers below TLSv1.2 "
        "stay off.",
        _protocol,
        MODULE,
    ),
    record(
        "SSLCipherSuite",
        "SSLCipherSuite [protocol] cipher-spec",
        TOP,
        (1, 2),
        "OpenSSL's default",
        "An OpenSSL cipher string for TLSv1.2 and below; `SSLCipherSuite TLSv1.3 ...` is "
        "kept (for the 421 check) but Python's ssl cannot apply it (a warning).",
        _cipher_suite,
        MODULE,
    ),
    record(
        "SSLHonorCipherOrder",
        "SSLHonorCipherOrder on|off",
        TOP,
        (1, 1),
        "off",
        "Prefer the server's cipher order to the client's.",
        _flag_setter("honor_cipher_order"),  # type: ignore[arg-type]
        MODULE,
    ),
    record(
        "SSLSessionTickets",
        "SSLSessionTickets on|off",
        TOP,
        (1, 1),
        "on",
        "TLS session tickets (off: none are issued).",
        _flag_setter("session_tickets"),  # type: ignore[arg-type]
        MODULE,
    ),
    record(
        "SSLStrictSNIVHostCheck",
        "SSLStrictSNIVHostCheck on|off",
        TOP,
        (1, 1),
        "off",
        "A client that sends no SNI gets 403 from a name-based TLS virtual host.",
        _flag_setter("strict_sni"),  # type: ignore[arg-type]
        MODULE,
    ),
    record(
        "SSLCompression",
        "SSLCompression on|off",
        TOP,
        (1, 1),
        "off",
        "Off is what wsgihost does; `on` is a warning (TLS compression is not provided).",
        _compression,
        MODULE,
    ),
    record(
        "SSLOptions",
        "SSLOptions [+|-]option ...",
        ANY,
        (1, None),
        "",
        "`StdEnvVars` gives the app the SSL_* variables (SSL_PROTOCOL, SSL_CIPHER, "
        "SSL_SERVER_S_DN, SSL_CLIENT_S_DN, SSL_CLIENT_VERIFY, SSL_TLS_SNI, ...), "
        "`ExportCertData` adds SSL_SERVER_CERT and SSL_CLIENT_CERT; in a virtual host or "
        "a section, merged as mod_ssl merges them. `StrictRequire` is accepted "
        "(SSLRequire is not provided). `FakeBasicAuth`: Basic authentication takes the "
        "verified client certificate's subject (`/C=US/O=Example/CN=alice`, OpenSSL's "
        "one-line form) as the user and `password` as its password, in place of any "
        "credentials sent; a sent user starting with `/` with the password `password` "
        "is refused (403, AH02035), as mod_ssl does.",
        _options,
        MODULE,
    ),
    record(
        "SSLSessionCache",
        "SSLSessionCache type[:args]",
        GLOBAL,
        (1, 1),
        "none",
        "Accepted: each front-end worker keeps OpenSSL's own in-memory session cache "
        "(and ticket key), so a session resumes on the worker that made it.",
        _session_cache,
        MODULE,
    ),
    record(
        "SSLSessionCacheTimeout",
        "SSLSessionCacheTimeout seconds",
        TOP,
        (1, 1),
        "300",
        "Accepted: OpenSSL's session lifetime is used.",
        _accepted,
        MODULE,
    ),
    record(
        "SSLRandomSeed",
        "SSLRandomSeed startup|connect source [bytes]",
        GLOBAL,
        (2, 3),
        "",
        "Accepted: OpenSSL seeds itself from the operating system.",
        _seed,
        MODULE,
    ),
    record(
        "SSLPassPhraseDialog",
        "SSLPassPhraseDialog builtin|exec:path",
        GLOBAL,
        (1, 1),
        "builtin",
        "Accepted; no pass phrase is ever asked for and no program run: an encrypted "
        "private key is refused where SSLCertificateKeyFile names it.",
        _pass_phrase_dialog,
        MODULE,
    ),
    *not_ours(
        "SSLUseStapling SSLStaplingCache SSLStaplingResponderTimeout "
        "SSLStaplingReturnResponderErrors SSLStaplingStandardCacheTimeout "
        "SSLStaplingErrorCacheTimeout SSLStaplingFakeTryLater "
        "SSLStaplingForceURL SSLStaplingResponseMaxAge SSLStaplingResponseTimeSkew",
        "OCSP stapling is not provided by wsgihost (clients check revocation themselves)",
        TOP,
        module=MODULE,
    ),
    record(
        "SSLRequireSSL",
        "SSLRequireSSL",
        ANY,
        (0, 0),
        "",
        "A request for the section that did not come over TLS is answered 403.",
        _require_ssl,
        MODULE,
    ),
    *not_ours(
        "SSLRenegBufferSize",
        "wsgihost never renegotiates, so it buffers no body for it",
        ANY,
        module=MODULE,
    ),
    *not_ours(
        "SSLOpenSSLConfCmd",
        "OpenSSL configuration commands are not applied by wsgihost",
        TOP,
        module=MODULE,
    ),
    *not_ours(
        "SSLProxyEngine SSLProxyVerify SSLProxyVerifyDepth SSLProxyCheckPeerCN "
        "SSLProxyCheckPeerName SSLProxyCheckPeerExpire SSLProxyCACertificateFile "
        "SSLProxyCACertificatePath SSLProxyMachineCertificateFile "
        "SSLProxyMachineCertificatePath SSLProxyMachineCertificateChainFile "
        "SSLProxyProtocol SSLProxyCipherSuite SSLProxyCARevocationFile "
        "SSLProxyCARevocationPath SSLProxyCARevocationCheck",
        "proxying is not provided by wsgihost (issue 18), so neither is TLS to a back end",
        module=MODULE,
    ),
    *not_ours(
        "SSLInsecureRenegotiation SSLCryptoDevice SSLFIPS SSLCADNRequestFile SSLCADNRequestPath",
        _SHORT,
        module=MODULE,
    ),
    *refused(
        "SSLRequire SSLUserName SSLCARevocationFile SSLCARevocationPath "
        "SSLCARevocationCheck SSLSRPVerifierFile SSLSRPUnknownUserSeed SSLOCSPEnable",
        "this mod_ssl access check is not provided, and skipping it would let in whom it keeps out",
        module=MODULE,
    ),
)
