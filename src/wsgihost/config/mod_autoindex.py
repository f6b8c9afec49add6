"""mod_autoindex's directives: how ``Options Indexes`` draws a directory.

Pure. ``IndexOptions``, ``IndexOrderDefault``, ``IndexIgnore``,
``IndexIgnoreReset``, ``HeaderName``, ``ReadmeName``, ``AddDescription``,
``AddIcon``/``AddIconByType``/``AddIconByEncoding``, ``AddAlt``/``AddAltByType``/
``AddAltByEncoding``, ``DefaultIcon``, ``IndexStyleSheet``, ``IndexHeadInsert``:
read as Apache 2.4's mod_autoindex reads them (its option bits, its error
messages) into :class:`AutoindexSettings`, merged per directory as its
``merge_autoindex_configs`` merges them. The page itself is drawn by
:mod:`wsgihost.mods.autoindex`. All of them are allowed in the server, a
virtual host, a section and .htaccess (``AllowOverride Indexes``).

Patterns keep the directory they were written for (Apache's ``cmd->path``):
an icon, alt text or ignore pattern set in ``<Directory /srv/a>`` only
applies to files under ``/srv/a/``; one set in ``<Location>`` is tied to
the URL, which no file path matches, exactly as in Apache.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from wsgihost.config.draft import Context
from wsgihost.config.table import ANY, Directive, record

# mod_autoindex's option bits (its own numbering: the merge works on them).
NO_OPTIONS = 1 << 0
ICONS_ARE_LINKS = 1 << 1
SCAN_HTML_TITLES = 1 << 2
SUPPRESS_ICON = 1 << 3
SUPPRESS_LAST_MOD = 1 << 4
SUPPRESS_SIZE = 1 << 5
SUPPRESS_DESC = 1 << 6
SUPPRESS_PREAMBLE = 1 << 7
SUPPRESS_COLSORT = 1 << 8
SUPPRESS_RULES = 1 << 9
FOLDERS_FIRST = 1 << 10
VERSION_SORT = 1 << 11
TRACK_MODIFIED = 1 << 12
FANCY_INDEXING = 1 << 13
TABLE_INDEXING = 1 << 14
IGNORE_CLIENT = 1 << 15
IGNORE_CASE = 1 << 16
EMIT_XHTML = 1 << 17
SHOW_FORBIDDEN = 1 << 18
ADDALTCLASS = 1 << 19
OPTION_UNSET = 1 << 20

OPTIONS = {
    "fancyindexing": FANCY_INDEXING,
    "foldersfirst": FOLDERS_FIRST,
    "htmltable": TABLE_INDEXING,
    "iconsarelinks": ICONS_ARE_LINKS,
    "ignorecase": IGNORE_CASE,
    "ignoreclient": IGNORE_CLIENT,
    "scanhtmltitles": SCAN_HTML_TITLES,
    "suppresscolumnsorting": SUPPRESS_COLSORT,
    "suppressdescription": SUPPRESS_DESC,
    "suppresshtmlpreamble": SUPPRESS_PREAMBLE,
    "suppressicon": SUPPRESS_ICON,
    "suppresslastmodified": SUPPRESS_LAST_MOD,
    "suppresssize": SUPPRESS_SIZE,
    "suppressrules": SUPPRESS_RULES,
    "trackmodified": TRACK_MODIFIED,
    "versionsort": VERSION_SORT,
    "xhtml": EMIT_XHTML,
    "showforbidden": SHOW_FORBIDDEN,
    "addaltclass": ADDALTCLASS,
}

# NameWidth/DescriptionWidth: fixed, '*' (as wide as the longest), or not set here.
K_NOADJUST, K_ADJUST, K_UNSET = 0, 1, 2
DEFAULT_NAME_WIDTH = 23
DEFAULT_DESC_WIDTH = 23
DEFAULT_ICON_WIDTH = 20
DEFAULT_ICON_HEIGHT = 22

BY_PATH, BY_TYPE, BY_ENCODING = "path", "type", "encoding"
SORT_KEYS = {"name": "N", "date": "M", "size": "S", "description": "D"}


def raw(text: str) -> str:
    """Configuration text as the page's bytes, one character per byte (latin-1):
    the page is built from file names, which are bytes, and Apache's widths and
    truncation count bytes."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


@dataclass(frozen=True)
class Item:
    """An icon, alt text or ignore pattern (Apache's ``struct item``): ``apply_to``
    is the name, type or encoding pattern, ``apply_path`` the directory pattern."""

    kind: str  # BY_PATH, BY_TYPE, BY_ENCODING, or "" for IndexIgnore
    apply_to: str
    apply_path: str
    data: str


