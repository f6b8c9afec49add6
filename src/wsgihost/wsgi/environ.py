"""Build a PEP 3333 environ from a parsed request head.

Pure: no sockets, no threads. The front end (embedded mode) and the daemon
process (daemon mode) both call :func:`build_environ`, so an app sees the same
keys whichever mode serves it. Strings follow PEP 3333's "bytes as latin-1"
rule. Keys that code written for mod_wsgi reads (``mod_wsgi.process_group``
and friends) are filled in the way mod_wsgi fills them.
"""

from __future__ import annotations

import binascii
import re
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import unquote_to_bytes

from wsgihost.wsgi import proxyheaders

# mod_wsgi's version as apps see it: we implement its 4.9 behaviour.
MOD_WSGI_VERSION = (4, 9, 4)
# What Apache reports where a site names no DocumentRoot: Debian's compiled-in
# one (DOCUMENT_ROOT, CONTEXT_DOCUMENT_ROOT and PATH_TRANSLATED start with it).
APACHE_DOCUMENT_ROOT = "/var/www/html"
# SERVER_ADMIN where no ServerAdmin is given, as Apache's core says it.
NO_SERVER_ADMIN = "[no address given]"

# Header names whose environ key is not HTTP_*, and headers never passed on.
_SPECIAL = {"CONTENT_TYPE": "CONTENT_TYPE", "CONTENT_LENGTH": "CONTENT_LENGTH"}
# As Apache's ap_add_common_vars (server/util_script.c) withholds them:
# httpoxy (CVE-2016-5385): a "Proxy" request header would become HTTP_PROXY,
# which many HTTP client libraries read as their proxy setting; and
# Proxy-Authorization, credentials meant for a proxy, which mod_wsgi never
# passes (WSGIPassAuthorization is about Authorization only).
_DROPPED = {"HTTP_PROXY", "HTTP_PROXY_AUTHORIZATION"}
_ENV_NAME = re.compile(r"[A-Za-z0-9-]+\Z")
_key_cache: Dict[bytes, Optional[str]] = {}


def header_key(name: bytes) -> Optional[str]:
    """The environ key for a header name, or None if it must not be passed.

    A name with a character other than a letter, a digit or ``-`` is dropped,
    as Apache 2.4's ``http2env`` drops it: otherwise ``X_Forwarded_For`` and
    ``X-Forwarded-For`` would both become ``HTTP_X_FORWARDED_FOR`` and a client
    could spoof a header a proxy in front of us sets.
    """
    key = _key_cache.get(name)
    if key is not None or name in _key_cache:
        return key
    text = name.decode("latin-1")
    if not _ENV_NAME.match(text):
        result: Optional[str] = None
    else:
        upper = text.upper().replace("-", "_")
        result = _SPECIAL.get(upper) or "HTTP_" + upper
        if result in _DROPPED:
            result = None
    if len(_key_cache) < 1000:
        _key_cache[name] = result
    return result


def log_id(request_time: float, pid: int, serial: int) -> str:
    """A request's id as Apache's core makes it (``mod_wsgi.request_id``, ``%L``):
    its time in microseconds mixed with the process id and, where Apache mixes
    in its thread, the request's serial number in the process; the 8 bytes in
    base64, without the final ``=`` (11 characters)."""
    value = int(request_time * 1_000_000)
    value ^= (pid << 40) ^ ((pid >> 24) << 56) ^ (serial << 32)
    raw = (value & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "little")
    return binascii.b2a_base64(raw, newline=False).decode("ascii")[:11]


def unmap_ipv4(addr: str) -> str:
    """``::ffff:1.2.3.4`` -> ``1.2.3.4``: a dual-stack socket's view of an IPv4 client."""
    if addr.startswith("::ffff:") and "." in addr:
        return addr[7:]
    return addr


def split_host(host: str) -> Tuple[str, Optional[str]]:
    """Split a Host header value into name and port (``[::1]:80`` included)."""
    if host.startswith("["):
        end = host.find("]")
        if end != -1:
            rest = host[end + 1 :]
            return host[: end + 1], rest[1:] if rest.startswith(":") else None
    name, sep, port = host.rpartition(":")
    if sep and (port.isdigit() or not port) and ":" not in name:
        return name, port or None
    return host, None


