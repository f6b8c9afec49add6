"""mod_autoindex: the page ``Options Indexes`` draws for a folder without an index file.

Pure, given the folder (a :class:`~wsgihost.static.FileSystem`) and
:class:`Surroundings`: what Apache's sub-requests would find (whether a name
may be served, its media type, the file a HeaderName/ReadmeName URL maps to)
and the server signature. The page is Apache 2.4's ``index_directory``,
byte for byte: its preamble, the header file or ``<h1>``, the rows (a plain
``<ul>``, FancyIndexing's ``<pre>`` or HTMLTable's table, with icons, alt
texts, dates in the server's time zone, ``apr_strfsize`` sizes and
descriptions), the readme file or the signature. The configuration is
:class:`~wsgihost.config.mod_autoindex.AutoindexSettings`; the order and the
byte-level helpers are in :mod:`wsgihost.mods.autoindex_order`.

Names are bytes on the page as in the folder (one character per byte here):
a name that is not UTF-8 is shown as it is, as by Apache.
"""

from __future__ import annotations

import os
import re
import stat as statmod
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from wsgihost.config import mod_autoindex as conf
from wsgihost.config.mod_autoindex import AutoindexSettings, Item
from wsgihost.mods import autoindex_order as order
from wsgihost.mods.autoindex_order import Entry, escape_html
from wsgihost.mods.autoindex_rows import rows

if TYPE_CHECKING:
    from wsgihost.config.model import DirSettings
    from wsgihost.routing import FileTarget
    from wsgihost.static import FileSystem

DOCTYPE_HTML = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
)
DOCTYPE_XHTML = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
)
# APR_HAS_UNICODE_FS is off on Unix: Apache's default charset for listings.
DEFAULT_CHARSET = "ISO-8859-1"
TITLE_SCAN = 8191  # MAX_STRING_LEN - 1: how much of a file ScanHTMLTitles reads


@dataclass(frozen=True)
class Found:
    """What a sub-request for a URL found: ``status`` 200 when it may be served,
    the file (None: not a file, such as an app) and its settings."""

    status: int
    path: str | None = None
    settings: DirSettings | None = None


@dataclass(frozen=True)
class Surroundings:
    """The server around the folder: ``resolve`` maps a URL path (bytes as latin-1)
    as a sub-request would, ``media`` gives a file's type under its settings, and
    ``signature`` is ServerSignature's line ("" when off)."""

    resolve: Callable[[str], Found]
    media: Callable[[str, DirSettings], str | None]
    signature: str = ""
    # The file names (raw) whose sub-request would find the folder's own
    # settings: no route each for them (None: route every name).
    plain_files: Callable[[str], bool] | None = None


@dataclass
class Page:
    """A listing's answer: status (200, or 403 when the folder cannot be read)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    streamed: bool = False  # an HTML header or readme ran: Apache declares no length


def raw_name(name: str) -> str:
    """A name from os.listdir as its bytes, one character per byte."""
    return os.fsencode(name).decode("latin-1")


def _is_html(media: str) -> bool:
    return media.split(";", 1)[0].strip().lower() in ("text/html", "application/xhtml+xml")


def _find_desc(settings: AutoindexSettings, full: str) -> str | None:
    only = full.rsplit("/", 1)[-1]
    for desc in settings.descriptions:
        name = full if desc.full_path else only
        if desc.wildcards:
            if order.desc_match(desc.pattern, name):
                return desc.text
        elif desc.pattern in name:
            return desc.text
    return None


def _ignored(settings: AutoindexSettings, path: str) -> bool:
    """``ignore_entry``: the full path against the scope, the name against the pattern."""
    name = path.rsplit("/", 1)[-1]
    for scope, names in _ignore_patterns(settings.ignores):
        if order.wild_match(path, scope) and names.match(name) is not None:
            return True
    return False


@lru_cache(maxsize=256)
def _ignore_patterns(items: tuple[Item, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """IndexIgnore's patterns, one regular expression per scope (a listing asks
    each of them for every name)."""
    scopes: dict[str, list[str]] = {}
    for item in items:
        scopes.setdefault(item.apply_path, []).append(item.apply_to.rsplit("/", 1)[-1])
    return tuple(
        (scope, re.compile("|".join(order.wild_regex(p) for p in patterns)))
        for scope, patterns in scopes.items()
    )


def _title_of(path: str) -> str | None:
    """``find_title``: the text after the first ``<title>`` in the file's start."""
    try:
        with open(path, "rb") as f:
            data = f.read(TITLE_SCAN).decode("latin-1")
    except OSError:
        return None
    data = data.split("\0", 1)[0]
    find, p = "<title>", 0
    for x, c in enumerate(data):
        if c.lower() == find[p]:
            p += 1
            if p == len(find):
                rest = data[x + 1 :].split("<", 1)[0]
                out, start = [], True
                for ch in rest:
                    if ch in "\r\n":
                        if not start:
                            out.append(" ")
                        continue
                    start = False
                    out.append(ch)
                return "".join(out)
        else:
            p = 0
    return None


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read().decode("latin-1")
    except OSError:
        return None


