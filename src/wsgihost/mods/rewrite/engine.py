"""The rewriting engine: a list of rules applied to one request (apply_rewrite_list).

Pure but for the file tests (``-f``, ``-d``, ...) and the map files. The
engine works on :class:`Run`, which holds the request's state
(:class:`~wsgihost.pipeline.state.RequestState`) and what mod_rewrite keeps
beside it: ``filename`` (r->filename, the string the rules rewrite),
``path_info``, the per-directory prefix, the back-references of the last
rule and condition. Expansion is one pass, left to right, so text that a
variable or back-reference brings in is never expanded again (the reason
Apache gives for it: a client must not be able to write ``%{...}``).
"""

from __future__ import annotations

import functools
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wsgihost.mods.rewrite import escape
from wsgihost.mods.rewrite.maps import MapFiles
from wsgihost.mods.rewrite.rules import Cond, RewriteServer, Rule

if TYPE_CHECKING:
    from wsgihost.expr import Expr
    from wsgihost.pipeline.state import RequestState

# What apply_rewrite_list returns.
UNCHANGED = 0
CHANGED = 1
CHANGED_NOESCAPE = 2  # the last rule had [NE]
STATUS = 3  # a rule answers with a status (F, G, R=4xx, N's limit)

# apply_rewrite_rule's results.
_NOMATCH, _MATCH, _NOSUB, _STATUS_SET = 0, 1, 2, 3


@dataclass
class Site:
    """What the request's server supplies: its rewrite configuration and names."""

    server: RewriteServer
    maps: MapFiles
    document_root: str
    server_name: str  # ap_get_server_name_for_url
    port: int  # ap_get_server_port
    server_admin: str = ""
    limit_request_line: int = 8190
    log: Callable[[str, str], None] = lambda level, message: None
    # ap_matches_request_vhost: whether host:port names this virtual host.
    matches_vhost: Callable[[str, int], bool] = lambda host, port: False


@dataclass
class Run:
    """One application of a rule list to a request."""

    r: RequestState
    site: Site
    filename: str
    perdir: str | None = None
    path_info: str = ""
    uri: str = ""  # what the rule's pattern is matched against
    status: int = 0  # r->status as the rules set it
    vary: list[str] = field(default_factory=list)
    rule_src: str | None = None
    rule_match: re.Match[str] | None = None
    cond_src: str | None = None
    cond_match: re.Match[str] | None = None
    cond_groups: tuple[str | None, ...] | None = None  # from an expr condition
    vary_this: list[str] = field(default_factory=list)
    end: bool = False  # [END]: no more rewriting for this request
    mime: str | None = None  # [T=]
    handler: str | None = None  # [H=]
    cookies: list[str] = field(default_factory=list)
    last_sub: Rule | None = None
    reduced: bool = False  # reduce_uri stripped our own scheme://host

    @property
    def scheme(self) -> str:
        return "https" if self.r.https else "http"


# -- variables -----------------------------------------------------------------


def _header(run: Run, name: str) -> str | None:
    value = run.r.header(name)
    if value is not None and name.lower() != "host":
        run.vary_this.append(name)  # lookup_header: Vary, except for Host (RFC 7231)
    return value


def _time(part: str) -> str:
    t = time.localtime()
    return {
        "TIME": time.strftime("%Y%m%d%H%M%S", t),
        "TIME_YEAR": f"{t.tm_year:04d}",
        "TIME_MON": f"{t.tm_mon:02d}",
        "TIME_DAY": f"{t.tm_mday:02d}",
        "TIME_HOUR": f"{t.tm_hour:02d}",
        "TIME_MIN": f"{t.tm_min:02d}",
        "TIME_SEC": f"{t.tm_sec:02d}",
        "TIME_WDAY": str((t.tm_wday + 1) % 7),  # Sunday is 0, as in C
    }[part]


