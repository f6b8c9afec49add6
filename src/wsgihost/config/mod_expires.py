"""mod_expires' directives: ``ExpiresActive``, ``ExpiresByType`` and ``ExpiresDefault``.

Pure. Each scope's lines make an :class:`ExpiresSettings` (the ``expires``
field of DirSettings), read as mod_expires reads them: a code is
``<base> [plus] {<num> <type>}*`` with the base and the types known by their
first letter (``months`` and ``minutes`` by two), or the old ``A<seconds>`` /
``M<seconds>`` form. :mod:`wsgihost.mods.expires` adds the headers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from wsgihost.config.draft import Context
from wsgihost.config.table import ANY, Directive, record

# Seconds in each <type>, with how many leading letters name it (check_code's strncasecmp).
_UNITS = (
    ("years", 1, 60 * 60 * 24 * 365),
    ("months", 2, 60 * 60 * 24 * 30),
    ("weeks", 1, 60 * 60 * 24 * 7),
    ("days", 1, 60 * 60 * 24),
    ("hours", 1, 60 * 60),
    ("minutes", 2, 60),
    ("seconds", 1, 1),
)

Code = tuple[str, int]  # ("A" access | "M" modification, seconds after it)


class CodeError(ValueError):
    """A code mod_expires refuses; the message is Apache's."""


def _named(word: str, name: str, letters: int) -> bool:
    """``strncasecmp(word, name, letters) == 0``: a short word matches only if whole."""
    return word[:letters].lower() == name[:letters]


def _atoi(text: str) -> int:
    """C's atoi: leading blanks, a sign, then digits; 0 when there are none."""
    text = text.lstrip(" \t\n\v\f\r")
    sign = -1 if text[:1] == "-" else 1
    if text[:1] in "+-":
        text = text[1:]
    digits = len(text) - len(text.lstrip("0123456789"))
    return sign * int(text[:digits]) if digits else 0


def parse_code(code: str) -> Code:
    """An expiry code as mod_expires' check_code reads it."""
    if code[:1] in ("A", "M"):
        # The 0.0.4 form, "A3600" or "M86400". mod_expires takes ANY code that
        # starts with a capital A or M this way, so "Access plus 1 day" is A0.
        return code[0], _atoi(code[1:])
    words = code.split()
    word = words.pop(0) if words else ""
    if _named(word, "now", 1) or _named(word, "access", 1):
        base = "A"
    elif _named(word, "modification", 1):
        base = "M"
    else:
        raise CodeError(f"bad expires code, unrecognised <base> '{word}'")
    word = words.pop(0) if words else ""
    if _named(word, "plus", 1):
        word = words.pop(0) if words else ""
    seconds = 0
    while word:
        if not word[0].isdigit():
            raise CodeError(f"bad expires code, numeric value expected <num> '{word}'")
        num = _atoi(word)
        kind = words.pop(0) if words else ""
        if not kind:
            raise CodeError("bad expires code, missing <type>")
        for name, letters, factor in _UNITS:
            if _named(kind, name, letters):
                seconds += factor * num
                break
        else:
            raise CodeError(f"bad expires code, unrecognised <type>'{kind}'")
        word = words.pop(0) if words else ""
    return base, seconds


def _old_form_trap(code: str) -> bool:
    """A code in words written with a capital A or M: read as the old form, as 0."""
    return code[:1] in ("A", "M") and not code[1:].strip().lstrip("+-").isdigit()


@dataclass(frozen=True)
class ExpiresSettings:
    """One scope's mod_expires configuration (Apache's expires_dir_config).

    ``by_type`` holds (lower-case media type, code) with the deepest scope's
    entries first; ``wildcards`` is whether THIS scope named a ``type/*``:
    mod_expires merges that flag from the deeper scope alone, so a section
    that names any type of its own hides the wildcards above it.
    """

    active: bool | None = None
    default: Code | None = None
    by_type: tuple[tuple[str, Code], ...] = ()
    wildcards: bool = False

    def merge(self, over: ExpiresSettings) -> ExpiresSettings:
        """``over`` (deeper) on top, as merge_expires_dir_configs merges."""
        names = {name for name, _ in over.by_type}
        return ExpiresSettings(
            active=over.active if over.active is not None else self.active,
            default=over.default if over.default is not None else self.default,
            by_type=over.by_type + tuple(e for e in self.by_type if e[0] not in names),
            wildcards=over.wildcards,
        )

    def code_for(self, content_type: str | None) -> Code | None:
        """The code for a response of ``content_type`` (None: it has none): its
        ExpiresByType (parameters aside), else the ``major/*`` one, else ExpiresDefault."""
        if content_type is None:
            return self.default
        key = content_type.split(";", 1)[0].rstrip(" \t\n\v\f\r").lower()
        for name, code in self.by_type:
            if name == key:
                return code
        if self.wildcards and "/" in content_type:
            major = content_type[: content_type.index("/") + 1].lower() + "*"
            for name, code in self.by_type:
                if name == major:
                    return code
        return self.default

    @property
    def enabled(self) -> bool:
        """Whether this scope adds headers at all (expires_insert_filter's test)."""
        return self.active is True and (bool(self.by_type) or self.default is not None)


