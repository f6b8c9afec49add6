"""Map a request to what serves it, as Apache + mod_wsgi would (pure).

1. **Virtual host**: the vhosts whose addresses match the listener's address
   and port (an exact IP before ``*`` and ``_default_``); among them, the one
   whose ``ServerName`` or ``ServerAlias`` matches ``Host``, else the first.
   A request no vhost's address matches goes to the main server.
2. **URL to target**: ``Alias``/``AliasMatch`` first, then
   ``WSGIScriptAlias``/``WSGIScriptAliasMatch`` (mod_wsgi's translate hook
   runs after mod_alias's), the vhost's before the main server's, the first
   match winning; otherwise ``DocumentRoot``. A prefix matches whole path
   segments (``/app`` matches ``/app/x``, not ``/apple``).
3. **Settings**: the main server's, then the vhost's, then ``<Directory>``
   sections (shortest path first, then the regex ones), ``<Files>``,
   ``<Location>``, and last the options on the ``WSGIScriptAlias`` line.

The path is percent-decoded and normalised first (dot segments removed,
repeated slashes merged), as Apache does before any of this; a path that
climbs above the root, holds a NUL, an encoded slash or a bad ``%`` escape
is refused.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import os
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from urllib.parse import unquote_to_bytes

from wsgihost import handlermap, htaccess
from wsgihost.config.model import (
    DEFAULT_SETTINGS,
    Alias,
    DirSettings,
    Host,
    Section,
    Server,
)
from wsgihost.handlermap import Handled
from wsgihost.wsgi.environ import APACHE_DOCUMENT_ROOT


# Targets are made for every request and never changed afterwards; not
# frozen=True, whose __init__ goes through object.__setattr__ for each field
# (several times slower, and slower still compiled).
@dataclass(unsafe_hash=True)
class WSGITarget:
    """A request for a WSGI app."""

    host: Host
    script: str
    script_name: str
    path_info: str
    settings: DirSettings
    # The host's DocumentRoot (the main server's if it has none; None: neither),
    # and where path_info leads as a URL of its own: the app's DOCUMENT_ROOT
    # and PATH_TRANSLATED, as Apache sets them.
    document_root: str | None = None
    path_translated: str | None = None
    # mod_wsgi.application_group, resolved from the configuration alone
    # (application_group_key); with the process group it names the daemon
    # process set that serves the request.
    application_group: str | None = None
    # SCRIPT_FILENAME when it is not the script: the file a WSGIHandlerScript serves.
    filename: str | None = None
    # The application group whose daemon process set runs the request, when it
    # is not ``application_group``: handler-mapped scripts under %{RESOURCE}
    # share the set of the section that mapped them (scripts are not known
    # from the configuration). ``resource`` is what %{RESOURCE} keys the set on.
    set_group: str | None = None
    resource: str = ""
    handler: str | None = None  # the handler that mapped the file (None: WSGIScriptAlias)

    @property
    def process_set(self) -> str:
        """The application group that names the request's daemon process set."""
        return self.set_group if self.set_group is not None else self.application_group or ""

    def environ_overrides(self) -> dict[str, str]:
        """What a handler mapping changes in the environ mod_wsgi builds: the file a
        WSGIHandlerScript serves, and the handler's name."""
        found = {}
        if self.filename is not None:
            found["SCRIPT_FILENAME"] = self.filename
        if self.handler is not None:
            found["mod_wsgi.request_handler"] = self.handler
        return found


@dataclass(unsafe_hash=True)
class FileTarget:
    """A request for a static file (or directory) under ``root``."""

    host: Host
    path: str  # the file system path asked for
    root: str  # the DocumentRoot or Alias directory it must stay within
    url_path: str  # the normalised URL path, for redirects
    settings: DirSettings


@dataclass(unsafe_hash=True)
class Refusal:
    """A request refused before any target (bad path, nothing configured)."""

    status: int
    reason: str
    # The error-log line it is worth (mod_wsgi's, for a handler-mapped script).
    log: str | None = None
    host: Host | None = None
    log_level: str = "error"  # Apache's: alert for a .htaccess that cannot be applied


@dataclass(unsafe_hash=True)
class ProxyTarget:
    """A request mod_proxy passes to a backend (:mod:`wsgihost.revproxy`): no file,
    its ``<Proxy>`` sections' and ``<Location>`` sections' settings."""

    host: Host
    path: str  # r->filename: "proxy:" and the backend URL
    url_path: str
    settings: DirSettings

    @property
    def url(self) -> str:
        return self.path[6:]


