"""Apache's ``ap_pregsub``: ``$0``..``$9`` in a replacement, from a regex match.

Pure. mod_setenvif's values (``SetEnvIf ... VAR=$1``) and mod_headers' edit
replacements (``Header edit Name regex "$2-$1"``) both expand their
replacement this way, which is not Python's ``\\1`` syntax: a ``$`` and one
digit names a group, a backslash takes the next character as it is, and a
group that did not take part gives nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Apache keeps ten groups (AP_MAX_REG_MATCH); "$1" followed by more digits is
# group 1 and the digits as text.
MAX_GROUPS = 10


Groups = re.Match[str] | Sequence[str] | None


def pregsub(template: str, match: Groups) -> str:
    """``template`` with ``$N`` replaced by group N of ``match`` (a regex match, or
    the groups an expression's match left, $0 first); None: no groups, so ``$1``
    gives nothing."""
    if "$" not in template and "\\" not in template:
        return template
    out: list[str] = []
    i, n = 0, len(template)
    while i < n:
        c = template[i]
        if c == "$" and i + 1 < n and template[i + 1].isdigit():
            out.append(_group(match, int(template[i + 1])))
            i += 2
            continue
        if c == "\\" and i + 1 < n:
            out.append(template[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _group(match: Groups, number: int) -> str:
    if match is None:
        return ""
    if not isinstance(match, re.Match):
        return match[number] if number < len(match) else ""
    if number > match.re.groups:
        return ""
    return match.group(number) or ""
