"""``.htaccess`` in the configuration: AllowOverride, AllowOverrideList, AccessFileName,
and the override class of every directive (issue 14, item 6).

Pure. Apache reads a folder's ``.htaccess`` (the ``AccessFileName``) on each
request where the ``AllowOverride`` merged for that folder lets it, and then
accepts in it only the directives whose *override class* (the "Override:"
line of each directive's documentation; ``req_override`` in the module's
command table) that ``AllowOverride`` names, or that ``AllowOverrideList``
names one by one. This module declares those three directives and holds the
classes; :mod:`wsgihost.htaccess` reads and applies the files per request.

The classes are kept here, by name, rather than in each module's records, so
that one table says what a ``.htaccess`` may hold and a unit test can check
that every directive allowed in directory context is classified.
"""

from __future__ import annotations

from dataclasses import replace

from wsgihost.config.draft import Context
from wsgihost.config.table import DIRECTORY, TOP, Directive, record

# AllowOverride's classes, as Apache spells them; "All" is all five.
CLASSES = ("AuthConfig", "FileInfo", "Indexes", "Limit", "Options")
_CLASS_INDEX = {name.lower(): name for name in CLASSES}
NONFATAL_OVERRIDE = "Nonfatal=Override"  # a directive AllowOverride forbids: a warning
NONFATAL_UNKNOWN = "Nonfatal=Unknown"  # an unknown directive: a warning


def _names(classes: str, names: str) -> dict[str, str]:
    return {name: classes for name in names.split()}


# Directive name -> the override class(es) that allow it in .htaccess, from
# httpd 2.4's and mod_wsgi 4.9's command tables (OR_FILEINFO -> FileInfo,
# OR_ALL -> All: any class, ...). Several classes: any one of them allows it.
OVERRIDE_CLASS: dict[str, str] = {
    **_names(
        "All",
        "Files FilesMatch IfModule IfDefine IfFile IfDirective IfSection IfVersion "
        "If ElseIf Else LimitRequestBody LimitXMLRequestBody ServerSignature FancyIndexing "
        "RLimitCPU RLimitMEM RLimitNPROC Macro Use UndefMacro "
        "DeflateInflateLimitRequestBody DeflateInflateRatioLimit DeflateInflateRatioBurst",
    ),
    **_names("Limit, AuthConfig", "Limit LimitExcept"),
    **_names("Limit", "Order Allow Deny"),
    **_names("Options", "Options ContentDigest SSLOptions XBitHack"),
    **_names(
        "Indexes",
        "DirectoryIndex DirectorySlash DirectoryCheckHandler FallbackResource "
        "IndexOptions IndexIgnore IndexIgnoreReset IndexOrderDefault IndexStyleSheet "
        "IndexHeadInsert IndexForbiddenReturn404 "
        "HeaderName ReadmeName AddIcon AddIconByType AddIconByEncoding AddAlt "
        "AddAltByType AddAltByEncoding AddDescription DefaultIcon "
        "ExpiresActive ExpiresByType ExpiresDefault",
    ),
    **_names(
        "AuthConfig",
        "AuthType AuthName AuthUserFile AuthGroupFile AuthBasicProvider "
        "AuthBasicAuthoritative AuthBasicFake AuthDigestProvider AuthDigestDomain "
        "AuthBasicUseDigestAlgorithm AuthDigestNonceLifetime AuthDigestAlgorithm AuthDigestQop "
        "AuthDBMUserFile AuthDBMGroupFile AuthMerging AuthzSendForbiddenOnFailure "
        "Require RequireAll RequireAny RequireNone Satisfy CGIPassAuth "
        "WSGIAccessScript WSGIAuthUserScript WSGIAuthGroupScript "
        "WSGIUserAuthoritative WSGIGroupAuthoritative "
        "SSLVerifyClient SSLVerifyDepth SSLCipherSuite SSLRequireSSL SSLRequire "
        "SSLCACertificateFile SSLCACertificatePath SSLUserName SSLRenegBufferSize "
        "AuthLDAPURL AuthLDAPBindDN AuthLDAPBindPassword AuthLDAPGroupAttribute "
        "AuthLDAPGroupAttributeIsDN AuthLDAPRemoteUserAttribute AuthLDAPRemoteUserIsDN "
        "AuthLDAPSubGroupAttribute AuthLDAPSubGroupClass AuthLDAPMaxSubGroupDepth "
        "AuthLDAPInitialBindAsUser AuthLDAPInitialBindPattern AuthLDAPCompareAsUser "
        "AuthLDAPSearchAsUser AuthLDAPAuthorizePrefix AuthLDAPBindAuthoritative "
        "AuthLDAPCompareDNOnServer AuthLDAPDereferenceAliases "
        "LDAPTrustedClientCert LDAPReferrals LDAPReferralHopLimit",
    ),
    **_names(
        "FileInfo",
        "AddType AddCharset AddEncoding AddHandler AddInputFilter AddLanguage "
        "AddOutputFilter DefaultLanguage RemoveCharset RemoveEncoding RemoveHandler "
        "RemoveInputFilter RemoveLanguage RemoveOutputFilter RemoveType ForceType "
        "SetHandler SetInputFilter SetOutputFilter MultiviewsMatch ModMimeUsePathInfo "
        "AddDefaultCharset ErrorDocument DefaultType EnableMMAP EnableSendfile FileETag "
        "AcceptPathInfo Action Header RequestHeader SetEnv UnsetEnv PassEnv SetEnvIf "
        "SetEnvIfNoCase SetEnvIfExpr BrowserMatch BrowserMatchNoCase "
        "Redirect RedirectMatch RedirectPermanent RedirectTemp "
        "RewriteEngine RewriteRule RewriteCond RewriteBase RewriteOptions "
        "LanguagePriority ForceLanguagePriority AddOutputFilterByType "
        "FilterChain FilterDeclare FilterProvider FilterProtocol FilterTrace "
        "Substitute SubstituteMaxLineLength SubstituteInheritBefore "
        "WSGICallableObject WSGIPassAuthorization WSGIScriptReloading WSGIErrorOverride "
        "WSGIChunkedRequest WSGIMapHEADToGET WSGIIgnoreActivity WSGIEnableSendfile "
        "WSGITrustedProxyHeaders WSGITrustedProxies",
    ),
}