Target = WSGITarget | FileTarget | ProxyTarget | Refusal


_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def normalize_path(raw: bytes) -> str | None:
    """Percent-decode and normalise a URL path; None when it must be refused.

    Apache's defaults: ``AllowEncodedSlashes Off`` (an encoded ``/`` is
    refused), dot segments resolved (RFC 3986 5.2.4) without climbing above
    ``/``, ``MergeSlashes On``.
    """
    lowered = raw.lower()
    if lowered.find(b"%2f") >= 0 or lowered.find(b"%00") >= 0 or raw.find(b"\x00") >= 0:
        return None
    if raw.find(b"%") >= 0 and _BAD_ESCAPE.search(raw):
        return None
    decoded = unquote_to_bytes(raw) if raw.find(b"%") >= 0 else raw
    text = decoded.decode("latin-1")
    if not text.startswith("/"):
        return None
    trailing = text.endswith("/") or text.endswith("/.") or text.endswith("/..")
    out: list[str] = []
    for segment in text.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not out:
                return None
            out.pop()
            continue
        out.append(segment)
    path = "/" + "/".join(out)
    if trailing and path != "/":
        path += "/"
    return path


def path_refusal(raw: bytes) -> int:
    """The status for a path ``normalize_path`` refused, as Apache's core answers it.

    ``ap_unescape_url`` answers 400 to a ``%`` without two hex digits and 404
    to an encoded ``/`` or NUL (AllowEncodedSlashes Off); a path that climbs
    above the root is a 400.
    """
    if _BAD_ESCAPE.search(raw):
        return 400
    lowered = raw.lower()
    if lowered.find(b"%2f") >= 0 or lowered.find(b"%00") >= 0:
        return 404
    return 400


def prefix_match(url: str, prefix: str) -> int:
    """How much of ``url`` the alias ``prefix`` covers (0: no match).

    As mod_alias does: whole segments, and a prefix ending in ``/`` needs
    the slash in the URL too.
    """
    if prefix == "/":
        return 1 if url.startswith("/") else 0
    if not url.startswith(prefix):
        return 0
    if prefix.endswith("/") or len(url) == len(prefix) or url[len(prefix)] == "/":
        return len(prefix)
    return 0


def host_matches(pattern: str, host: str) -> bool:
    """``ServerName``/``ServerAlias`` against a Host name (``*`` and ``?`` wildcards)."""
    pattern = pattern.lower()
    if "*" in pattern or "?" in pattern:
        return fnmatch.fnmatchcase(host, pattern)
    return pattern == host


def _strip_port(name: str) -> str:
    """A ServerName may carry a scheme and a port (``https://example.com:443``)."""
    if "://" in name:
        name = name.split("://", 1)[1]
    if name.startswith("["):
        return name[1 : name.find("]")].lower() if "]" in name else name.lower()
    return name.rsplit(":", 1)[0].lower() if name.count(":") == 1 else name.lower()


def host_name(header: bytes | None) -> str:
    """The name part of a Host header value, lower-case, without a trailing dot."""
    if not header:
        return ""
    text = header.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    return text.rsplit(":", 1)[0].rstrip(".") if ":" in text else text.rstrip(".")


def application_group_key(setting: str | None, server_name: str, port: int, script: str) -> str:
    """``mod_wsgi.application_group`` as mod_wsgi spells it, from the configuration.

    ``setting`` is WSGIApplicationGroup's (None: the default, ``%{RESOURCE}``;
    ``""``: ``%{GLOBAL}``). ``%{SERVER}`` is ``name[:port]`` and
    ``%{RESOURCE}`` ``name[:port]|SCRIPT_NAME``, the port left out when it
    is 80 or 443, as mod_wsgi writes them. Unlike mod_wsgi, which takes the
    port from the request's Host header, ``port`` is the virtual host's
    configured one: a client cannot make new application groups (each is a
    set of daemon processes here) by sending new ports.
    """
    if setting is not None and setting not in ("%{SERVER}", "%{RESOURCE}"):
        return setting  # a name, or "" (%{GLOBAL})
    server = server_name if port in (80, 443) else f"{server_name}:{port}"
    return server if setting == "%{SERVER}" else f"{server}|{script}"


