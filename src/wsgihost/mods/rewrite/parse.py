"""RewriteCond, RewriteRule and RewriteMap lines into the records of :mod:`.rules`.

Pure. Each parser returns the record, or the message Apache gives for a bad
line (:mod:`wsgihost.config.mod_rewrite` reports it with the file and line).
Patterns are compiled as Apache's ap_regcomp compiles them by default
(RegexDefaultOptions DOTALL DOLLAR_ENDONLY), in Python's terms.
"""

from __future__ import annotations

import re

from wsgihost.mods.rewrite.regex import ap_regcomp
from wsgihost.mods.rewrite.rules import Cond, MapSpec, Rule

# The statuses Apache knows (ap_index_of_response); R=code must be one.
KNOWN_STATUSES = frozenset(
    {100, 101, 102, 103, 226, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 510, 511}
    | set(range(200, 209))
    | set(range(300, 309))
    | set(range(400, 419))
    | set(range(500, 509))
)

_FILE_TESTS = {"-f", "-s", "-d", "-x", "-h", "-l", "-L", "-U", "-F"}
_INT_TESTS = {"-lt": "-lt", "-le": "-le", "-gt": "-gt", "-ge": "-ge", "-eq": "-eq"}


def parse_flags(text: str) -> list[tuple[str, str | None]] | str:
    """``[A,B=c]`` as (key, value) pairs, or Apache's message (cmd_parseflagfield)."""
    if not (text.startswith("[") and text.endswith("]")) or len(text) < 2:
        return "bad flag delimiters"
    found: list[tuple[str, str | None]] = []
    for part in text[1:-1].split(","):
        part = part.strip()
        if not part:
            continue
        key, eq, value = part.partition("=")
        found.append((key, value if eq else None))
    return found


def parse_cond(args: list[str], compile_expr: object = None) -> Cond | str:
    """A ``RewriteCond`` from its arguments, or the error to report."""
    test, pattern = args[0], args[1]
    nocase = ornext = novary = False
    if len(args) > 2:
        flags = parse_flags(args[2])
        if isinstance(flags, str):
            return f"RewriteCond: {flags}"
        for key, _ in flags:
            k = key.lower()
            if k in ("nocase", "nc"):
                nocase = True
            elif k in ("ornext", "or"):
                ornext = True
            elif k in ("novary", "nv"):
                novary = True
            else:
                return f"RewriteCond: unknown flag '{key}'"
    negate = pattern.startswith("!")
    rest = pattern[1:] if negate else pattern
    if rest == "=":
        rest = '=""'  # the reader took the quotes of =""; Apache reads the line raw
    kind = "regex"
    if test.lower() == "expr":
        kind = "expr"
    elif len(rest) >= 2:
        if rest in _FILE_TESTS:
            kind = rest
        elif rest[0] == "-" and len(rest) > 3 and rest[:3] in _INT_TESTS:
            kind, rest = rest[:3], rest[3:]
        elif rest[0] == "-" and len(rest) > 3 and rest[:3] == "-ne":
            kind, rest, negate = "-eq", rest[3:], not negate
        elif rest[0] in "<>":
            kind = rest[0] + ("=" if rest[1] == "=" else "")
            rest = rest[len(kind) :]
        elif rest[0] == "=":
            kind = "="
            rest = rest[1:]
            if rest == '""':
                rest = ""  # "" stands for the empty string
    if kind not in ("regex", "<", "<=", ">", ">=", "=") and nocase:
        nocase = False  # Apache warns and ignores NC on other tests (AH00665)
    regex = None
    expr = None
    if kind == "regex":
        regex = ap_regcomp(rest, nocase)
        if regex is None:
            return f"RewriteCond: cannot compile regular expression '{rest}'"
    elif kind == "expr":
        if compile_expr is None:
            return (
                "RewriteCond: 'expr' conditions need ap_expr, which wsgihost does not "
                "provide yet: write the test as a regular expression condition"
            )
        try:
            compile_expr(rest)  # type: ignore[operator]
        except ValueError as e:
            return f'RewriteCond: cannot compile expression "{rest}": {e}'
        expr = rest
    return Cond(test, kind, rest, regex, negate, nocase, ornext, novary, expr)


def _redirect_status(value: str) -> int | str:
    lowered = value.lower()
    named = {"permanent": 301, "temp": 302, "seeother": 303}
    if lowered in named:
        return named[lowered]
    if value[:1].isdigit():
        digits = re.match(r"\d+", value)
        status = int(digits.group(0)) if digits else 0
        if status != 500 and status not in KNOWN_STATUSES:
            return f"invalid HTTP response code '{value}' for flag 'R'"
        return status
    return 302


# The flags that only switch something on, by every spelling Apache accepts.
_SWITCHES = {
    **dict.fromkeys(("bnp", "backrefernoplus"), ("BNP",)),
    "bctls": ("B", "BCTLS"),
    **dict.fromkeys(("c", "chain"), ("C",)),
    **dict.fromkeys(("d", "dpi", "discardpath"), ("DPI",)),
    "end": ("END",),
    **dict.fromkeys(("l", "last"), ("L",)),
    **dict.fromkeys(("ne", "noescape"), ("NE",)),
    **dict.fromkeys(("ns", "nosubreq"), ("NS",)),
    **dict.fromkeys(("nc", "nocase"), ("NC",)),
    **dict.fromkeys(("pt", "passthrough"), ("PT",)),
    **dict.fromkeys(("qsa", "qsappend"), ("QSA",)),
    **dict.fromkeys(("qsd", "qsdiscard"), ("QSD",)),
    **dict.fromkeys(("qsl", "qslast"), ("QSL",)),
    "unsafeprefixstat": ("UNSAFE_PREFIX_STAT",),
    "unsafeallow3f": ("UNSAFE_ALLOW3F",),
    "unc": ("UNC",),
}
# Flags that keep a value: [E=...] and [CO=...] may be given several times.
_VALUES = {
    **dict.fromkeys(("h", "handler"), "handler"),
    **dict.fromkeys(("t", "type"), "mime"),
}
_LISTS = {**dict.fromkeys(("e", "env"), "env"), **dict.fromkeys(("co", "cookie"), "cookies")}


