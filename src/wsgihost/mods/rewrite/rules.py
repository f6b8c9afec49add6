"""mod_rewrite's configuration: conditions, rules, maps, and how scopes merge.

Pure. ``RewriteCond`` and ``RewriteRule`` lines are parsed here into frozen
records (:func:`parse_cond`, :func:`parse_rule` return the record or the
message Apache gives, which :mod:`wsgihost.config.mod_rewrite` reports with
the file and line). :class:`RewriteDir` is the module's one field in
``DirSettings``: the per-directory configuration (``<Directory>``,
``.htaccess``), and, at host level, the server configuration as well
(:class:`RewriteServer`: the vhost's rules and maps), which Apache keeps
apart from the per-directory one and merges its own way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

# Apache's REWRITE_MAX_ROUNDS: the [N] flag's default limit of rounds.
MAX_ROUNDS = 32000

# The statuses Apache knows (ap_index_of_response); R=code must be one.
KNOWN_STATUSES = frozenset(
    {100, 101, 102, 103, 226, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 510, 511}
    | set(range(200, 209))
    | set(range(300, 309))
    | set(range(400, 419))
    | set(range(500, 509))
)

OPTIONS = {
    "inherit": "Inherit",
    "inheritbefore": "InheritBefore",
    "inheritdown": "InheritDown",
    "inheritdownbefore": "InheritDownBefore",
    "ignoreinherit": "IgnoreInherit",
    "allownoslash": "AllowNoSlash",
    "allowanyuri": "AllowAnyURI",
    "mergebase": "MergeBase",
    "ignorecontextinfo": "IgnoreContextInfo",
    "legacyprefixdocroot": "LegacyPrefixDocRoot",
    "unsafeprefixstat": "UnsafePrefixStat",
}

_FILE_TESTS = {"-f", "-s", "-d", "-x", "-h", "-l", "-L", "-U", "-F"}
_INT_TESTS = {"-lt": "-lt", "-le": "-le", "-gt": "-gt", "-ge": "-ge", "-eq": "-eq"}


@dataclass(frozen=True)
class Cond:
    """One ``RewriteCond TestString CondPattern [flags]``."""

    test: str  # expanded per request
    kind: str  # "regex", "expr", "-f" ... "-F", "=", "<", "<=", ">", ">=", "-eq" ...
    pattern: str  # what is compared (the operator taken off)
    regex: re.Pattern[str] | None = None
    negate: bool = False
    nocase: bool = False
    ornext: bool = False
    novary: bool = False
    # kind "expr": the ap_expr text, checked when read and compiled where it runs
    # (a compiled one cannot be sent to the worker processes).
    expr: str | None = None


@dataclass(frozen=True)
class Rule:
    """One ``RewriteRule Pattern Substitution [flags]`` with the conditions before it."""

    pattern: str
    regex: re.Pattern[str]
    output: str
    conds: tuple[Cond, ...] = ()
    negate: bool = False
    flags: frozenset[str] = frozenset()
    status: int = 302  # R=, F (403), G (410)
    skip: int = 0
    max_rounds: int = MAX_ROUNDS
    env: tuple[str, ...] = ()  # E=VAR:VAL, E=!VAR (expanded per request)
    cookies: tuple[str, ...] = ()  # CO=
    mime: str | None = None  # T=
    handler: str | None = None  # H=
    escapes: str | None = None  # B=chars
    noescapes: str | None = None  # BNE=chars


@dataclass(frozen=True)
class MapSpec:
    """``RewriteMap name type:source``: txt and rnd files, int: functions."""

    kind: str  # "txt" | "rnd" | "int"
    source: str  # the file, or the function's name


@dataclass(frozen=True)
class RewriteServer:
    """What Apache keeps per server (rewrite_server_conf): the vhost's rules and maps."""

    engine: bool | None = None
    options: frozenset[str] | None = None
    rules: tuple[Rule, ...] = ()
    pending: tuple[Cond, ...] = ()  # conditions still waiting for their rule
    maps: tuple[tuple[str, MapSpec], ...] = ()

    def merge(self, over: RewriteServer) -> RewriteServer:
        """The main server's configuration under a virtual host's (config_server_merge)."""
        options = over.options if over.options is not None else self.options
        opts = options or frozenset()
        base_opts = self.options or frozenset()
        ignore = "IgnoreInherit" in opts
        maps = dict(self.maps)
        if "Inherit" in opts or ("InheritDown" in base_opts and not ignore):
            maps.update(dict(over.maps))  # the vhost's own win
            rules = over.rules + self.rules
        elif "InheritBefore" in opts or ("InheritDownBefore" in base_opts and not ignore):
            # apr_hash_overlay(base, overrides): the main server's entries win.
            maps = {**dict(over.maps), **dict(self.maps)}
            rules = self.rules + over.rules
        else:
            maps = dict(over.maps)
            rules = over.rules
        return RewriteServer(
            engine=over.engine if over.engine is not None else self.engine,
            options=options,
            rules=rules,
            maps=tuple(maps.items()),
        )

    def map(self, name: str) -> MapSpec | None:
        for key, spec in self.maps:
            if key == name:
                return spec
        return None


