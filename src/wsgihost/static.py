"""Decide the response for a static file (pure, given a file system view).

What Apache's ``default_handler`` (``server/core.c``) with mod_dir, mod_mime
and mod_autoindex does: ``Require all denied`` gives 403; a directory
without a trailing slash is redirected (301, to an absolute URL, for any
method) to one with it; a directory is served through ``DirectoryIndex`` or,
with ``Options Indexes``, a listing, else 403. GET, HEAD and POST get the
file (a POST's body is read and dropped by the front end); OPTIONS gets
``Allow``; the other methods HTTP or WebDAV define get 405, and a method
Apache does not know (``PURGE``, ``get``) 501, which ends the connection.
A file gets its type from mod_mime's reading of its extensions
(:mod:`wsgihost.mime`, none when unknown), ``Last-Modified`` and Apache's
``ETag``; the validators are checked as Apache checks them
(:mod:`wsgihost.conditional`: 304 or 412), and ``Range`` is answered as
Apache's byterange filter answers it (:mod:`wsgihost.byteranges`: 206, one
range or ``multipart/byteranges``, or 416).

Containment: the router has already removed dot segments, so the path is
lexically under its root. With ``FollowSymLinks`` off, the real path must
also be under the real root, so no symbolic link leads outside it.
"""

from __future__ import annotations

import os
import stat as statmod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import quote

from wsgihost import byteranges, conditional, errorpages
from wsgihost.byteranges import UNSATISFIABLE, Limits, Multipart
from wsgihost.config.model import DirSettings, Host
from wsgihost.mime import MIME_TYPES, content_type, parse_mime_types
from wsgihost.mods import autoindex
from wsgihost.mods.autoindex import Found, Surroundings
from wsgihost.routing import FileTarget

__all__ = ["MIME_TYPES", "FileResponse", "FileSystem", "decide", "etag_for", "parse_mime_types"]

