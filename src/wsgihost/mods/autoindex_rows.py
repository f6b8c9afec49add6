"""The rows of a listing: Apache's ``output_directories``, to the byte.

Pure. Three layouts: a plain ``<ul>``; FancyIndexing's ``<pre>`` block with
columns padded to NameWidth (``*``: the longest name) and names cut with
``..>``; HTMLTable's table (classes and ids with IndexStyleSheet). Alt texts
and descriptions are written as configured (HTML allowed), names and icon
URLs escaped; descriptions are cut to DescriptionWidth counting an entity as
one character and tags as none, as ``terminate_description`` does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from wsgihost.config import mod_autoindex as conf
from wsgihost.config.mod_autoindex import AutoindexSettings
from wsgihost.mods.autoindex_order import (
    Entry,
    Finder,
    Query,
    escape_html,
    escape_path,
    size_text,
)

DATE_FORMAT = "%Y-%m-%d %H:%M"
NO_DATE = " " * 19  # the width of "1975-04-07 01:23  "


def _blank_icon(s: AutoindexSettings) -> str | None:
    return Finder(s.icons).find(None, "^^BLANKICON^^", True)


def _size_attrs(s: AutoindexSettings, xhtml: bool) -> str:
    out = ""
    if s.icon_width:
        out += f' width="{s.icon_width}"'
    if s.icon_height:
        out += f' height="{s.icon_height}"'
    return out + (" /" if xhtml else "")


def _link(anchor: str, column: str, q: Query, nosort: bool) -> str:
    """``emit_link``: a column heading that sorts by it (the current one reversed)."""
    if nosort:
        return anchor
    flip = "D" if q.key == column and q.direction == "A" else "A"
    return f'<a href="?C={column};O={flip}{q.colargs}">{anchor}</a>'


def _cut(name: str, width: int) -> str:
    return name[: width - 3] + "..>" if len(name) > width else name


def terminate(s: AutoindexSettings, desc: str, opts: int, width: int) -> str:
    """``terminate_description``: at most ``width`` shown characters, cut with ``>``."""
    maxsize = width
    if s.desc_adjust == conf.K_UNSET:
        maxsize += 6 if opts & conf.SUPPRESS_ICON else 0
        maxsize += 19 if opts & conf.SUPPRESS_LAST_MOD else 0
        maxsize += 7 if opts & conf.SUPPRESS_SIZE else 0
    n = len(desc)
    x = 0
    while x < n and (maxsize > 0 or desc[x] == "<"):
        if desc[x] == "<":
            end = desc.find(">", x)
            if end < 0:
                maxsize, x = 0, n
                break
            x = end
        elif desc[x] == "&":
            maxsize -= 1
            end = desc.find(";", x)
            if end < 0:
                maxsize, x = 0, n
                break
            x = end
        else:
            maxsize -= 1
        x += 1
    if not maxsize and x < n:
        return desc[: x - 1] + ">"
    return desc


def _date(entry: Entry, s: AutoindexSettings) -> str:
    when = time.localtime(entry.mtime // 1_000_000)
    return time.strftime(s.datetime_format or DATE_FORMAT, when)


def rows(entries: list[Entry], s: AutoindexSettings, opts: int, q: Query) -> str:
    """The listing's block of rows, with its headings and rules."""
    nosort = bool(opts & conf.SUPPRESS_COLSORT)
    xhtml = bool(opts & conf.EMIT_XHTML)
    styled = s.style_sheet is not None
    name_width, desc_width = s.name_width, s.desc_width
    table = bool(opts & conf.TABLE_INDEXING)
    fancy = bool(opts & conf.FANCY_INDEXING)
    if fancy and not table:
        if s.name_adjust == conf.K_ADJUST:
            name_width = max([name_width, *(len(e.name) for e in entries)])
        if s.desc_adjust == conf.K_ADJUST:
            desc_width = max([desc_width, *(len(e.desc) for e in entries if e.desc is not None)])
    pad = " " * max(name_width, 0)
    out: list[str] = []
    breakrow = ""
    if table:
        out.append(
            '  <table id="indexlist">\n   <tr class="indexhead">'
            if styled
            else "  <table>\n   <tr>"
        )
        cols = 1
        if not opts & conf.SUPPRESS_ICON:
            out.append("<th" + (' class="indexcolicon">' if styled else ' valign="top">'))
            blank = _blank_icon(s)
            if blank:
                out.append(
                    f'<img src="{escape_html(blank)}" alt="[ICO]"{_size_attrs(s, xhtml)}></th>'
                )
            else:
                out.append("&nbsp;</th>")
            cols += 1
        out.append("<th" + (' class="indexcolname">' if styled else ">"))
        out.append(_link("Name", "N", q, nosort))
        for bit, cls, title, column in (
            (conf.SUPPRESS_LAST_MOD, "indexcollastmod", "Last modified", "M"),
            (conf.SUPPRESS_SIZE, "indexcolsize", "Size", "S"),
            (conf.SUPPRESS_DESC, "indexcoldesc", "Description", "D"),
        ):
            if not opts & bit:
                out.append("</th><th" + (f' class="{cls}">' if styled else ">"))
                out.append(_link(title, column, q, nosort))
                cols += 1
        if not opts & conf.SUPPRESS_RULES:
            breakrow = '   <tr{}><th colspan="{}"><hr{}></th></tr>\n'.format(
                ' class="indexbreakrow"' if styled else "", cols, " /" if xhtml else ""
            )
        out.append("</th></tr>\n" + breakrow)
    elif fancy:
        out.append("<pre>")
        if not opts & conf.SUPPRESS_ICON:
            blank = _blank_icon(s)
            if blank:
                out.append(f'<img src="{escape_html(blank)}" alt="Icon "{_size_attrs(s, xhtml)}> ')
            else:
                out.append("      ")
        out.append(_link("Name", "N", q, nosort) + pad[4:] + " ")
        if not opts & conf.SUPPRESS_LAST_MOD:
            out.append(_link("Last modified", "M", q, nosort) + "      ")
        if not opts & conf.SUPPRESS_SIZE:
            out.append(_link("Size", "S", q, nosort) + "  ")
        if not opts & conf.SUPPRESS_DESC:
            out.append(_link("Description", "D", q, nosort))
        out.append(("<hr /" if xhtml else "<hr") + ">" if not opts & conf.SUPPRESS_RULES else "\n")
    else:
        out.append("<ul>")

    lay = _Layout(s, opts, name_width, desc_width, pad)
    for x, e in enumerate(entries):
        anchor = escape_html(escape_path(e.name))
        shown = "Parent Directory" if x == 0 and e.name.startswith("/") else e.name
        if table:
            out.append(_table_row(e, x, anchor, shown, lay))
        elif fancy:
            out.append(_pre_row(e, anchor, shown, lay))
        else:
            out.append(f'<li><a href="{anchor}"> {escape_html(shown)}</a></li>\n')

    if table:
        out.append(breakrow + "</table>\n")
    elif fancy:
        if not opts & conf.SUPPRESS_RULES:
            out.append(("<hr /" if xhtml else "<hr") + "></pre>\n")
        else:
            out.append("</pre>\n")
    else:
        out.append("</ul>\n")
    return "".join(out)


