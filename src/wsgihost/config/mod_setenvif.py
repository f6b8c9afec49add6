"""mod_setenvif's directives: ``SetEnvIf``, ``SetEnvIfNoCase``, ``BrowserMatch``,
``BrowserMatchNoCase`` and ``SetEnvIfExpr``.

Pure. Each line becomes a :class:`~wsgihost.mods.setenvif_core.Condition` in
its scope's :class:`~wsgihost.mods.setenvif_core.SetEnvIfConfig` (the
``setenvif`` field of DirSettings). Apache keeps the lines written outside
any section apart (its server config) and runs them as soon as the request
is read, the others once it is mapped: a condition written at server or
virtual-host level is marked ``server_level`` and :mod:`wsgihost.mods.setenvif`
runs it in the first pass only.
"""

from __future__ import annotations

import re
from dataclasses import replace

from wsgihost.config.draft import Context
from wsgihost.config.mod_headers import _compile_expr
from wsgihost.config.table import ANY, Directive, record
from wsgihost.mods.setenvif_core import (
    Condition,
    SetEnvIfConfig,
    compile_condition,
    parse_variables,
)


def _server_level(ctx: Context) -> bool:
    return ctx.section is None and ctx.level != "directory"


def _store(ctx: Context, condition: Condition) -> None:
    condition = replace(condition, server_level=_server_level(ctx), file=ctx.file, line=ctx.line)
    current = ctx.dir.settings.setenvif or SetEnvIfConfig()
    ctx.dir.settings = replace(
        ctx.dir.settings, setenvif=current.merge(SetEnvIfConfig((condition,)))
    )


def _add(ctx: Context, attribute: str, args: list[str], nocase: bool) -> None:
    regex, words = args[0], args[1:]
    if not words:
        ctx.error(f"Missing envariable expression for {ctx.name}")
        return
    variables, early = parse_variables(words, _server_level(ctx))
    try:
        condition = compile_condition(attribute, regex, variables, nocase, early)
    except re.error as e:
        ctx.error(f"{ctx.name} regex could not be compiled ({e})")
        return
    _store(ctx, condition)


def _set_env_if(ctx: Context, args: list[str]) -> None:
    _add(ctx, args[0], args[1:], nocase=False)


def _set_env_if_nocase(ctx: Context, args: list[str]) -> None:
    _add(ctx, args[0], args[1:], nocase=True)


def _browser_match(ctx: Context, args: list[str]) -> None:
    _add(ctx, "User-Agent", args, nocase=False)


def _browser_match_nocase(ctx: Context, args: list[str]) -> None:
    _add(ctx, "User-Agent", args, nocase=True)


def _set_env_if_expr(ctx: Context, args: list[str]) -> None:
    text, words = args[0], args[1:]
    if not words:
        ctx.error(f"Missing envariable expression for {ctx.name}")
        return
    compiled, problem = _compile_expr(text, string=False)
    if problem is not None:
        ctx.error(f'Could not parse expression "{text}": {problem}')
        return
    variables, early = parse_variables(words, _server_level(ctx))
    condition = Condition("", None, None, variables, early=early, expr=compiled)
    _store(ctx, condition)


_VARS = "[!]env-variable[=value] [[!]env-variable[=value]] ..."

DIRECTIVES: tuple[Directive, ...] = (
    record(
        "SetEnvIf",
        f"SetEnvIf attribute regex {_VARS}",
        ANY,
        (3, None),
        "",
        "Sets request environment variables (seen by the app and by `Header ... env=`) "
        "when a request attribute matches: a request header (or a regex of header "
        "names), `Remote_Addr`, `Remote_Host`, `Server_Addr`, `Request_Method`, "
        "`Request_Protocol`, `Request_URI`, or a variable set earlier. `$1`..`$9` in "
        "a value are the regex's groups. At server or virtual-host level it runs as "
        "soon as the request is read; in a section, once the request is mapped.",
        _set_env_if,
        module="mod_setenvif",
    ),
    record(
        "SetEnvIfNoCase",
        f"SetEnvIfNoCase attribute regex {_VARS}",
        ANY,
        (3, None),
        "",
        "SetEnvIf, with the regex (and a regex of header names) matched without regard "
        "to letter case.",
        _set_env_if_nocase,
        module="mod_setenvif",
    ),
    record(
        "BrowserMatch",
        f"BrowserMatch regex {_VARS}",
        ANY,
        (2, None),
        "",
        "SetEnvIf User-Agent (Debian's setenvif.conf uses it for old browsers).",
        _browser_match,
        module="mod_setenvif",
    ),
    record(
        "BrowserMatchNoCase",
        f"BrowserMatchNoCase regex {_VARS}",
        ANY,
        (2, None),
        "",
        "SetEnvIfNoCase User-Agent.",
        _browser_match_nocase,
        module="mod_setenvif",
    ),
    record(
        "SetEnvIfExpr",
        f"SetEnvIfExpr expression {_VARS}",
        ANY,
        (2, None),
        "",
        "Sets request environment variables when an ap_expr expression is true.",
        _set_env_if_expr,
        module="mod_setenvif",
    ),
)
