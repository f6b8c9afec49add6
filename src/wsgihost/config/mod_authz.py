"""Authorization sections and merging: mod_authz_core's ``<RequireAll>``,
``<RequireAny>``, ``<RequireNone>`` and ``AuthMerging``, core's ``<Limit>`` and
``<LimitExcept>``, and mod_access_compat's ``Order``, ``Allow``, ``Deny`` and
``Satisfy`` (evaluated by :mod:`wsgihost.access.compat`).

Pure. A block is a :class:`~wsgihost.access.rules.Combine` in the scope's
rule tree; the ``Require`` lines inside it (config/mod_auth.py) land in it
through :func:`add_rule`, found by the path the block's context carries, and
a ``<Limit>``'s context carries the methods its lines speak for.
Apache's rules are kept where it checks them: a negated rule (``Require not``,
``<RequireNone>``) cannot stand in a block that grants on any one rule (the
scope's own lines, ``<RequireAny>``, ``<RequireNone>``), a block must hold a
rule, and a block whose rules are all negated can never grant (AH01624): all
three are configuration errors, as Apache refuses to start with them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from wsgihost.access.compat import Compat, parse_source
from wsgihost.access.rules import (
    ALL_METHODS,
    Combine,
    Methods,
    Rule,
    block_at,
    only_negative,
    placed,
    spliced,
)
from wsgihost.config import htaccess
from wsgihost.config.draft import Context
from wsgihost.config.table import DIRECTORY, Apply, Directive, record

_DIR = frozenset({DIRECTORY})

_NAMES = {("all", False): "<RequireAll>", ("any", False): "<RequireAny>"}


def block_name(block: Combine) -> str:
    """How Apache names a block in its messages (the scope's own lines: <RequireAny>)."""
    return _NAMES.get((block.op, block.negate), "<RequireNone>")


def _root(ctx: Context) -> Combine:
    authz = ctx.dir.settings.authz
    return authz if isinstance(authz, Combine) else Combine("any", ())


def current_block(ctx: Context) -> Combine:
    """The block a ``Require`` line here joins: its container's, else the scope's lines."""
    return block_at(_root(ctx), ctx.authz_path or ())


def add_rule(ctx: Context, rule: Rule) -> tuple[int, ...]:
    """Put ``rule`` in the block ``ctx`` is in; its path in the scope's tree."""
    root = _root(ctx)
    path = ctx.authz_path or ()
    index = len(block_at(root, path).children)
    draft = ctx.dir
    draft.settings = replace(draft.settings, authz=placed(root, path, rule))
    if ctx.authz_path is not None or ctx.limit is not None or isinstance(rule, Combine):
        # A block, or a rule inside one: the shortcut summary ("every rule
        # denies everyone") no longer holds, so the tree decides.
        draft.require = "granted"
    return (*path, index)


def _nested(ctx: Context) -> Context:
    """A context for what a block or a <Limit> encloses: the same scope, same place."""
    inner = ctx.child(ctx.level, ctx.host, ctx.section)
    inner.authz_path, inner.limit = ctx.authz_path, ctx.limit
    return inner


def _block(op: Literal["all", "any"], negate: bool) -> Apply:
    def apply(ctx: Context, args: list[str]) -> Context | None:
        fresh = Combine(op, (), negate)
        outer = current_block(ctx)
        if negate and outer.op == "any":
            ctx.error(
                f"{block_name(fresh)} directive has no effect in {block_name(outer)} "
                "directive (as Apache says: a negated block can only deny, so it "
                "belongs inside <RequireAll>)"
            )
            return None
        file, line, name = ctx.file, ctx.line, ctx.name
        path = add_rule(ctx, fresh)
        inner = _nested(ctx)
        inner.authz_path = path

        def close() -> None:
            block = block_at(_root(inner), path)
            if not block.children:
                ctx.problems.error(
                    file,
                    line,
                    f"{name}: {block_name(block)} directive contains no authorization directives",
                )
            elif not spliced(outer.op, block) and only_negative(block):
                ctx.problems.error(
                    file,
                    line,
                    f"{name}: AH01624: {block_name(block)} directive contains only "
                    "negative authorization directives (it could never grant)",
                )

        inner.on_close = close
        return inner

    return apply


def _limit(inverted: bool) -> Apply:
    def apply(ctx: Context, args: list[str]) -> Context | None:
        if not inverted and "TRACE" in args:
            ctx.error("TRACE cannot be controlled by <Limit>, see TraceEnable")
            return None
        # Method names are case-sensitive; HEAD is GET's, as in Apache's registry.
        names = frozenset("GET" if m == "HEAD" else m for m in args)
        outer = ctx.limit or ALL_METHODS
        methods = outer & Methods(names, inverted)
        if methods.empty:
            ctx.error(f"{ctx.name} directive excludes all methods")
            return None
        if methods == outer:
            ctx.error(f"{ctx.name} directive specifies methods already excluded")
            return None
        inner = _nested(ctx)
        inner.limit = methods
        return inner

    return apply


# Sections Apache refuses inside <Limit> and inside the rule blocks (NOT_IN_LIMIT).
_NOT_IN_LIMIT = frozenset({"Files", "FilesMatch", "If", "ElseIf", "Else"})


def refused_inside(ctx: Context, name: str, section: bool) -> str | None:
    """Why the directive ``name`` may not stand where ``ctx`` is, if it may not."""
    if ctx.limit is None and ctx.authz_path is None:
        return None
    if name in _NOT_IN_LIMIT:
        label = f"<{name}>" if section else name
        return f"{label} cannot occur within <Limit> or <LimitExcept> section"
    if ctx.authz_path is not None:
        # Apache reads a block's lines as AuthConfig ones (OR_AUTHCFG); All counts.
        kind = htaccess.OVERRIDE_CLASS.get(name, "")
        if "AuthConfig" not in kind and kind != "All":
            return f"{name} not allowed here (inside <RequireAll>/<RequireAny>/<RequireNone>)"
    return None


def _compat(ctx: Context) -> Compat:
    return ctx.dir.settings.compat or Compat()


def _set_compat(ctx: Context, compat: Compat) -> None:
    ctx.dir.settings = replace(ctx.dir.settings, compat=compat)


def _order(ctx: Context, args: list[str]) -> None:
    value = args[0].lower()
    if value not in ("allow,deny", "deny,allow", "mutual-failure"):
        ctx.error("unknown order")
        return
    compat = _compat(ctx)
    methods = ctx.limit or ALL_METHODS
    _set_compat(ctx, replace(compat, orders=(*compat.orders, (methods, value))))


def _allow_deny(allow: bool) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        if args[0].lower() != "from":
            ctx.error("allow and deny must be followed by 'from'")
            return
        sources = []
        for word in args[1:]:
            source = parse_source(word, ctx.limit or ALL_METHODS)
            if isinstance(source, str):
                ctx.error(source)
                return
            sources.append(source)
        compat = _compat(ctx)
        if allow:
            compat = replace(compat, allows=(*compat.allows, *sources))
        else:
            compat = replace(compat, denies=(*compat.denies, *sources))
        _set_compat(ctx, compat)

    return apply


def _satisfy(ctx: Context, args: list[str]) -> None:
    value = args[0].lower()
    if value not in ("all", "any"):
        ctx.error("Satisfy either 'any' or 'all'.")
        return
    compat = _compat(ctx)
    methods = ctx.limit or ALL_METHODS
    _set_compat(ctx, replace(compat, satisfies=(*compat.satisfies, (methods, value))))


def _auth_merging(ctx: Context, args: list[str]) -> None:
    value = args[0].lower()
    if value not in ("off", "and", "or"):
        ctx.error("AuthMerging must be one of: Off | And | Or")
        return
    ctx.dir.settings = replace(ctx.dir.settings, auth_merging=value)


_DOC = (
    "Nests rules as mod_authz_core does; blocks nest in one another. `Require not` "
    "is allowed only inside <RequireAll> (elsewhere it could never deny: an error, as "
    "in Apache); an empty block, a <RequireNone> outside <RequireAll>, and a block "
    "whose rules are all negated are errors too. Other directives written inside "
    "apply to the enclosing section."
)

_LIMIT_DOC = (
    " HEAD goes with GET. The Require lines (and rule blocks) inside speak for those "
    "methods only: for another method a rule there has no say (it grants inside "
    "<RequireAll> and at the section's top, and gives no verdict in <RequireAny>), "
    "as mod_authz_core has it. Order, Allow, Deny and Satisfy inside speak for those "
    "methods too. Other directives inside apply to every method, as in Apache; <Files> "
    "and <If> are refused there, as Apache refuses them."
)

_COMPAT_NOTE = (
    " A section with any of Order, Allow, Deny or Satisfy replaces those of the "
    "sections around it, all four (mod_access_compat has no merge of its own)."
)

DIRECTIVES: tuple[Directive, ...] = (
    record(
        "Order",
        "Order Allow,Deny|Deny,Allow|Mutual-failure",
        _DIR,
        (1, 1),
        "Deny,Allow",
        "Apache 2.2's access control (mod_access_compat). Deny,Allow: allowed unless a "
        "Deny matches and no Allow does; Allow,Deny and Mutual-failure: denied unless an "
        "Allow matches and no Deny does. A denial is a 403 (AH01797) whatever Require "
        "says, unless `Satisfy Any`." + _COMPAT_NOTE,
        _order,
        module="mod_access_compat",
    ),
    record(
        "Allow",
        "Allow from all|host|ip|env=[!]VAR ...",
        _DIR,
        (2, None),
        "",
        "See Order. `all`; whole or partial addresses (`10.1`), `net/mask`, CIDR, IPv6; "
        "host names and domain suffixes (`.example.com`), matched against the client's "
        "forward-confirmed reverse-DNS name (looked up on a thread, never on the event "
        "loop); `env=VAR` (set) and `env=!VAR` (not set).",
        _allow_deny(True),
        module="mod_access_compat",
    ),
    record(
        "Deny",
        "Deny from all|host|ip|env=[!]VAR ...",
        _DIR,
        (2, None),
        "",
        "See Order and Allow.",
        _allow_deny(False),
        module="mod_access_compat",
    ),
    record(
        "Satisfy",
        "Satisfy Any|All",
        _DIR,
        (1, 1),
        "All",
        "All: Order/Allow/Deny (and WSGIAccessScript) must let the client in, and then "
        "Require decides. Any: a client they let in needs nothing more (no Require, no "
        "password); any other is judged by Require alone (a password, say).",
        _satisfy,
        module="mod_access_compat",
    ),
    record(
        "Limit",
        "<Limit method [method] ...>",
        _DIR,
        (1, None),
        "",
        "Rules for the methods named (case-sensitive; TRACE is TraceEnable's)." + _LIMIT_DOC,
        _limit(False),
        section=True,
    ),
    record(
        "LimitExcept",
        "<LimitExcept method [method] ...>",
        _DIR,
        (1, None),
        "",
        "Rules for every method but those named." + _LIMIT_DOC,
        _limit(True),
        section=True,
    ),
    record(
        "AuthMerging",
        "AuthMerging Off|And|Or",
        _DIR,
        (1, 1),
        "Off",
        "How this section's Require rules join those of the sections it lies in "
        "(<Directory> under <Location>, ...): Off, the default, replaces them (and a "
        "section with AuthMerging Off and no Require of its own requires nothing); And "
        "needs both to grant (a <RequireAll> of them), Or either (a <RequireAny>). A "
        "section without Require lines keeps the outer rules. Not inherited: it speaks "
        "for its own section only.",
        _auth_merging,
        module="mod_authz_core",
    ),
    record(
        "RequireAll",
        "<RequireAll>",
        _DIR,
        (0, 0),
        "",
        "Granted when no rule inside denies and at least one grants. " + _DOC,
        _block("all", False),
        module="mod_authz_core",
        section=True,
    ),
    record(
        "RequireAny",
        "<RequireAny>",
        _DIR,
        (0, 0),
        "",
        "Granted when any rule inside grants (what several Require lines of one "
        "section mean already). " + _DOC,
        _block("any", False),
        module="mod_authz_core",
        section=True,
    ),
    record(
        "RequireNone",
        "<RequireNone>",
        _DIR,
        (0, 0),
        "",
        "Denied when any rule inside grants, else no verdict: it can never grant on "
        "its own, so it belongs inside <RequireAll>. " + _DOC,
        _block("any", True),
        module="mod_authz_core",
        section=True,
    ),
)
