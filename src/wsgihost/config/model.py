"""The immutable model of what a server runs.

``wsgihost serve SCRIPT`` builds one directly from its options; the Apache
configuration reader (:mod:`wsgihost.config.builder`) builds one from a site
file. The master and the front-end workers act on it; nothing here opens a
socket or a file. Every record that came from a configuration file keeps
``where`` (file and line) so that later checks can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wsgihost.access.compat import Compat
from wsgihost.access.rules import Rule, merge_rules
from wsgihost.expr import Expr

if TYPE_CHECKING:
    # The per-directory records of the pipeline's modules (wsgihost.pipeline):
    # each module's own, with a merge of its own (see MODULE_DIR_FIELDS).
    from wsgihost.config.mod_alias import AliasSettings, RedirectRule
    from wsgihost.config.mod_autoindex import AutoindexSettings
    from wsgihost.config.mod_deflate import FilterSettings
    from wsgihost.config.mod_env import EnvSettings
    from wsgihost.config.mod_expires import ExpiresSettings
    from wsgihost.config.mod_proxy import ProxyDir
    from wsgihost.config.mod_remoteip import ProxyProtocolSettings, RemoteIPSettings
    from wsgihost.mods.headers_core import HeadersConfig
    from wsgihost.mods.rewrite.rules import RewriteDir
    from wsgihost.mods.setenvif_core import SetEnvIfConfig


@dataclass(frozen=True)
class Where:
    """The file and line a setting came from (empty for command-line settings)."""

    file: str = ""
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.file else "command line"


@dataclass(frozen=True)
class Listener:
    """A TCP address to listen on; host ``""`` means every address."""

    host: str
    port: int
    where: Where = field(default_factory=Where, compare=False)
    # "https" where the virtual hosts it serves speak TLS (config/mod_ssl.py).
    scheme: str = field(default="http", compare=False)

    def url(self, port: int | None = None) -> str:
        host = self.host or "0.0.0.0"
        host = f"[{host}]" if ":" in host else host
        return f"{self.scheme}://{host}:{self.port if port is None else port}"


@dataclass(frozen=True)
class Address:
    """One address of ``<VirtualHost addr:port ...>``.

    ``host`` is ``*`` (any), ``_default_``, an IPv4 address or an IPv6 one
    without brackets; ``port`` is None for ``*`` or no port.
    """

    host: str
    port: int | None


@dataclass(frozen=True)
class AuthScript:
    """WSGIAuthUserScript, WSGIAuthGroupScript or WSGIAccessScript: a script run in
    the front-end worker, and the application group mod_wsgi would name for it."""

    path: str
    application_group: str = ""  # %{GLOBAL}, mod_wsgi's default for these scripts


@dataclass(frozen=True)
class DirSettings:
    """Per-directory settings, as Apache merges them; None means "not set here"."""

    require: str | None = None  # "granted" | "denied"
    indexes: bool | None = None  # Options Indexes
    follow_symlinks: bool | None = None  # Options FollowSymLinks
    directory_index: tuple[str, ...] | None = None
    process_group: str | None = None  # WSGIProcessGroup; "" = embedded
    application_group: str | None = None  # WSGIApplicationGroup
    callable_object: str | None = None  # WSGICallableObject
    pass_authorization: bool | None = None  # WSGIPassAuthorization
    script_reloading: bool | None = None  # WSGIScriptReloading
    chunked_request: bool | None = None  # WSGIChunkedRequest
    add_types: tuple[tuple[str, str], ...] = ()  # AddType: (".ext", "mime/type")
    add_charsets: tuple[tuple[str, str], ...] = ()  # AddCharset: (".ext", "charset")
    default_charset: str | None = None  # AddDefaultCharset: a name, "" for Off
    # MaxRanges, MaxRangeOverlaps, MaxRangeReversals: a count, 0 (none), -1 (unlimited).
    max_ranges: int | None = None
    max_range_overlaps: int | None = None
    max_range_reversals: int | None = None
    # .htaccess (config/htaccess.py, wsgihost/htaccess.py): AllowOverride's
    # classes (and Nonfatal=...), with the options Options=... allows (None:
    # all); the two are set and merged together, as Apache's directory walk
    # takes them. AllowOverrideList's names (lower case); AccessFileName.
    allow_override: frozenset[str] | None = None
    allow_override_opts: frozenset[str] | None = None
    allow_override_list: frozenset[str] | None = None
    access_file_names: tuple[str, ...] | None = None
    # ErrorDocument: (status, what) with what '"text', '/local/path', a URL or
    # "default"; a later (deeper) entry for a status wins.
    error_documents: tuple[tuple[int, str], ...] = ()
    server_signature: str | None = None  # ServerSignature: "on" | "off" | "email"
    force_type: str | None = None  # ForceType: a media type, "" for None
    error_override: bool | None = None  # WSGIErrorOverride
    ssl_options: tuple[str, ...] = ()  # SSLOptions in sections: "+StdEnvVars", ... in order
    require_ssl: bool | None = None  # SSLRequireSSL: 403 for a request not over TLS
    # SSLVerifyClient require in a section: 403 without a verified client certificate.
    require_client_cert: bool | None = None
    # Handlers (mod_mime, core, mod_wsgi; config/mod_handlers.py). ``handler`` is
    # SetHandler's (name, where it was set), name "" for None; ``add_handlers``
    # AddHandler's (".ext", name, where), RemoveHandler's with name "".
    handler: tuple[str, str] | None = None
    add_handlers: tuple[tuple[str, str, str], ...] = ()
    exec_cgi: bool | None = None  # Options ExecCGI
    # WSGIHandlerScript: (name, script, process-group, application-group,
    # pass-authorization), None where the option is not given; a later one wins.
    handler_scripts: tuple[tuple[str, str, str | None, str | None, bool | None], ...] = ()
    dispatch_script: tuple[str, str | None] | None = None  # WSGIDispatchScript: script, app group
    # mod_wsgi's per-directory options (config/mod_wsgi.py): the trusted proxy
    # headers as environ keys (HTTP_X_FORWARDED_FOR), the trusted proxies as
    # networks ("10.0.0.0/8"), WSGIMapHEADToGET (on, off, auto) and the
    # process groups WSGIRestrictProcess allows ("" is %{GLOBAL}).
    trusted_proxy_headers: tuple[str, ...] | None = None
    trusted_proxies: tuple[str, ...] | None = None
    map_head_to_get: str | None = None
    restrict_process: tuple[str, ...] | None = None
    # Access control (wsgihost.access; config/mod_auth.py). ``authz`` is the
    # Require lines of the innermost section that has any (AuthMerging Off);
    # None: no Require anywhere, which grants. ``require`` above stays the
    # summary static files read ("denied": every rule here denies everyone).
    authz: Rule | None = None
    # Order/Allow/Deny/Satisfy (access/compat.py); a section with any replaces it whole.
    compat: Compat | None = None
    # AuthMerging (config/mod_authz.py): "off" | "and" | "or"; None: not given.
    auth_merging: str | None = None
    auth_type: str | None = None  # AuthType as written ("Basic"); "" for None
    auth_name: str | None = None  # AuthName: the realm
    auth_provider: str | None = None  # AuthBasicProvider: "wsgi"
    auth_user_script: AuthScript | None = None  # WSGIAuthUserScript
    auth_group_script: AuthScript | None = None  # WSGIAuthGroupScript
    access_script: AuthScript | None = None  # WSGIAccessScript
    auth_user_file: str | None = None  # AuthUserFile (config/mod_authn_file.py)
    auth_group_file: str | None = None  # AuthGroupFile
    auth_basic_authoritative: bool | None = None  # AuthBasicAuthoritative
    # <If>, <ElseIf>, <Else> of this scope (config/mod_if.py), chosen per request
    # by mod_if.walk; a deeper scope's sections follow the outer ones.
    conditions: Conditions | None = None
    # The pipeline's modules (wsgihost.pipeline): one field each, None where the
    # module is not configured here, merged by the record's own ``merge``.
    env: EnvSettings | None = None  # mod_env: SetEnv, UnsetEnv, PassEnv
    alias: AliasSettings | None = None  # mod_alias: Redirect* in sections and .htaccess
    headers: HeadersConfig | None = None  # mod_headers: Header, RequestHeader
    setenvif: SetEnvIfConfig | None = None  # mod_setenvif: SetEnvIf, BrowserMatch, ...
    rewrite: RewriteDir | None = None  # mod_rewrite (a host's own also holds its server rules)
    autoindex: AutoindexSettings | None = None  # mod_autoindex: IndexOptions, AddIcon, ...
    # Output filters (SetOutputFilter, AddOutputFilter, AddOutputFilterByType) and, in
    # a host's own scope, mod_deflate's server settings (config/mod_deflate.py).
    deflate: FilterSettings | None = None
    proxy: ProxyDir | None = None  # mod_proxy (a host's own also holds its ProxyPass list)
    expires: ExpiresSettings | None = None  # mod_expires: ExpiresActive, ExpiresByType, ...

    def merge(self, over: DirSettings) -> DirSettings:
        """These settings with ``over``'s set values on top (Apache's merge)."""
        return DirSettings(
            require=over.require if over.require is not None else self.require,
            indexes=over.indexes if over.indexes is not None else self.indexes,
            follow_symlinks=(
                over.follow_symlinks if over.follow_symlinks is not None else self.follow_symlinks
            ),
            directory_index=(
                over.directory_index if over.directory_index is not None else self.directory_index
            ),
            process_group=over.process_group
            if over.process_group is not None
            else self.process_group,
            application_group=(
                over.application_group
                if over.application_group is not None
                else self.application_group
            ),
            callable_object=(
                over.callable_object if over.callable_object is not None else self.callable_object
            ),
            pass_authorization=(
                over.pass_authorization
                if over.pass_authorization is not None
                else self.pass_authorization
            ),
            script_reloading=(
                over.script_reloading
                if over.script_reloading is not None
                else self.script_reloading
            ),
            chunked_request=(
                over.chunked_request if over.chunked_request is not None else self.chunked_request
            ),
            add_types=self.add_types + over.add_types,
            add_charsets=self.add_charsets + over.add_charsets,
            default_charset=(
                over.default_charset if over.default_charset is not None else self.default_charset
            ),
            max_ranges=over.max_ranges if over.max_ranges is not None else self.max_ranges,
            max_range_overlaps=(
                over.max_range_overlaps
                if over.max_range_overlaps is not None
                else self.max_range_overlaps
            ),
            max_range_reversals=(
                over.max_range_reversals
                if over.max_range_reversals is not None
                else self.max_range_reversals
            ),
            allow_override=(
                over.allow_override if over.allow_override is not None else self.allow_override
            ),
            allow_override_opts=(
                over.allow_override_opts
                if over.allow_override is not None
                else self.allow_override_opts
            ),
            allow_override_list=(
                over.allow_override_list
                if over.allow_override_list is not None
                else self.allow_override_list
            ),
            access_file_names=(
                over.access_file_names
                if over.access_file_names is not None
                else self.access_file_names
            ),
            error_documents=self.error_documents + over.error_documents,
            server_signature=(
                over.server_signature
                if over.server_signature is not None
                else self.server_signature
            ),
            force_type=over.force_type if over.force_type is not None else self.force_type,
            error_override=(
                over.error_override if over.error_override is not None else self.error_override
            ),
            handler=over.handler if over.handler is not None else self.handler,
            add_handlers=self.add_handlers + over.add_handlers,
            exec_cgi=over.exec_cgi if over.exec_cgi is not None else self.exec_cgi,
            handler_scripts=self.handler_scripts + over.handler_scripts,
            dispatch_script=(
                over.dispatch_script if over.dispatch_script is not None else self.dispatch_script
            ),
            ssl_options=self.ssl_options + over.ssl_options,
            require_ssl=over.require_ssl if over.require_ssl is not None else self.require_ssl,
            require_client_cert=(
                over.require_client_cert
                if over.require_client_cert is not None
                else self.require_client_cert
            ),
            conditions=_merge_conditions(self.conditions, over.conditions),
            **_merge_auth(self, over),
            **_merge_set(self, over, _MOD_WSGI_FIELDS),
            **_merge_modules(self, over),
        )


_AUTH_FIELDS = (
    "compat",
    "authz",
    "auth_type",
    "auth_name",
    "auth_provider",
    "auth_user_script",
    "auth_group_script",
    "access_script",
    "auth_user_file",
    "auth_group_file",
    "auth_basic_authoritative",
)


# mod_wsgi's options (config/mod_wsgi.py): each one set deeper wins.
_MOD_WSGI_FIELDS = (
    "trusted_proxy_headers",
    "trusted_proxies",
    "map_head_to_get",
    "restrict_process",
)


# The pipeline modules' fields of DirSettings (wsgihost.pipeline): each a frozen
# record with ``merge(over)``, Apache's merge_dir_config of that module.
MODULE_DIR_FIELDS: tuple[str, ...] = (
    "env",
    "alias",
    "headers",
    "setenvif",
    "rewrite",
    "autoindex",
    "proxy",
    "deflate",
    "expires",
)


def _merge_modules(under: DirSettings, over: DirSettings) -> dict[str, Any]:
    """The modules' records merged by their own rule (one side unset: the other)."""
    merged: dict[str, Any] = {}
    for name in MODULE_DIR_FIELDS:
        mine, theirs = getattr(under, name), getattr(over, name)
        if theirs is None:
            merged[name] = mine
        elif mine is None:
            merged[name] = theirs
        else:
            merged[name] = mine.merge(theirs)
    return merged


