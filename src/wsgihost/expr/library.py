"""The variables, functions and operators of Apache's expression language.

Pure apart from the file tests and ``file()``, which look at the file system
as Apache's do, and ``osenv()``, which reads this process's environment.
Names and behaviour follow httpd 2.4's server/util_expr_eval.c: variable
and function names in any letter case, unary operators in exact case.
``-F`` and ``-U`` (Apache runs a subrequest) are approximated: ``-F`` is
true for a regular file that exists, ``-U`` is refused when the expression
is read, since wsgihost has no subrequests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import stat
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from wsgihost.access.address import BadAddress, Network, in_network, parse_network

if TYPE_CHECKING:
    from wsgihost.expr.nodes import Evaluation

SERVER_SOFTWARE = "Apache"  # ServerTokens Prod's banner: what Apache shows by default on Debian
API_VERSION = "20120211"  # MODULE_MAGIC_NUMBER_MAJOR of httpd 2.4

# The variables the request answers (Request.variable), by upper-case name.
VARIABLES = frozenset(
    [
        "HTTPS",
        "IPV6",
        "CONN_LOG_ID",
        "CONN_REMOTE_ADDR",
        "HTTP2",
        "REQUEST_METHOD",
        "REQUEST_SCHEME",
        "REQUEST_URI",
        "REQUEST_FILENAME",
        "REMOTE_HOST",
        "REMOTE_IDENT",
        "REMOTE_USER",
        "SERVER_ADMIN",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "SCRIPT_FILENAME",
        "PATH_INFO",
        "QUERY_STRING",
        "IS_SUBREQ",
        "DOCUMENT_ROOT",
        "AUTH_TYPE",
        "THE_REQUEST",
        "CONTENT_TYPE",
        "HANDLER",
        "REQUEST_LOG_ID",
        "SCRIPT_USER",
        "SCRIPT_GROUP",
        "DOCUMENT_URI",
        "LAST_MODIFIED",
        "CONTEXT_PREFIX",
        "CONTEXT_DOCUMENT_ROOT",
        "REQUEST_STATUS",
        "REMOTE_ADDR",
        "REMOTE_PORT",
    ]
)
# The request-header variables and the header each one reads.
HEADER_VARIABLES = {
    "HTTP_USER_AGENT": "User-Agent",
    "HTTP_PROXY_CONNECTION": "Proxy-Connection",
    "HTTP_REFERER": "Referer",
    "HTTP_COOKIE": "Cookie",
    "HTTP_FORWARDED": "Forwarded",
    "HTTP_HOST": "Host",
    "HTTP_ACCEPT": "Accept",
}
TIME_VARIABLES = frozenset(
    [
        "TIME_YEAR",
        "TIME_MON",
        "TIME_DAY",
        "TIME_HOUR",
        "TIME_MIN",
        "TIME_SEC",
        "TIME_WDAY",
        "TIME",
        "SERVER_SOFTWARE",
        "API_VERSION",
    ]
)


def misc_variable(name: str) -> str:
    now = time.localtime()
    if name == "SERVER_SOFTWARE":
        return SERVER_SOFTWARE
    if name == "API_VERSION":
        return API_VERSION
    stamp = time.strftime("%Y%m%d%H%M%S", now)
    return {
        "TIME_YEAR": stamp[:4],
        "TIME_MON": stamp[4:6],
        "TIME_DAY": stamp[6:8],
        "TIME_HOUR": stamp[8:10],
        "TIME_MIN": stamp[10:12],
        "TIME_SEC": stamp[12:14],
        "TIME_WDAY": str((now.tm_wday + 1) % 7),  # Sunday is 0, as struct tm has it
        "TIME": stamp,
    }[name]


# -- string functions --------------------------------------------------------------

StringFunction = Callable[["Evaluation", str], str]


def _bytes(text: str) -> bytes:
    return text.encode("latin-1", "replace")


def _text(data: bytes) -> str:
    return data.decode("latin-1")


def _table(which: str) -> StringFunction:
    def lookup(ev: Evaluation, name: str) -> str:
        request = ev.request
        if which == "resp":
            return request.response_header(name) or ""
        if which == "note":
            return request.note(name) or ""
        if which == "reqenv":
            return request.env(name) or ""
        if which == "req":
            ev.vary(name)
        return request.header(name) or ""

    return lookup


def _env(ev: Evaluation, name: str) -> str:
    # Notes, then the request's environment, then the process's (ssl_expr's order).
    request = ev.request
    for found in (request.note(name), request.env(name)):
        if found is not None:
            return found
    return os.environ.get(name, "")


_PATH_SAFE = frozenset(b"$-_.+!*'(),:;@&=/~")


def _escape(ev: Evaluation, text: str) -> str:
    """ap_escape_uri: %XX for every byte but letters, digits and a path's safe marks."""
    out = []
    for byte in _bytes(text):
        if (chr(byte).isascii() and chr(byte).isalnum()) or byte in _PATH_SAFE:
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02x}")
    return "".join(out)