# The methods Apache knows (http_protocol.c's lookup_builtin_method): a file
# refuses those it does not serve with 405, and any other with 501.
KNOWN_METHODS = frozenset(
    {
        *("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"),
        *("PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "MERGE"),
        *("VERSION-CONTROL", "CHECKOUT", "UNCHECKOUT", "CHECKIN", "UPDATE", "LABEL"),
        *("REPORT", "MKWORKSPACE", "MKACTIVITY", "BASELINE-CONTROL"),
    }
)
SERVED_METHODS = ("GET", "HEAD", "POST")
# What the default handler allows, in the order Apache lists it (make_allow).
ALLOW = "GET,POST,OPTIONS,HEAD,TRACE"
# The type mod_mime gives a directory; Apache shows it on OPTIONS.
DIRECTORY_TYPE = "httpd/unix-directory"


@dataclass
class FileResponse:
    """What to send: a status, headers, and ``body``, a file slice or a multipart body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    path: str | None = None  # send bytes [offset, offset+length) of this file
    offset: int = 0
    length: int = 0
    multipart: Multipart | None = None  # or these parts of it (``path``)
    close: bool = False  # end the connection after this answer
    extra: dict[str, str] = field(default_factory=dict)
    # Sent in pieces with no declared length (chunked), as Apache sends a page
    # that ran a sub-request (a listing's HTML header or readme file).
    streamed: bool = False
    # An error-log line the answer is worth: (module, level, message).
    log: tuple[str, str, str] | None = None
    # A directory listing still to be drawn (``decide(defer_listing=True)``): the
    # front end draws it on a pool thread, so a large folder does not hold the loop.
    draw: Callable[[], FileResponse] | None = None


@dataclass(frozen=True)
class FileSystem:
    """The calls the decision needs, replaceable in tests."""

    stat: Callable[[str], os.stat_result] = os.stat
    realpath: Callable[[str], str] = os.path.realpath
    listdir: Callable[[str], list[str]] = os.listdir


REAL_FS = FileSystem()

_REASONS = {
    301: "Moved Permanently",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    412: "Precondition Failed",
    416: "Range Not Satisfiable",
    501: "Not Implemented",
}
_DENIED = "You don't have permission to access this resource."


def reason(status: int) -> str:
    """The reason phrase of a status this module answers with."""
    return _REASONS.get(status, "Error")


def _page(status: int, message: str = "", method: str = "GET", location: str = "") -> FileResponse:
    """Apache's page for ``status`` (:mod:`wsgihost.errorpages`); ``message`` says why,
    for the error log's sake only: Apache's pages do not. The front end renders it
    again where ErrorDocument or ServerSignature apply."""
    body = errorpages.page(status, method, location=location)
    return FileResponse(
        status,
        [("Content-Type", errorpages.CONTENT_TYPE), ("Content-Length", str(len(body)))],
        body,
    )


def etag_for(st: os.stat_result, now: float | None = None) -> str:
    """Apache's default ``FileETag MTime Size``: size and mtime in microseconds, hex.

    Weak (``W/``) when the file changed less than a second before ``now``: it
    may change again within the same second (http_etag.c).
    """
    tag = '"%x-%x"' % (st.st_size, st.st_mtime_ns // 1000)
    return "W/" + tag if now is not None and now - st.st_mtime < 1 else tag


def _inside(path: str, root: str) -> bool:
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root + "/") or root == "/"


def _media(path: str, settings: DirSettings, table: Mapping[str, str]) -> str | None:
    if settings.force_type:
        # ForceType wins over every extension (mod_mime sets it last); the
        # core's AddDefaultCharset still applies to text/plain and text/html.
        return content_type(
            "forced.x", ((".x", settings.force_type),), {}, (), settings.default_charset or ""
        )
    return content_type(
        path, settings.add_types, table, settings.add_charsets, settings.default_charset or ""
    )


def media_type(path: str, settings: DirSettings, table: Mapping[str, str]) -> str | None:
    """The type mod_mime gives ``path`` under ``settings`` (None when unknown)."""
    return _media(path, settings, table)


def _range_limits(settings: DirSettings) -> Limits:
    defaults = Limits()
    return Limits(
        ranges=defaults.ranges if settings.max_ranges is None else settings.max_ranges,
        overlaps=(
            defaults.overlaps
            if settings.max_range_overlaps is None
            else settings.max_range_overlaps
        ),
        reversals=(
            defaults.reversals
            if settings.max_range_reversals is None
            else settings.max_range_reversals
        ),
    )


def _split_host(value: str) -> tuple[str, int | None]:
    """A Host header as Apache keeps it: lower case, no final dot, the port apart."""
    value = value.strip().lower()
    port = ""
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        name, _, port = value.partition(":")
    else:
        name = value
    return name.rstrip("."), int(port) if port.isdigit() else None


def absolute_url(path: str, host: Host, request_header: Callable[[str], str | None]) -> str:
    """``path`` as an absolute URL, as Apache's ap_construct_url makes it with
    ``UseCanonicalName Off``: the name from the request's ``Host`` (else the
    ServerName), the port from ``Host`` (else ServerName's, else the scheme's),
    left out when it is the scheme's default."""
    scheme = "http"
    canonical = host.server_name or "localhost"
    if "://" in canonical:
        scheme, _, canonical = canonical.partition("://")
        scheme = scheme.lower()
    default_port = 443 if scheme == "https" else 80
    server_name, server_port = _split_host(canonical)
    given = request_header("host")
    name, port = _split_host(given) if given else (server_name, None)
    if port is None:
        port = server_port or default_port
    shown = f"[{name}]" if ":" in name else name
    if port != default_port:
        shown += f":{port}"
    return f"{scheme}://{shown}{path}"


def _other_method(method: str, media: str | None) -> FileResponse:
    """OPTIONS, and the methods a file does not serve (405, or 501 if Apache does not know them)."""
    if method == "OPTIONS":
        headers = [("Allow", ALLOW), ("Content-Length", "0")]
        if media:
            headers.append(("Content-Type", media))
        return FileResponse(200, headers)
    if method in KNOWN_METHODS:
        response = _page(405, method=method)
    else:
        response = _page(501, method=method)
        response.close = True  # as Apache: a 501 ends the connection
    response.headers.append(("Allow", ALLOW))
    return response


