"""Decide the response for a static file (pure, given a file system view).

What Apache's default handler with mod_dir, mod_mime and mod_autoindex does,
minus the parts nobody should rely on: ``Require all denied`` gives 403; a
directory without a trailing slash is redirected (301) to one with it; a
directory is served through ``DirectoryIndex`` or, with ``Options Indexes``,
a listing, else 403; a file gets its MIME type (``AddType``, then
``TypesConfig``, then a table shipped here so answers do not depend on the
machine), ``Last-Modified`` and an ``ETag``; ``If-None-Match`` and
``If-Modified-Since`` give 304 (RFC 9110 13.2.2 order); one ``Range`` gives 206
or 416 (several ranges are answered with the whole file, which RFC 9110 14.2
allows).

Containment: the router has already removed dot segments, so the path is
lexically under its root. With ``FollowSymLinks`` off, the real path must
also be under the real root, so no symbolic link leads outside it.
"""

from __future__ import annotations

import html
import os
import stat as statmod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import quote

from wsgihost.routing import FileTarget

# The types a site most often serves; TypesConfig replaces the table.
MIME_TYPES: dict[str, str] = {
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
    ".pdf": "application/pdf",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".tgz": "application/gzip",
    ".bz2": "application/x-bzip2",
    ".xz": "application/x-xz",
    ".tar": "application/x-tar",
    ".7z": "application/x-7z-compressed",
    ".wasm": "application/wasm",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".ogv": "video/ogg",
    ".mov": "video/quicktime",
    ".avi": "video/x-msvideo",
    ".md": "text/markdown",
    ".rst": "text/x-rst",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".toml": "application/toml",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".epub": "application/epub+zip",
    ".apk": "application/vnd.android.package-archive",
    ".swf": "application/x-shockwave-flash",
}
TEXT_CHARSET = ("text/", "application/javascript", "application/json", "application/xml")
DEFAULT_TYPE = "application/octet-stream"


def parse_mime_types(text: str) -> dict[str, str]:
    """Read a ``mime.types`` file: ``type ext ext ...`` per line, ``#`` comments."""
    table: dict[str, str] = {}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) < 2:
            continue
        for ext in words[1:]:
            table["." + ext.lower().lstrip(".")] = words[0]
    return table


@dataclass
class FileResponse:
    """What to send: a status, headers, and either ``body`` or a file slice."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    path: str | None = None  # send bytes [offset, offset+length) of this file
    offset: int = 0
    length: int = 0
    extra: dict[str, str] = field(default_factory=dict)


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
    416: "Range Not Satisfiable",
}


def _page(status: int, message: str = "") -> FileResponse:
    reason = _REASONS.get(status, "Error")
    body = (
        f"<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>\n"
        f"<body><h1>{reason}</h1>{('<p>' + message + '</p>') if message else ''}</body></html>\n"
    ).encode()
    return FileResponse(
        status,
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
        body,
    )


def etag_for(st: os.stat_result) -> str:
    """Apache's default ``FileETag MTime Size``: size and mtime in microseconds, hex."""
    return '"%x-%x"' % (st.st_size, st.st_mtime_ns // 1000)


def content_type(path: str, add_types: Mapping[str, str], table: Mapping[str, str]) -> str:
    ext = os.path.splitext(path)[1].lower()
    mime = add_types.get(ext) or table.get(ext) or DEFAULT_TYPE
    if mime.startswith(TEXT_CHARSET) and "charset" not in mime:
        mime += "; charset=utf-8"
    return mime


def _inside(path: str, root: str) -> bool:
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root + "/") or root == "/"


def _etag_matches(header: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 8.8.3.2), as If-None-Match uses."""
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def _parse_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """One ``bytes=`` range -> (start, length); None: ignore the header; False: 416."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if not first:
            n = int(last)
            if n <= 0:
                return False
            start = max(0, size - n)
            end = size - 1
        else:
            start = int(first)
            end = int(last) if last else size - 1
            if last and end < start:
                return None
    except ValueError:
        return None
    if start >= size:
        return False
    end = min(end, size - 1)
    return start, end - start + 1


