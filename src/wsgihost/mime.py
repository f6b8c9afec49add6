"""The Content-Type of a static file, as mod_mime and AddDefaultCharset give it (pure).

mod_mime reads every extension of a file's name, not only the last: in
``notes.txt.gz`` each known extension sets the type (the later one wins) and
each ``AddCharset`` extension the charset, and an unknown one is passed over,
so ``page.html.bak`` is still ``text/html``. A name whose extensions are all
unknown has no type at all, and Apache then sends no ``Content-Type`` (the
client decides; ``DefaultType`` has had no effect since 2.4). A charset is
added only where the configuration says so: ``AddCharset`` for an extension,
or ``AddDefaultCharset`` for ``text/plain`` and ``text/html`` that carry none
(``server/protocol.c``, ``ap_make_content_type``); a file is never assumed
to be UTF-8.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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


# What "AddDefaultCharset On" names (httpd.h's DEFAULT_ADD_DEFAULT_CHARSET_NAME).
DEFAULT_CHARSET_NAME = "iso-8859-1"


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


def load_table(types_config: str | None) -> Mapping[str, str]:
    """TypesConfig's table, or the one shipped when none is configured or it cannot
    be read (the front-end worker reports that)."""
    if not types_config:
        return MIME_TYPES
    try:
        with open(types_config, encoding="utf-8", errors="replace") as f:
            return parse_mime_types(f.read())
    except OSError:
        return MIME_TYPES


def extensions(name: str) -> list[str]:
    """The extensions mod_mime reads in a file name, lower-cased, each with its dot.

    The base name ends at the first dot after any leading ones (``.profile``
    is a hidden file, not a ``profile`` file); empty extensions (``a..txt``)
    are skipped.
    """
    name = name.rsplit("/", 1)[-1]
    base = name.lstrip(".")
    rest = base.split(".")[1:]
    return ["." + ext.lower() for ext in rest if ext]


def _with_charset(media: str, charset: str | None) -> str:
    """``media`` rebuilt as mod_mime does (``type/sub; a=b``), its charset replaced."""
    base, *params = (part.strip() for part in media.split(";"))
    out = base
    replaced = False
    for param in params:
        if not param:
            continue
        attr, _, value = param.partition("=")
        if charset is not None and attr.strip().lower() == "charset":
            if not replaced:
                out += "; charset=" + charset
                replaced = True
            continue
        out += f"; {attr.strip()}={value.strip()}"
    if charset is not None and not replaced:
        out += "; charset=" + charset
    return out


def content_type(
    path: str,
    add_types: Iterable[tuple[str, str]],
    table: Mapping[str, str],
    add_charsets: Iterable[tuple[str, str]] = (),
    default_charset: str = "",
) -> str | None:
    """The Content-Type for ``path``, or None for none.

    ``add_types`` and ``add_charsets`` are ``(".ext", value)`` pairs in
    configuration order (a later one wins; a value "" is RemoveType's, which
    leaves the extension with no type, TypesConfig's included, or
    RemoveCharset's); ``table`` is TypesConfig's;
    ``default_charset`` is AddDefaultCharset's name ("" when Off).
    """
    forced = dict(add_types)
    charsets = dict(add_charsets)
    media: str | None = None
    charset: str | None = None
    for ext in extensions(path):
        # An extension AddType names is not looked up in TypesConfig, even when the
        # name is "" (RemoveType): then it gives no type at all (mod_mime's find_ct).
        found = forced[ext] if ext in forced else table.get(ext)
        if found:
            media = found
        charset = charsets.get(ext) or charset  # "": RemoveCharset took it away
    if media is None:
        return None
    if charset is not None or ";" in media:
        media = _with_charset(media, charset)
    lowered = media.lower()
    if (
        default_charset
        and "charset=" not in lowered
        and ("text/plain" in lowered or "text/html" in lowered)
    ):
        media += "; charset=" + default_charset
    return media
