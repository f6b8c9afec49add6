"""Group files (``AuthGroupFile``) as mod_authz_groupfile reads them, and its
``Require group``.

Pure but for reading the file (through :class:`ParsedFiles`, parsed again
when it changes). A line is ``group: user user ...``; a user may be in
several groups, a group on several lines.
"""

from __future__ import annotations

import shlex

from wsgihost.access.htpasswd import ParsedFiles

_MAX_LINE = 8192


def parse(text: bytes) -> dict[str, frozenset[str]]:
    """Each user's groups."""
    groups: dict[str, set[str]] = {}
    for raw in text.split(b"\n"):
        line = raw[:_MAX_LINE].strip(b" \t\r\f\v").decode("latin-1")
        if not line or line.startswith("#"):
            continue
        group, _, members = line.partition(":")
        # Apache reads members as configuration words: quotes group a name.
        try:
            words = shlex.split(members, comments=False, posix=True)
        except ValueError:
            words = members.split()
        for user in words:
            groups.setdefault(user, set()).add(group)
    return {user: frozenset(names) for user, names in groups.items()}


FILES: ParsedFiles[dict[str, frozenset[str]]] = ParsedFiles(parse)  # one per worker process


def user_groups(path: str, user: str) -> frozenset[str]:
    """The user's groups in the file (OSError when it cannot be opened)."""
    return FILES.get(path).get(user, frozenset())