def decide(
    target: FileTarget,
    method: str,
    query: str,
    request_header: Callable[[str], str | None],
    mime_table: Mapping[str, str] = MIME_TYPES,
    fs: FileSystem = REAL_FS,
    *,
    now: float | None = None,
    boundary: str = "wsgihost",
    autoindex: bool = True,
    surroundings: Callable[[], Surroundings] | None = None,
    defer_listing: bool = False,
) -> FileResponse:
    """The response for a static file request.

    ``now`` is the request's time (None: long after the file last changed);
    ``boundary`` separates the parts of a multipart/byteranges body;
    ``autoindex`` is whether mod_autoindex is loaded (Server.autoindex);
    ``surroundings`` gives a listing the server around its folder (sub-requests
    and the signature; by default, the folder's own settings and no signature);
    with ``defer_listing`` a listing comes back undrawn, in ``draw``.
    """
    settings = target.settings
    satisfy_any = settings.compat is not None and settings.compat.satisfy(method) == "any"
    # Under Satisfy Any the access phase may have let in whom Require denies.
    if settings.require == "denied" and not satisfy_any:
        return _page(403, _DENIED)
    path = target.path
    found = _stat(target, fs)
    if isinstance(found, os.stat_result) and statmod.S_ISDIR(found.st_mode):
        if not target.url_path.endswith("/"):
            # mod_dir's fixup, before any handler: so for every method.
            # The URL path is bytes as latin-1 (PEP 3333 style): quote those bytes.
            location = quote(target.url_path.encode("latin-1"), safe="/:@!$&'()*+,;=~-._") + "/"
            if query:
                location += "?" + query
            url = absolute_url(location, target.host, request_header)
            response = _page(301, location=url)
            response.headers.append(("Location", url))
            return response
        for index in settings.directory_index or ():
            candidate = os.path.join(path, index)
            try:
                ist = fs.stat(candidate)
            except OSError:
                continue
            if statmod.S_ISREG(ist.st_mode):
                sub = FileTarget(
                    target.host, candidate, target.root, target.url_path + index, settings
                )
                return decide(
                    sub,
                    method,
                    query,
                    request_header,
                    mime_table,
                    fs,
                    now=now,
                    boundary=boundary,
                    autoindex=autoindex,
                    surroundings=surroundings,
                    defer_listing=defer_listing,
                )
    if method not in SERVED_METHODS:
        is_dir = isinstance(found, os.stat_result) and statmod.S_ISDIR(found.st_mode)
        if isinstance(found, int) and found == 403:
            return _page(403, _DENIED)
        return _other_method(
            method, DIRECTORY_TYPE if is_dir else _media(path, settings, mime_table)
        )
    if isinstance(found, FileResponse):
        return found
    if isinstance(found, int):
        return _page(found, _DENIED if found == 403 else "")
    if statmod.S_ISDIR(found.st_mode):
        if not autoindex:
            return _page(404)  # no module takes a directory: the core's AH00129
        if method == "POST":
            return _page(404)  # mod_autoindex declines all but GET: the core's AH00129
        if settings.indexes:
            if defer_listing:
                return FileResponse(
                    200,
                    [],
                    draw=lambda: _listing(target, method, query, mime_table, fs, surroundings),
                )
            return _listing(target, method, query, mime_table, fs, surroundings)
        refused = _page(403, _DENIED)
        names = ",".join(settings.directory_index or ()) or "none"
        folder = path if path.endswith("/") else path + "/"
        refused.log = (
            "autoindex",
            "error",
            f"AH01276: Cannot serve directory {folder}: No matching DirectoryIndex ({names}) "
            "found, and server-generated directory index forbidden by Options directive",
        )
        return refused
    if not statmod.S_ISREG(found.st_mode):
        return _page(403)
    if path.endswith("/"):
        return _page(404)  # a file named as a directory
    return _file(target, method, request_header, mime_table, found, now, boundary)


def _stat(target: FileTarget, fs: FileSystem) -> os.stat_result | int | FileResponse:
    """The file's stat, or the status that answers a request for it."""
    path = target.path
    if not _inside(os.path.normpath(path), os.path.normpath(target.root)):
        return 404
    try:
        st = fs.stat(path)
    except PermissionError:
        return 403
    except OSError:
        return 404
    if target.settings.follow_symlinks is False:
        real = fs.realpath(path)
        real_root = fs.realpath(target.root)
        if not _inside(real, real_root):
            return _page(403, "Symbolic link not allowed or link target not accessible.")
    return st