def _bare_name(server_name: str) -> str:
    """``https://example.com:8443`` -> ``example.com`` (``[::1]:80`` -> ``[::1]``)."""
    if "://" in server_name:
        server_name = server_name.split("://", 1)[1]
    return split_host(server_name)[0]


def decode_path(raw_path: bytes) -> str:
    """Percent-decode a request path into a PEP 3333 string (bytes as latin-1)."""
    if raw_path.find(b"%") >= 0:
        raw_path = unquote_to_bytes(raw_path)
    return raw_path.decode("latin-1")


def add_variables(environ: Dict[str, Any], variables: Dict[str, str]) -> None:
    """The request's environment into ``environ``, as mod_wsgi's environ gets it.

    mod_wsgi builds its environ from r->subprocess_env after Apache's
    ``ap_add_cgi_vars`` and ``ap_add_common_vars`` have written the request's
    own variables over it: a variable never replaces one the request
    defines (``SetEnv HTTP_HOST`` changes nothing where the request has a
    Host header; it shows where it has none). ``PATH`` never reaches the
    app. ``HTTPS`` is not passed either: "on" or "1" (``SetEnvIf
    X-Forwarded-Proto https HTTPS=on``, behind a TLS proxy) makes
    ``wsgi.url_scheme`` https, as mod_wsgi's wsgi_build_environ does.
    """
    for name, value in variables.items():
        if name not in environ:
            environ[name] = value
    environ.pop("PATH", None)
    https = environ.pop("HTTPS", None)
    if https is not None and (https.lower() == "on" or https == "1"):
        environ["wsgi.url_scheme"] = "https"


class RequestHead:
    """A request as the HTTP layer parsed it; the input of :func:`build_environ`."""

    __slots__ = (
        "auth_type",
        "chunked",
        "client_addr",
        "client_port",
        "headers",
        "method",
        "path",
        "query",
        "remote_user",
        "request_id",
        "scheme",
        "server_addr",
        "server_port",
        "ssl_environ",
        "start_time",
        "target",
        "version",
    )

    def __init__(
        self,
        method: str,
        target: str,
        path: bytes,
        query: str,
        version: str,
        headers: List[Tuple[bytes, bytes]],
        client_addr: str,
        client_port: int,
        server_addr: str,
        server_port: int,
        scheme: str = "http",
        chunked: bool = False,
        request_id: str = "",
        start_time: float = 0.0,
    ) -> None:
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.client_addr = client_addr
        self.client_port = client_port
        self.server_addr = server_addr
        self.server_port = server_port
        self.scheme = scheme
        self.chunked = chunked
        self.request_id = request_id
        self.start_time = start_time
        # Set by the access phases (wsgihost.access) once a user is authenticated:
        # the app's REMOTE_USER and AUTH_TYPE, and the access log's %u.
        self.remote_user: Optional[str] = None
        self.auth_type: Optional[str] = None
        # mod_ssl's HTTPS and SSL_* variables for a request over TLS (set by
        # the front end's TLS layer once the request is routed; None: plain).
        self.ssl_environ: Optional[Dict[str, str]] = None

    def with_query(self, query: str) -> "RequestHead":
        """A copy of this head with another query string (a rewrite's new r->args)."""
        # Through the constructor (a compiled class's __new__ calls __init__):
        # a slot added above must be copied here too.
        copy = RequestHead(
            self.method,
            self.target,
            self.path,
            query,
            self.version,
            self.headers,
            self.client_addr,
            self.client_port,
            self.server_addr,
            self.server_port,
            self.scheme,
            self.chunked,
            self.request_id,
            self.start_time,
        )
        copy.remote_user = self.remote_user
        copy.auth_type = self.auth_type
        copy.ssl_environ = self.ssl_environ
        return copy

    def header(self, name: bytes) -> Optional[bytes]:
        """The first value of a header, by case-insensitive name."""
        lname = name.lower()
        for n, v in self.headers:
            if n.lower() == lname:
                return v
        return None


