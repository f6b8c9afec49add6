"""Charsets and types: ``AddDefaultCharset``, ``RemoveType``, ``RemoveCharset``, ``DefaultType``.

Pure. ``AddDefaultCharset`` (the core's, in Apache) names the charset added
to a ``text/plain`` or ``text/html`` Content-Type that names none, for static
files (:mod:`wsgihost.mime`) and apps alike (:mod:`wsgihost.mods.mime`, as
``ap_make_content_type`` adds it when the head is written). ``DefaultType``
has done nothing since Apache 2.4, which warns about it (AH00117) unless its
value is ``None`` or ``Off``. ``RemoveType`` and ``RemoveCharset`` undo an
``AddType``/``AddCharset`` inherited for an extension; RemoveType is mod_mime's
``AddType "" ext``, which hides TypesConfig's type for it too. ``TypesConfig``,
``AddType`` and ``AddCharset`` are in the core table; ``ForceType`` in
:mod:`wsgihost.config.mod_log`.
"""

from __future__ import annotations

from dataclasses import replace

from wsgihost.config.draft import Context
from wsgihost.config.table import ANY, Directive, record
from wsgihost.mime import DEFAULT_CHARSET_NAME


def _add_default_charset(ctx: Context, args: list[str]) -> None:
    word = args[0].lower()
    # As core.c's set_add_default_charset: On names iso-8859-1, any other word is a name.
    name = "" if word == "off" else DEFAULT_CHARSET_NAME if word == "on" else args[0]
    ctx.dir.settings = replace(ctx.dir.settings, default_charset=name)


def _extensions(args: list[str]) -> list[str]:
    # mod_mime stores extensions lower-case, with or without the leading dot.
    return ["." + ext.lstrip(".").lower() for ext in args]


def _remove_type(ctx: Context, args: list[str]) -> None:
    settings = ctx.dir.settings
    removed = tuple((ext, "") for ext in _extensions(args))
    ctx.dir.settings = replace(settings, add_types=settings.add_types + removed)


def _remove_charset(ctx: Context, args: list[str]) -> None:
    settings = ctx.dir.settings
    removed = tuple((ext, "") for ext in _extensions(args))
    ctx.dir.settings = replace(settings, add_charsets=settings.add_charsets + removed)


def _default_type(ctx: Context, args: list[str]) -> None:
    if args[0].lower() not in ("off", "none"):
        # Apache's AH00117, in substance: the line is read and does nothing.
        ctx.warn(
            "ignoring deprecated use of DefaultType: since Apache 2.4 a file whose type "
            "is unknown is sent with no Content-Type (map extensions with AddType, or use "
            "ForceType)"
        )


DIRECTIVES: tuple[Directive, ...] = (
    record(
        "AddDefaultCharset",
        "AddDefaultCharset On|Off|charset",
        ANY,
        (1, 1),
        "Off",
        "A charset added to a `text/plain` or `text/html` Content-Type that names none "
        "(`On` means iso-8859-1), for static files and for apps' answers in both modes "
        "(an app's `text/html` goes out as `text/html; charset=...`; one that names a "
        "charset, or another type, is left as it is). Off: types are sent as they are, "
        "and the client decides how to read the text. In .htaccess with AllowOverride "
        "FileInfo.",
        _add_default_charset,
    ),
    record(
        "RemoveType",
        "RemoveType extension [extension] ...",
        ANY,
        (1, None),
        "",
        "Undoes the AddType lines inherited (or given earlier in this scope) for these "
        "extensions. As in mod_mime, the extension then gives no type at all, not even "
        "TypesConfig's (`page.html.json` stays text/html; `data.json` has none). In "
        ".htaccess with AllowOverride FileInfo.",
        _remove_type,
        module="mod_mime",
    ),
    record(
        "RemoveCharset",
        "RemoveCharset extension [extension] ...",
        ANY,
        (1, None),
        "",
        "Undoes the AddCharset lines inherited (or given earlier in this scope) for these "
        "extensions: the charset no longer comes from them (AddDefaultCharset may still "
        "apply). In .htaccess with AllowOverride FileInfo.",
        _remove_charset,
        module="mod_mime",
    ),
    record(
        "DefaultType",
        "DefaultType media-type|none",
        ANY,
        (1, 1),
        "none",
        "Has no effect, as in Apache 2.4: a file whose type is unknown is sent with no "
        "Content-Type. A value other than `none` (or `off`) is warned about, as Apache "
        "warns (AH00117).",
        _default_type,
    ),
)