# Directives the table allows in directory context (or, as placeholders, in
# any) that Apache never accepts in .htaccess: server-wide ones, and those
# marked ACCESS_CONF only (<Directory> and friends, not .htaccess), such as
# WSGIProcessGroup and WSGIApplicationGroup in mod_wsgi 4.9, and all of
# mod_proxy's (RSRC_CONF and ACCESS_CONF only). AllowOverrideList
# may still name the ACCESS_CONF ones, as in Apache.
_NOT_IN_HTACCESS = """
    Define UnDefine Include IncludeOptional MaxRanges MaxRangeOverlaps MaxRangeReversals
    WSGIProcessGroup WSGIApplicationGroup HostnameLookups UseCanonicalName
    UseCanonicalPhysicalPort AccessFileName AllowOverride AllowOverrideList
    DeflateCompressionLevel RewriteMap NameVirtualHost AllowEncodedSlashes AcceptFilter
    Mutex DefaultRuntimeDir CoreDumpDirectory EnableExceptionHook ExtendedStatus
    SendBufferSize ReceiveBufferSize WSGIPythonEggs WSGILazyInitialization
    WSGIRestrictStdin WSGIRestrictStdout WSGIRestrictSignal WSGIRestrictProcess
    WSGIAcceptMutex WSGIVerboseDebugging WSGIDestroyInterpreter WSGICaseSensitivity
    WSGISocketRotation WSGIServerMetrics WSGISwitchInterval WSGIPassApacheRequest
    WSGIHandlerScript WSGIDispatchScript ScriptAlias ScriptAliasMatch
    ProxyPass ProxyPassMatch ProxyPassReverse Proxy ProxyMatch
    ProxyPassReverseCookieDomain ProxyPassReverseCookiePath ProxyPreserveHost
    ProxyAddHeaders ProxyErrorOverride ProxyPassInterpolateEnv Proxy100Continue
    ProxyIOBufferSize ProxyMaxForwards ProxyReceiveBufferSize ProxyBlock ProxyDomain
    NoProxy ProxyRemote ProxyRemoteMatch ProxySet ProxySourceAddress ProxyStatus
    BalancerMember ProxyWebsocketAsync ProxyWebsocketAsyncDelay
    ProxyWebsocketFallbackToProxyHttp ProxyWebsocketIdleTimeout
    Directory DirectoryMatch Location LocationMatch VirtualHost
    AuthLDAPCharsetConfig LDAPTrustedGlobalCert LDAPTrustedMode LDAPVerifyServerCert
    LDAPSharedCacheSize LDAPSharedCacheFile LDAPCacheEntries LDAPCacheTTL
    LDAPOpCacheEntries LDAPOpCacheTTL LDAPConnectionTimeout LDAPConnectionPoolTTL
    LDAPTimeout LDAPRetries LDAPRetryDelay LDAPLibraryDebug
    SSLEngine SSLCertificateFile SSLCertificateKeyFile SSLCertificateChainFile
    SSLProtocol SSLHonorCipherOrder
    SSLSessionCache SSLSessionCacheTimeout SSLSessionTickets SSLCompression
    SSLUseStapling SSLStaplingCache SSLRandomSeed SSLPassPhraseDialog SSLProxyEngine
    SSLOpenSSLConfCmd SSLStrictSNIVHostCheck SSLInsecureRenegotiation SSLCryptoDevice SSLFIPS
    SSLCADNRequestFile SSLCADNRequestPath SSLCARevocationFile SSLCARevocationPath
    SSLCARevocationCheck SSLSRPVerifierFile SSLSRPUnknownUserSeed SSLOCSPEnable
    SSLProxyVerify SSLProxyVerifyDepth SSLProxyCheckPeerCN SSLProxyCheckPeerName
    SSLProxyCheckPeerExpire SSLProxyCACertificateFile SSLProxyCACertificatePath
    SSLProxyMachineCertificateFile SSLProxyMachineCertificatePath
    SSLProxyMachineCertificateChainFile SSLProxyProtocol SSLProxyCipherSuite
    SSLProxyCARevocationFile SSLProxyCARevocationPath SSLProxyCARevocationCheck
"""
NOT_IN_HTACCESS = frozenset(_NOT_IN_HTACCESS.split())