_HEADERS = {
    "HTTP_HOST": "Host",
    "HTTP_ACCEPT": "Accept",
    "HTTP_COOKIE": "Cookie",
    "HTTP_REFERER": "Referer",
    "HTTP_FORWARDED": "Forwarded",
    "HTTP_USER_AGENT": "User-Agent",
    "HTTP_PROXY_CONNECTION": "Proxy-Connection",
}


def _ipv6(addr: str) -> bool:
    """An IPv6 client, not an IPv4 one seen through a dual-stack socket."""
    return ":" in addr and not addr.startswith("::ffff:")


def _table_get(table: dict[str, str], name: str) -> str | None:
    """apr_table_get: a name in any letter case."""
    found = table.get(name)
    if found is None:
        key = name.lower()
        found = next((v for k, v in table.items() if k.lower() == key), None)
    return found


# The plain %{NAME}s, each read from the run (mod_rewrite's lookup_variable).
_VARIABLES: dict[str, Callable[[Run], str | None]] = {
    "HTTPS": lambda run: "on" if run.r.https else "off",
    "IPV6": lambda run: "on" if _ipv6(run.r.client_addr) else "off",
    "IS_SUBREQ": lambda run: "false",  # wsgihost makes no sub-requests
    "PATH_INFO": lambda run: run.path_info,
    "AUTH_TYPE": lambda run: None,
    "SERVER_NAME": lambda run: run.site.server_name,
    "REMOTE_ADDR": lambda run: run.r.client_addr,
    "SERVER_ADDR": lambda run: run.r.local_addr,
    "THE_REQUEST": lambda run: f"{run.r.method} {run.r.unparsed_uri} {run.r.protocol}".rstrip(),
    "API_VERSION": lambda run: "20120211:137",
    "SERVER_PORT": lambda run: str(run.site.port),
    "REMOTE_HOST": lambda run: run.r.client_addr,  # HostnameLookups Off
    "REMOTE_PORT": lambda run: str(run.r.client_port),
    "REMOTE_USER": lambda run: _table_get(run.r.env, "REMOTE_USER"),
    "SCRIPT_USER": lambda run: "<unknown>",
    "SCRIPT_GROUP": lambda run: "<unknown>",
    "REQUEST_URI": lambda run: run.r.uri,
    "REMOTE_IDENT": lambda run: None,
    "QUERY_STRING": lambda run: run.r.args or None,
    "SERVER_ADMIN": lambda run: run.site.server_admin,
    "DOCUMENT_ROOT": lambda run: run.site.document_root,
    "CONTEXT_PREFIX": lambda run: "",
    "REQUEST_METHOD": lambda run: run.r.method,
    "REQUEST_SCHEME": lambda run: run.scheme,
    "SCRIPT_FILENAME": lambda run: run.filename,
    "REQUEST_FILENAME": lambda run: run.filename,
    "SERVER_PROTOCOL": lambda run: run.r.protocol,
    "SERVER_SOFTWARE": lambda run: "Apache",
    "CONN_REMOTE_ADDR": lambda run: run.r.client_addr,
    "CONTEXT_DOCUMENT_ROOT": lambda run: run.site.document_root,
}
_TIMES = frozenset(
    ("TIME", "TIME_YEAR", "TIME_MON", "TIME_DAY", "TIME_HOUR", "TIME_MIN", "TIME_SEC", "TIME_WDAY")
)


def lookup_variable(run: Run, name: str) -> str:
    """``%{NAME}``, as mod_rewrite's lookup_variable; "" for what it does not know."""
    if len(name) < 4:
        return ""
    if name[3:4] == ":" and name[4:]:
        if name[:3].upper() == "ENV":
            var = name[4:]
            found = _table_get(run.r.notes, var)
            if found is None:
                found = _table_get(run.r.env, var)
            if found is None:
                found = os.environ.get(var)
            return found or ""
        return ""  # SSL:...: mod_ssl's variables are not given to rewrites (differences.md)
    if name[4:5] == ":" and name[5:]:
        if name[:4].upper() == "HTTP":
            return _header(run, name[5:]) or ""
        return ""  # LA-U, LA-F: look-aheads are not made (differences.md)
    upper = name.upper()
    if upper in _HEADERS:
        return _header(run, _HEADERS[upper]) or ""
    if upper in _TIMES:
        return _time(upper)
    get = _VARIABLES.get(upper)
    return (get(run) or "") if get is not None else ""


