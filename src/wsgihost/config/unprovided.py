"""The Apache directives wsgihost reads but does not provide: the table's placeholders.

Pure. Two kinds (see :mod:`wsgihost.config.directives`): **ignored** ones are
harmless to go without and are accepted with a warning that names what will
not happen (so an existing site file keeps working); **refused** ones would
change what clients get in a way that matters (proxying, combined access
rules), so they are errors with what to do instead. A module that comes to
provide one declares its own record, which replaces the placeholder here.
"""

from __future__ import annotations

from wsgihost.config.modules import load_module
from wsgihost.config.table import GLOBAL, TOP, Directive, not_ours

IGNORED: tuple[Directive, ...] = tuple(
    not_ours("ServerTokens", "wsgihost sends its own Server header", GLOBAL)
    + not_ours(
        "HostnameLookups",
        "client addresses are never looked up in DNS (as with HostnameLookups Off)",
    )
    + not_ours(
        "UseCanonicalName UseCanonicalPhysicalPort",
        "SERVER_NAME and SERVER_PORT come from the request's Host header, as with Off",
    )
    + not_ours(
        "AddLanguage AddEncoding DefaultLanguage LanguagePriority ForceLanguagePriority",
        "content negotiation and language or encoding tagging are not provided",
        module="mod_mime",
    )
    + not_ours(
        "AddInputFilter SetInputFilter",
        "input filters (inflating request bodies, ...) are not provided",
        module="mod_filter",
    )
    + not_ours("NameVirtualHost", "it has had no effect since Apache 2.4")
    + not_ours(
        "EnableMMAP EnableSendfile FileETag ContentDigest AcceptPathInfo AllowEncodedSlashes "
        "AcceptFilter",
        "wsgihost decides this itself (files are sent with sendfile; encoded slashes are refused, "
        "as with AllowEncodedSlashes Off)",
    )
    + not_ours("LimitXMLRequestBody", "WebDAV is not provided")
    + not_ours(
        "ServerLimit MinSpareServers MaxSpareServers MinSpareThreads MaxSpareThreads ThreadLimit "
        "ThreadStackSize MaxConnectionsPerChild MaxRequestsPerChild MaxMemFree "
        "AsyncRequestWorkerFactor",
        "wsgihost runs a fixed number of front-end processes (StartServers) of ThreadsPerChild "
        "threads",
        GLOBAL,
        module="mpm_event",
    )
    + not_ours(
        "Mutex DefaultRuntimeDir CoreDumpDirectory EnableExceptionHook ExtendedStatus "
        "SendBufferSize ReceiveBufferSize RLimitCPU RLimitMEM RLimitNPROC",
        "Apache's process management is not wsgihost's",
    )
    + not_ours(
        "LoadModule",
        "modules are not loaded: wsgihost provides its modules itself; one it does not provide is "
        "a warning naming what will not happen. Read in order, for <IfModule>",
        GLOBAL,
        module="mod_so",
        apply=load_module,
    )
    + not_ours("LoadFile", "shared objects are not loaded", GLOBAL, module="mod_so")
    + not_ours("Protocols ProtocolsHonorOrder", "wsgihost speaks HTTP/1.1 (and 1.0) only", TOP)
)

# (mod_proxy's ProxyPass and <Proxy> are provided now: config/mod_proxy.py.)
REFUSED: tuple[Directive, ...] = ()
