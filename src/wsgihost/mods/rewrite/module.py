"""The pipeline's side of mod_rewrite: :class:`RewriteModule` runs the server rules
at translate_name and the per-directory ones at fixups (see :mod:`.phases`)."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from wsgihost.mods.rewrite import phases
from wsgihost.mods.rewrite.engine import Site
from wsgihost.mods.rewrite.maps import MapFiles
from wsgihost.mods.rewrite.rules import RewriteDir, RewriteServer
from wsgihost.pipeline.hooks import Module, Outcome, OutHeaders
from wsgihost.wsgi.environ import APACHE_DOCUMENT_ROOT, split_host

if TYPE_CHECKING:
    from wsgihost.config.model import Host, Server
    from wsgihost.pipeline.state import RequestState

Log = Callable[[str, str], None]


def _own(host: Host) -> RewriteDir | None:
    return host.settings.rewrite


class RewriteModule(Module):
    name = "rewrite"

    def __init__(self, server: Server) -> None:
        self.server = server
        self.maps = MapFiles()
        self._servers: dict[int, tuple[RewriteServer, bool, bool]] = {}

    def _server_conf(self, host: Host) -> tuple[RewriteServer, bool, bool]:
        """The host's server rules (the main server's merged under a vhost's), whether
        its engine is on, and whether RewriteOptions AllowAnyURI is set."""
        found = self._servers.get(id(host))
        if found is None:
            main = self.server.main
            own, base = _own(host), _own(main)
            dconf = own or RewriteDir()
            sconf = (own.server if own else None) or RewriteServer()
            if host is not main and base is not None:
                dconf = base.merge(dconf) if own is not None else base
                sconf = (base.server or RewriteServer()).merge(sconf)
            opts = dconf.options or frozenset()
            found = (sconf, bool(dconf.engine), "AllowAnyURI" in opts)
            self._servers[id(host)] = found
        return found

    def _site(self, r: RequestState, sconf: RewriteServer) -> Site:
        host = r.host
        main = self.server.main
        root = host.document_root or main.document_root or APACHE_DOCUMENT_ROOT
        header = r.header("Host")
        port_text: str | None = None
        if header:
            name, port_text = split_host(header.strip())
            name = name.lower().rstrip(".")
        else:
            name = _bare(host.server_name or main.server_name or "") or r.local_addr
        default = 443 if r.https else 80
        port = int(port_text) if port_text else (default if header else r.local_port)

        def write(level: str, message: str) -> None:
            r.log(level, message, "rewrite")  # [rewrite:error] in the host's error log

        return Site(
            server=sconf,
            maps=self.maps,
            document_root=root,
            server_name=name,
            port=port,
            server_admin=host.server_admin or "",
            log=write,
            matches_vhost=lambda name, number: self._matches_vhost(host, name, number),
        )

    def _matches_vhost(self, host: Host, name: str, port: int) -> bool:
        """ap_matches_request_vhost: an address of the vhost by name (and port), else its
        port (ServerName's, else the main server's; none: 0) and ServerName/Alias."""
        name = name.lower()
        for address in host.addresses:
            if (address.port is None or address.port == port) and address.host.lower() == name:
                return True
        own = _port_of(host.server_name) or _port_of(self.server.main.server_name)
        if port != own:
            return False
        names = [n for n in (host.server_name or self.server.main.server_name,) if n]
        names += list(host.server_aliases)
        return any(fnmatch.fnmatchcase(name, _bare(n)) for n in names)

    def translate_name(self, r: RequestState) -> Outcome | None:
        sconf, engine_on, any_uri = self._server_conf(r.host)
        if not engine_on:
            return None
        return phases.translate(r, self._site(r, sconf), engine_on, any_uri)

    def output_headers(self, r: RequestState, out: OutHeaders) -> None:
        """[T=type]: the type of a file the default handler serves (hook_mimetype sets
        r->content_type; an app's own Content-Type is its own, as under mod_wsgi)."""
        forced = r.notes.get(phases.TYPE_NOTE)
        if forced is None or out.error or not _is_file(r.target):
            return
        for i, (name, _) in enumerate(out.headers):
            if name.lower() == "content-type":
                out.headers[i] = (name, forced)

    def fixups(self, r: RequestState) -> Outcome | None:
        settings = r.settings
        conf = settings.rewrite if settings is not None else None
        if conf is None or not conf.engine or conf.directory is None:
            return None
        mapped = _mapped(r)
        if mapped is None:
            return None
        filename, path_info, context = mapped
        sconf = self._server_conf(r.host)[0]
        follow = settings.follow_symlinks is not False if settings is not None else True
        return phases.fixup(r, self._site(r, sconf), conf, filename, path_info, follow, context)


def _port_of(name: str | None) -> int:
    if not name:
        return 0
    port = split_host(name.split("://", 1)[-1])[1]
    return int(port) if port else 0


def _is_file(target: object) -> bool:
    from wsgihost.routing import FileTarget

    return isinstance(target, FileTarget)


def _bare(name: str) -> str:
    if "://" in name:
        name = name.split("://", 1)[1]
    return split_host(name)[0].lower()


def _mapped(r: RequestState) -> tuple[str, str, tuple[str, str] | None] | None:
    """r->filename and r->path_info as Apache's directory walk leaves them, and the
    context (document root, prefix) of an Alias; None for a refused request."""
    from wsgihost.routing import FileTarget, WSGITarget

    target = r.target
    if isinstance(target, WSGITarget):
        return target.filename or target.script, target.path_info, None
    if not isinstance(target, FileTarget):
        return None
    filename, path_info = walk(target.path, target.root)
    context = None
    root = target.root.rstrip("/")
    if root != (target.host.document_root or "").rstrip("/"):
        tail = target.path[len(root) :] if target.path.startswith(root) else ""
        url = target.url_path
        if tail and url.endswith(tail):
            context = (root, url[: len(url) - len(tail)])
    return filename, path_info, context


def walk(path: str, root: str) -> tuple[str, str]:
    """Where Apache's directory walk stops under ``root``: the first segment that is
    not a directory (a file, or nothing) is the filename, the rest path_info."""
    root = root.rstrip("/")
    if not path.startswith(root + "/"):
        return path, ""
    trailing = path.endswith("/")
    segments = [s for s in path[len(root) :].split("/") if s]
    current = root
    for i, segment in enumerate(segments):
        current = f"{current}/{segment}"
        if not os.path.isdir(current):
            rest = "/".join(segments[i + 1 :])
            info = ("/" + rest if rest else "") + ("/" if trailing and rest else "")
            if trailing and not rest:
                info = "/"
            return current, info
    return current + ("/" if trailing else ""), ""