_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


def _unescape(ev: Evaluation, text: str) -> str:
    """ap_unescape_url_keep2f: %XX decoded, %2F kept; a bad or NUL escape gives ''."""
    if "%" not in text:
        return text
    if any(_PERCENT.match(text, i) is None for i, c in enumerate(text) if c == "%"):
        return ""  # a '%' without two hex digits after it
    if any(int(m.group(1), 16) == 0 for m in _PERCENT.finditer(text)):
        return ""
    return _PERCENT.sub(
        lambda m: m.group(0) if m.group(1).lower() == "2f" else chr(int(m.group(1), 16)), text
    )


def _unbase64(ev: Evaluation, text: str) -> str:
    # apr_base64_decode stops at the first character not in the alphabet.
    m = re.match(r"[A-Za-z0-9+/]*", text)
    body = m.group(0) if m else ""
    body = body[: len(body) - len(body) % 4 if len(body) % 4 == 1 else len(body)]
    try:
        data = base64.b64decode(body + "=" * (-len(body) % 4))
    except binascii.Error:
        return ""
    return _text(data.split(b"\0", 1)[0])  # a C string ends at its first NUL


def _file(ev: Evaluation, path: str) -> str:
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > 10 * 1024 * 1024:
                ev.fail(f"File {path} too large")
                return ""
            return _text(f.read().split(b"\0", 1)[0])
    except OSError:
        ev.fail(f"Cannot open file {path}")
        return ""