_CLASS_KEYS = {name.lower(): classes for name, classes in OVERRIDE_CLASS.items()}


def override_class(name: str) -> str | None:
    """The class(es) that allow directive ``name`` in .htaccess; None: never allowed."""
    return _CLASS_KEYS.get(name.lower())


def allowed_by(name: str, classes: frozenset[str]) -> bool:
    """Whether ``AllowOverride`` naming ``classes`` lets ``name`` into .htaccess."""
    wanted = override_class(name)
    if wanted is None:
        return False
    if wanted == "All":
        return any(c in classes for c in CLASSES)  # OR_ALL: any class will do
    return any(c in classes for c in wanted.split(", "))


# Options=...: the options a .htaccess Options may set (Apache's override_opts).
# Includes allows IncludesNOEXEC too; RunScripts is the old ExecCGI+MultiViews.
OPTION_BITS: dict[str, frozenset[str]] = {
    "indexes": frozenset({"indexes"}),
    "includes": frozenset({"includes", "includesnoexec"}),
    "includesnoexec": frozenset({"includes"}),
    "followsymlinks": frozenset({"followsymlinks"}),
    "symlinksifownermatch": frozenset({"symlinksifownermatch"}),
    "execcgi": frozenset({"execcgi"}),
    "multiviews": frozenset({"multiviews"}),
    "runscripts": frozenset({"multiviews", "execcgi"}),
    "none": frozenset(),
    "all": frozenset({"indexes", "includes", "includesnoexec", "followsymlinks", "execcgi"}),
}


def _useless(ctx: Context) -> bool:
    """AllowOverride only means something in a <Directory> without a regex:
    Apache reads .htaccess during the walk of plain directory sections, and
    applies <DirectoryMatch>, <Files> and <Location> after it."""
    section = ctx.section
    if section is not None and section.kind == "directory" and not section.regex:
        return False
    where = "a regex <Directory>" if section is not None and section.regex else "this section"
    ctx.warn(
        f"has no effect in {where} (Apache: 'Useless use of {ctx.name}'): only a "
        "<Directory> without a regular expression decides which .htaccess files are read"
    )
    return True


def _allow_override(ctx: Context, args: list[str]) -> None:
    classes: set[str] = set()
    options: frozenset[str] | None = None  # None: every option
    for word in args:
        key, eq, value = word.partition("=")
        low = key.lower()
        if low == "none":
            classes = set()
        elif low == "all":
            classes = set(CLASSES)
        elif low == "options":
            classes.add("Options")
            options = None
            if eq:
                options = _option_list(ctx, value)
                if options is None:
                    return
        elif low in _CLASS_INDEX:
            classes.add(_CLASS_INDEX[low])
        elif low == "nonfatal":
            which = value.lower()
            if which not in ("override", "unknown", "all"):
                ctx.error(f"=Override, =Unknown or =All expected after {key}, not '{word}'")
                return
            if which in ("override", "all"):
                classes.add(NONFATAL_OVERRIDE)
            if which in ("unknown", "all"):
                classes.add(NONFATAL_UNKNOWN)
        else:
            ctx.error(
                f"Illegal override option {word} (expected None, All, AuthConfig, FileInfo, "
                "Indexes, Limit, Options[=...] or Nonfatal=...)"
            )
            return
    if _useless(ctx):
        return
    ctx.dir.settings = replace(
        ctx.dir.settings, allow_override=frozenset(classes), allow_override_opts=options
    )