class Mount:
    """Where an app is mounted and how mod_wsgi would describe it to the app."""

    __slots__ = (
        "application_group",
        "callable_object",
        "document_root",
        "map_head_to_get",
        "multiprocess",
        "multithread",
        "pass_authorization",
        "process_group",
        "script_filename",
        "script_name",
        "script_reloading",
        "server_admin",
        "server_name",
        "trusted_proxies",
        "trusted_proxy_headers",
    )

    def __init__(
        self,
        script_name: str,
        script_filename: str,
        callable_object: str = "application",
        application_group: Optional[str] = None,
        process_group: str = "",
        pass_authorization: bool = False,
        script_reloading: bool = True,
        multiprocess: bool = True,
        multithread: bool = True,
        document_root: Optional[str] = None,
        server_admin: Optional[str] = None,
        server_name: Optional[str] = None,
        trusted_proxy_headers: Optional[Tuple[str, ...]] = None,
        trusted_proxies: Optional[Tuple[str, ...]] = None,
        map_head_to_get: Optional[str] = None,
    ) -> None:
        self.script_name = script_name.rstrip("/")
        self.script_filename = script_filename
        self.callable_object = callable_object
        self.application_group = application_group
        self.process_group = process_group
        self.pass_authorization = pass_authorization
        self.script_reloading = script_reloading
        self.multiprocess = multiprocess
        self.multithread = multithread
        # The virtual host's DocumentRoot and ServerAdmin (None: not given).
        self.document_root = document_root or APACHE_DOCUMENT_ROOT
        self.server_admin = server_admin or NO_SERVER_ADMIN
        # The host's ServerName without scheme or port: SERVER_NAME for a request
        # with no Host header, as Apache takes it from the chosen virtual host.
        self.server_name = _bare_name(server_name) if server_name else None
        # WSGITrustedProxyHeaders (environ keys) and WSGITrustedProxies (networks).
        self.trusted_proxy_headers = trusted_proxy_headers
        self.trusted_proxies = trusted_proxies
        # WSGIMapHEADToGET: "on", "off" or "auto" (None: auto, mod_wsgi's default).
        self.map_head_to_get = map_head_to_get


