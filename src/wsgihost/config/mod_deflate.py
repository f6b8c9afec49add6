"""Output filters and mod_deflate's directives: which responses are compressed, and how.

Pure. Three directives insert the DEFLATE filter, each from its own Apache
module: ``SetOutputFilter`` (core: every response of the scope),
``AddOutputFilter`` (mod_mime: by the file's extensions) and
``AddOutputFilterByType`` (mod_filter: by the response's media type, on a 200
only). They are per-directory settings, the ``deflate`` field of DirSettings
(:class:`FilterSettings`); mod_deflate's own directives (the compression level,
buffer size, ETag handling) are per server, kept in a host's own scope
(:class:`DeflateServer`). :mod:`wsgihost.mods.deflate` acts on them.

A filter other than DEFLATE (INCLUDES, SUBSTITUTE, INFLATE, ...) is not
provided: naming one is a warning that it will not run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from wsgihost.config.draft import Context
from wsgihost.config.table import ANY, TOP, Directive, not_ours, record

DEFLATE = "DEFLATE"
DEFAULT_BUFFER = 8096  # DEFAULT_BUFFERSIZE in mod_deflate.c
ALTER_ETAG = {"addsuffix": "AddSuffix", "nochange": "NoChange", "remove": "Remove"}


@dataclass(frozen=True)
class DeflateServer:
    """mod_deflate's server settings (deflate_filter_config). Apache keeps no merge
    for them: a virtual host with any of these directives has its own, from the
    defaults; one with none uses the main server's."""

    level: int = -1  # zlib's default (6)
    buffer_size: int = DEFAULT_BUFFER
    window_bits: int = 15
    mem_level: int = 9
    alter_etag: str = "AddSuffix"


@dataclass(frozen=True)
class FilterSettings:
    """One scope's output filters (core's, mod_mime's and mod_filter's), and, in a
    host's own scope, mod_deflate's server settings.

    ``set_filter``: SetOutputFilter names DEFLATE (None: not given here);
    ``by_type``: AddOutputFilterByType DEFLATE's media types (None: not given
    here; a deeper scope's list replaces the outer one, as mod_filter's
    per-scope provider does); ``by_ext``: AddOutputFilter's extensions (lower
    case, no dot) with whether DEFLATE is among their filters.
    """

    set_filter: bool | None = None
    by_type: tuple[str, ...] | None = None
    by_ext: tuple[tuple[str, bool], ...] = ()
    server: DeflateServer | None = None

    def merge(self, over: FilterSettings) -> FilterSettings:
        ext = dict(self.by_ext)
        ext.update(over.by_ext)
        return FilterSettings(
            set_filter=over.set_filter if over.set_filter is not None else self.set_filter,
            by_type=over.by_type if over.by_type is not None else self.by_type,
            by_ext=tuple(ext.items()),
            server=over.server if over.server is not None else self.server,
        )


def _settings(ctx: Context) -> FilterSettings:
    return ctx.dir.settings.deflate or FilterSettings()


def _store(ctx: Context, settings: FilterSettings) -> None:
    ctx.dir.settings = replace(ctx.dir.settings, deflate=settings)


def _names(ctx: Context, text: str) -> bool:
    """Whether a filter list (names joined by ";") holds DEFLATE; a warning for the rest."""
    found = False
    for name in text.split(";"):
        if not name:
            continue
        if name.upper() == DEFLATE:
            found = True
        else:
            ctx.warn(f"output filter {name} is not provided by wsgihost and will not run")
    return found


def _set_output_filter(ctx: Context, args: list[str]) -> None:
    _store(ctx, replace(_settings(ctx), set_filter=_names(ctx, args[0])))


def _add_output_filter(ctx: Context, args: list[str]) -> None:
    deflate = _names(ctx, args[0])
    more = tuple((e.lstrip(".").lower(), deflate) for e in args[1:])
    current = _settings(ctx)
    _store(ctx, replace(current, by_ext=current.by_ext + more))


def _remove_output_filter(ctx: Context, args: list[str]) -> None:
    current = _settings(ctx)
    more = tuple((e.lstrip(".").lower(), False) for e in args)
    _store(ctx, replace(current, by_ext=current.by_ext + more))


def _by_type(ctx: Context, args: list[str]) -> None:
    if not _names(ctx, args[0]):
        return
    current = _settings(ctx)
    # Lines of one scope add up (providers of one filter); mod_filter compares
    # the media type as written, letter case included.
    _store(ctx, replace(current, by_type=(current.by_type or ()) + tuple(args[1:])))


def _server(ctx: Context) -> DeflateServer:
    return _settings(ctx).server or DeflateServer()


def _set_server(ctx: Context, **values: object) -> None:
    current = _settings(ctx)
    _store(ctx, replace(current, server=replace(_server(ctx), **values)))  # type: ignore[arg-type]


def _number(text: str) -> int:
    """atoi, as mod_deflate reads its numbers: leading digits, else 0."""
    digits = ""
    for ch in text.strip():
        if ch.isdigit() or (ch in "+-" and not digits):
            digits += ch
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return 0


def _between(ctx: Context, text: str, high: int, message: str) -> int | None:
    """A number from 1 to ``high``, or None after ``message`` as the error."""
    value = _number(text)
    if not 1 <= value <= high:
        ctx.error(message)
        return None
    return value


def _level(ctx: Context, args: list[str]) -> None:
    level = _between(ctx, args[0], 9, "Compression Level must be between 1 and 9")
    if level is not None:
        _set_server(ctx, level=level)