def _option_list(ctx: Context, text: str) -> frozenset[str] | None:
    allowed: set[str] = set()
    for word in text.split(","):
        bits = OPTION_BITS.get(word.strip().lower())
        if bits is None:
            ctx.error(f"Illegal option {word} in Options=")
            return None
        allowed |= bits
    return frozenset(allowed)


def _allow_override_list(ctx: Context, args: list[str]) -> None:
    # The table is read lazily: it joins this module's records at import time.
    from wsgihost.config import directives

    names: list[str] = []
    if any(a.lower() == "none" for a in args):
        if len(args) != 1:
            ctx.error("'None' not allowed with other directives in AllowOverrideList")
            return
    else:
        for name in args:
            found = directives.lookup(name)
            if found is None:
                ctx.warn(f"discarding unrecognized directive '{name}'")
            elif override_class(found.name) is None and DIRECTORY not in found.contexts:
                ctx.warn(f"discarding directive '{name}', which .htaccess may not hold")
            else:
                names.append(found.name.lower())
    if _useless(ctx):
        return
    ctx.dir.settings = replace(ctx.dir.settings, allow_override_list=frozenset(names))


def _access_file_name(ctx: Context, args: list[str]) -> None:
    if any("/" in name for name in args):
        ctx.error("a file name, not a path: the file is looked for in each folder")
        return
    ctx.dir.settings = replace(ctx.dir.settings, access_file_names=tuple(args))


_ONLY_DIRECTORY = frozenset({DIRECTORY})

DIRECTIVES: tuple[Directive, ...] = (
    record(
        "AllowOverride",
        "AllowOverride All|None|directive-type [directive-type] ...",
        _ONLY_DIRECTORY,
        (1, None),
        "None (see below)",
        "Which directives a folder's `.htaccess` (`AccessFileName`) may hold, by "
        "override class: `AuthConfig`, `FileInfo`, `Indexes`, `Limit`, "
        "`Options[=Option,...]` (only those options), `All` or `None`; "
        "`Nonfatal=Override|Unknown|All` turns a forbidden or unknown directive "
        "into a warning instead of a 500. Each directive's class is shown as "
        "*Override* in this reference. Only in a `<Directory>` without a regular "
        "expression (elsewhere a warning, as Apache's 'Useless use'). Where a "
        "folder's merged AllowOverride (or AllowOverrideList) allows anything, its "
        "`.htaccess` is read on every request below it, re-read when it changes, "
        "and merged after that folder's `<Directory>` sections. A directive "
        "wsgihost accepts only with a warning, or refuses, is a 500 there (with the "
        "reason in the error log), never skipped. As in Apache 2.4, a folder no "
        "AllowOverride was ever given for is not the same as `None`: its `.htaccess` "
        "is still read, and any directive in it is a 500 ('not allowed here'); say "
        "`AllowOverride None` in `<Directory />` (as Debian's apache2.conf does) to "
        "have them skipped. `wsgihost serve SCRIPT` reads none, as mod_wsgi-express.",
        _allow_override,
        module="core",
    ),
    record(
        "AllowOverrideList",
        "AllowOverrideList None|directive [directive-type] ...",
        _ONLY_DIRECTORY,
        (1, None),
        "None",
        "Directives a `.htaccess` may hold whatever `AllowOverride` says; an "
        "unknown name, or one never allowed in a folder's configuration, is "
        "discarded with a warning. Only in a `<Directory>` without a regular "
        "expression.",
        _allow_override_list,
        module="core",
    ),
    record(
        "AccessFileName",
        "AccessFileName filename [filename] ...",
        TOP,
        (1, None),
        ".htaccess",
        "The name of the per-folder configuration file read where `AllowOverride` "
        "allows; with several, the first one present in a folder is read.",
        _access_file_name,
        module="core",
    ),
)
