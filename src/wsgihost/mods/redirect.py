"""mod_alias's redirects at run time: Redirect, RedirectMatch, RedirectPermanent, RedirectTemp.

The settings come from :mod:`wsgihost.config.mod_alias`. As mod_alias.c:

- translate_name (before Alias and WSGIScriptAlias map the URL): the
  virtual host's redirects, then the main server's, first match wins;
- a ``<Location>``'s own redirect (``Redirect /new`` inside it) answers
  before the access checks too (Apache has merged ``<Location>`` before
  translate_name); wsgihost tries it once routing has merged the sections;
- fixups (after the access checks): a section's own redirect from a
  ``<Directory>`` or ``.htaccess``, then the sections' redirect lists,
  deepest first.

A URL-path matches whole segments of the decoded path (any run of ``/``
matching any other); the rest of the path is escaped and appended. A
RedirectMatch target is built from the decoded groups, then parsed as a URL
whose path part is escaped while its query and fragment are kept as they
are. A target that is a path becomes absolute from ``Host``; the request's
query string is appended unless the target has one. A Location holding a
control character (an encoded CR/LF a RedirectMatch put in a query) is
never sent: the answer is a 500, as Apache refuses such a header.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from wsgihost import expr
from wsgihost.config.mod_alias import RedirectRule, is_url
from wsgihost.mods.exprview import ExprView
from wsgihost.mods.regsub import pregsub
from wsgihost.mods.rewrite.rules import _compile as ap_regcomp
from wsgihost.pipeline.hooks import Answer, Module, Outcome, Redirect
from wsgihost.pipeline.registry import configured

if TYPE_CHECKING:
    from wsgihost.config.model import Host, Server
    from wsgihost.pipeline.state import RequestState

# Bytes Apache's ap_os_escape_path leaves alone (gen_test_char.c, T_OS_ESCAPE_PATH).
_PATH_SAFE = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$-_.+!*'(),:;@&=/~"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}


def escape_path(text: str) -> str:
    """``ap_os_escape_path(..., partial)``: every byte outside the safe set as ``%XX``."""
    raw = text.encode("latin-1", "replace")
    if all(b in _PATH_SAFE for b in raw):
        return text
    # Lower-case hex, as Apache's c2x writes it.
    return "".join(chr(b) if b in _PATH_SAFE else f"%{b:02x}" for b in raw)


def segment_match(uri: str, prefix: str) -> int:
    """mod_alias's ``alias_matches``: how many characters of ``uri`` the URL-path
    ``prefix`` covers (0: no match). A ``/`` in either matches any run of them,
    and the match must end at a segment boundary."""
    i = j = 0
    n, m = len(uri), len(prefix)
    while j < m:
        if prefix[j] == "/":
            if i >= n or uri[i] != "/":
                return 0
            while j < m and prefix[j] == "/":
                j += 1
            while i < n and uri[i] == "/":
                i += 1
        else:
            if i >= n or uri[i] != prefix[j]:
                return 0
            i += 1
            j += 1
    if m and prefix[-1] != "/" and i < n and uri[i] != "/":
        return 0
    return i


def _split_url(url: str) -> tuple[str, str | None, str | None]:
    """apr_uri_parse then apr_uri_unparse without the query: (site and path, query,
    fragment), the default port dropped and a password masked as APR does."""
    rest, hash_, fragment = url.partition("#")
    rest, question, query = rest.partition("?")
    site = ""
    scheme_match = _SCHEME.match(rest)
    path = rest
    scheme = ""
    if scheme_match is not None:
        scheme = scheme_match.group(0)[:-1]
        path = rest[len(scheme) + 1 :]
        site = scheme + ":"
    if path.startswith("//"):
        authority, slash, tail = path[2:].partition("/")
        path = slash + tail
        site += "//" + _authority(authority, scheme)
    return site + path, query if question else None, fragment if hash_ else None


def _authority(hostinfo: str, scheme: str) -> str:
    user, at, hostport = hostinfo.rpartition("@")
    shown = ""
    if at:
        name, colon, _password = user.partition(":")
        shown = name + (":XXXXXXXX" if colon else "") + "@"
    if hostport.startswith("["):
        host, _, after = hostport[1:].partition("]")
        port = after[1:] if after.startswith(":") else None
    else:
        host, colon, port_text = hostport.rpartition(":")
        if not colon:
            host, port = hostport, None
        else:
            port = port_text
    if ":" in host:
        host = f"[{host}]"
    default = _DEFAULT_PORTS.get(scheme.lower())
    if port and port.isdigit() and int(port) not in (0, default):
        return f"{shown}{host}:{port}"
    if port and not port.isdigit():
        return f"{shown}{host}:{port}"
    return shown + host


def escape_target(url: str) -> str:
    """A RedirectMatch (or section) target as mod_alias sends it: the part before
    the query escaped, the query and fragment as they are."""
    base, query, fragment = _split_url(url)
    found = escape_path(base)
    if query is not None:
        found += "?" + query
    if fragment is not None:
        found += "#" + fragment
    return found


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    # As ap_regcomp by default (RegexDefaultOptions DOTALL DOLLAR_ENDONLY): mod_rewrite's
    # reading of a pattern, shared rather than written twice.
    found = ap_regcomp(pattern, False)
    return found if found is not None else re.compile(pattern, re.DOTALL)


def match_rule(rule: RedirectRule, uri: str) -> str | None:
    """Where ``rule`` sends ``uri`` ("" for a status without a URL), or None."""
    if rule.regex:
        found = _compiled(rule.path).search(uri)
        if found is None:
            return None
        return escape_target(pregsub(rule.url, found)) if rule.url is not None else ""
    covered = segment_match(uri, rule.path)
    if not covered:
        return None
    return (rule.url or "") + escape_path(uri[covered:]) if rule.url is not None else ""


def construct_url(path: str, r: RequestState, main_name: str | None = None) -> str:
    """``ap_construct_url`` with UseCanonicalName Off: the scheme of the connection,
    the name and port from ``Host`` (else ServerName), the port left out where it is
    the scheme's default."""
    scheme = "https" if r.https else "http"
    default = 443 if r.https else 80
    name, port = _host_port(r.header("host") or "")
    if not name:
        # No Host: the virtual host's ServerName (inherited from the main server's).
        server = r.host.server_name or main_name or "localhost"
        name, server_port = _host_port(server.partition("://")[2] or server)
        port = port or server_port
    port = port or default
    shown = f"[{name}]" if ":" in name else name
    return f"{scheme}://{shown}{'' if port == default else f':{port}'}{path}"