def _buffer(ctx: Context, args: list[str]) -> None:
    size = _number(args[0])
    if size <= 0:
        ctx.error("DeflateBufferSize should be positive")
        return
    _set_server(ctx, buffer_size=size)


def _window(ctx: Context, args: list[str]) -> None:
    bits = _between(ctx, args[0], 15, "DeflateWindowSize must be between 1 and 15")
    if bits is None:
        return
    if bits < 9:
        ctx.warn(f"zlib takes a raw window of 9 to 15 bits: 9 is used for {bits}")
    _set_server(ctx, window_bits=max(bits, 9))


def _mem_level(ctx: Context, args: list[str]) -> None:
    level = _between(ctx, args[0], 9, "DeflateMemLevel must be between 1 and 9")
    if level is not None:
        _set_server(ctx, mem_level=level)


def _alter_etag(ctx: Context, args: list[str]) -> None:
    choice = ALTER_ETAG.get(args[0].lower())
    if choice is None:
        ctx.error("DeflateAlterETAG accepts only 'NoChange', 'AddSuffix', and 'Remove'")
        return
    _set_server(ctx, alter_etag=choice)


def _filter_note(ctx: Context, args: list[str]) -> None:
    if len(args) == 2 and args[0].lower() not in ("ratio", "input", "output"):
        ctx.error(f"Unknown note type {args[0]}")
        return
    ctx.warn("notes are not kept for the access log (%{...}n): the line is read and unused")
    _set_server(ctx)  # still a mod_deflate directive of this host (see DeflateServer)


_FILTERS_DOC = " Only DEFLATE is provided; another filter named is a warning and does not run."

DIRECTIVES: tuple[Directive, ...] = (
    record(
        "SetOutputFilter",
        "SetOutputFilter filter[;filter...]",
        ANY,
        (1, 1),
        "",
        "Runs the output filters on every response of the scope: static files and app "
        "responses in both modes, whatever their status (not on the server's own error "
        "pages). A deeper scope's line replaces an outer one." + _FILTERS_DOC,
        _set_output_filter,
    ),
    record(
        "AddOutputFilter",
        "AddOutputFilter filter[;filter...] extension [extension] ...",
        ANY,
        (2, None),
        "",
        "Runs the output filters on responses for files with one of the extensions "
        "(matched as mod_mime matches them: any extension of the name, without regard "
        "to letter case; for an app, its script's name)." + _FILTERS_DOC,
        _add_output_filter,
        module="mod_mime",
    ),
    record(
        "RemoveOutputFilter",
        "RemoveOutputFilter extension [extension] ...",
        ANY,
        (1, None),
        "",
        "Takes back, for a deeper scope, the filters AddOutputFilter gave the extensions.",
        _remove_output_filter,
        module="mod_mime",
    ),
    record(
        "AddOutputFilterByType",
        "AddOutputFilterByType filter[;filter...] media-type [media-type] ...",
        ANY,
        (2, None),
        "",
        "Runs the output filters on 200 responses (others only where the "
        "`filter-errordocs` variable is set) whose media type, the Content-Type "
        "without its parameters, is one of those given, compared exactly, letter case "
        "included, as mod_filter compares it. Lines of one scope add up; a deeper "
        "scope's lines replace the outer ones." + _FILTERS_DOC,
        _by_type,
        module="mod_filter",
    ),
    record(
        "DeflateCompressionLevel",
        "DeflateCompressionLevel 1-9",
        TOP,
        (1, 1),
        "zlib's (6)",
        "How hard DEFLATE compresses (zlib's level, from the standard library). As "
        "with every mod_deflate setting, a virtual host that gives none of them uses "
        "the main server's; one that gives any starts from the defaults.",
        _level,
        module="mod_deflate",
    ),
    record(
        "DeflateBufferSize",
        "DeflateBufferSize bytes",
        TOP,
        (1, 1),
        str(DEFAULT_BUFFER),
        "A static file's compressed body up to about this size goes out with a "
        "Content-Length (Apache's content-length filter sees it whole); a larger one "
        "is sent chunked as it is made. An app's compressed body is always sent "
        "chunked (HTTP/1.1) or until the connection closes (HTTP/1.0), as mod_wsgi "
        "flushes each piece.",
        _buffer,
        module="mod_deflate",
    ),
    record(
        "DeflateWindowSize",
        "DeflateWindowSize 1-15",
        TOP,
        (1, 1),
        "15",
        "zlib's window (bits). zlib's raw deflate takes 9 to 15: a smaller value is "
        "read as 9, with a warning.",
        _window,
        module="mod_deflate",
    ),
    record(
        "DeflateMemLevel",
        "DeflateMemLevel 1-9",
        TOP,
        (1, 1),
        "9",
        "zlib's memory level.",
        _mem_level,
        module="mod_deflate",
    ),
    record(
        "DeflateAlterETag",
        "DeflateAlterETag AddSuffix|NoChange|Remove",
        TOP,
        (1, 1),
        "AddSuffix",
        "What a compressed response's ETag becomes: `-gzip` added inside its closing "
        "quote, unchanged, or removed.",
        _alter_etag,
        module="mod_deflate",
    ),
    record(
        "DeflateFilterNote",
        "DeflateFilterNote [ratio|input|output] name",
        TOP,
        (1, 2),
        "",
        "Read and unused (a warning): wsgihost's access log has no `%{...}n` notes.",
        _filter_note,
        module="mod_deflate",
    ),
    *not_ours(
        "DeflateInflateLimitRequestBody DeflateInflateRatioLimit DeflateInflateRatioBurst",
        "request bodies are not inflated (SetInputFilter DEFLATE is not provided)",
        module="mod_deflate",
    ),
)
