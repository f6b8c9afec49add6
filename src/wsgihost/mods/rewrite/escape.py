"""The escaping mod_rewrite does: redirect URLs (NE turns it off) and [B] back-references.

Pure. ``escape_uri`` is httpd's ``ap_escape_uri`` (``ap_os_escape_path``
with partial set): every byte but letters, digits and ``$-_.+!*'(),:;@&=/~``
becomes ``%XX``, so ``?``, ``#``, ``%``, spaces and controls (CR and LF
included) are escaped. Text is latin-1 (a byte per character).
"""

from __future__ import annotations

import string

_PATH_SAFE = frozenset(string.ascii_letters + string.digits + "$-_.+!*'(),:;@&=/~")
_ALNUM = frozenset(string.ascii_letters + string.digits + "_")


def _hex(c: str) -> str:
    return f"%{ord(c):02x}"


def escape_uri(text: str) -> str:
    """ap_escape_uri."""
    return "".join(c if c in _PATH_SAFE else _hex(c) for c in text)


def escape_absolute_uri(uri: str, scheme_len: int) -> str:
    """escape_absolute_uri: the path (and for ldap the parts) of ``uri`` escaped,
    the scheme and authority left alone."""
    cp = scheme_len
    if uri[cp - 1] == "/":
        while cp < len(uri) and uri[cp] != "/":
            cp += 1
        if cp >= len(uri) or cp + 1 >= len(uri):
            return uri  # nothing after the host part
        cp += 1
        if uri[:4].lower() == "ldap":
            tokens = uri[cp:].split("?", 4)
            return uri[:cp] + "?".join(escape_uri(t) for t in tokens)
    return uri[:cp] + escape_uri(uri[cp:])


def _visible(c: str) -> bool:
    """T_VCHAR_OBSTEXT: a visible ASCII character or a byte above 127."""
    o = ord(c)
    return 0x21 <= o <= 0x7E or o >= 0x80


def escape_backref(
    text: str, escapes: str | None, noescapes: str | None, noplus: bool, ctls: bool
) -> str:
    """[B] (with B=chars, BNE=chars, BNP, BCTLS): a back-reference made safe for a query."""
    out: list[str] = []
    for c in text:
        chosen = (not _visible(c)) if ctls else escapes is None
        if (chosen or (escapes is not None and c in escapes)) and not (
            noescapes is not None and c in noescapes
        ):
            if c in _ALNUM:
                out.append(c)
            elif c == " " and not noplus:
                out.append("+")
            else:
                out.append(_hex(c))
        else:
            out.append(c)
    return "".join(out)


def has_ctl_or_space(text: str) -> bool:
    """Whether ap_scan_vchar_obstext stops early: a control character or a space."""
    return any(not _visible(c) for c in text)


# is_absolute_uri: the schemes mod_rewrite treats as absolute URLs, with
# whether a query string makes sense for them.
_SCHEMES = (
    ("ajp://", True),
    ("balancer://", True),
    ("ftp://", False),
    ("fcgi://", True),
    ("gopher://", False),
    ("http://", True),
    ("https://", True),
    ("h2://", True),
    ("h2c://", True),
    ("ldap://", False),
    ("mailto:", True),
    ("news:", False),
    ("nntp://", False),
    ("scgi://", True),
    ("ws://", True),
    ("wss://", True),
)


def absolute_uri(uri: str) -> tuple[int, bool]:
    """(length of the scheme part, whether it takes a query) or (0, False)."""
    if uri.startswith("/") or len(uri) <= 5:
        return 0, False
    lowered = uri[:12].lower()
    for scheme, query in _SCHEMES:
        if lowered.startswith(scheme):
            return len(scheme), query
    return 0, False
