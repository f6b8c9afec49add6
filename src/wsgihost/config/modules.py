"""Apache's modules as wsgihost sees them: which it provides, which are built
into httpd, and what ``LoadModule`` of one it does not provide loses.

Pure. ``<IfModule>`` (the parser) and ``LoadModule`` (the table) decide with
these; ``docs/directives.md`` lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wsgihost.config.draft import Context


def module_id(name: str) -> str:
    """``mod_alias.c``, ``mod_alias`` and ``alias_module`` all name ``alias``."""
    n = name.strip().lower()
    if n.endswith("_module"):
        n = n[: -len("_module")]
    else:
        for suffix in (".c", ".so"):
            n = n.removesuffix(suffix)
        n = n.removeprefix("mod_")
    return _MODULE_ALIASES.get(n, n)


_MODULE_ALIASES = {
    "http_core": "http",
    "event": "mpm_event",
    "prefork": "mpm_prefork",
    "worker": "mpm_worker",
}

# The modules <IfModule> finds "loaded": mod_wsgi, and the Apache modules whose
# directives wsgihost reads itself. Only the event MPM counts: Apache loads
# exactly one MPM, and configurations set StartServers and friends once per
# MPM, so answering yes for all three would apply three sets of settings.
PROVIDED_MODULES: dict[str, str] = {
    "wsgi": "mod_wsgi: WSGIScriptAlias, WSGIDaemonProcess and the other WSGI directives",
    "core": "the core directives (Listen, ServerName, DocumentRoot, Options, ...)",
    "http": "HTTP/1.1 itself",
    "alias": "Alias, AliasMatch, Redirect, RedirectMatch, RedirectPermanent, RedirectTemp "
    "(not ScriptAlias)",
    "remoteip": "RemoteIPHeader, RemoteIPTrustedProxy, RemoteIPInternalProxy, "
    "RemoteIPProxyProtocol (PROXY protocol v1 and v2)",
    "mime": "TypesConfig, AddType and AddCharset",
    "expires": "ExpiresActive, ExpiresByType, ExpiresDefault (Expires and Cache-Control: max-age)",
    "headers": "Header and RequestHeader (onsuccess, always, early, env=, expr=)",
    "setenvif": "SetEnvIf, SetEnvIfNoCase, BrowserMatch, BrowserMatchNoCase, SetEnvIfExpr",
    "deflate": "the DEFLATE output filter (gzip) and DeflateCompressionLevel, DeflateBufferSize, "
    "DeflateAlterETag; SetOutputFilter and AddOutputFilter insert it",
    "filter": "AddOutputFilterByType (for DEFLATE)",
    "dir": "DirectoryIndex",
    "autoindex": "Options Indexes listings as Apache draws them: IndexOptions, IndexIgnore, "
    "HeaderName, ReadmeName, AddDescription, AddIcon*, AddAlt*, DefaultIcon, IndexOrderDefault",
    "authz_core": "Require (several lines: any of them; not; env), <RequireAll>, <RequireAny>, "
    "<RequireNone>, AuthMerging",
    "authz_host": "Require ip, Require local, Require host (forward-confirmed reverse DNS)",
    "authn_core": "AuthType Basic|None, AuthName",
    "auth_basic": "Basic authentication: AuthBasicProvider file and wsgi, AuthBasicAuthoritative",
    "authn_file": "AuthUserFile (bcrypt, apr1 MD5, {SHA}, SHA-crypt, DES crypt)",
    "authz_groupfile": "AuthGroupFile, Require group",
    "authz_user": "Require valid-user, Require user",
    "access_compat": "Order, Allow, Deny (addresses, names, env=), Satisfy",
    "log_config": "LogFormat, CustomLog, TransferLog",
    "logio": "%I, %O and %S in LogFormat",
    "reqtimeout": "RequestReadTimeout header=",
    "mpm_event": "StartServers and ThreadsPerChild (front-end processes and threads)",
    "version": "<IfVersion>",
    "ssl": "TLS per virtual host: SSLEngine, SSLCertificateFile, SSLProtocol, SSLOptions, ...",
    "env": "SetEnv, UnsetEnv and PassEnv: request variables the app sees in its environ",
    "macro": "<Macro>, Use and UndefMacro, expanded as the configuration is read",
    "rewrite": "RewriteEngine, RewriteCond, RewriteRule, RewriteBase, RewriteOptions, RewriteMap",
    "proxy": "ProxyPass, ProxyPassMatch, ProxyPassReverse (and its cookie forms), "
    "ProxyPreserveHost, ProxyTimeout, <Proxy>; ProxyRequests Off only",
    "proxy_http": "HTTP/1.1 backends for ProxyPass (pooled connections, streamed bodies)",
    "proxy_wstunnel": "WebSocket backends: ProxyPass ws://... or upgrade=websocket",
}


def module_provided(name: str) -> bool:
    return module_id(name) in PROVIDED_MODULES


# Compiled into Debian's and RHEL's httpd (`apache2 -l`): <IfModule> finds them
# with no LoadModule. An MPM is not among them: both load theirs as a module.
BUILT_IN_MODULES = frozenset(
    {"core", "so", "watchdog", "http", "log_config", "logio", "version", "unixd"}
)


def module_loaded(name: str, loaded: set[str] | frozenset[str] | None) -> bool:
    """Whether ``<IfModule name>`` is true: ``loaded`` holds the built-in modules and
    those LoadModule has loaded so far; None stands for a configuration with no
    LoadModule at all, where every module wsgihost provides counts as loaded."""
    if loaded is None:
        return module_provided(name)
    return module_id(name) in loaded


# What is lost when a module wsgihost does not provide is loaded, for the
# LoadModule warning (the directives of such a module are reported where used).
_NOT_PROVIDED = {
    "negotiation": "content negotiation (MultiViews, type maps) does not happen",
    "setenvif": "request environment variables are not set from the request",
    "status": "there is no server-status page",
    "info": "there is no server-info page",
    "headers": "response and request headers are not edited",
    "userdir": "~user folders are not served",
    "cgi": "CGI scripts are not run",
    "cgid": "CGI scripts are not run",
    "include": "server-side includes are not processed",
    "actions": "Action handlers are not run",
    "auth_basic": "Basic authentication is not done",
    "auth_digest": "Digest authentication is not done",
    "authn_core": "authentication providers are not defined",
    "authn_file": "password files are not read",
    "authz_user": "Require user/valid-user are not enforced",
    "authz_groupfile": "group files are not read",
    "logio": "%I, %O and %S are not counted",
    "systemd": "systemd is not notified",
    "unique_id": "requests get no UNIQUE_ID",
    "allowmethods": "methods are not restricted by AllowMethods",
    "brotli": "responses are not compressed",
    "mime_magic": "types are not guessed from file contents",
    "substitute": "response bodies are not rewritten",
    "suexec": "CGI scripts are not run as other users",
    "vhost_alias": "mass virtual hosts (VirtualDocumentRoot) are not served",
    "macro": "<Macro> is not expanded",
    "data": "the DATA filter is not run",
    "echo": "there is no echo protocol",
    "dumpio": "traffic is not dumped to the error log",
    "request": "request bodies are not kept for other modules",
}
# Modules named by family (RHEL's 00-base.conf and 00-proxy.conf load dozens).
_NOT_PROVIDED_FAMILIES = (
    ("proxy", "its kind of backend is not proxied to (ProxyPass takes http:// and ws://)"),
    ("lbmethod_", "requests are not proxied or balanced"),
    ("cache", "responses are not cached"),
    ("socache_", "nothing: it serves other modules' caches"),
    ("slotmem_", "nothing: it serves other modules' shared memory"),
    ("dav", "WebDAV is not provided"),
    ("authn_", "users are not authenticated by it"),
    ("authz_", "its Require rules are not enforced"),
    ("auth_", "users are not authenticated by it"),
    ("dbd", "database connections are not pooled for other modules"),
    ("ext_filter", "external filters are not run"),
)


def load_module(ctx: Context, args: list[str]) -> None:
    name = module_id(args[0])
    if name in PROVIDED_MODULES:
        return  # wsgihost does what it does; nothing to say
    elif name in BUILT_IN_MODULES:
        return  # built into httpd itself; its <IfModule> was already true
    else:
        lost = _NOT_PROVIDED.get(name) or next(
            (what for prefix, what in _NOT_PROVIDED_FAMILIES if name.startswith(prefix)),
            "nothing it does happens",
        )
        ctx.warn(
            f"module '{args[0]}' is not provided by wsgihost: {lost}; its directives "
            "are reported where they are used"
        )
