"""Where a request goes and how the answer's URLs come back (pure).

mod_proxy's rules, as httpd 2.4 applies them:

* :func:`pass_target`: a ProxyPass prefix matches whole segments, any run of
  slashes in it matching any run in the path (``alias_match``); a
  ProxyPassMatch is a regular expression on the decoded path, ``$1``..
  filled from it (a URL with no reference gets the whole path appended).
  The rest of the path is re-encoded (``ap_proxy_canonenc``, as for a path)
  and the query string follows unless ``noquery``;
* :func:`reverse_location`: ProxyPassReverse on ``Location``,
  ``Content-Location`` and ``URI`` (``ap_proxy_location_reverse_map``);
* :func:`reverse_cookie`: ProxyPassReverseCookieDomain/Path on ``Set-Cookie``
  (``ap_proxy_cookie_reverse_map``: the whole value of the first matching
  attribute is replaced).
"""

from __future__ import annotations

import functools
import re
from urllib.parse import quote_from_bytes

from wsgihost.config.mod_proxy import ProxyRule, split_url

NOT_PROXIED = "!"
_PATH_SAFE = "~$-_.+!*'(),;:@&=/"  # besides letters and digits
_URL = re.compile(r"[A-Za-z0-9+.\-]+:")


def alias_match(uri: str, fake: str) -> int:
    """How many characters of ``uri`` the ProxyPass prefix ``fake`` covers (0: none)."""
    a = u = 0
    end_a, end_u = len(fake), len(uri)
    while a < end_a and u < end_u:
        if fake[a] == "/":
            if uri[u] != "/":
                return 0
            while a < end_a and fake[a] == "/":
                a += 1
            while u < end_u and uri[u] == "/":
                u += 1
        else:
            if uri[u] != fake[a]:
                return 0
            a += 1
            u += 1
    if u == end_u and a != end_a:
        return 0
    # The prefix's last segment must end where a segment of the path ends.
    if fake and fake[a - 1] != "/" and u < end_u and uri[u] != "/":
        return 0
    return u


def canon_path(path: str) -> str:
    """A decoded path (bytes as latin-1) encoded for the backend, as ap_proxy_canonenc
    encodes a path: letters, digits, ``/`` and ``~$-_.+!*'(),;:@&=`` as they are."""
    return quote_from_bytes(path.encode("latin-1", "replace"), _PATH_SAFE)


def _substitute(template: str, match: re.Match[str]) -> str:
    """``$0``..``$9`` (and ``\\$`` for a dollar) in a ProxyPassMatch URL (ap_pregsub)."""
    out: list[str] = []
    i = 0
    while i < len(template):
        ch = template[i]
        if ch == "\\" and i + 1 < len(template) and template[i + 1] in "$&":
            out.append(template[i + 1])
            i += 2
            continue
        if ch == "$" and i + 1 < len(template) and template[i + 1].isdigit():
            n = int(template[i + 1])
            if n <= (match.re.groups or 0):
                out.append(match.group(n) or "")
            i += 2
            continue
        if ch == "&":
            out.append(match.group(0))
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def pass_target(rule: ProxyRule, uri: str, args: str, raw_uri: str) -> str | None:
    """The backend URL ``rule`` gives the decoded path ``uri`` (None: no match;
    :data:`NOT_PROXIED` for a ``!`` rule that matches). ``raw_uri`` is the path as
    sent, for ``nocanon``."""
    if rule.regex:
        m = re.search(rule.path, uri)
        if m is None:
            return None
        if rule.url == NOT_PROXIED:
            return NOT_PROXIED
        found = _substitute(rule.url, m)
        url = found if found != rule.url else rule.url + uri
    else:
        n = alias_match(uri, rule.path)
        if not n:
            return None
        if rule.url == NOT_PROXIED:
            return NOT_PROXIED
        rest = uri[n:]
        if rule.nocanon:
            raw_n = alias_match(raw_uri, rule.path)
            if raw_n:
                return (
                    rule.url + raw_uri[raw_n:] + ("?" + args if args and not rule.noquery else "")
                )
        url = rule.url + rest
    return canonical(url, "" if rule.noquery else args)


def canonical(url: str, args: str) -> str:
    """``url`` with its path re-encoded and the query ``args`` after it (proxy_http_canon)."""
    m = _BASE.match(url)
    if m is None:
        return url
    base = _base(m.group(1))
    path = m.group(2)
    path = path[1:] if path.startswith("/") else path
    return base + "/" + canon_path(path) + ("?" + args if args else "")


_BASE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*)(.*)\Z", re.S)


@functools.lru_cache(maxsize=256)
def _base(base: str) -> str:
    """``scheme://host[:port]`` as proxy_http_canon rebuilds it (the default port
    left out); the same few for every request, so remembered."""
    parts = split_url(base)
    if parts is None:
        return base
    scheme, host, port, _ = parts
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + (f":{port}" if port != 80 else "")


def is_url(text: str) -> bool:
    return _URL.match(text) is not None


def reverse_location(value: str, reverse: tuple[tuple[str, str], ...], own_base: str) -> str:
    """A ``Location``-like value with the first matching ProxyPassReverse applied.

    ``own_base`` is this server's ``scheme://host[:port]`` as the client named
    it (ap_construct_url), for a mapped value that is a path.
    """
    for fake, real in reverse:
        part = value
        if real.startswith("/"):
            scheme_end = value.find("://")
            if scheme_end != -1:
                slash = value.find("/", scheme_end + 3)
                if slash != -1:
                    part = value[slash:]
        if real and len(part) >= len(real) and part[: len(real)].lower() == real.lower():
            mapped = fake + part[len(real) :]
            return mapped if is_url(mapped) else own_base + mapped
    return value


def reverse_cookie(
    value: str, domains: tuple[tuple[str, str], ...], paths: tuple[tuple[str, str], ...]
) -> str:
    """A ``Set-Cookie`` value with its ``path=`` and ``domain=`` mapped."""
    if not domains and not paths:
        return value
    new_path: tuple[int, int, str] | None = None
    new_domain: tuple[int, int, str] | None = None
    pos = 0
    for token in value.split(";"):
        start = pos
        pos += len(token) + 1
        stripped = token.lstrip()
        offset = start + len(token) - len(stripped)
        key = stripped[:7].lower()
        if key.startswith("path="):
            found = stripped[5:]
            for fake, real in paths:
                if found.startswith(fake):
                    new_path = (offset + 5, offset + len(stripped), real)
                    break
        elif key == "domain=":
            found = stripped[7:]
            for fake, real in domains:
                if found[: len(fake)].lower() == fake.lower():
                    new_domain = (offset + 7, offset + len(stripped), real)
                    break
    changes = sorted(c for c in (new_path, new_domain) if c is not None)
    for begin, end, text in reversed(changes):
        value = value[:begin] + text + value[end:]
    return value