def _file(
    target: FileTarget,
    method: str,
    request_header: Callable[[str], str | None],
    mime_table: Mapping[str, str],
    st: os.stat_result,
    now: float | None,
    boundary: str,
) -> FileResponse:
    """GET, HEAD or POST of a regular file: 200, 206, 304, 412 or 416."""
    settings = target.settings
    path = target.path
    if now is None:
        now = st.st_mtime + 86400.0
    # Apache never dates a file later than the request (ap_rationalize_mtime).
    mtime = min(st.st_mtime, now)
    etag = etag_for(st, now)
    last_modified = formatdate(mtime, usegmt=True)
    limits = _range_limits(settings)
    headers = [
        ("Last-Modified", last_modified),
        ("ETag", etag),
        ("Accept-Ranges", "none" if limits.ranges == 0 else "bytes"),
    ]
    verdict = conditional.meets_conditions(method, request_header, etag, int(mtime), int(now))
    if verdict == 304:
        return FileResponse(304, headers)
    media = _media(path, settings, mime_table)
    if verdict is not None:
        # Apache's handler sets the status and sends the file's headers with no body.
        if media:
            headers.append(("Content-Type", media))
        headers.append(("Content-Length", "0"))
        return FileResponse(verdict, headers)
    size = st.st_size
    ranges: list[tuple[int, int]] | byteranges.Unsatisfiable | None = None
    value = request_header("range")
    if_range = conditional.if_range(request_header, etag, int(mtime), int(now))
    if value is not None and if_range != conditional.NOMATCH:
        ranges = byteranges.parse(value, size, limits)
    if ranges is UNSATISFIABLE:
        response = _page(416)
        response.headers.append(("Content-Range", f"bytes */{size}"))
        return response
    if isinstance(ranges, list) and len(ranges) > 1:
        body = byteranges.multipart(ranges, size, media, boundary)
        headers.append(("Content-Type", body.content_type))
        if body.known_length:
            headers.append(("Content-Length", str(body.length)))
        return FileResponse(206, headers, path=path, length=body.length, multipart=body)
    if media:
        headers.append(("Content-Type", media))
    if isinstance(ranges, list):
        start, end = ranges[0]
        length = end - start + 1
        headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
        headers.append(("Content-Length", str(length)))
        return FileResponse(206, headers, path=path, offset=start, length=length)
    headers.append(("Content-Length", str(size)))
    return FileResponse(200, headers, path=path, offset=0, length=size)


def _listing(
    target: FileTarget,
    method: str,
    query: str,
    mime_table: Mapping[str, str],
    fs: FileSystem,
    surroundings: Callable[[], Surroundings] | None,
) -> FileResponse:
    """An ``Options Indexes`` listing, drawn by mod_autoindex (:mod:`wsgihost.mods.autoindex`)."""
    env = surroundings() if surroundings is not None else folder_surroundings(target, mime_table)
    page = autoindex.render(target, query, method == "HEAD", env, fs)
    if page.status != 200:
        refused = _page(page.status)
        refused.log = (
            "autoindex",
            "error",
            f"AH01275: Can't open directory for index: {target.path}/",
        )
        return refused
    return FileResponse(page.status, page.headers, page.body, streamed=page.streamed)


def folder_surroundings(target: FileTarget, mime_table: Mapping[str, str]) -> Surroundings:
    """Sub-requests answered from the folder's own settings, with no signature: for
    a caller with no router (the front end passes its own)."""
    folder = target.url_path.rsplit("/", 1)[0] + "/"

    def resolve(url: str) -> Found:
        if not url.startswith(folder) or "/" in url[len(folder) :].rstrip("/"):
            return Found(404)
        name = url[len(folder) :].encode("latin-1")
        return Found(200, os.path.join(target.path, os.fsdecode(name)), target.settings)

    return Surroundings(resolve, lambda path, settings: _media(path, settings, mime_table))
