"""RewriteCond: the tests (regular expressions, comparisons, file tests, ap_expr) and how
conditions chain with [OR] (apply_rewrite_cond and the loop in apply_rewrite_rule).

Pure but for the file tests (``-f``, ``-d``, ...).
"""

from __future__ import annotations

import functools
import os
import re
import stat
from typing import TYPE_CHECKING

from wsgihost.mods.rewrite.expand import expand, lookup_variable
from wsgihost.mods.rewrite.rules import Cond
from wsgihost.mods.rewrite.run import Run, merge_vary

if TYPE_CHECKING:
    from wsgihost.expr import Expr


def atoi(text: str) -> int:
    m = re.match(r"\s*([+-]?\d+)", text)
    return int(m.group(1)) if m else 0


def _lexical(a: str, b: str) -> int:
    """compare_lexicography: a longer string is greater, then byte by byte."""
    if len(a) != len(b):
        return 1 if len(a) > len(b) else -1
    return (a > b) - (a < b)


def _stat(path: str, follow: bool = True) -> os.stat_result | None:
    try:
        return os.stat(path) if follow else os.lstat(path)
    except (OSError, ValueError):
        return None


def check_cond(run: Run, cond: Cond) -> bool:
    """One condition (apply_rewrite_cond), with the back-references it leaves."""
    if cond.kind == "expr":
        ok, groups = _expr(run, cond)
        if ok and not cond.negate:
            run.cond_groups, run.cond_src, run.cond_match = groups, None, None
        return ok != cond.negate
    value = expand(run, cond.test)[0]
    kind = cond.kind
    ok = False
    if kind == "regex":
        assert cond.regex is not None
        m = cond.regex.search(value)
        ok = m is not None
        if ok and not cond.negate:
            run.cond_src, run.cond_match, run.cond_groups = value, m, None
    elif kind in ("-f", "-s", "-d", "-x", "-F"):
        st = _stat(value) if value else None
        if kind in ("-f", "-F"):
            ok = st is not None and stat.S_ISREG(st.st_mode)
        elif kind == "-s":
            ok = st is not None and stat.S_ISREG(st.st_mode) and st.st_size > 0
        elif kind == "-d":
            ok = st is not None and stat.S_ISDIR(st.st_mode)
        else:
            ok = st is not None and bool(st.st_mode & 0o111)
    elif kind in ("-h", "-l", "-L"):
        st = _stat(value, follow=False) if value else None
        ok = st is not None and stat.S_ISLNK(st.st_mode)
    elif kind == "-U":
        ok = bool(value) and value.startswith("/")  # approximated: see docs/differences.md
    elif kind in ("<", "<=", ">", ">="):
        a, b = (value.lower(), cond.pattern.lower()) if cond.nocase else (value, cond.pattern)
        cmp = (a > b) - (a < b) if cond.nocase else _lexical(a, b)
        ok = {"<": cmp <= -1, "<=": cmp <= 0, ">": cmp >= 1, ">=": cmp >= 0}[kind]
    elif kind == "=":
        ok = value.lower() == cond.pattern.lower() if cond.nocase else value == cond.pattern
    else:
        x, y = atoi(value), atoi(cond.pattern)
        ok = {"-lt": x < y, "-le": x <= y, "-gt": x > y, "-ge": x >= y, "-eq": x == y}[kind]
    return ok != cond.negate


@functools.lru_cache(maxsize=256)
def _compiled(text: str) -> Expr:
    from wsgihost.expr import compile as compile_expr

    return compile_expr(text)


class _ExprView:
    """The request as an ap_expr condition reads it (wsgihost.expr.Request)."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def variable(self, name: str) -> str | None:
        return lookup_variable(self.run, name) or None

    def header(self, name: str) -> str | None:
        return self.run.r.header(name)

    def response_header(self, name: str) -> str | None:
        key = name.lower()
        return next((v for n, v in self.run.r.headers_out if n.lower() == key), None)

    def env(self, name: str) -> str | None:
        key = name.lower()
        return next((v for n, v in self.run.r.env.items() if n.lower() == key), None)

    def note(self, name: str) -> str | None:
        return self.run.r.notes.get(name)


def _expr(run: Run, cond: Cond) -> tuple[bool, tuple[str | None, ...] | None]:
    """An ``expr`` condition: its value and the captures its last match left (%N)."""
    from wsgihost.expr import EvaluationError

    assert cond.expr is not None
    try:
        outcome = _compiled(cond.expr).run(_ExprView(run))
    except EvaluationError as e:  # a failed evaluation is false (Apache logs it)
        run.site.log("error", f"RewriteCond: expr='{cond.pattern}' evaluation failed: {e}")
        return False, None
    if outcome.varies and not cond.novary:
        # ap_expr adds its headers to Vary itself, whether the condition holds or not.
        merge_vary(run.r, ", ".join(outcome.varies))
    return outcome.value, outcome.captures or None


def conditions(run: Run, conds: tuple[Cond, ...]) -> bool:
    i, n = 0, len(conds)
    while i < n:
        cond = conds[i]
        ok = check_cond(run, cond)
        if cond.novary:
            run.vary_this.clear()
        if cond.ornext:
            if not ok:
                run.vary_this.clear()
                i += 1
                continue
            while i < n and conds[i].ornext:
                i += 1  # the rest of the OR chain is not looked at
        elif not ok:
            return False
        if run.vary_this:
            run.vary.extend(run.vary_this)
            run.vary_this.clear()
        i += 1
    return True