# -- expansion -----------------------------------------------------------------


def _closing(text: str, start: int) -> int:
    """The index of the ``}`` that closes the ``{`` before ``start`` (-1: none)."""
    depth = 1
    for i in range(start, len(text)):
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        elif text[i] == "{":
            depth += 1
    return -1


def _in_curlies(text: str, c: str) -> int:
    """The first ``c`` at depth 1 in ``text`` (find_char_in_curlies); -1: none."""
    depth = 1
    for i, ch in enumerate(text):
        if ch == c and depth == 1:
            return i
        if ch == "}":
            depth -= 1
            if depth == 0:
                return -1
        elif ch == "{":
            depth += 1
    return -1


def expand(run: Run, text: str, rule: Rule | None = None) -> tuple[str, bool]:
    """``text`` with ``$N``, ``%N``, ``%{VAR}`` and ``${map:key|default}`` expanded
    (do_expand); and whether the ``?`` that splits off the query came from an
    expansion rather than the text (the rule is then refused unless
    [UnsafeAllow3F], as Apache 2.4.60 does): the first ``?``, the last with [QSL]."""
    out: list[str] = []
    unsafe = False
    tracking = True
    qslast = rule is not None and "QSL" in rule.flags
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            out.append(text[i + 1] if i + 1 < n else c)
            i += 2
            continue
        piece: str
        if c in "$%" and i + 1 < n and text[i + 1] == "{":
            end = _closing(text, i + 2)
            if end < 0:
                out.append(text[i : i + 2])
                i += 2
                continue
            inner = text[i + 2 : end]
            if c == "%":
                piece = lookup_variable(run, inner)
            else:
                colon = _in_curlies(inner + "}", ":")
                if colon < 0:
                    out.append(text[i : i + 2])
                    i += 2
                    continue
                name, rest = inner[:colon], inner[colon + 1 :]
                bar = _in_curlies(rest + "}", "|")
                key, default = (rest[:bar], rest[bar + 1 :]) if bar >= 0 else (rest, None)
                value = _lookup_map(run, name, expand(run, key, rule)[0])
                if value is None and default:
                    value = expand(run, default, rule)[0]
                piece = value or ""
            i = end + 1
        elif c in "$%" and i + 1 < n and text[i + 1].isdigit():
            piece = _backref(run, c, int(text[i + 1]), rule)
            i += 2
        else:
            if c == "?" and tracking:
                unsafe = False
                tracking = qslast
            out.append(c)
            i += 1
            continue
        if tracking and "?" in piece:
            unsafe = True
            tracking = qslast
        out.append(piece)
    return "".join(out), unsafe


def _backref(run: Run, kind: str, number: int, rule: Rule | None) -> str:
    if kind == "$":
        source, match = run.rule_src, run.rule_match
        groups = None
    else:
        source, match, groups = run.cond_src, run.cond_match, run.cond_groups
    value: str | None = None
    if groups is not None:
        value = groups[number] if number < len(groups) else None
    elif source is not None and match is not None and number <= match.re.groups:
        value = match.group(number)
    if not value:
        return ""
    if rule is not None and "B" in rule.flags:
        return escape.escape_backref(
            value, rule.escapes, rule.noescapes, "BNP" in rule.flags, "BCTLS" in rule.flags
        )
    return value