def set_key(group: str, application_group: str) -> str:
    """The name of the daemon process set that runs ``application_group`` of ``group``.

    The group's own name for ``%{GLOBAL}`` (one set, as before application
    groups had processes of their own), else ``group|application group``.
    """
    return f"{group}|{application_group}" if application_group else group


def _configured_name(name: str | None) -> str:
    """A ServerName as mod_wsgi's application group shows it: no scheme, no port.

    Apache falls back to the machine's name where no ServerName is set.
    """
    if not name:
        return os.uname().nodename
    if "://" in name:
        name = name.split("://", 1)[1]
    if name.startswith("["):
        return name[: name.find("]") + 1] if "]" in name else name
    return name.rsplit(":", 1)[0] if name.count(":") == 1 else name


def _addr_equal(a: str, b: str) -> bool:
    try:
        ia = ipaddress.ip_address(a)
        ib = ipaddress.ip_address(b)
    except ValueError:
        return a.lower() == b.lower()
    if isinstance(ia, ipaddress.IPv6Address) and ia.ipv4_mapped is not None:
        ia = ia.ipv4_mapped
    if isinstance(ib, ipaddress.IPv6Address) and ib.ipv4_mapped is not None:
        ib = ib.ipv4_mapped
    return ia == ib


class _CompiledSection:
    def __init__(self, section: Section) -> None:
        self.kind = section.kind
        self.settings = section.settings
        self.regex = re.compile(section.pattern) if section.regex else None
        self.raw = section.pattern
        self.pattern = section.pattern.rstrip("/") or "/"
        self.glob = not section.regex and any(c in section.pattern for c in "*?[")
        # Apache applies non-regex <Directory> sections shortest first, and
        # <Directory /> before any other (it counts "/tmp/" as two components,
        # "/" as one): the root is depth 0, as in the .htaccess walk.
        self.depth = 0 if self.pattern == "/" else self.pattern.count("/")
        # <Files> inside <Directory>: both must match.
        self.within = _CompiledSection(section.within) if section.within is not None else None

    def matches(self, value: str) -> bool:
        if self.regex is not None:
            return self.regex.search(value) is not None
        if self.kind == "files":
            return fnmatch.fnmatchcase(value, self.pattern)
        if self.kind == "directory":
            if self.glob:
                parts = value.split("/")
                depth = self.pattern.count("/")
                return fnmatch.fnmatchcase("/".join(parts[: depth + 1]), self.pattern)
            return (
                self.pattern == "/" or value == self.pattern or value.startswith(self.pattern + "/")
            )
        # location: a URL prefix on segment boundaries
        if self.glob:
            return fnmatch.fnmatchcase(value, self.pattern + "*")
        return self.pattern == "/" or value == self.pattern or value.startswith(self.pattern + "/")