@dataclass(frozen=True)
class Description:
    """An ``AddDescription``: a wildcard pattern or a plain substring."""

    pattern: str
    text: str
    full_path: bool
    wildcards: bool


@dataclass(frozen=True)
class AutoindexSettings:
    """One scope's mod_autoindex configuration (Apache's autoindex_config_rec)."""

    default_icon: str | None = None
    style_sheet: str | None = None
    head_insert: str | None = None
    header: str | None = None
    readme: str | None = None
    opts: int = OPTION_UNSET
    incremented: int = 0
    decremented: int = 0
    name_width: int = DEFAULT_NAME_WIDTH
    name_adjust: int = K_UNSET
    desc_width: int = DEFAULT_DESC_WIDTH
    desc_adjust: int = K_UNSET
    icon_width: int = 0
    icon_height: int = 0
    default_key: str = ""
    default_direction: str = ""
    icons: tuple[Item, ...] = ()
    alts: tuple[Item, ...] = ()
    descriptions: tuple[Description, ...] = ()
    ignores: tuple[Item, ...] = ()
    ignore_reset: bool = False
    ctype: str | None = None
    charset: str | None = None
    datetime_format: str | None = None

    @property
    def options(self) -> int:
        """The options in force: a scope never merged still counts its +/- ones."""
        opts = 0 if self.opts == OPTION_UNSET else self.opts
        return (opts | self.incremented) & ~self.decremented

    def merge(self, over: AutoindexSettings) -> AutoindexSettings:
        """``over`` (a deeper scope) on top, as merge_autoindex_configs: the deeper
        lists first, options replaced by non-incremental ones, else +/- added."""
        base, add = self, over
        if add.opts == NO_OPTIONS:
            opts, inc, dec = NO_OPTIONS, 0, 0
        else:
            if add.opts == OPTION_UNSET:
                inc = (base.incremented | add.incremented) & ~add.decremented
                dec = base.decremented | add.decremented
                opts = base.opts & ~NO_OPTIONS
            else:
                inc, dec = add.incremented, add.decremented
                opts = add.opts
            opts = (opts | inc) & ~dec
        if add.name_adjust == K_UNSET:
            name = (base.name_width, base.name_adjust)
        else:
            name = (add.name_width, add.name_adjust)
        if add.desc_adjust == K_UNSET:
            desc = (base.desc_width, base.desc_adjust)
        else:
            desc = (add.desc_width, add.desc_adjust)
        return AutoindexSettings(
            default_icon=_either(add.default_icon, base.default_icon),
            style_sheet=_either(add.style_sheet, base.style_sheet),
            head_insert=_either(add.head_insert, base.head_insert),
            header=_either(add.header, base.header),
            readme=_either(add.readme, base.readme),
            opts=opts,
            incremented=inc,
            decremented=dec,
            name_width=name[0],
            name_adjust=name[1],
            desc_width=desc[0],
            desc_adjust=desc[1],
            icon_width=add.icon_width or base.icon_width,
            icon_height=add.icon_height or base.icon_height,
            default_key=add.default_key or base.default_key,
            default_direction=add.default_direction or base.default_direction,
            icons=add.icons + base.icons,
            alts=add.alts + base.alts,
            descriptions=add.descriptions + base.descriptions,
            ignores=add.ignores if add.ignore_reset else add.ignores + base.ignores,
            ctype=_either(add.ctype, base.ctype),
            charset=_either(add.charset, base.charset),
            datetime_format=_either(add.datetime_format, base.datetime_format),
        )


def _either(mine: str | None, theirs: str | None) -> str | None:
    return mine if mine is not None else theirs


def _current(ctx: Context) -> AutoindexSettings:
    return ctx.dir.settings.autoindex or AutoindexSettings()


def _store(ctx: Context, settings: AutoindexSettings) -> None:
    ctx.dir.settings = replace(ctx.dir.settings, autoindex=settings)


def _scope_path(ctx: Context) -> str:
    """Apache's ``cmd->path``: a <Directory>'s path with a final slash, another
    section's pattern as written, nothing outside sections."""
    section = ctx.section
    if section is None:
        return ""
    if section.kind == "directory" and not section.regex:
        return section.pattern.rstrip("/") + "/"
    return section.pattern if section.kind != "if" else ""


def _is_match_exp(text: str) -> bool:
    return "*" in text or "?" in text