def _plain(text: str) -> str:
    """``do_emit_plain``: the text escaped in a ``<pre>`` block."""
    text = text.split("\0", 1)[0]
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "<pre>\n" + escaped + "</pre>\n"


class _Builder:
    """One listing being drawn (Apache's index_directory and its helpers)."""

    def __init__(self, target: FileTarget, settings: AutoindexSettings, env: Surroundings) -> None:
        self.target = target
        self.s = settings
        self.env = env
        self.dir = target.path if target.path.endswith("/") else target.path + "/"
        self.raw_dir = raw_name(self.dir)
        self.url = target.url_path
        self.out: list[str] = []
        self.icons = order.Finder(settings.icons)
        self.alts = order.Finder(settings.alts)
        self.ran = False  # a text/html file went out as Apache's sub-request

    # -- the subrequests ---------------------------------------------------------

    def _sub(self, name: str | None) -> tuple[str, str] | None:
        """A HeaderName/ReadmeName URL's regular file and its type, if servable and typed."""
        if name is None:
            return None
        base = name.split("?", 1)[0]
        url = unquote_to_bytes(base.encode("latin-1")).decode("latin-1")
        if not url.startswith("/"):
            url = self.url.rsplit("/", 1)[0] + "/" + url
        found = self.env.resolve(url)
        if found.status != 200 or found.path is None or found.settings is None:
            return None
        try:
            if not statmod.S_ISREG(os.stat(found.path).st_mode):
                return None
        except OSError:
            return None
        media = self.env.media(found.path, found.settings)
        return None if media is None else (found.path, media)

    # -- the page -------------------------------------------------------------------

    def preamble(self, xhtml: bool, title: str) -> None:
        if xhtml:
            self.out.append(
                DOCTYPE_XHTML + '<html xmlns="http://www.w3.org/1999/xhtml">\n'
                f" <head>\n  <title>Index of {title}</title>\n"
            )
        else:
            self.out.append(DOCTYPE_HTML + f"<html>\n <head>\n  <title>Index of {title}</title>\n")
        if self.s.style_sheet is not None:
            end = " />\n" if xhtml else ">\n"
            self.out.append(
                f'  <link rel="stylesheet" href="{self.s.style_sheet}" type="text/css"{end}'
            )
        if self.s.head_insert is not None:
            self.out.append(self.s.head_insert)
        self.out.append(" </head>\n <body>\n")

    def head(self, suppress_amble: bool, xhtml: bool, title: str) -> None:
        """``emit_head``: the preamble, the header file, or the ``<h1>``."""
        amble = h1 = True
        sub = self._sub(self.s.header)
        if sub is not None:
            path, media = sub
            if _is_html(media):
                amble = h1 = False
                if not suppress_amble:
                    self.preamble(xhtml, title)
                content = _read(path)
                if content is None:
                    amble, h1 = suppress_amble, True
                else:
                    self.out.append(content)
                    self.ran = True
            elif media.lower().startswith("text/"):
                content = _read(path)
                if content is not None:
                    self.preamble(xhtml, title)
                    amble = h1 = False
                    self.out.append(_plain(content))
        if amble:
            self.preamble(xhtml, title)
        if h1:
            if self.s.style_sheet is not None:
                self.out.append(f'  <h1 id="indextitle">Index of {title}</h1>\n')
            else:
                self.out.append(f"<h1>Index of {title}</h1>\n")

    def tail(self, suppress_amble: bool) -> None:
        """``emit_tail``: the readme file or the signature, and the end of the page."""
        suppress_post = suppress_sig = False
        sub = self._sub(self.s.readme)
        if sub is not None:
            path, media = sub
            content = _read(path)
            if content is not None and _is_html(media):
                self.out.append(content)
                self.ran = True
                suppress_sig, suppress_post = True, suppress_amble
            elif content is not None and media.lower().startswith("text/"):
                self.out.append(_plain(content))
                suppress_sig = True
        if not suppress_sig:
            self.out.append(self.env.signature)
        if not suppress_post:
            self.out.append("</body></html>\n")

    # -- the entries ----------------------------------------------------------------

    def parent(self, opts: int) -> Entry | None:
        """``make_parent_entry``: ``../`` as an absolute URL path, none at the root."""
        trimmed = self.url.rstrip("/")
        if not trimmed:
            return None
        entry = Entry(trimmed.rsplit("/", 1)[0] + "/")
        testpath = self.raw_dir + ".."
        if _ignored(self.s, testpath):
            return None
        if opts & conf.FANCY_INDEXING:
            entry.icon = self.icons.find(None, testpath, True) or self.icons.find(
                None, "^^DIRECTORY^^", True
            )
            entry.alt = (
                self.alts.find(None, testpath, True)
                or self.alts.find(None, "^^DIRECTORY^^", True)
                or "PARENTDIR"
            )
            entry.desc = _find_desc(self.s, testpath)
        return entry

    def entry(self, name: str, opts: int, query: order.Query, fs: FileSystem) -> Entry | None:
        """``make_autoindex_entry``: None for a name left out of the listing."""
        raw = raw_name(name)
        if query.pattern is not None and not order.pattern_match(query.pattern, raw):
            return None
        full = self.raw_dir + raw
        if _ignored(self.s, full):
            return None
        path = self.dir + name
        try:
            st = fs.stat(path)  # follows a symbolic link, as Apache does here
        except OSError:
            return None
        is_dir = statmod.S_ISDIR(st.st_mode)
        if not (is_dir or statmod.S_ISREG(st.st_mode)):
            return None
        if is_dir or self.env.plain_files is None or not self.env.plain_files(raw):
            found = self.env.resolve(self.url + raw)
        elif self.target.settings.follow_symlinks is False and os.path.islink(path):
            found = Found(403)  # the directory walk refuses the link itself
        else:
            found = Found(200, path, self.target.settings)
        forbidden = found.status in (401, 403) and bool(opts & conf.SHOW_FORBIDDEN)
        if not (200 <= found.status < 400 or forbidden):
            return None
        entry = Entry(raw + "/" if is_dir else raw)
        if opts & (conf.FANCY_INDEXING | conf.TABLE_INDEXING):
            entry.mtime = st.st_mtime_ns // 1000
            settings = found.settings or self.target.settings
            if is_dir:
                entry.isdir = bool(opts & conf.FOLDERS_FIRST)
                entry.icon = self.icons.find(None, full, True) or self.icons.find(
                    None, "^^DIRECTORY^^", True
                )
                entry.alt = (
                    self.alts.find(None, full, True)
                    or self.alts.find(None, "^^DIRECTORY^^", True)
                    or "DIR"
                )
                media = None
            else:
                # A refused sub-request (ShowForbidden) never reached mod_mime: no type.
                media = None if forbidden else self.env.media(path, settings)
                kind = media.split(";", 1)[0].strip() if media else None
                entry.icon = self.icons.find(kind, full, False)
                entry.alt = self.alts.find(kind, full, False)
                entry.size = st.st_size
            entry.desc = _find_desc(self.s, full)
            scan = opts & conf.SCAN_HTML_TITLES and found.status == 200
            if entry.desc is None and scan and media and _is_html(media):
                entry.desc = _title_of(path)
        if query.key == "M" and entry.mtime < 0:
            entry.mtime = 0
        return entry


