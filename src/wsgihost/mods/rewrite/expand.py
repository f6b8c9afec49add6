"""``%{VAR}``, ``$N``, ``%N`` and ``${map:key|default}``: mod_rewrite's lookup_variable
and do_expand.

Expansion is one pass, left to right, so text that a variable or a
back-reference brings in is never expanded again (Apache's reason: a client
must not be able to write ``%{...}``). Pure but for the map files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from wsgihost.mods.rewrite import escape
from wsgihost.mods.rewrite.rules import Rule
from wsgihost.mods.rewrite.run import Run


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