def _filesize(ev: Evaluation, path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "0"
    return str(st.st_size) if stat.S_ISREG(st.st_mode) and st.st_size > 0 else "0"


STRING_FUNCTIONS: dict[str, StringFunction] = {
    "osenv": lambda ev, name: os.environ.get(name, ""),
    "env": _env,
    "resp": _table("resp"),
    "req": _table("req"),
    "http": _table("req"),  # ssl_expr's name for req
    "note": _table("note"),
    "reqenv": _table("reqenv"),
    "req_novary": _table("req_novary"),
    "tolower": lambda ev, s: s.lower() if s.isascii() else _ascii_case(s, str.lower),
    "toupper": lambda ev, s: s.upper() if s.isascii() else _ascii_case(s, str.upper),
    "escape": _escape,
    "unescape": _unescape,
    "file": _file,
    "filesize": _filesize,
    "base64": lambda ev, s: _text(base64.b64encode(_bytes(s))),
    "unbase64": _unbase64,
    "sha1": lambda ev, s: hashlib.sha1(_bytes(s)).hexdigest(),
    "md5": lambda ev, s: hashlib.md5(_bytes(s)).hexdigest(),
}
# Functions that read the file system: refused where expressions are restricted.
RESTRICTED_FUNCTIONS = frozenset({"file", "filesize"})


def _ascii_case(text: str, change: Callable[[str], str]) -> str:
    """C's tolower/toupper: only ASCII letters change."""
    return "".join(change(c) if c.isascii() else c for c in text)


# -- operators ------------------------------------------------------------------------

UnaryOp = Callable[["Evaluation", str, object], bool]
BinaryOp = Callable[["Evaluation", str, str, object], bool]


def _stat(path: str, follow: bool = True) -> os.stat_result | None:
    try:
        return os.stat(path) if follow else os.lstat(path)
    except (OSError, ValueError):
        return None


def _file_test(kind: str) -> UnaryOp:
    def test(ev: Evaluation, arg: str, data: object) -> bool:
        st = _stat(arg)
        if st is None:
            return False
        if kind == "d":
            return stat.S_ISDIR(st.st_mode)
        if kind == "f":
            return stat.S_ISREG(st.st_mode)
        if kind == "s":
            return stat.S_ISREG(st.st_mode) and st.st_size > 0
        return True  # -e

    return test


def _is_link(ev: Evaluation, arg: str, data: object) -> bool:
    st = _stat(arg, follow=False)
    return st is not None and stat.S_ISLNK(st.st_mode)


def _executable(ev: Evaluation, arg: str, data: object) -> bool:
    st = _stat(arg, follow=False)
    return st is not None and bool(st.st_mode & 0o111)


def _true_ish(ev: Evaluation, arg: str, data: object) -> bool:
    """-T: false for '', '0', and 'off', 'no', 'false' in any case."""
    return arg != "0" and arg.lower() not in ("", "off", "no", "false")


def _remote_in(ev: Evaluation, arg: str, data: object) -> bool:
    addr = ev.request.variable("REMOTE_ADDR") or ""
    return isinstance(data, Network) and in_network(addr, data)


UNARY_OPS: dict[str, UnaryOp] = {
    "n": lambda ev, arg, data: arg != "",
    "z": lambda ev, arg, data: arg == "",
    "R": _remote_in,
    "T": _true_ish,
    "d": _file_test("d"),
    "e": _file_test("e"),
    "f": _file_test("f"),
    "s": _file_test("s"),
    "L": _is_link,
    "h": _is_link,
    "x": _executable,
    "F": _file_test("f"),  # Apache: a subrequest for the file; here: it is a regular file
}
RESTRICTED_UNARY = frozenset("defsLhx")
# Operators whose (last) argument is a subnet, parsed when the expression is read.
SUBNET_OPS = frozenset({"R", "ipmatch"})
NOT_PROVIDED_UNARY = {
    "U": "-U runs a subrequest, which wsgihost does not have",
    "A": "-A runs a subrequest, which wsgihost does not have",
}


def subnet(name: str, arg: str | None) -> Network:
    """A constant subnet argument of -R or -ipmatch; ValueError says what is wrong."""
    if arg is None:
        raise ValueError(f"-{name} requires subnet/netmask as constant argument")
    try:
        return parse_network(arg)
    except BadAddress:
        raise ValueError("parsing of subnet/netmask failed") from None


def _ipmatch(ev: Evaluation, left: str, right: str, data: object) -> bool:
    return isinstance(data, Network) and in_network(left, data)


def fnmatch_regex(pattern: str, pathname: bool, nocase: bool) -> re.Pattern[str]:
    """apr_fnmatch's pattern as a regex: '*', '?', '[...]' ('!' or '^' negates), '\\x'."""
    any_char = "[^/]" if pathname else "."
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append(any_char + "*")
        elif c == "?":
            out.append(any_char)
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                negate = body[:1] in ("!", "^")
                body = body[1:] if negate else body
                chars = "".join("\\" + ch if ch in "\\^]" else ch for ch in body)
                out.append(f"[{'^' if negate else ''}{'/' if negate and pathname else ''}{chars}]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    flags = re.DOTALL | (re.IGNORECASE if nocase else 0)
    return re.compile("".join(out), flags)


def _fnmatch(pathname: bool, nocase: bool) -> BinaryOp:
    def match(ev: Evaluation, left: str, right: str, data: object) -> bool:
        try:
            return fnmatch_regex(right, pathname, nocase).fullmatch(left) is not None
        except re.error:
            return False

    return match


BINARY_OPS: dict[str, BinaryOp] = {
    "ipmatch": _ipmatch,
    "fnmatch": _fnmatch(pathname=True, nocase=False),
    "strmatch": _fnmatch(pathname=False, nocase=False),
    "strcmatch": _fnmatch(pathname=False, nocase=True),
}


def atoi64(text: str) -> int:
    """apr_atoi64: leading blanks, a sign, then digits up to the first non-digit (else 0)."""
    m = re.match(r"[ \t\n\r\f\v]*([+-]?\d+)", text)
    if m is None:
        return 0
    value = int(m.group(1))
    return max(-(2**63), min(2**63 - 1, value))