@dataclass(frozen=True)
class RewriteDir:
    """The per-directory configuration (rewrite_perdir_conf); ``server`` is set at
    host level only, where RewriteRule and RewriteMap write the server's."""

    engine: bool | None = None
    options: frozenset[str] | None = None
    base: str | None = None  # RewriteBase
    base_set: bool = False
    directory: str | None = None  # the section's path, with a trailing slash
    rules: tuple[Rule, ...] = ()
    pending: tuple[Cond, ...] = ()
    server: RewriteServer | None = field(default=None, compare=False)

    def merge(self, over: RewriteDir) -> RewriteDir:
        """``over`` (a deeper section or .htaccess) on these (config_perdir_merge)."""
        options = over.options if over.options is not None else self.options
        opts = options or frozenset()
        base_opts = self.options or frozenset()
        ignore = "IgnoreInherit" in opts
        if "MergeBase" in opts:
            base = over.base if over.base_set else self.base
            base_set = over.base_set or self.base_set
        else:
            base, base_set = over.base, over.base_set
        if "Inherit" in opts or ("InheritDown" in base_opts and not ignore):
            rules = over.rules + self.rules
        elif "InheritBefore" in opts or ("InheritDownBefore" in base_opts and not ignore):
            rules = self.rules + over.rules
        else:
            rules = over.rules
        return RewriteDir(
            engine=over.engine if over.engine is not None else self.engine,
            options=options,
            base=base,
            base_set=base_set,
            directory=over.directory,
            rules=rules,
            server=over.server if over.server is not None else self.server,
        )

    def with_options(self, added: frozenset[str]) -> RewriteDir:
        return replace(self, options=(self.options or frozenset()) | added)


# -- parsing -------------------------------------------------------------------


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


# POSIX classes inside [...], which PCRE knows and Python's re does not.
_POSIX_CLASS = re.compile(r"\[:(\w+):\]")
_POSIX = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r"\s",
    "xdigit": "0-9A-Fa-f",
    "word": r"\w",
    "punct": r"!-/:-@\[-`{-~",
    "blank": r" \t",
    "cntrl": r"\x00-\x1f\x7f",
    "print": r"\x20-\x7e",
    "graph": r"\x21-\x7e",
}