def render(
    target: FileTarget, query_string: str, head_only: bool, env: Surroundings, fs: FileSystem
) -> Page:
    """The listing of ``target`` (a folder whose URL ends in ``/``)."""
    s = target.settings.autoindex or AutoindexSettings()
    b = _Builder(target, s, env)
    try:
        names = fs.listdir(target.path)
        dir_stat = fs.stat(target.path)
    except OSError:
        return Page(403, [])
    ctype = s.ctype if s.ctype is not None else "text/html"
    charset = s.charset if s.charset is not None else DEFAULT_CHARSET
    headers = [("Content-Type", f"{ctype};charset={charset}" if charset else ctype)]
    opts = s.options
    if opts & conf.TRACK_MODIFIED:
        headers.append(
            ("Last-Modified", formatdate(min(dir_stat.st_mtime, time.time()), usegmt=True))
        )
        headers.append(("ETag", '"%x-%x"' % (dir_stat.st_size, dir_stat.st_mtime_ns // 1000)))
    if head_only:
        return Page(200, headers)
    query = order.parse_query(query_string, s.default_key or "N", s.default_direction or "A", opts)
    opts = query.opts
    title = escape_html(b.url)
    while len(title) > 1 and title.endswith("/"):
        title = title[:-1]
    b.head(bool(opts & conf.SUPPRESS_PREAMBLE), bool(opts & conf.EMIT_XHTML), title)
    entries: list[Entry] = []
    parent = b.parent(opts)
    if parent is not None:
        entries.append(parent)
    for name in names:
        found = b.entry(name, opts, query, fs)
        if found is not None:
            entries.append(found)
    how = order.Order(
        query.key,
        query.direction == "A",
        bool(opts & conf.VERSION_SORT),
        bool(opts & conf.IGNORE_CASE),
    )
    entries = order.sort_entries(entries, how)
    b.out.append(rows(entries, s, opts, query))
    b.tail(bool(opts & conf.SUPPRESS_PREAMBLE))
    body = "".join(b.out).encode("latin-1", "replace")
    if not b.ran:
        headers.append(("Content-Length", str(len(body))))
    return Page(200, headers, body, b.ran)