class _CompiledHost:
    def __init__(self, host: Host, main: Host | None, port: int = 80) -> None:
        self.host = host
        # The port of mod_wsgi's %{SERVER} and %{RESOURCE}: the one configured
        # for this virtual host (its first address with a port, else the
        # server's first Listen), never the one a client names.
        ports = [a.port for a in host.addresses if a.port is not None]
        self.port = ports[0] if ports else port
        server_name = host.server_name or (main.server_name if main is not None else None)
        self.server_name = _configured_name(server_name)
        names = [host.server_name] if host.server_name else []
        self.names = [_strip_port(n) for n in (*names, *host.server_aliases)]
        own = list(host.aliases)
        inherited = list(main.aliases) if main is not None else []
        every = own + inherited
        self.aliases = [a for a in every if not a.wsgi]
        self.script_aliases = [a for a in every if a.wsgi]
        self.regexes = {id(a): re.compile(a.url) for a in every if a.regex}
        self.document_root = host.document_root or (main.document_root if main else None)
        base = DEFAULT_SETTINGS
        if main is not None:
            base = base.merge(main.settings)
        self.base = base.merge(host.settings)
        sections = list(main.sections if main is not None else ()) + list(host.sections)
        compiled = [_CompiledSection(s) for s in sections]
        plain_dirs = [c for c in compiled if c.kind == "directory" and c.regex is None]
        plain_dirs.sort(key=lambda c: c.depth)  # stable: config order within a depth
        self.directories = plain_dirs + [
            c for c in compiled if c.kind == "directory" and c.regex is not None
        ]
        self.files = [c for c in compiled if c.kind == "files"]
        self.locations = [c for c in compiled if c.kind == "location"]
        self.proxies = [c for c in compiled if c.kind == "proxy"]  # <Proxy>, <ProxyMatch>
        self._cache: dict[tuple[str, str, int], DirSettings] = {}
        # The ``over`` settings the caches' keys name, by id (see _identity).
        self._overs: dict[int, DirSettings] = {}
        # .htaccess files to read per request; set by Router where AllowOverride allows.
        self.overrides: htaccess.HtaccessFiles | None = None
        # Handler mappings (SetHandler, AddHandler): only hosts with some walk the path.
        layers = [self.base] + [c.settings for c in compiled]
        self.handlers = any(s.handler or s.add_handlers for s in layers)
        # Where every mapping is in a plain <Directory>, only paths under one of
        # them need the walk: the rest of the host's static files pay no stat.
        mapping = [c for c in compiled if c.settings.handler or c.settings.add_handlers]
        plain = all(c.kind == "directory" and c.regex is None and not c.glob for c in mapping)
        only_under = self.base.handler is None and not self.base.add_handlers and plain
        self.handler_dirs = tuple(c.pattern for c in mapping) if only_under else None
        self.dispatches = any(s.dispatch_script for s in layers)

    def may_map(self, fs_path: str) -> bool:
        """Whether a handler mapping may reach ``fs_path`` (else it is a plain file)."""
        if not self.handlers:
            return False
        if self.handler_dirs is None:
            return True
        return any(
            d == "/" or fs_path == d or fs_path.startswith(d + "/") for d in self.handler_dirs
        )

    def application_group(self, alias: Alias, settings: DirSettings) -> str:
        """The application group of a request to ``alias`` with ``settings``.

        SCRIPT_NAME comes from the alias: its URL, or for a ``...Match``
        form its pattern as written, so that the sets are known from the
        configuration.
        """
        script = alias.url if alias.regex else alias.url.rstrip("/")
        return application_group_key(
            settings.application_group, self.server_name, self.port, script
        )

    def alias_settings(self, alias: Alias) -> list[DirSettings]:
        """The settings a request to ``alias`` may have: at the alias's URL,
        and at each ``<Location>`` within it (which may name another group)."""
        found = [self.settings_for(alias.path, alias.url, alias.settings)]
        if not alias.regex:
            for section in self.locations:
                inside = section.regex is None and not section.glob
                if inside and prefix_match(section.pattern, alias.url):
                    found.append(self.settings_for(alias.path, section.pattern, alias.settings))
        return found

    def settings_for(self, fs_path: str, url_path: str, over: DirSettings | None) -> DirSettings:
        # Merging is the same for every request to one script: remember it.
        key = (fs_path, url_path if self.locations else "", self._identity(over))
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            found = self._cache[key] = self._settings_for(fs_path, url_path, over)
        return found

    def _identity(self, over: DirSettings | None) -> int:
        """``over`` in a cache key, by identity: hashing a DirSettings hashes its
        sixty-odd fields, which cost more than the rest of routing a request.

        ``over`` is always an object of the configuration (an alias's or a
        section's settings), so this map stays as small as the configuration;
        holding it here keeps its id from being reused while a key names it.
        """
        if over is None:
            return 0
        key = id(over)
        if key not in self._overs:
            self._overs[key] = over
        return key

    def request_settings(
        self, fs_path: str, url_path: str, over: DirSettings | None
    ) -> DirSettings:
        """``settings_for`` a request: with the .htaccess files it reaches, looked
        for now (they change between requests: the reader keeps a result only
        while the files it was made from are unchanged)."""
        overrides = self.overrides
        if overrides is None:
            return self.settings_for(fs_path, url_path, over)
        key = (id(self), fs_path, url_path if self.locations else "", self._identity(over))
        return overrides.remember(
            key, lambda: self._settings_for(fs_path, url_path, over, overrides)
        )

    def _settings_for(
        self,
        fs_path: str,
        url_path: str,
        over: DirSettings | None,
        overrides: htaccess.HtaccessFiles | None = None,
    ) -> DirSettings:
        settings = self.base
        directory = fs_path if fs_path.endswith("/") else posixpath.dirname(fs_path)
        directory = directory.rstrip("/") or "/"
        extra: tuple[Section, ...] = ()
        if overrides is not None:
            # AllowOverride: each folder's .htaccess merges right after that folder's
            # plain <Directory> sections, level by level; the regex ones come after.
            plain = [
                (s.pattern, s.settings)
                for s in self.directories
                if s.regex is None and s.matches(directory)
            ]
            chain, extra = htaccess.walk(directory, settings, plain, overrides.read)
            # The regex <Directory> sections close the same chain.
            dirs = [] if chain is None else [chain]
            dirs += [
                s.settings for s in self.directories if s.regex is not None and s.matches(directory)
            ]
            settings = _onto(settings, dirs)
        else:
            settings = _onto(
                settings, (s.settings for s in self.directories if s.matches(directory))
            )
        name = posixpath.basename(fs_path.rstrip("/"))
        files = [
            s.settings
            for s in self.files
            if s.matches(name) and (s.within is None or s.within.matches(directory))
        ]
        # (then the <Files> sections of .htaccess files)
        files += [found.settings for found in extra if _CompiledSection(found).matches(name)]
        settings = _onto(settings, files)
        settings = _onto(settings, (s.settings for s in self.locations if s.matches(url_path)))
        if over is not None:
            settings = settings.merge(over)
        return settings