def _item(ctx: Context, kind: str, to: str, data: str) -> Item:
    if kind == BY_PATH and to == "**DIRECTORY**":
        to = "^^DIRECTORY^^"
    if kind == BY_ENCODING:
        to = to.lower()
    apply_to = "*" + to if kind == BY_PATH and not _is_match_exp(to) else to
    return Item(kind, raw(apply_to), raw(_scope_path(ctx)) + "*", raw(data))


def _add_alt(kind: str) -> object:
    def apply(ctx: Context, args: list[str]) -> None:
        settings = _current(ctx)
        alts = tuple(_item(ctx, kind, to, args[0]) for to in args[1:])
        _store(ctx, replace(settings, alts=settings.alts + alts))

    return apply


def _add_icon(kind: str) -> object:
    def apply(ctx: Context, args: list[str]) -> None:
        icon, alt = args[0], None
        if icon.startswith("("):
            if ")" not in icon:
                ctx.error("missing closing paren")
                return
            # (ALT,/icon.gif): the alt text up to the comma, the icon from there
            # up to the first ')' (which Apache cuts in place).
            close = icon.index(")")
            word, comma, rest = icon.partition(",")
            alt = word[1:]
            if not comma:
                icon = ""
            elif close > len(word):
                icon = rest[: close - len(word) - 1]
            else:
                icon = rest
        settings = _current(ctx)
        for to in args[1:]:
            if alt is not None:
                settings = replace(settings, alts=(*settings.alts, _item(ctx, kind, to, alt)))
            settings = replace(settings, icons=(*settings.icons, _item(ctx, kind, to, icon)))
        _store(ctx, settings)

    return apply


def _wildcards(text: str) -> bool:
    """apr_fnmatch_test: any of * ? [ (a bracket needing its closing one)."""
    return "*" in text or "?" in text or ("[" in text and "]" in text.partition("[")[2])


def _add_description(ctx: Context, args: list[str]) -> None:
    settings = _current(ctx)
    found = []
    for to in args[1:]:
        full_path = "/" in to
        wildcards = full_path or _wildcards(to)
        pattern = ("*/" if full_path else "*") + to + "*" if wildcards else to
        found.append(Description(raw(pattern), raw(args[0]), full_path, wildcards))
    _store(ctx, replace(settings, descriptions=settings.descriptions + tuple(found)))


def _index_ignore(ctx: Context, args: list[str]) -> None:
    settings = _current(ctx)
    added = tuple(Item("", raw(to), raw(_scope_path(ctx)) + "*", "") for to in args)
    _store(ctx, replace(settings, ignores=settings.ignores + added))


def _index_ignore_reset(ctx: Context, args: list[str]) -> None:
    value = args[0].lower()
    if value not in ("on", "off"):
        ctx.error("must be On or Off")  # Apache's ap_set_flag_slot
        return
    _store(ctx, replace(_current(ctx), ignore_reset=value == "on"))


def _width(ctx: Context, word: str, action: str, name: str, least: int) -> tuple[int, int] | None:
    """NameWidth=n|* or DescriptionWidth=n|*: (width, adjust), None on an error."""
    _key, eq, value = word.partition("=")
    if not eq:
        if action != "-":
            ctx.error(f"{name} with no value may only appear as '-{name}'")
            return None
        return (DEFAULT_NAME_WIDTH if name == "NameWidth" else DEFAULT_DESC_WIDTH), K_NOADJUST
    if action == "-":
        ctx.error(f"Cannot combine '-' with {name}=n")
        return None
    if value.startswith("*"):
        return -1, K_ADJUST
    width = _atoi(value)
    if width and width < least:
        ctx.error(f"{name} value must be greater than {least}")
        return None
    return width, K_NOADJUST


def _atoi(text: str) -> int:
    """C's atoi: leading digits (after blanks and a sign), 0 when none."""
    text = text.lstrip(" \t")
    sign = -1 if text.startswith("-") else 1
    text = text[1:] if text[:1] in "+-" else text
    digits = ""
    for c in text:
        if not c.isdigit() or not c.isascii():
            break
        digits += c
    return sign * int(digits) if digits else 0


def _icon_size(s: AutoindexSettings, width: bool, value: int) -> AutoindexSettings:
    return replace(s, icon_width=value) if width else replace(s, icon_height=value)


