"""``<If expr>``, ``<ElseIf expr>`` and ``<Else>``: per-directory settings chosen per request.

Pure. Read here (the expression compiled once, with Apache's messages for a
bad one); applied per request by the pipeline through :func:`walk`, which
does what httpd's ap_if_walk does after the location walk:

- the sections of every scope that applies (server, virtual host, the
  ``<Directory>``/``<Location>``/``<Files>`` sections that matched, in merge
  order) are tried in order; an ``<If>`` whose expression is true is merged
  in, and the ``<ElseIf>``/``<Else>`` sections chained to it are skipped; an
  ``<ElseIf>``/``<Else>`` is tried only when nothing before it in its chain
  was true;
- an expression that fails to evaluate counts as false (and is logged,
  AH00039);
- the sections chosen are merged together, on top of the request's
  settings, then the ``<If>`` sections nested in them are walked the same way.

Where a section may be written follows Apache: in the server, a virtual host,
a ``<Directory>``, ``<Location>`` or ``<Files>`` section, or another ``<If>``;
an ``<ElseIf>``/``<Else>`` must follow an ``<If>``/``<ElseIf>`` of the same
scope. Inside one, only directives of a directory context are allowed
(``DocumentRoot``, ``Alias``, ``WSGIScriptAlias``, ``<Directory>`` are
refused, as Apache refuses them), since the settings are chosen after the
URL was mapped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from wsgihost.config.draft import Context, DirDraft, SectionDraft
from wsgihost.config.model import Condition, DirSettings, Where
from wsgihost.config.table import ANY, Directive
from wsgihost.expr import EvaluationError, Expr, ExprError, Request
from wsgihost.expr import compile as compile_expr

Kind = Literal["if", "elseif", "else"]
_TAGS = {"if": "If", "elseif": "ElseIf", "else": "Else"}


@dataclass
class ConditionDraft:
    """A section being read: its body is filled in after it is opened."""

    kind: Kind
    expr: Expr | None
    body: DirDraft
    where: Where

    def freeze(self) -> Condition:
        return Condition(self.kind, self.expr, self.body.freeze(), self.where)


# -- reading ---------------------------------------------------------------------------


def _section(kind: Kind) -> Callable[[Context, list[str]], Context | None]:
    tag = _TAGS[kind]

    def apply(ctx: Context, args: list[str]) -> Context | None:
        expr: Expr | None = None
        if kind == "else":
            if args:
                ctx.error("<Else> does not take an argument")
                return None
        else:
            if not args:
                ctx.error(f"<{tag}> directive requires additional arguments")
                return None
            if len(args) > 1:
                ctx.error(f"Multiple <{tag}> arguments not supported.")
                return None
            try:
                expr = compile_expr(args[0])
            except ExprError as e:
                ctx.error(f"Cannot parse condition clause: {e}")
                return None
        parent = ctx.dir
        if kind != "if" and (not parent.conditions or parent.conditions[-1].kind == "else"):
            ctx.error(
                "<Else> or <ElseIf> section without previous <If> or <ElseIf> section in same scope"
            )
            return None
        section = SectionDraft("if", args[0] if args else "", False, ctx.where)
        parent.conditions.append(ConditionDraft(kind, expr, section.dir, ctx.where))
        return ctx.child("directory", ctx.host, section)

    return apply


# -- applying, per request ---------------------------------------------------------------


def walk(
    settings: DirSettings, request: Request, log: Callable[[str], None]
) -> tuple[DirSettings, tuple[str, ...]]:
    """``settings`` with the ``<If>`` sections that hold for ``request`` merged in.

    Returns the settings and the request headers the expressions read (Apache
    adds them to the response's Vary). ``log`` gets an error-log line for an
    expression that could not be evaluated.
    """
    varies: list[str] = []
    found = settings.conditions
    items = found.items if found is not None else ()
    while items:
        chosen: DirSettings | None = None
        previous = -1  # 1: a section of this chain was true; 0: none yet; -1: no chain
        for cond in items:
            if cond.kind != "if" and previous == 1:
                continue
            if cond.expr is not None:
                if not _holds(cond, request, log, varies):
                    previous = 0
                    continue
                previous = 1
            else:
                previous = -1
            chosen = cond.settings if chosen is None else chosen.merge(cond.settings)
        if chosen is None:
            break
        settings = settings.merge(chosen)
        # Only the sections nested in the chosen ones are walked next.
        nested = chosen.conditions
        items = nested.items if nested is not None else ()
    return settings, tuple(varies)


def _holds(
    cond: Condition, request: Request, log: Callable[[str], None], varies: list[str]
) -> bool:
    assert cond.expr is not None
    try:
        outcome = cond.expr.run(request)
    except EvaluationError as e:
        # The evaluator's own line (AH03299, written without its number), then ap_if_walk's.
        where = cond.where
        log(f"Evaluation of expression from {where.file}:{where.line} failed: {e}")
        log(f"AH00039: Failed to evaluate <If > condition: {e}")
        return False
    varies.extend(v for v in outcome.varies if v not in varies)
    return outcome.value


_WHERE = (
    "Directives of a directory context are allowed inside; DocumentRoot, Alias, "
    "WSGIScriptAlias and other sections are refused, as Apache refuses them."
)
DIRECTIVES: tuple[Directive, ...] = (
    Directive(
        name="If",
        syntax='<If "expression">',
        contexts=ANY,
        min_args=0,
        max_args=None,
        default="",
        doc="Applies what it encloses to a request only when the expression (Apache's "
        "expression language: `%{HTTP_HOST} == 'a.test'`, `%{REQUEST_URI} =~ m#^/x#`, "
        "`-f`, `req('X-Header')`, ...) is true for it. The expression is checked when "
        "the configuration is read; a bad one is an error. " + _WHERE,
        module="core",
        section=True,
        apply=_section("if"),
    ),
    Directive(
        name="ElseIf",
        syntax='<ElseIf "expression">',
        contexts=ANY,
        min_args=0,
        max_args=None,
        default="",
        doc="Follows an `<If>` or `<ElseIf>` of the same scope; applies when none before "
        "it in the chain was true and its expression is.",
        module="core",
        section=True,
        apply=_section("elseif"),
    ),
    Directive(
        name="Else",
        syntax="<Else>",
        contexts=ANY,
        min_args=0,
        max_args=None,
        default="",
        doc="Follows an `<If>` or `<ElseIf>` of the same scope; applies when none before "
        "it in the chain was true.",
        module="core",
        section=True,
        apply=_section("else"),
    ),
)