def _merge_set(under: DirSettings, over: DirSettings, names: tuple[str, ...]) -> dict[str, Any]:
    """``names`` merged: ``over``'s where set (not None), else ``under``'s."""
    return {
        n: getattr(over, n) if getattr(over, n) is not None else getattr(under, n) for n in names
    }


def _merge_auth(under: DirSettings, over: DirSettings) -> dict[str, Any]:
    """The access-control settings merged: each one set deeper wins (AuthMerging Off)."""
    merged: dict[str, Any] = {}
    for name in _AUTH_FIELDS:
        value = getattr(over, name)
        merged[name] = value if value is not None else getattr(under, name)
    # The rules themselves merge by AuthMerging, as mod_authz_core's do.
    merged["authz"], merged["auth_merging"] = merge_rules(
        (under.authz, under.auth_merging), (over.authz, over.auth_merging)
    )
    return merged


@dataclass(frozen=True)
class Condition:
    """One ``<If>``, ``<ElseIf>`` or ``<Else>`` section (config/mod_if.py)."""

    kind: str  # "if" | "elseif" | "else"
    expr: Expr | None  # None for <Else>
    settings: DirSettings  # what the section encloses
    where: Where = field(default_factory=Where, compare=False)


@dataclass(frozen=True)
class Conditions:
    """The ``<If>`` sections of one scope, in the order written."""

    items: tuple[Condition, ...] = ()

    def merge(self, over: Conditions) -> Conditions:
        # As core's merge_core_dir_configs: the outer scope's sections, then these.
        return Conditions(self.items + over.items)