def _dollar_end_only(pattern: str) -> str:
    """PCRE's reading of a pattern in Python's terms: ``$`` (outside a class,
    unescaped) as ``\\Z``, the end of the text only; POSIX classes spelled out."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class, class_start = False, -1
    while i < n:
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            posix = _POSIX_CLASS.match(pattern, i)
            if posix is not None and posix.group(1) in _POSIX:
                out.append(_POSIX[posix.group(1)])  # [[:alpha:]]: PCRE's, not Python's
                i = posix.end()
                continue
            in_class = not (c == "]" and i != class_start)  # "[]...]": the first is literal
        elif c == "[":
            j = i + 2 if pattern[i + 1 : i + 2] == "^" else i + 1
            in_class, class_start = True, j
            out.append(pattern[i:j])
            i = j
            continue
        elif c == "$":
            c = r"\Z"
        out.append(c)
        i += 1
    return "".join(out)


def _compile(pattern: str, nocase: bool) -> re.Pattern[str] | None:
    """As ap_regcomp compiles it by default (RegexDefaultOptions DOTALL DOLLAR_ENDONLY):
    ``.`` matches a newline too, and ``$`` only at the very end."""
    flags = re.DOTALL | (re.IGNORECASE if nocase else 0)
    try:
        return re.compile(_dollar_end_only(pattern), flags)
    except re.error:
        return None


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
        regex = _compile(rest, nocase)
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


def _rule_flag(rule: dict[str, object], flags: set[str], key: str, value: str | None) -> str | None:
    """One flag into ``rule`` (cmd_rewriterule_setflag); the error, if any."""
    k = key.lower()
    v = value or ""
    if k in ("b", "backrefescaping"):
        flags.add("B")
        if v:
            rule["escapes"] = v
    elif k == "bne":
        if not v:
            return "flag 'BNE' wants a list of characters (i.e. [BNE=...])"
        rule["noescapes"] = v
    elif k in ("bnp", "backrefernoplus"):
        flags.add("BNP")
    elif k == "bctls":
        flags.update(("B", "BCTLS"))
    elif k in ("c", "chain"):
        flags.add("C")
    elif k in ("co", "cookie"):
        rule["cookies"] = (*rule.get("cookies", ()), v)  # type: ignore[misc]
    elif k in ("dpi", "discardpath", "d", "discardpathinfo"):
        flags.add("DPI")
    elif k.startswith("d"):
        pass  # Apache accepts any other D... flag silently
    elif k in ("e", "env"):
        rule["env"] = (*rule.get("env", ()), v)  # type: ignore[misc]
    elif k == "end":
        flags.add("END")
    elif k in ("f", "forbidden"):
        flags.update(("STATUS", "NOSUB"))
        rule["status"] = 403
    elif k in ("g", "gone"):
        flags.update(("STATUS", "NOSUB"))
        rule["status"] = 410
    elif k in ("h", "handler"):
        rule["handler"] = v
    elif k in ("l", "last"):
        flags.add("L")
    elif k in ("ne", "noescape"):
        flags.add("NE")
    elif k in ("n", "next"):
        flags.add("N")
        if v:
            m = re.match(r"\s*[+-]?\d+", v)
            rule["max_rounds"] = int(m.group(0)) if m else 0
    elif k in ("ns", "nosubreq"):
        flags.add("NS")
    elif k in ("nc", "nocase"):
        flags.add("NC")
    elif k in ("p", "proxy"):
        return (
            "the [P] flag proxies, and proxying is not provided by wsgihost "
            "(Apache without mod_proxy answers these requests 403)"
        )
    elif k in ("pt", "passthrough"):
        flags.add("PT")
    elif k in ("qsa", "qsappend"):
        flags.add("QSA")
    elif k in ("qsd", "qsdiscard"):
        flags.add("QSD")
    elif k in ("qsl", "qslast"):
        flags.add("QSL")
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
        m = re.match(r"\s*[+-]?\d+", v)
        rule["skip"] = int(m.group(0)) if m else 0
    elif k in ("t", "type"):
        rule["mime"] = v
    elif k == "unsafeprefixstat":
        flags.add("UNSAFE_PREFIX_STAT")
    elif k == "unsafeallow3f":
        flags.add("UNSAFE_ALLOW3F")
    elif k == "unc":
        flags.add("UNC")
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
    regex = _compile(pattern, "NC" in flags)
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