def _index_options(ctx: Context, args: list[str]) -> None:
    s = _current(ctx)
    opts, add, remove = s.opts, s.incremented, s.decremented
    for word in args:
        action = word[0] if word[:1] in ("+", "-") else ""
        w = word[1:] if action else word
        lower = w.lower()
        option = 0
        if lower in OPTIONS:
            option = OPTIONS[lower]
        elif lower == "none":
            if action:
                ctx.error("Cannot combine '+' or '-' with 'None' keyword")
                return
            opts, add, remove = NO_OPTIONS, 0, 0
        elif lower in ("iconwidth", "iconheight"):
            size = DEFAULT_ICON_WIDTH if lower == "iconwidth" else DEFAULT_ICON_HEIGHT
            value = 0 if action == "-" else size
            s = _icon_size(s, lower == "iconwidth", value)
        elif lower.startswith(("iconwidth=", "iconheight=")):
            name = "IconWidth" if lower.startswith("iconwidth=") else "IconHeight"
            if action == "-":
                ctx.error(f"Cannot combine '-' with {name}=n")
                return
            value = _atoi(w.partition("=")[2])
            s = _icon_size(s, name == "IconWidth", value)
        elif lower == "namewidth" or lower.startswith("namewidth="):
            width = _width(ctx, w, action, "NameWidth", 5)
            if width is None:
                return
            if width[1] == K_ADJUST:
                s = replace(s, name_adjust=K_ADJUST)
            else:
                s = replace(s, name_width=width[0], name_adjust=K_NOADJUST)
        elif lower == "descriptionwidth" or lower.startswith("descriptionwidth="):
            width = _width(ctx, w, action, "DescriptionWidth", 12)
            if width is None:
                return
            if width[1] == K_ADJUST:
                s = replace(s, desc_adjust=K_ADJUST)
            else:
                s = replace(s, desc_width=width[0], desc_adjust=K_NOADJUST)
        elif lower.startswith("type="):
            s = replace(s, ctype=raw(w[5:]))
        elif lower.startswith("charset="):
            s = replace(s, charset=raw(w[8:]))
        elif lower == "useolddateformat":
            s = replace(s, datetime_format="%d-%b-%Y %H:%M")
        else:
            ctx.error("Invalid directory indexing option")
            return
        if not action:
            opts |= option
            add = remove = 0
        elif action == "+":
            add |= option
            remove &= ~option
        else:
            remove |= option
            add &= ~option
    if opts & NO_OPTIONS and opts & ~NO_OPTIONS:
        ctx.error("Cannot combine other IndexOptions keywords with 'None'")
        return
    _store(ctx, replace(s, opts=opts, incremented=add, decremented=remove))


def _index_order_default(ctx: Context, args: list[str]) -> None:
    direction = {"ascending": "A", "descending": "D"}.get(args[0].lower())
    if direction is None:
        ctx.error("First keyword must be 'Ascending' or 'Descending'")
        return
    key = SORT_KEYS.get(args[1].lower())
    if key is None:
        ctx.error("Second keyword must be 'Name', 'Date', 'Size', or 'Description'")
        return
    _store(ctx, replace(_current(ctx), default_key=key, default_direction=direction))


def _string(field: str) -> object:
    def apply(ctx: Context, args: list[str]) -> None:
        changes: dict[str, Any] = {field: raw(args[0])}
        _store(ctx, replace(_current(ctx), **changes))

    return apply


def _fancy_indexing(ctx: Context, args: list[str]) -> None:
    ctx.error("The FancyIndexing directive is no longer supported. Use IndexOptions FancyIndexing.")


def _forbidden_404(ctx: Context, args: list[str]) -> None:
    # Apache 2.4's merge never carries the flag over, so once any section
    # applies (always, on Debian's tree) a refused listing is a 403 anyway.
    ctx.warn("not provided: a directory that may not be listed is answered 403")


_WHERE = (
    " Allowed in the server, a virtual host, a section and .htaccess (AllowOverride "
    "Indexes); a deeper scope's lists come first."
)
_PATTERNS = (
    " Names are matched with `*` and `?` against the end of the file name (a name "
    "without wildcards matches any name ending in it); `^^DIRECTORY^^` stands for "
    "folders and `^^BLANKICON^^` for the header row's icon."
)


def _rec(
    name: str, syntax: str, args: tuple[int, int | None], doc: str, apply: object
) -> Directive:
    return record(name, syntax, ANY, args, "", doc + _WHERE, apply, module="mod_autoindex")  # type: ignore[arg-type]