def _merge_conditions(under: Conditions | None, over: Conditions | None) -> Conditions | None:
    if under is None or over is None:
        return over if under is None else under
    return under.merge(over)


# Where nothing is configured: Apache's and mod_wsgi's defaults.
DEFAULT_SETTINGS = DirSettings(
    require="granted",
    indexes=False,
    follow_symlinks=True,
    directory_index=("index.html",),
    process_group="",
    application_group=None,
    callable_object="application",
    pass_authorization=False,
    script_reloading=True,
    chunked_request=False,
    default_charset="",
    max_ranges=200,
    max_range_overlaps=20,
    max_range_reversals=20,
    # allow_override stays unset: Apache 2.4's default is None on paper, but a
    # walk where no AllowOverride was ever given reads .htaccess files and
    # allows nothing in them (wsgihost/htaccess.py, Allowed.of).
    access_file_names=(".htaccess",),
    exec_cgi=False,
)


@dataclass(frozen=True)
class Section:
    """``<Directory>``, ``<Location>``, ``<Files>`` and their ``...Match`` forms."""

    kind: str  # "directory" | "location" | "files"
    pattern: str  # a path, glob or (when regex) a regular expression
    regex: bool
    settings: DirSettings
    where: Where = field(default_factory=Where, compare=False)
    # A <Files> section written inside a <Directory> applies only where that
    # <Directory> matches too; ``within`` is that enclosing section.
    within: Section | None = None


