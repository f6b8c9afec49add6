"""mod_rewrite's directives: RewriteEngine, RewriteOptions, RewriteBase, RewriteCond,
RewriteRule and RewriteMap.

Pure (RewriteMap checks that its file exists, as Apache does at start-up).
The lines are parsed by :mod:`wsgihost.mods.rewrite.rules`; they go into
``DirSettings.rewrite`` (:class:`~wsgihost.mods.rewrite.rules.RewriteDir`).
In a host itself (server or virtual host context) RewriteRule, RewriteCond
and RewriteMap write the server's configuration (``RewriteDir.server``),
while RewriteEngine and RewriteOptions write both it and the host's
per-directory defaults, as mod_rewrite's commands do; in ``<Directory>`` and
``.htaccess`` they write that directory's configuration, whose path is the
per-directory prefix its rules see stripped.
"""

from __future__ import annotations

import os
from dataclasses import replace

from wsgihost.config.draft import Context
from wsgihost.config.table import ANY, DIRECTORY, TOP, Directive, record
from wsgihost.config.values import parse_flag
from wsgihost.mods.rewrite.parse import parse_cond, parse_map, parse_rule
from wsgihost.mods.rewrite.rules import OPTIONS, RewriteDir, RewriteServer

_MODULE = "mod_rewrite"


def _dir(ctx: Context) -> RewriteDir:
    found = ctx.dir.settings.rewrite
    if found is not None:
        return found
    section = ctx.section
    if section is None:
        return RewriteDir(server=RewriteServer())
    path = section.pattern
    return RewriteDir(directory=path if path.endswith("/") else path + "/")


def _store(ctx: Context, conf: RewriteDir) -> None:
    ctx.dir.settings = replace(ctx.dir.settings, rewrite=conf)


def _server(conf: RewriteDir) -> RewriteServer:
    return conf.server or RewriteServer()


def _engine(ctx: Context, args: list[str]) -> None:
    on = parse_flag(ctx, args[0])
    if on is None:
        return
    conf = replace(_dir(ctx), engine=on)
    if ctx.section is None:
        conf = replace(conf, server=replace(_server(conf), engine=on))
    _store(ctx, conf)


def _options(ctx: Context, args: list[str]) -> None:
    added: set[str] = set()
    for word in args:
        if word.lower().startswith("maxredirects="):
            continue  # removed in 2.4 (LimitInternalRecursion); Apache only warns
        name = OPTIONS.get(word.lower())
        if name is None:
            ctx.error(f"RewriteOptions: unknown option '{word}'")
            return
        added.add(name)
    conf = _dir(ctx).with_options(frozenset(added))
    if ctx.section is None:
        server = _server(conf)
        opts = (server.options or frozenset()) | added
        conf = replace(conf, server=replace(server, options=opts))
    _store(ctx, conf)


def _base(ctx: Context, args: list[str]) -> None:
    if ctx.section is None:
        ctx.error("RewriteBase: only valid in per-directory config files")
        return
    url = args[0]
    if not url:
        ctx.error("RewriteBase: empty URL not allowed")
        return
    if not url.startswith("/"):
        ctx.error("RewriteBase: argument is not a valid URL")
        return
    _store(ctx, replace(_dir(ctx), base=url, base_set=True))


def _compile_expr(text: str) -> object:
    from wsgihost import expr

    try:
        return expr.compile(text)
    except expr.ExprError as e:
        raise ValueError(str(e)) from None


def _cond(ctx: Context, args: list[str]) -> None:
    found = parse_cond(args, _compile_expr)
    if isinstance(found, str):
        ctx.error(found.removeprefix("RewriteCond: "))
        return
    conf = _dir(ctx)
    if ctx.section is None:
        server = _server(conf)
        conf = replace(conf, server=replace(server, pending=(*server.pending, found)))
    else:
        conf = replace(conf, pending=(*conf.pending, found))
    _store(ctx, conf)