def _lookup_map(run: Run, name: str, key: str) -> str | None:
    spec = run.site.server.map(name)
    if spec is None:
        run.site.log("error", f"mod_rewrite: can't find map '{name}'")  # lookup_map's AH00671
        return None
    return run.site.maps.lookup(spec, key)


# -- conditions ----------------------------------------------------------------


def _atoi(text: str) -> int:
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
        x, y = _atoi(value), _atoi(cond.pattern)
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


def merge_vary(r: RequestState, value: str) -> None:
    """apr_table_merge(r->headers_out, "Vary", value): one Vary, values joined."""
    for i, (name, old) in enumerate(r.headers_out):
        if name.lower() == "vary":
            r.headers_out[i] = (name, f"{old}, {value}")
            return
    r.headers_out.append(("Vary", value))


def _conditions(run: Run, conds: tuple[Cond, ...]) -> bool:
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


# -- rules ---------------------------------------------------------------------


def _env(run: Run, rule: Rule) -> None:
    for item in rule.env:
        text = expand(run, item)[0]
        if text.startswith("!"):
            run.r.env.pop(text[1:], None)
        else:
            name, _, value = text.partition(":")
            run.r.env[name] = value


def _cookies(run: Run, rule: Rule) -> None:
    for item in rule.cookies:
        run.cookies.append(expand(run, item)[0])


def _type_handler(run: Run, rule: Rule) -> None:
    if rule.mime:
        found = expand(run, rule.mime, rule)[0]
        if found:
            run.mime = found.lower()
    if rule.handler:
        found = expand(run, rule.handler, rule)[0]
        if found:
            run.handler = found.lower()


def split_query(run: Run, flags: frozenset[str]) -> None:
    """splitout_queryargs: a ``?`` in the result becomes r->args (QSA, QSD, QSL)."""
    r = run.r
    if "QSNONE" in flags:
        r.args = ""
        return
    skip, query = escape.absolute_uri(run.filename)
    if skip and not query:
        r.args = ""
        return
    if "QSD" in flags:
        r.args = ""
    pos = run.filename.rfind("?") if "QSL" in flags else run.filename.find("?", skip)
    if pos < skip or pos < 0:
        return
    new = run.filename[pos + 1 :]
    run.filename = run.filename[:pos]
    if "QSA" in flags:
        if new:
            r.args = new + "&" + r.args if r.args else new + "&"
    else:
        r.args = new
    if r.args.endswith("&"):
        r.args = r.args[:-1]


def fully_qualify(run: Run) -> None:
    if escape.absolute_uri(run.filename)[0]:
        return
    port = run.site.port
    default = 443 if run.r.https else 80
    shown = "" if port == default else f":{port}"
    slash = "" if run.filename.startswith("/") else "/"
    run.filename = f"{run.scheme}://{run.site.server_name}{shown}{slash}{run.filename}"


def _reduce(run: Run) -> None:
    """reduce_uri: ``http[s]://ourhost[:port]/path`` -> ``/path``."""
    scheme = run.scheme + "://"
    name = run.filename
    if len(name) <= len(scheme) or name[: len(scheme)].lower() != scheme:
        return
    rest = name[len(scheme) :]
    m = re.match(r"([^/:]*)(?::([^/]*))?(.*)", rest, re.S)
    assert m is not None
    host, port_text, url = m.group(1), m.group(2), m.group(3)
    default = 443 if run.r.https else 80
    port = _atoi(port_text) if port_text is not None else default
    if not url:
        url = "/"
    if run.site.matches_vhost(host, port):
        run.filename = url
        run.reduced = True


