"""mod_headers' directives: ``Header`` and ``RequestHeader``.

Pure. Each line becomes a :class:`~wsgihost.mods.headers_core.HeaderRule` in
its scope's :class:`~wsgihost.mods.headers_core.HeadersConfig` (the
``headers`` field of DirSettings), checked as Apache's header_cmd checks it:
the action, the number of words, the edit regex, the value format, the
``early``/``env=``/``expr=`` clause, each refused with Apache's message.
:mod:`wsgihost.mods.headers` applies them to requests and responses.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from wsgihost.config.draft import Context
from wsgihost.config.table import ANY, Directive, record
from wsgihost.mods.headers_core import (
    ACTIONS,
    EARLY,
    FormatError,
    HeaderRule,
    HeadersConfig,
    parse_format,
)

# Headers the HTTP layer owns: what a Header line does to them is not sent.
FRAMING = frozenset({"content-length", "transfer-encoding"})


def _compile_expr(text: str, string: bool) -> tuple[Any, str | None]:
    """The ap_expr engine's compiled ``text``, or the reason it cannot be had."""
    try:
        from wsgihost import expr as engine  # an optional engine: imported when used
    except ImportError:
        return None, "expr= is not supported by wsgihost yet (no ap_expr engine)"
    try:
        compiled = engine.compile_string(text) if string else engine.compile(text)
    except engine.ExprError as e:
        return None, str(e)
    return compiled, None


def _rule(ctx: Context, args: list[str], request: bool) -> tuple[str, HeaderRule] | None:
    """The table ("request", "onsuccess", "always") and the rule of one line."""
    words = list(args)
    table = "request" if request else "onsuccess"
    if not request and words and words[0].lower() in ("always", "onsuccess"):
        table = words.pop(0).lower()
    if not words:
        ctx.error(
            "first argument must be 'add', 'set', 'setifempty', 'append', 'merge', "
            "'unset', 'echo', 'note', 'edit', or 'edit*'."
        )
        return None
    action = words.pop(0).lower()
    if action not in ACTIONS:
        ctx.error(
            "first argument must be 'add', 'set', 'setifempty', 'append', 'merge', "
            "'unset', 'echo', 'note', 'edit', or 'edit*'."
        )
        return None
    if len(words) > 4:
        ctx.error(f"{ctx.name} has too many arguments")
        return None
    header, value, subs, clause = (words + [None] * 4)[:4]
    if header is None:
        header = ""
    pattern: re.Pattern[str] | None = None
    if action in ("edit", "edit*"):
        if subs is None or value is None:
            ctx.error("Header edit requires a match and a substitution")
            return None
        try:
            pattern = re.compile(value)
        except re.error as e:
            ctx.error(f"Header edit regex could not be compiled ({e})")
            return None
        fmt: str | None = subs
    else:
        if clause is not None:
            ctx.error("Too many arguments to directive")
            return None
        clause, fmt = subs, value
    if action == "unset":
        if value is not None and subs is not None:
            ctx.error("header unset takes two arguments")
            return None
        clause, fmt = value if value is not None else clause, None
    elif action == "echo":
        if value is not None and subs is not None:
            ctx.error("Header echo takes two arguments")
            return None
        clause, fmt = value if value is not None else clause, None
        if request:
            ctx.error("Header echo only valid on Header directives")
            return None
        try:
            pattern = re.compile(header)
        except re.error as e:
            ctx.error(f"Header echo regex could not be compiled ({e})")
            return None
    elif fmt is None:
        ctx.error("Header requires three arguments")
        return None
    condition: str | None = None
    condition_expr: Any = None
    if clause is not None:
        lowered = clause.lower()
        if lowered == EARLY:
            condition = EARLY
            if ctx.section is not None or ctx.level == "directory":
                ctx.warn(
                    "'early' acts only at server or virtual-host level (before the "
                    "request is mapped); in a section it never applies"
                )
        elif lowered.startswith("env="):
            condition = clause[4:]
            if condition in ("", "!"):
                ctx.error(
                    "error: missing environment variable name. envclause should be in "
                    "the form env=envar "
                )
                return None
        elif lowered.startswith("expr="):
            condition_expr, problem = _compile_expr(clause[5:], string=False)
            if problem is not None:
                ctx.error(f"Can't parse envclause/expression: {problem}")
                return None
        else:
            ctx.error(f"Unknown parameter: {clause}")
            return None
    header = header.split(":", 1)[0]  # "Name:" is taken as "Name", as Apache
    pieces: tuple[Any, ...] = ()
    value_expr: Any = None
    if fmt is not None:
        if fmt.startswith("expr="):
            value_expr, problem = _compile_expr(fmt[5:], string=True)
            if problem is not None:
                ctx.error(f"Can't parse value expression : {problem}")
                return None
        else:
            try:
                pieces = parse_format(fmt)
            except FormatError as e:
                ctx.error(str(e))
                return None
            if any(p.letter == "" and ("\r" in p.text or "\n" in p.text) for p in pieces):
                ctx.warn(
                    "the value holds a CR or LF: Apache refuses to send such a header "
                    "and answers 500 instead, and so does wsgihost"
                )
    if header.lower() in FRAMING and not request and action != "echo":
        ctx.warn(
            f"{header} is the HTTP layer's: wsgihost frames every response itself and "
            "leaves this header as it made it (see docs/differences.md)"
        )
    rule = HeaderRule(
        action=action,
        header=header,
        value=pieces,
        pattern=pattern,
        condition=condition,
        expr=condition_expr,
        value_expr=value_expr,
        file=ctx.file,
        line=ctx.line,
    )
    return table, rule


def _add(ctx: Context, args: list[str], request: bool) -> None:
    made = _rule(ctx, args, request)
    if made is None:
        return
    table, rule = made
    current = ctx.dir.settings.headers or HeadersConfig()
    added = {
        "request": HeadersConfig(request=(rule,)),
        "onsuccess": HeadersConfig(onsuccess=(rule,)),
        "always": HeadersConfig(always=(rule,)),
    }[table]
    ctx.dir.settings = replace(ctx.dir.settings, headers=current.merge(added))


def _header(ctx: Context, args: list[str]) -> None:
    _add(ctx, args, request=False)


def _request_header(ctx: Context, args: list[str]) -> None:
    _add(ctx, args, request=True)


DIRECTIVES: tuple[Directive, ...] = (
    record(
        "Header",
        "Header [always|onsuccess] set|append|merge|add|setifempty|unset|echo|note|edit|edit* "
        "header [[expr=]value [replacement] [early|env=[!]varname|expr=expression]]",
        ANY,
        (2, 6),
        "",
        "Changes the response's headers (mod_headers), in the order written, parent "
        "scopes' lines first. `onsuccess` (the default) lines act on the answers of "
        "the handler (static files, apps in both modes, whatever their status); "
        "`always` lines on every answer, the server's own error pages too. Values "
        "take `%{VAR}e`, `%{VAR}s`, `%D`, `%t`, `%%`; conditions `env=[!]VAR`, "
        "`expr=...`, `early`. A value holding CR or LF gets a 500, as in Apache.",
        _header,
        module="mod_headers",
    ),
    record(
        "RequestHeader",
        "RequestHeader set|append|merge|add|setifempty|unset|note|edit|edit* header "
        "[[expr=]value [replacement] [early|env=[!]varname|expr=expression]]",
        ANY,
        (2, 5),
        "",
        "Changes the request's headers before the app sees them (mod_headers' fixups "
        "phase; `early`: as soon as the request is read), in the order written, parent "
        "scopes' lines first.",
        _request_header,
        module="mod_headers",
    ),
)