def _number(text: str) -> int:
    """atoi: the leading whole number, 0 for none."""
    m = re.match(r"\s*[+-]?\d+", text)
    return int(m.group(0)) if m else 0


def _rule_flag(rule: dict[str, object], flags: set[str], key: str, value: str | None) -> str | None:
    """One flag into ``rule`` (cmd_rewriterule_setflag); the error, if any."""
    k = key.lower()
    v = value or ""
    if k in _SWITCHES:
        flags.update(_SWITCHES[k])
    elif k in _VALUES:
        rule[_VALUES[k]] = v
    elif k in _LISTS:
        rule[_LISTS[k]] = (*rule.get(_LISTS[k], ()), v)  # type: ignore[misc]
    elif k in ("b", "backrefescaping"):
        flags.add("B")
        if v:
            rule["escapes"] = v
    elif k == "bne":
        if not v:
            return "flag 'BNE' wants a list of characters (i.e. [BNE=...])"
        rule["noescapes"] = v
    elif k.startswith("d"):
        pass  # Apache accepts any other D... flag silently
    elif k in ("f", "forbidden", "g", "gone"):
        flags.update(("STATUS", "NOSUB"))
        rule["status"] = 403 if k.startswith("f") else 410
    elif k in ("n", "next"):
        flags.add("N")
        if v:
            rule["max_rounds"] = _number(v)
    elif k in ("p", "proxy"):
        return (
            "the [P] flag proxies, and proxying is not provided by wsgihost "
            "(Apache without mod_proxy answers these requests 403)"
        )
    elif k in ("r", "redirect"):
        flags.add("R")
        if v:
            status = _redirect_status(v)
            if isinstance(status, str):
                return status
            rule["status"] = status
            if not 300 <= status <= 399:
                flags.update(("STATUS", "NOSUB"))
    elif k in ("s", "skip"):
        rule["skip"] = _number(v)
    else:
        return f"unknown flag '{key}'"
    return None


def parse_rule(args: list[str], conds: tuple[Cond, ...]) -> Rule | str:
    """A ``RewriteRule`` from its arguments and the conditions before it, or the error."""
    pattern, output = args[0], args[1]
    flags: set[str] = set()
    fields: dict[str, object] = {}
    if len(args) > 2:
        parsed = parse_flags(args[2])
        if isinstance(parsed, str):
            return f"RewriteRule: {parsed}"
        for key, value in parsed:
            err = _rule_flag(fields, flags, key, value)
            if err is not None:
                return f"RewriteRule: {err}"
    negate = pattern.startswith("!")
    if negate:
        pattern = pattern[1:]
    regex = ap_regcomp(pattern, "NC" in flags)
    if regex is None:
        return f"RewriteRule: cannot compile regular expression '{pattern}'"
    if output == "-":
        flags.add("NOSUB")
    if output.endswith("?"):
        if "QSA" in flags:
            flags.add("QSL")  # the last "?" splits the query
        else:
            flags.add("QSNONE")  # a trailing "?" drops the query string
            output = output[:-1]
    elif "QSD" in flags and "?" not in output:
        flags.add("QSNONE")
    return Rule(
        pattern=pattern,
        regex=regex,
        output=output,
        conds=conds,
        negate=negate,
        flags=frozenset(flags),
        **fields,  # type: ignore[arg-type]
    )


def parse_map(args: list[str], resolve: object) -> MapSpec | str:
    """``RewriteMap name type:source``; ``resolve`` makes a path absolute (ServerRoot)."""
    name, source = args[0], args[1]
    if not name:
        return "RewriteMap: a map needs a name"
    lowered = source.lower()
    if lowered.startswith("int:"):
        func = source[4:]
        if func not in ("tolower", "toupper", "escape", "unescape"):
            return f"RewriteMap: internal map not found:{func}"
        return MapSpec("int", func)
    if lowered.startswith("prg:"):
        return (
            "RewriteMap prg: is not provided by wsgihost: the program would run once per "
            "server, as root or as the front-end workers' user, and every request would wait "
            "on it; put the mapping in a txt: file, or in the app"
        )
    if lowered.startswith(("dbd:", "fastdbd:")):
        return "RewriteMap dbd: and fastdbd: need mod_dbd, which wsgihost does not provide"
    if lowered.startswith("dbm"):
        return (
            "RewriteMap dbm: is not provided by wsgihost (no DBM library is read): "
            "use the txt: file the DBM was made from (httxt2dbm's input)"
        )
    kind = "txt"
    path = source
    if lowered.startswith(("txt:", "rnd:")):
        kind, path = lowered[:3], source[4:]
    return MapSpec(kind, resolve(path))  # type: ignore[operator]
