"""mod_deflate at run time: the DEFLATE output filter (gzip), with zlib from the standard library.

Where the filter is inserted (config/mod_deflate.py): ``SetOutputFilter``
(core) and ``AddOutputFilter`` (mod_mime, by the file's extensions) on any
response of their scope, ``AddOutputFilterByType`` (mod_filter) on a 200 of
one of its media types (any status where ``filter-errordocs`` is set).

What the filter then decides, in mod_deflate's order (deflate_out_filter):

1. a body known whole and of at most 68 bytes is left alone (the gzip
   header, trailer and the headers would outweigh it); Apache knows this for
   a static file, and for an app only of an empty body in embedded mode
   (mod_wsgi flushes each piece it writes, so the filter never sees the end
   with the first one);
2. a 204, a 304, a ``no-gzip`` request, a response that already has a
   ``Content-Range`` (an app's 206), ``gzip-only-text/html=1`` for anything
   but text/html, or a body already encoded (Content-Encoding other than
   identity) is left alone;
3. ``Vary: Accept-Encoding`` is added from here on, compressed or not;
4. without ``gzip`` in Accept-Encoding (or with ``q=0`` on it) the body is
   not compressed, unless ``force-gzip`` is set;
5. otherwise Content-Encoding becomes gzip, Content-Length and Content-MD5
   go, the ETag gets ``-gzip`` (DeflateAlterETag), and the body is
   compressed as it streams, in constant memory; an app's pieces each go out
   as soon as they are written (a sync flush), a static file's in one stream.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from typing import TYPE_CHECKING

from wsgihost.config.mod_deflate import DeflateServer, FilterSettings
from wsgihost.pipeline.hooks import BodyFilter, Module, OutHeaders
from wsgihost.pipeline.registry import configured
from wsgihost.routing import FileTarget

if TYPE_CHECKING:
    from wsgihost.config.model import Server
    from wsgihost.pipeline.state import RequestState

# sizeof(gzip_header) + VALIDATION_SIZE + 50, mod_deflate's "too small to bother".
SMALL_BODY = 10 + 8 + 50
# The gzip header mod_deflate writes: no name, no time, Unix (RFC 1952).
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
_NOT_ENCODED = ("identity", "7bit", "8bit", "binary")


class Gzip(BodyFilter):
    """A gzip stream made as the body comes: header, raw deflate, CRC-32 and size.

    ``flush``: each piece fed comes out whole (zlib's sync flush), as mod_deflate
    flushes at each flush bucket and mod_wsgi sends one after each piece an app
    writes: a streaming app's client sees each piece when the app yields it.
    """

    __slots__ = ("_crc", "_flush", "_held", "_size", "_started", "_z", "hold")

    def __init__(self, config: DeflateServer, hold: int, flush: bool = False) -> None:
        self._z = zlib.compressobj(
            config.level, zlib.DEFLATED, -config.window_bits, config.mem_level
        )
        self._crc = 0
        self._size = 0
        self._held = 0
        self._started = False
        self._flush = flush
        self.hold = hold

    @property
    def held(self) -> int:
        return self._held

    def feed(self, data: bytes) -> bytes:
        if data:
            self._crc = zlib.crc32(data, self._crc)
            self._size += len(data)
            out = self._z.compress(data)
            if self._flush:
                out += self._z.flush(zlib.Z_SYNC_FLUSH)
            self._held += len(out)
        else:
            out = b""
        if not self._started:
            self._started = True
            return GZIP_HEADER + out
        return out

    def finish(self) -> bytes:
        out = self.feed(b"") + self._z.flush(zlib.Z_FINISH)
        return out + struct.pack("<II", self._crc & 0xFFFFFFFF, self._size & 0xFFFFFFFF)


def _get(headers: list[tuple[str, str]], name: str) -> str | None:
    """The first header ``name`` (apr_table_get)."""
    key = name.lower()
    for n, v in headers:
        if n.lower() == key:
            return v
    return None


def _set(headers: list[tuple[str, str]], name: str, value: str) -> None:
    """apr_table_setn: the first ``name`` takes the value where it stands, the rest go."""
    key = name.lower()
    places = [i for i, (n, _) in enumerate(headers) if n.lower() == key]
    if not places:
        headers.append((name, value))
        return
    headers[places[0]] = (headers[places[0]][0], value)
    for i in reversed(places[1:]):
        del headers[i]


def _unset(headers: list[tuple[str, str]], name: str) -> None:
    key = name.lower()
    headers[:] = [(n, v) for n, v in headers if n.lower() != key]


def _tokens(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def add_vary(headers: list[tuple[str, str]], name: str) -> None:
    """``name`` in Vary, as apr_table_mergen and then the core's fixup_vary leave it:
    one Vary, its names once each, joined by ","."""
    names: list[str] = []
    for n, v in headers:
        if n.lower() == "vary":
            names += v.replace(",", " ").split()
    names.append(name)
    unique: list[str] = []
    for word in names:
        if word.lower() not in (u.lower() for u in unique):
            unique.append(word)
    _set(headers, "Vary", ",".join(unique))


def accepts_gzip(accept: str | None) -> bool:
    """mod_deflate's reading of Accept-Encoding: the first ``gzip`` token (any case;
    not ``x-gzip``, not ``*``), refused only by a ``q=0`` (``q=0.0``, ...) right
    after it."""
    if accept is None:
        return False
    for item in accept.split(","):
        token, *params = (part.strip() for part in item.split(";"))
        if token.lower() != "gzip":
            continue
        if params:
            q = params[0].replace(" ", "")
            if len(q) >= 3 and "q=0.000".startswith(q):
                return False
        return True
    return False


def _env(r: RequestState, name: str) -> str | None:
    """A request variable by name in any letter case (apr_table_get)."""
    env = r.env
    value = env.get(name)
    if value is None and env:
        value = next((v for k, v in env.items() if k.lower() == name), None)
    return value


def _extensions(path: str) -> list[str]:
    """The extensions mod_mime reads in a file name: every dotted part after the first."""
    return [e.lower() for e in os.path.basename(path).split(".")[1:] if e]


def _media(headers: list[tuple[str, str]]) -> str | None:
    return _get(headers, "Content-Type")


class DeflateModule(Module):
    name = "deflate"

    def __init__(self, server: Server) -> None:
        main = server.main.settings.deflate
        self.main_config = (main.server if main is not None else None) or DeflateServer()
        self.host_config: dict[int, DeflateServer] = {}
        for vhost in server.vhosts:
            own = vhost.settings.deflate
            if own is not None and own.server is not None:
                self.host_config[id(vhost)] = own.server

    def _inserted(self, r: RequestState, settings: FilterSettings, out: OutHeaders) -> bool:
        """Whether a DEFLATE filter is in the response's chain, and not taken out by
        mod_filter's check of the status."""
        if settings.set_filter:
            return True
        if settings.by_ext:
            target = r.target
            path = _served_file(target) if isinstance(target, FileTarget) else r.filename
            if path is None:
                path = getattr(target, "filename", None) or getattr(target, "script", None)
            if path:
                wanted = dict(settings.by_ext)
                if any(wanted.get(ext) for ext in _extensions(path)):
                    return True
        if settings.by_type and (out.status == 200 or _env(r, "filter-errordocs") is not None):
            media = _media(out.headers)
            if media is not None:
                # strcspn(content_type, "; \t"): the media type without parameters
                return re.split(r"[; \t]", media, maxsplit=1)[0] in settings.by_type
        return False

    def output_filter(
        self, r: RequestState, out: OutHeaders, size: int | None
    ) -> BodyFilter | None:
        settings = r.settings.deflate if r.settings is not None else None
        if settings is None or not self._inserted(r, settings, out):
            return None
        static = isinstance(r.target, FileTarget)
        if static:
            length = _get(out.headers, "Content-Length")
            size = int(length) if length is not None and length.isdigit() else size
        elif size != 0 or _daemon(r):
            # mod_wsgi flushed the first piece (in daemon mode even an empty one):
            # the filter has not seen the end with it.
            size = None
        if size is not None and size <= SMALL_BODY:
            return None
        headers = out.headers
        if out.status in (204, 304) or _env(r, "no-gzip") is not None:
            return None
        if _get(headers, "Content-Range"):
            return None
        media = _media(headers)
        if (media is None or not media.startswith("text/html")) and _env(
            r, "gzip-only-text/html"
        ) == "1":
            return None
        encoding = ",".join(
            v
            for v in (_get(headers, "Content-Encoding"), _get(out.err_headers, "Content-Encoding"))
            if v
        )
        if any(token not in _NOT_ENCODED for token in _tokens(encoding)):
            return None
        add_vary(headers, "Accept-Encoding")
        if _env(r, "force-gzip") is None and not accepts_gzip(r.header("Accept-Encoding")):
            return None
        config = self.host_config.get(id(r.host), self.main_config)
        if not encoding or encoding.lower() == "identity":
            _set(headers, "Content-Encoding", "gzip")
        else:
            given = _get(headers, "Content-Encoding")  # apr_table_mergen
            _set(headers, "Content-Encoding", f"{given}, gzip" if given else "gzip")
        _unset(headers, "Content-Length")
        _unset(headers, "Content-MD5")
        _alter_etag(headers, config.alter_etag)
        # A static file's small compressed body keeps a length (see BodyFilter.hold).
        if static:
            return Gzip(config, config.buffer_size)
        return Gzip(config, 0, flush=True)


def _served_file(target: FileTarget) -> str:
    """The file a static request is answered with: a folder's index file where
    DirectoryIndex names one that exists (mod_dir's internal redirect, whose
    file mod_mime then reads), else the path asked for."""
    path = target.path
    if os.path.isdir(path):
        for index in target.settings.directory_index or ():
            candidate = os.path.join(path, index)
            if os.path.isfile(candidate):
                return candidate
    return path


def _daemon(r: RequestState) -> bool:
    settings = r.settings
    return settings is not None and bool(settings.process_group)


def _alter_etag(headers: list[tuple[str, str]], how: str) -> None:
    if how == "Remove":
        _unset(headers, "ETag")
    elif how == "AddSuffix":
        etag = _get(headers, "ETag")
        if etag is not None and len(etag) > 2 and etag.endswith('"'):
            _set(headers, "ETag", etag[:-1] + '-gzip"')


def activate(server: Server) -> Module | None:
    """The module, where some scope inserts an output filter (or .htaccess may)."""
    return DeflateModule(server) if configured(server, "deflate") else None