DIRECTIVES: tuple[Directive, ...] = (
    _rec(
        "IndexOptions",
        "IndexOptions [+|-]option [[+|-]option] ...",
        (1, None),
        "How a listing is drawn: `FancyIndexing` (icons, dates, sizes, descriptions and "
        "column sorting, in a `<pre>` block), `HTMLTable` (the same in a table), "
        "`FoldersFirst`, `IgnoreCase`, `VersionSort`, `IgnoreClient`, `IconsAreLinks`, "
        "`ScanHTMLTitles`, `SuppressColumnSorting`, `SuppressDescription`, "
        "`SuppressHTMLPreamble`, `SuppressIcon`, `SuppressLastModified`, `SuppressRules`, "
        "`SuppressSize`, `TrackModified`, `XHTML`, `ShowForbidden`, `AddAltClass`, "
        "`NameWidth=n|*`, `DescriptionWidth=n|*`, `IconWidth[=n]`, `IconHeight[=n]`, "
        "`Charset=` (default ISO-8859-1), `Type=`, `UseOldDateFormat`, `None`. Options "
        "without `+`/`-` replace the inherited ones; with them, they add and remove. "
        "The page is Apache's, byte for byte (file modification times in the server's "
        "time zone). `ScanHTMLTitles` reads titles of text/html files only (no "
        "server-side includes).",
        _index_options,
    ),
    _rec(
        "IndexOrderDefault",
        "IndexOrderDefault Ascending|Descending Name|Date|Size|Description",
        (2, 2),
        "The order of a listing asked for without `?C=...;O=...`.",
        _index_order_default,
    ),
    _rec(
        "IndexIgnore",
        "IndexIgnore wildcard [wildcard] ...",
        (1, None),
        "Names left out of listings (`*` and `?` wildcards; Debian's `.??*` hides names "
        "starting with a dot of three characters or more).",
        _index_ignore,
    ),
    _rec(
        "IndexIgnoreReset",
        "IndexIgnoreReset On|Off",
        (1, 1),
        "On: this scope's IndexIgnore replaces the inherited patterns.",
        _index_ignore_reset,
    ),
    _rec(
        "HeaderName",
        "HeaderName filename",
        (1, 1),
        "A file put above the listing, looked up as a URL relative to the folder (or an "
        "absolute URL path), as Apache's sub-request finds it: a text/html file as it is, "
        "after the page's head (in place of it with `SuppressHTMLPreamble`; the answer is "
        "then chunked, as Apache's); another text/* file escaped in `<pre>`, in place of "
        "the `<h1>`. Its content is sent as the file holds it (no server-side includes), "
        "and a URL an app answers is left out.",
        _string("header"),
    ),
    _rec(
        "ReadmeName",
        "ReadmeName filename",
        (1, 1),
        "A file put below the listing, in place of the server signature; looked up as "
        "HeaderName's.",
        _string("readme"),
    ),
    _rec(
        "AddDescription",
        "AddDescription string file [file] ...",
        (2, None),
        "The description column's text for matching files (HTML allowed; a name with "
        "no wildcard matches any file name containing it).",
        _add_description,
    ),
    *(
        _rec(
            name,
            f"{name} {'icon|(alt,icon)' if icon else 'string'} {what} [{what}] ...",
            (2, None),
            (
                f"The icon (and, in the `(alt,icon)` form, the alt text) for {whom}."
                if icon
                else f"The icon's alt text for {whom}."
            )
            + _PATTERNS,
            (_add_icon if icon else _add_alt)(kind),
        )
        for icon in (True, False)
        for name, what, whom, kind in (
            ("Add{}", "name", "files by name", BY_PATH),
            ("Add{}ByType", "MIME-type", "files by media type (`text/*`)", BY_TYPE),
            ("Add{}ByEncoding", "encoding", "files by content encoding", BY_ENCODING),
        )
        for name in (name.format("Icon" if icon else "Alt"),)
    ),
    _rec(
        "DefaultIcon",
        "DefaultIcon url-path",
        (1, 1),
        "The icon of files no AddIcon* names.",
        _string("default_icon"),
    ),
    _rec(
        "IndexStyleSheet",
        "IndexStyleSheet url-path",
        (1, 1),
        "A style sheet linked from the page (and the ids and classes Apache adds with it).",
        _string("style_sheet"),
    ),
    _rec(
        "IndexHeadInsert",
        'IndexHeadInsert "markup ..."',
        (1, 1),
        "Markup put in the page's `<head>`.",
        _string("head_insert"),
    ),
    _rec(
        "FancyIndexing",
        "FancyIndexing On|Off",
        (0, None),
        "Refused, as by Apache 2.4: write `IndexOptions FancyIndexing`.",
        _fancy_indexing,
    ),
    _rec(
        "IndexForbiddenReturn404",
        "IndexForbiddenReturn404 On|Off",
        (1, 1),
        "Accepted with a warning: a folder that may not be listed is answered 403 (Apache "
        "2.4's merge drops the flag wherever a section applies).",
        _forbidden_404,
    ),
)