def build_environ(
    head: RequestHead,
    mount: Mount,
    wsgi_input: Any,
    wsgi_errors: Any,
    file_wrapper: Any,
    script_name: Optional[str] = None,
    path_info: Optional[str] = None,
    path_translated: Optional[str] = None,
    variables: Optional[Dict[str, str]] = None,
) -> Dict[str, Any]:
    """The environ for one request to the app at ``mount``.

    ``script_name`` and ``path_info`` are the router's split of the
    normalised path; without them the raw path is split at the mount point.
    ``path_translated`` is where the router maps ``path_info`` as a URL of its
    own (Apache's sub-request for PATH_TRANSLATED); without it, the document
    root followed by ``path_info``. The keys that depend on the process that
    runs the app (``mod_wsgi.thread_id`` and friends) are added there, by
    :mod:`wsgihost.wsgi.counters`; the daemon-mode ones by the daemon process.
    ``variables`` are the request's environment (Apache's r->subprocess_env:
    SetEnv, SetEnvIf, RewriteRule [E=]; see :func:`add_variables`).
    """
    if script_name is None:
        script_name = mount.script_name
    if path_info is None:
        path_info = decode_path(head.path)
        if script_name and path_info.startswith(script_name):
            path_info = path_info[len(script_name) :]
    environ: Dict[str, Any] = {
        "REQUEST_METHOD": head.method,
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": head.query,
        "REQUEST_URI": head.target,
        "SERVER_PROTOCOL": head.version,
        "REMOTE_ADDR": unmap_ipv4(head.client_addr),
        "REMOTE_PORT": str(head.client_port),
        "SERVER_ADDR": unmap_ipv4(head.server_addr),
        "SCRIPT_FILENAME": mount.script_filename,
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": "wsgihost",
        "REQUEST_SCHEME": head.scheme,
        # Apache's ap_add_common_vars: a WSGIScriptAlias sets no context of its
        # own (mod_alias's Alias would), so the context is the document root.
        "DOCUMENT_ROOT": mount.document_root,
        "CONTEXT_PREFIX": "",
        "CONTEXT_DOCUMENT_ROOT": mount.document_root,
        "SERVER_ADMIN": mount.server_admin,
        "SERVER_SIGNATURE": "",  # ServerSignature Off: wsgihost's pages carry none
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": head.scheme,
        "wsgi.input": wsgi_input,
        "wsgi.input_terminated": True,
        "wsgi.errors": wsgi_errors,
        "wsgi.multithread": mount.multithread,
        "wsgi.multiprocess": mount.multiprocess,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": file_wrapper,
        # As mod_wsgi 4.9's wsgi_build_environment spells them: strings, times
        # in microseconds since the epoch. (4.9 has no mod_wsgi.input_chunked.)
        "mod_wsgi.process_group": mount.process_group,
        "mod_wsgi.script_name": script_name,
        "mod_wsgi.path_info": path_info,
        "mod_wsgi.callable_object": mount.callable_object,
        "mod_wsgi.request_handler": "wsgi-script",
        "mod_wsgi.handler_script": "",  # WSGIHandlerScript is not provided
        "mod_wsgi.script_reloading": "1" if mount.script_reloading else "0",
        # WSGIEnableSendfile and WSGIIgnoreActivity are not provided: their Off.
        "mod_wsgi.enable_sendfile": "0",
        "mod_wsgi.ignore_activity": "0",
        "mod_wsgi.request_id": head.request_id,
        "mod_wsgi.request_start": str(int(head.start_time * 1_000_000)),
        "mod_wsgi.version": MOD_WSGI_VERSION,
        "mod_wsgi.listener_host": head.server_addr,
        "mod_wsgi.listener_port": str(head.server_port),
    }
    if head.ssl_environ:
        environ.update(head.ssl_environ)
    if head.remote_user is not None:
        # As Apache's ap_add_common_vars, for a request that was authenticated.
        environ["REMOTE_USER"] = head.remote_user
        environ["AUTH_TYPE"] = head.auth_type or ""
    if path_info:
        # Apache sets PATH_TRANSLATED only where there is a PATH_INFO.
        if path_translated is None:
            path_translated = mount.document_root.rstrip("/") + path_info
        environ["PATH_TRANSLATED"] = path_translated
    pass_auth = mount.pass_authorization
    for field_name, value in head.headers:
        key = header_key(field_name)
        if key is None or (key == "HTTP_AUTHORIZATION" and not pass_auth):
            continue
        text = value.decode("latin-1")
        if key in environ:
            # RFC 9110 5.3: repeated fields combine with commas (cookies with "; ").
            sep = "; " if key == "HTTP_COOKIE" else ", "
            environ[key] = environ[key] + sep + text
        else:
            environ[key] = text

    host: Optional[str] = environ.get("HTTP_HOST")
    port: Optional[str] = None
    name: str
    if host:
        name, port = split_host(host)
    elif mount.server_name:
        name = mount.server_name
    else:
        name = unmap_ipv4(head.server_addr)
        if ":" in name:
            name = "[" + name + "]"
    environ["SERVER_NAME"] = name
    if not port:
        # As Apache's ap_get_server_port (UseCanonicalName Off): a Host with no
        # port means the scheme's default port; with no Host at all, the port
        # the request came in on.
        port = ("443" if head.scheme == "https" else "80") if host else str(head.server_port)
    environ["SERVER_PORT"] = port
    group: Optional[str] = mount.application_group
    if group is None:
        # mod_wsgi's default application group, %{RESOURCE}: host[:port]|script_name.
        shown_port = environ["SERVER_PORT"]
        suffix = "" if shown_port in ("80", "443") else ":" + shown_port
        group = name + suffix + "|" + script_name
    environ["mod_wsgi.application_group"] = group
    if head.method == "HEAD" and mount.map_head_to_get == "on":
        # WSGIMapHEADToGET On: the app answers as for GET, so a HEAD gets the
        # same headers (the body is dropped on the way out). Auto maps only
        # where an Apache output filter could need the body; wsgihost runs
        # none, so Auto is Off here, as in Apache without such filters.
        environ["REQUEST_METHOD"] = "GET"
    if variables:
        add_variables(environ, variables)
    # After the keys above, as mod_wsgi does it: the application group and
    # mod_wsgi.script_name keep what the request itself said.
    if mount.trusted_proxy_headers:  # (a call into interpreted code otherwise, each request)
        proxyheaders.apply(environ, mount.trusted_proxy_headers, mount.trusted_proxies)
    return environ
