"""mod_alias's redirects: Redirect, RedirectMatch, RedirectPermanent, RedirectTemp.

Pure. Arguments are read as ``add_redirect_internal`` reads them in httpd
2.4: an optional status first (a number, or ``permanent``, ``temp``,
``seeother``, ``gone``), then the URL-path (or regular expression) and the
URL. Where they land decides when they act (:mod:`wsgihost.mods.redirect`):

- in the main server or a ``<VirtualHost>``: the host's list
  (:attr:`Host.redirects <wsgihost.config.model.Host>`), tried at
  translate_name, before Alias and WSGIScriptAlias;
- in a section or ``.htaccess`` with a URL-path: the section's list
  (:class:`AliasSettings`), tried at fixups, after the access checks;
- in a section with no URL-path (``Redirect /new`` or ``Redirect gone``
  inside ``<Location /old>``): the section's own redirect, for every request
  the section covers.

``Alias``/``AliasMatch`` stay in the core table (routing maps them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from wsgihost import expr
from wsgihost.config.draft import Context
from wsgihost.config.model import Where
from wsgihost.config.table import ANY, Apply, Directive, record

_URL = re.compile(r"[A-Za-z0-9+.\-]+:")  # ap_is_url: a scheme, then ':'
_NAMED = {"permanent": 301, "temp": 302, "seeother": 303, "gone": 410}


def is_url(text: str) -> bool:
    """Apache's ``ap_is_url``: letters, digits, ``+-.`` then a colon."""
    return _URL.match(text) is not None


@dataclass(frozen=True)
class RedirectRule:
    """One Redirect or RedirectMatch with a URL-path (or regex)."""

    status: int
    path: str  # the URL-path prefix, or the regular expression
    url: str | None  # None for a status that is not a redirect (410 ...)
    regex: bool = False
    where: Where = field(default_factory=Where, compare=False)


@dataclass(frozen=True)
class AliasSettings:
    """mod_alias's per-directory settings, merged as merge_alias_dir_config does.

    ``here`` is the section's own redirect (status, URL or None for a status
    without one); ``here_location`` says it came from a ``<Location>``, which
    Apache has merged before translate_name (the redirect then answers before
    the access checks), where a ``<Directory>``'s waits for fixups.
    """

    redirects: tuple[RedirectRule, ...] = ()
    here: tuple[int, str | None] | None = None
    here_location: bool = False

    def merge(self, over: AliasSettings) -> AliasSettings:
        # The deeper section's redirects are tried first (apr_array_append(over, base)).
        chosen = over if over.here is not None else self
        return AliasSettings(over.redirects + self.redirects, chosen.here, chosen.here_location)


def _status(word: str, default: int) -> tuple[int, int]:
    """(status, grok): grok 1 for a redirect status, -1 for another one, 0 for no status."""
    named = _NAMED.get(word.lower())
    if named is not None:
        return named, -1 if named == 410 else 1
    if word[:1].isdigit():
        digits = re.match(r"\d+", word)
        number = int(digits.group(0)) if digits else 0
        return number, 1 if 300 <= number < 400 else -1
    return default, 0


def _redirect(default: int, regex: bool) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        arg1 = args[0]
        arg2 = args[1] if len(args) > 1 else None
        arg3 = args[2] if len(args) > 2 else None
        status, grok = _status(arg1, default)
        if arg3 is not None and not grok:
            ctx.error("Redirect: invalid first argument (of three)")
            return
        if not 300 <= status < 600:
            ctx.error(f"status {status} is not one a redirect can answer (give 300-599)")
            return
        in_section = ctx.section is not None
        if in_section and ((grok > 0 and arg2 and not arg3) or (not grok and not arg2)):
            _here(ctx, status, arg2 if grok else arg1)
            return
        if in_section and grok < 0 and arg2 is None:
            _here(ctx, status, None)
            return
        path: str | None = arg1 if arg3 is None and not grok else arg2
        url = arg2 if arg3 is None and not grok else arg3
        if path is None:
            ctx.error(f"status {status} needs the URL-path it applies to")
            return
        if regex:
            try:
                re.compile(path)
            except re.error as e:
                ctx.error(f"Regular expression could not be compiled: {e}")
                return
        if 300 <= status < 400:
            if not url:
                ctx.error("URL to redirect to is missing")
                return
            if not regex and not is_url(url) and not url.startswith("/"):
                ctx.error("Redirect to non-URL")
                return
        elif url is not None:
            ctx.error("Redirect URL not valid for this status")
            return
        rule = RedirectRule(status, path, url, regex, ctx.where)
        if in_section:
            _add(ctx, AliasSettings(redirects=(rule,)))
        else:
            ctx.host.redirects.append(rule)

    return apply


def _here(ctx: Context, status: int, url: str | None) -> None:
    if url is not None:
        # Apache reads this form's URL as an ap_expr string (%{REQUEST_URI}, ...):
        # checked now, evaluated per request (mods/redirect.py).
        try:
            expr.compile_string(url)
        except expr.ExprError as e:
            ctx.error(f"Cannot parse redirect expression '{url}': {e}")
            return
    if url is not None and 300 <= status < 400 and not is_url(url) and not url.startswith("/"):
        ctx.error("Redirect to non-URL")
        return
    section = ctx.section
    location = section is not None and section.kind == "location"
    _add(ctx, AliasSettings(here=(status, url), here_location=location))


def _add(ctx: Context, more: AliasSettings) -> None:
    settings = ctx.dir.settings
    mine = settings.alias
    # Lines of one section: a later Redirect is tried after an earlier one.
    if mine is None:
        merged = more
    else:
        merged = AliasSettings(
            mine.redirects + more.redirects,
            more.here if more.here is not None else mine.here,
            more.here_location if more.here is not None else mine.here_location,
        )
    ctx.dir.settings = replace(settings, alias=merged)


_FORMS = (
    "In the main server or a virtual host, tried before Alias and WSGIScriptAlias; "
    "in a section or .htaccess (FileInfo), tried after the access checks; in a "
    "`<Location>` with no URL-path (`Redirect /new`, `Redirect gone`), for every "
    "request the section covers, before the access checks; that URL is an ap_expr "
    "string (`%{REQUEST_URI}`, ...)."
)

DIRECTIVES: tuple[Directive, ...] = (
    record(
        "Redirect",
        "Redirect [status] [URL-path] URL",
        ANY,
        (1, 3),
        "",
        "Answer requests whose path starts with URL-path (whole segments) with a redirect "
        "to URL plus the rest of the path, the query string kept unless URL has one. "
        "status: a number or permanent (301), temp (302, the default), seeother (303), "
        "gone (410, no URL). A URL-path target becomes absolute (from Host). " + _FORMS,
        _redirect(302, False),
        module="mod_alias",
    ),
    record(
        "RedirectMatch",
        "RedirectMatch [status] regex URL",
        ANY,
        (2, 3),
        "",
        "As Redirect, for paths the regular expression matches; `$1`..`$9` in URL are the "
        "groups (decoded, then escaped as Apache escapes them). " + _FORMS,
        _redirect(302, True),
        module="mod_alias",
    ),
    record(
        "RedirectPermanent",
        "RedirectPermanent URL-path URL",
        ANY,
        (2, 2),
        "",
        "Redirect with status 301. " + _FORMS,
        _redirect(301, False),
        module="mod_alias",
    ),
    record(
        "RedirectTemp",
        "RedirectTemp URL-path URL",
        ANY,
        (2, 2),
        "",
        "Redirect with status 302. " + _FORMS,
        _redirect(302, False),
        module="mod_alias",
    ),
)