def _host_port(value: str) -> tuple[str, int | None]:
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port = rest[1:]
    elif value.count(":") == 1:
        name, _, port = value.partition(":")
    else:
        name, port = value, ""
    return name.rstrip("."), int(port) if port.isdigit() else None


def answer(
    r: RequestState, status: int, target: str, code: str = "AH00674", main_name: str | None = None
) -> Outcome:
    """The outcome of a redirect that matched (translate_alias_redir's tail; ``code``
    is the number of its error line: AH00674 there, AH00676 in fixup_redir)."""
    if not 300 <= status < 400:
        return Answer(status)
    if target.startswith("/"):
        target = construct_url(target, r, main_name)
    if not is_url(target):
        r.log(
            "error",
            f"{code}: cannot redirect '{r.uri}' to '{target}'; "
            "target is not a valid absoluteURI or abs_path",
            "alias",
        )
        return Answer(500)
    if _CONTROL.search(target):
        # Apache would refuse the header as it goes out (a 500 too): never sent.
        r.log(
            "error",
            f"AH02430: Response header 'Location' value of '{_escaped(target)}' contains invalid "
            "characters, aborting request",
            "http",
        )
        return Answer(500)
    if r.args and "?" not in target:
        target += "?" + r.args
    return Redirect(status, target)


def _escaped(text: str) -> str:
    """CR and LF as Apache's error log shows them (one line, ``\\r\\n``)."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _here(
    r: RequestState, here: tuple[int, str | None], code: str, main_name: str | None
) -> Outcome:
    """A section's own redirect (try_redirect): its URL an ap_expr string."""
    status, url = here
    if url is None:
        return answer(r, status, "", code, main_name)
    try:
        found = _string_expr(url).evaluate(ExprView(r))
    except (expr.ExprError, expr.EvaluationError) as e:
        r.log("error", f"AH02826: Can't evaluate redirect expression: {e}", "alias")
        return Answer(500)
    return answer(r, status, escape_target(found), code, main_name)


@lru_cache(maxsize=256)
def _string_expr(text: str) -> expr.StringExpr:
    return expr.compile_string(text)


class RedirectModule(Module):
    name = "alias"

    def __init__(self, main: Host) -> None:
        self.main = main

    def translate_name(self, r: RequestState) -> Outcome | None:
        uri = r.uri
        if uri[:1] not in ("/", ""):
            return None
        rules = r.host.redirects if r.host is self.main else r.host.redirects + self.main.redirects
        for rule in rules:
            found = match_rule(rule, uri)
            if found is not None:
                return answer(r, rule.status, found, "AH00674", self.main.server_name)
        return None

    def map_to_storage(self, r: RequestState) -> Outcome | None:
        alias = r.settings.alias if r.settings is not None else None
        if alias is not None and alias.here is not None and alias.here_location:
            return _here(r, alias.here, "AH00674", self.main.server_name)
        return None

    def fixups(self, r: RequestState) -> Outcome | None:
        alias = r.settings.alias if r.settings is not None else None
        if alias is None:
            return None
        if alias.here is not None:
            return _here(r, alias.here, "AH00676", self.main.server_name)
        for rule in alias.redirects:
            found = match_rule(rule, r.uri)
            if found is not None:
                return answer(r, rule.status, found, "AH00676", self.main.server_name)
        return None


def activate(server: Server) -> Module | None:
    """The module, where some host has redirects or some scope may have them."""
    hosts = (server.main, *server.vhosts)
    if any(h.redirects for h in hosts) or configured(server, "alias"):
        return RedirectModule(server.main)
    return None