@dataclass(frozen=True)
class Alias:
    """``Alias``, ``AliasMatch``, ``WSGIScriptAlias`` or ``WSGIScriptAliasMatch``.

    For the ``Match`` forms ``url`` is a regular expression and ``path`` may
    hold ``$1``-style references. ``settings`` holds the options given on a
    ``WSGIScriptAlias`` line (``process-group=``, ...), which win over sections.
    """

    url: str
    path: str
    regex: bool = False
    wsgi: bool = False
    settings: DirSettings = field(default_factory=DirSettings)
    where: Where = field(default_factory=Where, compare=False)


@dataclass(frozen=True)
class LogSpec:
    """A ``CustomLog``: a file and a format (a nickname is resolved already)."""

    path: str
    format: str


@dataclass(frozen=True)
class TlsSettings:
    """mod_ssl's settings for one host (config/mod_ssl.py); None where not given.

    The main server's are merged under each virtual host's, as mod_ssl merges
    them; a host whose merged ``engine`` is on speaks TLS (wsgihost.tls).
    Only paths are kept here: the certificate and key files are read by the
    processes that serve (wsgihost.tls), never copied into the model.
    """

    engine: bool | None = None
    certificate_files: tuple[str, ...] = ()  # SSLCertificateFile (several: RSA + ECDSA)
    key_files: tuple[str, ...] = ()  # SSLCertificateKeyFile, by position
    chain_file: str | None = None
    ca_file: str | None = None
    ca_path: str | None = None
    verify_client: str | None = None  # none | optional | require | optional_no_ca
    verify_depth: int | None = None
    protocols: tuple[str, ...] | None = None  # the enabled ones: "TLSv1.2", "TLSv1.3"
    cipher_suite: str | None = None  # TLSv1.2 and below (OpenSSL's cipher string)
    tls13_ciphers: str | None = None  # SSLCipherSuite TLSv1.3 ...
    honor_cipher_order: bool | None = None
    session_tickets: bool | None = None
    strict_sni: bool | None = None
    options: tuple[str, ...] = ()  # SSLOptions, host level: "+StdEnvVars", ...
    where: Where = field(default_factory=Where, compare=False)
    # Where each file above was named, for the problems found when it is read.
    sources: tuple[tuple[str, Where], ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Host:
    """A virtual host, or the main server (which has no addresses)."""

    addresses: tuple[Address, ...] = ()
    server_name: str | None = None
    server_aliases: tuple[str, ...] = ()
    document_root: str | None = None
    server_admin: str | None = None  # ServerAdmin: the app's SERVER_ADMIN
    aliases: tuple[Alias, ...] = ()
    settings: DirSettings = field(default_factory=DirSettings)
    sections: tuple[Section, ...] = ()
    error_log: str | None = None
    access_logs: tuple[LogSpec, ...] = ()
    where: Where = field(default_factory=Where, compare=False)
    log_level: str | None = None  # LogLevel given in this virtual host
    trace_enable: str = "on"  # TraceEnable: on, off or extended (a vhost inherits the main's)
    tls: TlsSettings | None = None  # mod_ssl's, merged; None: SSLEngine is not on here
    # mod_alias: Redirect* given in this host itself (a vhost's are tried before the main's).
    redirects: tuple[RedirectRule, ...] = ()
    remoteip: RemoteIPSettings | None = None  # mod_remoteip, merged over the main server's


@dataclass(frozen=True)
class DaemonGroup:
    """``WSGIDaemonProcess NAME option=value ...``; the options mod_wsgi documents."""

    name: str
    processes: int = 1
    threads: int = 15
    display_name: str | None = None
    home: str | None = None
    python_home: str | None = None
    python_path: tuple[str, ...] = ()
    user: str | None = None
    group: str | None = None
    umask: int | None = None
    lang: str | None = None
    locale: str | None = None
    maximum_requests: int = 0
    inactivity_timeout: float = 0.0
    # Safe defaults where mod_wsgi has none, as mod_wsgi-express chose them:
    # a stuck request costs one thread for a minute, not forever.
    request_timeout: float = 60.0
    graceful_timeout: float = 15.0
    shutdown_timeout: float = 5.0
    startup_timeout: float = 15.0
    connect_timeout: float = 15.0
    socket_timeout: float = 60.0
    queue_timeout: float = 45.0  # cut to the Timeout directive's value where that is shorter
    listen_backlog: int = 100
    restart_interval: float = 0.0
    rss_limit: int = 0
    # The rest of the options mod_wsgi documents (checked now; some act later).
    multiprocess: bool = False  # processes= was given (wsgi.multiprocess, as mod_wsgi)
    supplementary_groups: tuple[str, ...] = ()
    chroot: str | None = None
    script_user: str | None = None
    script_group: str | None = None
    socket_user: str | None = None
    python_eggs: str | None = None
    eviction_timeout: float = 0.0
    deadlock_timeout: float = 300.0
    response_socket_timeout: float = 0.0  # 0: the socket-timeout
    cpu_time_limit: int = 0
    cpu_priority: int = 0
    memory_limit: int = 0
    virtual_memory_limit: int = 0
    stack_size: int = 0
    send_buffer_size: int = 0
    receive_buffer_size: int = 0
    header_buffer_size: int = 0
    response_buffer_size: int = 0
    server_metrics: bool = False
    # mod_wsgi 6's: switch-interval applied (sys.setswitchinterval); the
    # others accepted with a warning (config/daemon_options.py says why).
    switch_interval: float = 0.0  # 0: Python's own (0.005 s)
    interrupt_timeout: float = 0.0
    response_flush_delay: int = 0
    newrelic_config_file: str | None = None
    newrelic_environment: str | None = None
    options: tuple[tuple[str, str], ...] = ()  # every option as written, for status
    server_name: str | None = None  # the vhost's ServerName when defined in one
    # The ErrorLog and LogLevel of the host that defines the group (None: the
    # main server's): its processes' stdout and stderr go there, as in mod_wsgi.
    error_log: str | None = None
    log_level: str | None = None
    # The ErrorLog of every host that may send the group requests, so its
    # processes open them (before dropping privileges) for wsgi.errors.
    request_error_logs: tuple[str, ...] = ()
    where: Where = field(default_factory=Where, compare=False)


@dataclass(frozen=True)
class Limits:
    """Request limits, with Apache's defaults and meanings."""

    request_line: int = 8190  # LimitRequestLine -> 414
    field_size: int = 8190  # LimitRequestFieldSize -> 400
    fields: int = 100  # LimitRequestFields -> 400
    body: int = 1 << 30  # LimitRequestBody (Apache 2.4.54+: 1 GiB); 0 = unlimited -> 413


COMBINED = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"'


@dataclass(frozen=True)
class Logging:
    error_log: str | None = None  # None: standard error
    access_log: str | None = None  # None: standard output
    access_format: str = COMBINED
    level: str = "warn"


@dataclass(frozen=True)
class Server:
    """Everything one master runs."""

    listeners: tuple[Listener, ...]
    # mod_autoindex loaded: a directory with no index file gets its listing or
    # a 403. Without it (LoadModule lines that leave it out), Apache's core
    # answers such a directory 404.
    autoindex: bool = True
    # mod_ssl loaded: its authentication hook refuses a Basic user posing as a
    # certificate's subject (FakeBasicAuth's spoof guard), on every host.
    mod_ssl: bool = True
    main: Host = field(default_factory=Host)
    vhosts: tuple[Host, ...] = ()
    groups: tuple[DaemonGroup, ...] = ()
    processes: int = 2  # front-end worker processes (StartServers)
    threads: int = 15  # embedded-mode threads per worker (ThreadsPerChild)
    keepalive: bool = True
    keepalive_timeout: float = 5.0
    max_keepalive_requests: int = 100  # Apache's default; 0 = unlimited
    # RequestReadTimeout (mod_reqtimeout): a stage (the request head, the body)
    # must arrive within its timeout; with a min rate, each rate bytes received
    # give one more second, up to the max timeout (0: no maximum). A timeout of
    # 0 turns the stage's deadline off (the head then has Timeout).
    header_timeout: float = 20.0
    header_max_timeout: float = 0.0
    header_min_rate: int = 0
    body_timeout: float = 20.0
    body_max_timeout: float = 0.0
    body_min_rate: int = 500  # Apache's default: body=20,MinRate=500
    timeout: float = 60.0  # Timeout: the most a read or write may wait
    # MaxRequestWorkers: client connections open at once, server-wide; each
    # front-end worker takes its share. 0: as many as its open-file limit allows.
    max_connections: int = 0
    graceful_timeout: float = 30.0
    listen_backlog: int = 511  # ListenBacklog, as in Apache
    limits: Limits = field(default_factory=Limits)
    logging: Logging = field(default_factory=Logging)
    pid_file: str | None = None
    # User and Group: who the front-end workers run as, when started as root.
    user: str | None = None
    group: str | None = None
    types_config: str | None = None  # TypesConfig: a mime.types file
    python_path: tuple[str, ...] = ()  # WSGIPythonPath
    python_home: str | None = None  # WSGIPythonHome
    # The Python interpreters' start-up options, as mod_wsgi applies them:
    python_optimize: int = 0  # WSGIPythonOptimize: -O, -OO
    python_warnings: tuple[str, ...] = ()  # WSGIPythonWarnings: -W, each
    python_hash_seed: str | None = None  # WSGIPythonHashSeed: random or a number
    dont_write_bytecode: bool = False  # WSGIDontWriteBytecode: -B
    restrict_embedded: bool = False  # WSGIRestrictEmbedded
    # WSGIRestrictStdin/Stdout/Signal, with mod_wsgi 4.9's defaults: stdin and
    # stdout free (stdout goes to the error log), signal.signal() ignored.
    restrict_stdin: bool = False
    restrict_stdout: bool = False
    restrict_signal: bool = True
    switch_interval: float = 0.0  # WSGISwitchInterval; 0: Python's own
    python_eggs: str | None = None  # WSGIPythonEggs: PYTHON_EGG_CACHE
    destroy_interpreter: bool = True  # WSGIDestroyInterpreter: atexit runs at a stop
    # WSGIApplicationGroupLimit (ours): the most application groups, each a set
    # of daemon processes, that one daemon group may run; 0: no limit.
    application_group_limit: int = 16
    socket_prefix: str | None = None  # WSGISocketPrefix
    import_scripts: tuple[tuple[str, str, str], ...] = ()  # WSGIImportScript: path, group, app
    server_root: str = ""
    # serve --reload-on-changes: also roll a group when a module its app imported changes.
    reload_on_changes: bool = False
    config_files: tuple[str, ...] = ()  # every file read, for reloading
    # ErrorLogFormat, by the ``where`` of the host it was given in (the main
    # server's or a <VirtualHost>'s); a host without one uses the main server's.
    error_log_formats: tuple[tuple[Where, str], ...] = ()
    # RemoteIPProxyProtocol: the addresses whose connections start with a PROXY header.
    proxy_protocol: ProxyProtocolSettings | None = None

    def error_log_format(self, host: Host) -> str | None:
        """The ErrorLogFormat that applies to ``host`` (None: Apache's default lines)."""
        if not self.error_log_formats:
            return None  # (every request asks: no dict, no hashing of Where)
        found = dict(self.error_log_formats)
        return found.get(host.where, found.get(self.main.where))