def _current(ctx: Context) -> ExpiresSettings:
    return ctx.dir.settings.expires or ExpiresSettings()


def _store(ctx: Context, expires: ExpiresSettings) -> None:
    ctx.dir.settings = replace(ctx.dir.settings, expires=expires)


def _code(ctx: Context, code: str) -> Code | None:
    try:
        parsed = parse_code(code)
    except CodeError as e:
        ctx.error(str(e))
        return None
    if _old_form_trap(code):
        ctx.warn(
            f"'{code}' starts with a capital {code[0]}, which mod_expires reads as the old "
            f"'{code[0]}<seconds>' form: this is {code[0]}{parsed[1]}; write "
            f"'{code[0].lower()}{code[1:]}' for what it says"
        )
    return parsed


def _active(ctx: Context, args: list[str]) -> None:
    word = args[0].lower()
    if word not in ("on", "off"):
        ctx.error("must be On or Off")
        return
    _store(ctx, replace(_current(ctx), active=word == "on"))


def _by_type(ctx: Context, args: list[str]) -> None:
    media, code = args
    if "/" not in media:
        ctx.error("Invalid mimetype: should contain a slash")
        return
    parsed = _code(ctx, code)
    if parsed is None:
        return
    current = _current(ctx)
    key = media.lower()
    entries = (*(e for e in current.by_type if e[0] != key), (key, parsed))
    wildcard = media.rsplit("/", 1)[1] == "*"
    _store(ctx, replace(current, by_type=entries, wildcards=current.wildcards or wildcard))


def _default(ctx: Context, args: list[str]) -> None:
    parsed = _code(ctx, args[0])
    if parsed is not None:
        _store(ctx, replace(_current(ctx), default=parsed))


_CODES = (
    " A code is `access plus 1 month` (or `now plus ...`), `modification plus 2 days "
    "3 hours` (the file's modification time; for an app, the script file's), with "
    "years, months (30 days), weeks, days, hours, minutes and seconds, or the old "
    "forms `A<seconds>` and `M<seconds>`. Quote a code of several words."
)
_HOW = (
    " Headers: `Expires` (the date) and `Cache-Control: max-age=<seconds>`, merged "
    "into a Cache-Control the answer has (`no-cache, max-age=60`); an answer that "
    "has an `Expires` of its own is left alone, as are errors (4xx, 5xx). Static "
    "files (a 304 too), apps in both modes and redirects get them. In .htaccess with "
    "AllowOverride Indexes."
)

DIRECTIVES: tuple[Directive, ...] = (
    record(
        "ExpiresActive",
        "ExpiresActive On|Off",
        ANY,
        (1, 1),
        "Off",
        "Whether mod_expires adds `Expires` and `Cache-Control: max-age` to answers "
        "in this scope (it needs an ExpiresByType or ExpiresDefault too)." + _HOW,
        _active,
        module="mod_expires",
    ),
    record(
        "ExpiresByType",
        'ExpiresByType media-type "<base> [plus] {<num> <type>}*"',
        ANY,
        (2, 2),
        "",
        "The expiry of answers of this media type (`text/html`; parameters such as "
        "a charset are not compared; `image/*` for a major type)." + _CODES + " A "
        "section that names a type of its own no longer sees the `type/*` entries of "
        "the scopes above it, as in mod_expires.",
        _by_type,
        module="mod_expires",
    ),
    record(
        "ExpiresDefault",
        'ExpiresDefault "<base> [plus] {<num> <type>}*"',
        ANY,
        (1, 1),
        "",
        "The expiry of answers no ExpiresByType names (or with no type)." + _CODES,
        _default,
        module="mod_expires",
    ),
)