def apply_rule(run: Run, rule: Rule) -> int:
    """One rule (apply_rewrite_rule)."""
    run.uri = run.filename
    if run.perdir is not None:
        if run.path_info:
            run.uri += run.path_info
        if run.uri.startswith(run.perdir):
            run.uri = run.uri[len(run.perdir) :]
    m = rule.regex.search(run.uri)
    if (m is not None) == rule.negate:
        return _NOMATCH
    run.vary_this.clear()
    run.cond_src = run.cond_match = run.cond_groups = None
    if rule.negate:
        run.rule_src, run.rule_match = None, None
    else:
        run.rule_src, run.rule_match = run.uri, m
    if not _conditions(run, rule.conds):
        return _NOMATCH
    new = ""
    if "NOSUB" not in rule.flags:
        new, unsafe = expand(run, rule.output, rule)
        if unsafe and "UNSAFE_ALLOW3F" not in rule.flags:
            run.site.log(
                "error", "AH10508: Unsafe URL with %3f URL rewritten without UnsafeAllow3F"
            )
            run.status = 403
            return _STATUS_SET
    _env(run, rule)
    _cookies(run, rule)
    if "NOSUB" in rule.flags:
        _type_handler(run, rule)
        if "STATUS" in rule.flags:
            run.status = rule.status
        return _NOSUB
    prefix_added = False
    if not new.startswith("/") and not escape.absolute_uri(new)[0]:
        if run.perdir is not None:
            new = run.perdir + new
            prefix_added = True
        elif "R" not in rule.flags:
            new = "/" + new
            prefix_added = True
    run.filename = new
    if run.perdir is not None and "DPI" in rule.flags:
        run.path_info = ""
    split_query(run, rule.flags)
    if "R" in rule.flags:
        fully_qualify(run)
        run.status = rule.status
        return _MATCH
    _reduce(run)
    if escape.absolute_uri(run.filename)[0]:
        run.status = rule.status
        return _MATCH
    if not ("UNC" in rule.flags or prefix_added) and not rule.output.startswith("//"):
        # Leading slashes are merged, unless the substitution wrote them itself.
        stripped = run.filename.lstrip("/")
        if len(stripped) < len(run.filename) - 1:
            run.filename = "/" + stripped
    _type_handler(run, rule)
    return _MATCH


def apply_list(run: Run, rules: tuple[Rule, ...]) -> int:
    """A rule list (apply_rewrite_list): UNCHANGED, CHANGED, CHANGED_NOESCAPE or STATUS."""
    changed = UNCHANGED
    rounds = 1
    limit = 2 * run.site.limit_request_line
    while True:
        restart = False
        i = 0
        while i < len(rules):
            rule = rules[i]
            rc = apply_rule(run, rule)
            if rc == _NOMATCH:
                while i < len(rules) and "C" in rules[i].flags:
                    i += 1  # a failed rule skips the rules chained to it
                i += 1
                continue
            if "NOSUB" not in rule.flags:
                run.last_sub = rule
            if len(run.filename) > limit:
                run.site.log(
                    "error",
                    f"RewriteRule '{rule.pattern}' and URI '{run.r.uri}' exceeded maximum "
                    f"length ({limit})",
                )
                run.status = 500
                return STATUS
            if run.vary:
                merge_vary(run.r, ", ".join(run.vary))
                run.vary.clear()
            if rc == _STATUS_SET or "STATUS" in rule.flags:
                return STATUS
            if rc != _NOSUB:
                changed = CHANGED_NOESCAPE if "NE" in rule.flags else CHANGED
            if "PT" in rule.flags:
                run.filename = "passthrough:" + run.filename
                return CHANGED
            if "END" in rule.flags:
                run.end = True
                return changed
            if "L" in rule.flags:
                return changed
            if "N" in rule.flags:
                rounds += 1
                if rounds >= rule.max_rounds:
                    run.site.log(
                        "error",
                        f"AH02596: RewriteRule '{rule.pattern}' and URI '{run.r.uri}' exceeded "
                        f"maximum number of rounds ({rule.max_rounds}) via the [N] flag",
                    )
                    run.status = 500
                    return STATUS
                restart = True
                break
            i += 1 + max(rule.skip, 0)
        if not restart:
            return changed