def _rule(ctx: Context, args: list[str]) -> None:
    conf = _dir(ctx)
    server = _server(conf) if ctx.section is None else None
    pending = server.pending if server is not None else conf.pending
    found = parse_rule(args, pending)
    if isinstance(found, str):
        ctx.error(found.removeprefix("RewriteRule: "))
        return
    if server is not None:
        server = replace(server, rules=(*server.rules, found), pending=())
        conf = replace(conf, server=server)
    else:
        conf = replace(conf, rules=(*conf.rules, found), pending=())
    _store(ctx, conf)


def _map(ctx: Context, args: list[str]) -> None:
    found = parse_map(args, ctx.path)
    if isinstance(found, str):
        ctx.error(found.removeprefix("RewriteMap: "))
        return
    if found.kind != "int" and not os.path.exists(found.source):
        ctx.error(f"file for map {args[0]} not found:{found.source}")
        return
    conf = _dir(ctx)
    server = _server(conf)
    maps = (*((n, m) for n, m in server.maps if n != args[0]), (args[0], found))
    _store(ctx, replace(conf, server=replace(server, maps=maps)))


_FLAGS_DOC = (
    "Flags: L, END, R[=code], NC, QSA, QSD, QSL, NE, PT, F, G, E=VAR:VAL, E=!VAR, CO=, "
    "S=n, C, T=, H=, N[=limit], B[=chars], BNP, BNE=, BCTLS, DPI, NS, UnsafeAllow3F, "
    "UnsafePrefixStat, UNC. [P] is refused: proxying is not provided. T= sets the "
    "type of a file; H= is not applied (see docs/differences.md)."
)

DIRECTIVES: tuple[Directive, ...] = (
    record(
        "RewriteEngine",
        "RewriteEngine On|Off",
        ANY,
        (1, 1),
        "Off",
        "Turns rewriting on or off for the host (server rules, and the default of its "
        "directories) or for a directory.",
        _engine,
        module=_MODULE,
    ),
    record(
        "RewriteOptions",
        "RewriteOptions option ...",
        ANY,
        (1, None),
        "",
        "Inherit, InheritBefore, InheritDown, InheritDownBefore, IgnoreInherit, "
        "AllowNoSlash, AllowAnyURI, MergeBase, IgnoreContextInfo, LegacyPrefixDocRoot, "
        "UnsafePrefixStat; MaxRedirects= is accepted and has no effect, as in Apache 2.4.",
        _options,
        module=_MODULE,
    ),
    record(
        "RewriteBase",
        "RewriteBase URL-path",
        frozenset({DIRECTORY}),
        (1, 1),
        "",
        "The URL of the directory whose per-directory rules make relative substitutions.",
        _base,
        module=_MODULE,
    ),
    record(
        "RewriteCond",
        "RewriteCond TestString CondPattern [flags]",
        ANY,
        (2, 3),
        "",
        "A condition for the next RewriteRule: a regular expression (with !), -f, -s, -d, "
        "-l/-L/-h, -x, -F (a file test, not a subrequest), -U (approximated: a URL path "
        "counts as found), <, >, =, <=, >=, -eq, -ne, -lt, -le, -gt, -ge, and "
        '`expr "..."` (ap_expr, as in <If>). Flags NC, OR, NV.',
        _cond,
        module=_MODULE,
    ),
    record(
        "RewriteRule",
        "RewriteRule Pattern Substitution [flags]",
        ANY,
        (2, 3),
        "",
        "Rewrites a URL (server context) or a file path with its per-directory prefix "
        "stripped (directory context), with $N, %N, %{VAR} and ${map:key|default}. " + _FLAGS_DOC,
        _rule,
        module=_MODULE,
    ),
    record(
        "RewriteMap",
        "RewriteMap name type:source",
        TOP,
        (2, 3),
        "",
        "txt: and rnd: files (read again when they change), int:tolower, int:toupper, "
        "int:escape, int:unescape. dbm:, prg:, dbd: and fastdbd: are refused: prg: would run "
        "a program as root or the front end's user for every lookup.",
        _map,
        module=_MODULE,
    ),
)