def _icon(e: Entry, s: AutoindexSettings, opts: int, anchor: str, blank: str) -> str:
    """The icon cell's inside: the image (or ``blank``), a link with IconsAreLinks."""
    xhtml = bool(opts & conf.EMIT_XHTML)
    out = f'<a href="{anchor}">' if opts & conf.ICONS_ARE_LINKS else ""
    icon = e.icon or s.default_icon
    if icon:
        alt = e.alt if e.alt is not None else "   "
        out += f'<img src="{escape_html(icon)}" alt="[{alt}]"{_size_attrs(s, xhtml)}>'
    else:
        out += blank
    return out


@dataclass(frozen=True)
class _Layout:
    """What every row of one listing shares."""

    s: AutoindexSettings
    opts: int
    name_width: int
    desc_width: int
    pad: str


def _table_row(e: Entry, x: int, anchor: str, shown: str, lay: _Layout) -> str:
    s, opts, name_width, desc_width, pad = lay.s, lay.opts, lay.name_width, lay.desc_width, lay.pad
    styled = s.style_sheet is not None
    out: list[str] = []
    if styled:
        parity = "odd" if x & 1 else "even"
        if e.alt and opts & conf.ADDALTCLASS:
            out.append(f'   <tr class="{parity}-{e.alt.lower()}">')
        else:
            out.append(f'   <tr class="{parity}">')
    else:
        out.append("<tr>")
    if not opts & conf.SUPPRESS_ICON:
        out.append("<td" + (' class="indexcolicon">' if styled else ' valign="top">'))
        out.append(_icon(e, s, opts, anchor, "&nbsp;"))
        out.append("</a></td>" if opts & conf.ICONS_ARE_LINKS else "</td>")
    cell = "<td" + (' class="indexcolname">' if styled else ">")
    if s.name_adjust == conf.K_ADJUST:
        out.append(f'{cell}<a href="{anchor}">{escape_html(shown)}</a>')
    else:
        cut = _cut(shown, name_width)
        out.append(f'{cell}<a href="{anchor}">{escape_html(cut)}</a>{pad[len(cut) :]}')
    if not opts & conf.SUPPRESS_LAST_MOD:
        if e.mtime != -1:
            head = ' class="indexcollastmod">' if styled else ' align="right">'
            out.append(f"</td><td{head}{_date(e, s)}  ")
        else:
            out.append("</td><td" + (' class="indexcollastmod">&nbsp;' if styled else ">&nbsp;"))
    if not opts & conf.SUPPRESS_SIZE:
        head = ' class="indexcolsize">' if styled else ' align="right">'
        out.append(f"</td><td{head}{size_text(e.size)}")
    if not opts & conf.SUPPRESS_DESC:
        head = ' class="indexcoldesc">' if styled else ">"
        if e.desc is not None:
            desc = (
                e.desc if s.desc_adjust == conf.K_ADJUST else terminate(s, e.desc, opts, desc_width)
            )
            out.append(f"</td><td{head}{desc}")
        else:
            out.append(f"</td><td{head}&nbsp;")
    out.append("</td></tr>\n")
    return "".join(out)


def _pre_row(e: Entry, anchor: str, shown: str, lay: _Layout) -> str:
    s, opts, name_width, desc_width, pad = lay.s, lay.opts, lay.name_width, lay.desc_width, lay.pad
    out: list[str] = []
    if not opts & conf.SUPPRESS_ICON:
        out.append(_icon(e, s, opts, anchor, "     "))
        out.append("</a> " if opts & conf.ICONS_ARE_LINKS else " ")
    cut = _cut(shown, name_width)
    out.append(f'<a href="{anchor}">{escape_html(cut)}</a>{pad[len(cut) :]} ')
    if not opts & conf.SUPPRESS_LAST_MOD:
        out.append(_date(e, s) + "  " if e.mtime != -1 else NO_DATE)
    if not opts & conf.SUPPRESS_SIZE:
        out.append(size_text(e.size) + "  ")
    if not opts & conf.SUPPRESS_DESC and e.desc is not None:
        out.append(terminate(s, e.desc, opts, desc_width))
    out.append("\n")
    return "".join(out)
