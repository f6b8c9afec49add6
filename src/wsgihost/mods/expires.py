"""mod_expires at run time: ``Expires`` and ``Cache-Control: max-age`` on answers.

Apache's expires_filter (an output filter that runs before the headers are
written), for every answer that is not an error (4xx, 5xx) where the merged
scope has ``ExpiresActive On`` and some ExpiresByType or ExpiresDefault:

* an answer that already has an ``Expires`` (an app's, a Header line's) is
  left alone, Cache-Control included;
* the code comes from the answer's media type: its ExpiresByType (the type's
  parameters aside), else the ``major/*`` one, else ExpiresDefault. For a
  static file that is the file's type, also on a 304 (which carries no
  Content-Type) and a multipart/byteranges 206;
* ``access`` counts from the time the request was read, ``modification``
  from the file's modification time (for an app, the script file's, which is
  Apache's ``r->finfo``); with no file (a Redirect) a modification code adds
  nothing. A time already past gives ``max-age=0`` and an Expires of now;
* ``max-age=N`` is merged into the answer's Cache-Control (``no-cache,
  max-age=0``) as apr_table_mergen does; Expires is added.

The configuration is :class:`~wsgihost.config.mod_expires.ExpiresSettings`.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from wsgihost.mime import content_type, load_table
from wsgihost.pipeline.hooks import Module, OutHeaders
from wsgihost.pipeline.registry import configured
from wsgihost.routing import FileTarget, WSGITarget

if TYPE_CHECKING:
    from wsgihost.config.mod_expires import ExpiresSettings
    from wsgihost.config.model import Server
    from wsgihost.pipeline.hooks import Outcome
    from wsgihost.pipeline.state import RequestState

# r->request_time, in microseconds, in the request's notes (a string, as notes are).
_TIME_NOTE = "expires:request-time"


def _request_time(r: RequestState) -> int:
    """When the request was read (its first RequestState's note), else now."""
    seen: RequestState | None = r
    while seen is not None:
        stamp = seen.notes.get(_TIME_NOTE)
        if stamp is not None:
            return int(stamp)
        seen = seen.prev
    return time.time_ns() // 1000


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_dates: dict[int, str] = {}  # a few recent seconds' dates: most answers share them


def _http_date(seconds: int) -> str:
    """``seconds`` as apr_rfc822_date writes it (``Tue, 08 Dec 2026 02:25:30 GMT``)."""
    found = _dates.get(seconds)
    if found is None:
        t = time.gmtime(seconds)
        found = (
            f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
        )
        if len(_dates) >= 64:
            _dates.clear()
        _dates[seconds] = found
    return found


def _header(headers: list[tuple[str, str]], lower: str) -> int:
    """The index of the first header named ``lower`` (any case), or -1."""
    for i, (name, _) in enumerate(headers):
        if name.lower() == lower:
            return i
    return -1


def _file_of(target: object, error: bool) -> str | None:
    """The file Apache's r->finfo describes: the static file, the DirectoryIndex file
    a folder was answered with (mod_dir's internal redirect), the folder itself (its
    redirect, its listing), or the script."""
    if isinstance(target, FileTarget):
        path = target.path
        if not error and os.path.isdir(path):
            # As static.decide chooses it: the first index name that is a file.
            for index in target.settings.directory_index or ():
                candidate = os.path.join(path, index)
                if os.path.isfile(candidate):
                    return candidate
        return path
    if isinstance(target, WSGITarget):
        return target.filename or target.script
    return None


class ExpiresModule(Module):
    name = "expires"

    def __init__(self, server: Server) -> None:
        self.table = load_table(server.types_config)
        main = server.main.settings.expires
        # The scope of an answer made before routing (a Redirect): the host's own.
        self.host_scope: dict[int, ExpiresSettings | None] = {id(server.main): main}
        for vhost in server.vhosts:
            own = vhost.settings.expires
            merged = own if main is None else main if own is None else main.merge(own)
            self.host_scope[id(vhost)] = merged

    def post_read_request(self, r: RequestState) -> Outcome | None:
        r.notes[_TIME_NOTE] = str(time.time_ns() // 1000)
        return None

    def output_headers(self, r: RequestState, out: OutHeaders) -> None:
        status = out.status
        if 400 <= status < 600:
            return  # "Don't add Expires headers to errors"
        settings = r.settings
        config = settings.expires if settings is not None else self.host_scope.get(id(r.host))
        if config is None or not config.enabled:
            return
        media: str | None = None
        for name, value in out.headers:  # one pass: most answers have few headers
            lower = name.lower()
            if lower == "expires":
                return  # the answer dates itself
            if lower == "content-type" and media is None:
                media = value
        if out.err_headers and _header(out.err_headers, "expires") >= 0:
            return
        code = config.code_for(self._media(r, out, media))
        if code is None:
            return
        base, seconds = code
        now = _request_time(r)
        if base == "M":
            path = _file_of(r.target, out.error)
            if path is None:
                return  # no file on disk: nothing to count from (not an error)
            try:
                start = os.stat(path).st_mtime_ns // 1000
            except OSError:
                return
        else:
            start = now
        expires = max(start + seconds * 1_000_000, now)
        # An answer the server writes itself sends only its err_headers_out, which
        # Apache's error path has made its headers_out by the time the filter runs.
        table = out.err_headers if out.error else out.headers
        max_age = f"max-age={(expires - now) // 1_000_000}"
        found = _header(table, "cache-control")
        if found >= 0:
            name, value = table[found]
            table[found] = (name, f"{value}, {max_age}" if value else max_age)
        else:
            table.append(("Cache-Control", max_age))
        table.append(("Expires", _http_date(expires // 1_000_000)))

    def _media(self, r: RequestState, out: OutHeaders, media: str | None) -> str | None:
        """r->content_type: the answer's type (``media``); a static file's own where
        the answer does not show it (a 304, a multipart/byteranges 206)."""
        target = r.target
        if out.error or not isinstance(target, FileTarget):
            return media
        if media is None or media.lower().startswith("multipart/byteranges"):
            settings = target.settings
            if settings.force_type:
                return settings.force_type
            return content_type(target.path, settings.add_types, self.table, settings.add_charsets)
        return media


def activate(server: Server) -> Module | None:
    """The module, where some scope (or a .htaccess file) may configure mod_expires."""
    return ExpiresModule(server) if configured(server, "expires") else None