def _onto(settings: DirSettings, layers: Iterable[DirSettings]) -> DirSettings:
    """``layers`` merged among themselves, then onto ``settings``.

    Apache's walks (directory, files, location, <If>) each build their chain
    of sections from nothing and merge it onto the request's configuration
    at the end. That differs from merging one by one where a merge is not
    associative: mod_env's UnsetEnv acts on the layer right under it only, so
    in a chain of two sections it no longer reaches the server's variables.
    """
    chain: DirSettings | None = None
    for layer in layers:
        chain = layer if chain is None else chain.merge(layer)
    return settings if chain is None else settings.merge(chain)


def _fs(url_part: str) -> str:
    """A URL path (bytes as latin-1) as a file system path (the bytes, as the OS names them)."""
    if url_part.isascii():
        return url_part
    return os.fsdecode(url_part.encode("latin-1"))


def _substitute(template: str, match: re.Match[str], convert: Callable[[str], str] = str) -> str:
    """``$1``..``$9`` (and ``$0``) in an ``...Match`` target."""
    groups = match.re.groups

    def group(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return convert(match.group(n) or "") if n <= groups else ""

    return re.sub(r"\$(\d)", group, template)


class Router:
    """Compiled from a :class:`Server` model once per worker."""

    def __init__(self, server: Server, overrides: htaccess.HtaccessFiles | None = None) -> None:
        self.server = server
        port = server.listeners[0].port if server.listeners else 80
        self.main = _CompiledHost(server.main, None, port)
        self.vhosts = [_CompiledHost(v, server.main, port) for v in server.vhosts]
        # The front end's .htaccess reader, for the hosts where some AllowOverride
        # lets one be read: elsewhere no request pays a stat for them.
        self.overrides = overrides
        for compiled in (self.main, *self.vhosts):
            plain = [(c.pattern, c.settings) for c in compiled.directories if c.regex is None]
            if overrides is not None and htaccess.may_override(compiled.base, plain):
                compiled.overrides = overrides
        if any(c.overrides is not None for c in (self.main, *self.vhosts)):
            htaccess.preload()  # now, while a worker may still be root
        self._by_listener: dict[tuple[str, int], list[_CompiledHost]] = {}
        # PATH_TRANSLATED of a path_info an alias maps (a second routing of every
        # request otherwise), per host: the configuration alone decides it.
        self._translated: dict[tuple[int, str], str] = {}

    # What the configuration can reach (wsgihost.reach), for the supervisor.

    def scripts_by_group(self) -> dict[str, set[tuple[str, str]]]:
        from wsgihost import reach  # imports this module

        return reach.scripts_by_group(self)

    def process_sets(self) -> dict[tuple[str, str], set[tuple[str, str]]]:
        from wsgihost import reach

        return reach.process_sets(self)

    def reloading_scripts(self) -> dict[str, set[str]]:
        from wsgihost import reach

        return reach.reloading_scripts(self)

    def select_host(self, local_addr: str, local_port: int, host_header: bytes | None) -> Host:
        return self._select(local_addr, local_port, host_header).host

    def _candidates(self, local_addr: str, local_port: int) -> list[_CompiledHost]:
        key = (local_addr, local_port)
        found = self._by_listener.get(key)
        if found is not None:
            return found
        exact: list[_CompiledHost] = []
        wild: list[_CompiledHost] = []
        for vhost in self.vhosts:
            for addr in vhost.host.addresses:
                if addr.port is not None and addr.port != local_port:
                    continue
                if addr.host in ("*", "_default_"):
                    wild.append(vhost)
                    break
                if _addr_equal(addr.host, local_addr):
                    exact.append(vhost)
                    break
        found = exact or wild
        if len(self._by_listener) < 256:
            self._by_listener[key] = found
        return found

    def _select(self, local_addr: str, local_port: int, host_header: bytes | None) -> _CompiledHost:
        candidates = self._candidates(local_addr, local_port)
        if not candidates:
            return self.main
        name = host_name(host_header)
        if name:
            for vhost in candidates:
                for pattern in vhost.names:
                    if host_matches(pattern, name):
                        return vhost
        return candidates[0]

    def host(self, local_addr: str, local_port: int, host_header: bytes | None) -> Host:
        """The virtual host a request is for, whatever its path (the main server if none)."""
        return self._select(local_addr, local_port, host_header).host

    def route(
        self, local_addr: str, local_port: int, host_header: bytes | None, raw_path: bytes
    ) -> Target:
        url = normalize_path(raw_path)
        if url is None:
            return Refusal(path_refusal(raw_path), "invalid path")
        return self.route_url(local_addr, local_port, host_header, url)

    def route_url(
        self,
        local_addr: str,
        local_port: int,
        host_header: bytes | None,
        url: str,
        filename: str | None = None,
    ) -> Target:
        """``route`` for a URL already decoded and normalised, as the pipeline's
        translate_name left it (wsgihost.pipeline): a ``filename`` it chose (a
        RewriteRule to a path) is served as that file, as Apache's core takes an
        r->filename set by translate_name, with no Alias or WSGIScriptAlias."""
        host = self._select(local_addr, local_port, host_header)
        if self.overrides is not None:
            self.overrides.begin()  # each .htaccess is looked at once per request
        try:
            if filename is not None and filename.startswith("proxy:"):
                return self._proxied(host, filename, url)  # mod_proxy's (revproxy/module.py)
            if filename is not None:
                # Any file, as Apache's: its sections and handlers decide the rest.
                return self._file(host, filename, "/", url)
            return self._route_in(host, url)
        except htaccess.HtaccessError as e:  # a .htaccess on the way cannot be read or applied
            return Refusal(e.status, ".htaccess", e.message, host.host, e.level)

    def _proxied(self, host: _CompiledHost, filename: str, url: str) -> ProxyTarget:
        """A request passed to a backend: mod_proxy's map_to_storage merges the
        ``<Proxy>`` sections that match the backend URL (prefix, wildcard or
        regex), then the location walk; no <Directory>, <Files> or .htaccess."""
        backend = filename[6:]
        settings = host.base
        for section in host.proxies:
            if section.regex is not None:
                hit = section.regex.search(backend) is not None
            elif section.glob:
                hit = fnmatch.fnmatchcase(backend, section.raw)
            else:
                hit = backend.startswith(section.raw)
            if hit:
                settings = settings.merge(section.settings)
        settings = _onto(settings, (s.settings for s in host.locations if s.matches(url)))
        return ProxyTarget(host.host, filename, url, settings)

    def _route_in(self, host: _CompiledHost, url: str, translate: bool = True) -> Target:
        """The target of a normalised URL on one host (``translate``: with PATH_TRANSLATED)."""
        for alias in host.aliases:
            if alias.regex:
                m = host.regexes[id(alias)].match(url)
                if m is not None:
                    fs = _substitute(alias.path, m, _fs)
                    base = alias.path.split("$", 1)[0] or fs
                    return self._file(host, fs, base, url, translate)
            else:
                n = prefix_match(url, alias.url)
                if n:
                    fs = alias.path + _fs(url[n:])
                    return self._file(host, fs, alias.path, url, translate)
        for alias in host.script_aliases:
            if alias.regex:
                m = host.regexes[id(alias)].match(url)
                if m is None:
                    continue
                script = _substitute(alias.path, m)
                script_name = m.group(0).rstrip("/")
                path_info = url[len(m.group(0)) :]
                if m.group(0).endswith("/"):
                    path_info = "/" + path_info
            else:
                n = prefix_match(url, alias.url)
                if not n:
                    continue
                script = alias.path
                script_name = alias.url.rstrip("/")
                path_info = url[len(script_name) :]
            settings = host.request_settings(script, url, alias.settings)
            translated = self._translate(host, path_info) if translate and path_info else None
            return WSGITarget(
                host.host,
                script,
                script_name,
                path_info,
                settings,
                host.document_root,
                translated,
                host.application_group(alias, settings),
                resource=alias.url if alias.regex else alias.url.rstrip("/"),
            )
        root = host.document_root
        if root is None:
            return Refusal(404, "no DocumentRoot and no alias for this URL")
        return self._file(host, root.rstrip("/") + _fs(url), root, url, translate)

    def _translate(self, host: _CompiledHost, path_info: str) -> str:
        """PATH_TRANSLATED: the file ``path_info`` names when asked for as a URL of its
        own, as Apache's sub-request finds it (a script's path_info follows its file)."""
        key = (id(host), path_info)
        known = self._translated.get(key)
        if known is not None:
            return known
        target = self._route_in(host, path_info, translate=False)
        if isinstance(target, WSGITarget):
            translated = (target.filename or target.script) + target.path_info
            if target.filename is None:  # not a handler mapping, which the files decide
                if len(self._translated) > 4096:
                    self._translated.clear()
                self._translated[key] = translated
            return translated
        if isinstance(target, FileTarget):
            path, index = target.path, target.settings.directory_index
        else:  # no DocumentRoot: Apache's own
            path, index = APACHE_DOCUMENT_ROOT + path_info, DEFAULT_SETTINGS.directory_index
        if path.endswith("/") and os.path.isdir(path):
            # The sub-request goes through mod_dir too: a directory's index file.
            for name in index or ():
                if os.path.isfile(path + name):
                    return path + name
        return path

    def _file(
        self, host: _CompiledHost, fs_path: str, root: str, url: str, translate: bool = True
    ) -> Target:
        fs_path = os.path.normpath(fs_path) + ("/" if fs_path.endswith("/") else "")
        try:
            if host.may_map(fs_path) or host.overrides is not None:  # a .htaccess may map too
                handled = handlermap.resolve(
                    root, fs_path, url, lambda name: host.request_settings(name, url, None)
                )
                if handled is not None:
                    return self._handled(host, handled, translate)
            settings = host.request_settings(fs_path, url, None)
        except htaccess.HtaccessError as e:
            if translate:
                raise
            # PATH_TRANSLATED's sub-request failed on a .htaccess: the request goes
            # on, and Apache names the folder its walk stopped in, then the rest.
            folder = e.folder.rstrip("/")
            fs_path = folder + "/" + fs_path[len(folder) :]
            settings = host.settings_for(fs_path, url, None)
        return FileTarget(host.host, fs_path, root, url, settings)

    def _handled(self, host: _CompiledHost, handled: Handled, translate: bool) -> Target:
        """The target of a file a handler mapping gives mod_wsgi."""
        if handled.refusal is not None:
            status, line = handled.refusal
            return Refusal(status, "handler-mapped script", line, host.host)
        if handled.kind == "index":
            return self._route_in(host, handled.script_name, translate)
        settings, path_info = handled.settings, handled.path_info
        app = settings.application_group
        return WSGITarget(
            host.host,
            handled.script,
            handled.script_name,
            path_info,
            settings,
            host.document_root,
            self._translate(host, path_info) if translate and path_info else None,
            application_group_key(app, host.server_name, host.port, handled.script_name),
            filename=handled.filename if handled.kind == "handler" else None,
            set_group=application_group_key(app, host.server_name, host.port, handled.label),
            resource=handled.label,
            handler=handled.handler,
        )

    def regroup(
        self,
        target: WSGITarget,
        process_group: str | None,
        application_group: str | None,
        callable_object: str | None,
    ) -> WSGITarget:
        """``target`` with what a WSGIDispatchScript chose (None: as configured)."""
        host = next(h for h in (self.main, *self.vhosts) if h.host is target.host)
        settings = replace(
            target.settings,
            process_group=target.settings.process_group if process_group is None else process_group,
            application_group=(
                target.settings.application_group
                if application_group is None
                else application_group
            ),
            callable_object=callable_object or target.settings.callable_object,
        )
        app = settings.application_group
        handled = target.set_group is not None
        own = target.script_name if handled else target.resource
        return replace(
            target,
            settings=settings,
            application_group=application_group_key(app, host.server_name, host.port, own),
            set_group=(
                application_group_key(app, host.server_name, host.port, target.resource)
                if handled
                else None
            ),
        )
