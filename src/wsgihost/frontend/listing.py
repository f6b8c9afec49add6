"""What a directory listing needs of the server around its folder (mod_autoindex).

Apache draws a listing with sub-requests: one per name (left out unless it
could be served), and one for each of HeaderName and ReadmeName. Here a
sub-request is the router's answer for the URL (its per-directory settings,
.htaccess included): a name whose settings deny everyone (``Require all
denied``, Debian's ``<FilesMatch "^\\.ht">``) is left out, as Apache leaves
out a sub-request answered 403, and so is a symbolic link where FollowSymLinks
is off. The signature is ServerSignature's line for
the request, as Apache's ``ap_psignature`` gives it to mod_autoindex.

Where nothing could tell a file apart from its folder (no <Location>
section, no .htaccess allowed anywhere, no <Files> pattern its name matches),
it takes the folder's settings without a route of its own: a 1,000-file
folder then costs 1,000 stats, not 1,000 walks.
"""

from __future__ import annotations

import copy
import fnmatch
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from wsgihost import static
from wsgihost.frontend import errordocs
from wsgihost.mods.autoindex import Found, Surroundings
from wsgihost.routing import FileTarget, Refusal

if TYPE_CHECKING:
    from wsgihost.config.model import DirSettings, Host
    from wsgihost.frontend.exchange import Exchange as Connection
    from wsgihost.frontend.exchange import Request


def surroundings(conn: Connection, req: Request, target: FileTarget) -> Callable[[], Surroundings]:
    """A maker of the listing's surroundings: only a listing pays for them."""

    def make() -> Surroundings:
        router = conn.worker.router
        head = req.head
        table = conn.worker.mime_types

        def resolve(url: str) -> Found:
            found = router.route_url(head.server_addr, head.server_port, req.host, url)
            if isinstance(found, FileTarget):
                if found.settings.require == "denied":
                    return Found(403)
                if found.settings.follow_symlinks is False and os.path.islink(found.path):
                    return Found(403)  # Apache's directory walk refuses the link itself
                return Found(200, found.path, found.settings)
            if isinstance(found, Refusal):
                return Found(found.status)
            # An app's (or another handler's): servable, as a sub-request would run it.
            return Found(200, None, getattr(found, "settings", None))

        sign = errordocs.signature(req, target.host, target.settings).html(prefix="")
        plain = plain_names(conn.worker.server.main, target.host)
        return Surroundings(resolve, lambda path, s: static.media_type(path, s, table), sign, plain)

    return make


def draw_later(
    conn: Connection,
    req: Request,
    target: FileTarget,
    draw: Callable[[], static.FileResponse],
    respond: Callable[[Connection, Request, FileTarget, static.FileResponse], None],
) -> None:
    """Draw a listing on a pool thread (a large folder takes a while: the loop goes
    on serving the worker's other connections), then ``respond`` on the loop."""
    loop = conn.loop

    def run() -> None:
        try:
            page = draw()
        except Exception as e:  # a bug must not leave the client waiting
            conn.worker.log.error(f"error while listing {target.path}: {e!r}")
            loop.call_soon_threadsafe(conn.answer, req, 500)
            return
        loop.call_soon_threadsafe(respond, conn, req, target, page)

    conn.worker.pool.submit(run)


def log(conn: Connection, target: FileTarget, line: tuple[str, str, str]) -> None:
    """Write a listing's error-log line (``module, level, message``) to the host's
    error log, naming the client, as Apache's module does."""
    module, level, message = line
    named = copy.copy(conn.worker.logs.error_log(target.host))  # rare: no cache
    named.module = module
    named.log(level, message, conn.client())


def plain_names(main: Host, host: Host) -> Callable[[str], bool] | None:
    """A test of the file names whose sub-request would find their folder's own
    settings (None: no name's would): no <Location> section, no scope that lets a
    .htaccess say anything (one that did would have failed the listing itself),
    and no <Files>/<FilesMatch> section whose pattern the name matches. Those
    names need no route each, only their folder's."""
    hosts = (main,) if host is main else (main, host)
    scopes: list[DirSettings] = []
    named: list[Callable[[str], bool]] = []
    for h in hosts:
        scopes.append(h.settings)
        for section in h.sections:
            if section.kind == "files":
                named.append(_files_pattern(section.pattern, section.regex))
            elif section.kind != "directory":
                return None  # <Location> (and any other) may tell a URL apart
            scopes.append(section.settings)
    if any(s.allow_override or s.allow_override_list for s in scopes):
        return None
    return lambda name: not any(matches(name) for matches in named)


def _files_pattern(pattern: str, regex: bool) -> Callable[[str], bool]:
    """Whether a name (its bytes as latin-1) may match a <Files> pattern: erring
    towards yes, which only costs a route."""
    if not pattern.isascii():
        return lambda name: True
    if regex:
        search = re.compile(pattern).search
        return lambda name: search(name) is not None
    return lambda name: fnmatch.fnmatchcase(name, pattern)