def decide(
    target: FileTarget,
    method: str,
    query: str,
    request_header: Callable[[str], str | None],
    mime_table: Mapping[str, str] = MIME_TYPES,
    fs: FileSystem = REAL_FS,
) -> FileResponse:
    """The response for a static file request."""
    settings = target.settings
    if settings.require == "denied":
        return _page(403, "You don't have permission to access this resource.")
    if method == "OPTIONS":
        return FileResponse(200, [("Allow", "GET, HEAD, OPTIONS"), ("Content-Length", "0")])
    if method not in ("GET", "HEAD"):
        response = _page(405)
        response.headers.append(("Allow", "GET, HEAD, OPTIONS"))
        return response
    path = target.path
    if not _inside(os.path.normpath(path), os.path.normpath(target.root)):
        return _page(404)
    try:
        st = fs.stat(path)
    except FileNotFoundError:
        return _page(404)
    except NotADirectoryError:
        return _page(404)
    except PermissionError:
        return _page(403, "You don't have permission to access this resource.")
    except OSError:
        return _page(404)
    if settings.follow_symlinks is False:
        real = fs.realpath(path)
        real_root = fs.realpath(target.root)
        if not _inside(real, real_root):
            return _page(403, "Symbolic link not allowed or link target not accessible.")
    if statmod.S_ISDIR(st.st_mode):
        if not target.url_path.endswith("/"):
            # The URL path is bytes as latin-1 (PEP 3333 style): quote those bytes.
            location = quote(target.url_path.encode("latin-1"), safe="/:@!$&'()*+,;=~-._") + "/"
            if query:
                location += "?" + query
            response = _page(301)
            response.headers.append(("Location", location))
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
                return decide(sub, method, query, request_header, mime_table, fs)
        if settings.indexes:
            return _listing(path, target.url_path, fs)
        return _page(403, "You don't have permission to access this resource.")
    if not statmod.S_ISREG(st.st_mode):
        return _page(403)
    if path.endswith("/"):
        return _page(404)  # a file named as a directory
    etag = etag_for(st)
    last_modified = formatdate(st.st_mtime, usegmt=True)
    headers = [
        ("Content-Type", content_type(path, dict(settings.add_types), mime_table)),
        ("Last-Modified", last_modified),
        ("ETag", etag),
        ("Accept-Ranges", "bytes"),
    ]
    none_match = request_header("if-none-match")
    if none_match is not None:
        if _etag_matches(none_match, etag):
            return FileResponse(304, [("Last-Modified", last_modified), ("ETag", etag)])
    else:
        since = request_header("if-modified-since")
        if since:
            try:
                parsed = parsedate_to_datetime(since)
                if parsed.tzinfo is None:  # the asctime form; HTTP dates are UTC
                    parsed = parsed.replace(tzinfo=UTC)
                when = parsed.timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                when = None
            if when is not None and int(st.st_mtime) <= when:
                return FileResponse(304, [("Last-Modified", last_modified), ("ETag", etag)])
    size = st.st_size
    range_header = request_header("range")
    if range_header is not None:
        if_range = request_header("if-range")
        if if_range is not None and if_range.strip() not in (etag, last_modified):
            range_header = None
    if range_header is not None:
        found = _parse_range(range_header, size)
        if found is False:
            response = _page(416)
            response.headers.append(("Content-Range", f"bytes */{size}"))
            return response
        if isinstance(found, tuple):
            start, length = found
            headers.append(("Content-Range", f"bytes {start}-{start + length - 1}/{size}"))
            headers.append(("Content-Length", str(length)))
            return FileResponse(206, headers, path=path, offset=start, length=length)
    headers.append(("Content-Length", str(size)))
    return FileResponse(200, headers, path=path, offset=0, length=size)


def _listing(path: str, url_path: str, fs: FileSystem) -> FileResponse:
    """An ``Options Indexes`` listing: names only, directories first."""
    try:
        names = sorted(fs.listdir(path))
    except OSError:
        return _page(403)
    rows = []
    for name in names:
        if name.startswith("."):
            continue
        try:
            is_dir = statmod.S_ISDIR(fs.stat(os.path.join(path, name)).st_mode)
        except OSError:
            continue
        raw = os.fsencode(name) + (b"/" if is_dir else b"")
        shown = html.escape(raw.decode("utf-8", "replace"))
        rows.append((not is_dir, f'<li><a href="{quote(raw)}">{shown}</a></li>'))
    rows.sort(key=lambda r: r[0])
    title = html.escape("Index of " + url_path.encode("latin-1").decode("utf-8", "replace"))
    body = (
        f"<!DOCTYPE html>\n<html><head><title>{title}</title></head>\n<body><h1>{title}</h1>\n"
        '<ul><li><a href="../">Parent Directory</a></li>\n'
        + "\n".join(r[1] for r in rows)
        + "\n</ul></body></html>\n"
    ).encode()
    return FileResponse(
        200,
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
        body,
    )
