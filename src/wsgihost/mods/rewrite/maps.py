"""``${map:key|default}`` lookups: txt: and rnd: files, and the int: functions.

A txt file is read as mod_rewrite reads it (lookup_map_txtfile): a line is
``key value``; lines starting with ``#`` or whitespace are skipped; the
first line whose key matches gives its first word. rnd: is the same file
with ``a|b|c`` values, one chosen at random per lookup. Files are kept in
memory and read again when their modification time changes (Apache's map
cache does the same).
"""

from __future__ import annotations

import os
import random
import threading
from urllib.parse import unquote

from wsgihost.mods.rewrite.escape import escape_uri
from wsgihost.mods.rewrite.rules import MapSpec

_MAX_LINE = 1024  # REWRITE_MAX_TXT_MAP_LINE: a longer line is read in pieces


class MapFiles:
    """The txt and rnd files maps read, by path, reloaded on change."""

    def __init__(self) -> None:
        self._files: dict[str, tuple[float, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def table(self, path: str) -> dict[str, str] | None:
        """The file's keys and values (None: it cannot be read)."""
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            return None
        found = self._files.get(path)
        if found is not None and found[0] == mtime:
            return found[1]
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return None
        table = parse_txt(data.decode("latin-1"))
        with self._lock:
            self._files[path] = (mtime, table)
        return table

    def lookup(self, spec: MapSpec, key: str) -> str | None:
        """The value for ``key`` (None: no value, so the default is used)."""
        if spec.kind == "int":
            return _internal(spec.source, key)
        table = self.table(spec.source)
        if table is None:
            return None
        value = table.get(key)
        if value is not None and spec.kind == "rnd" and "|" in value:
            # select_random_value_part: an empty choice is possible, as in Apache.
            value = random.choice(value.split("|"))
        return value


def parse_txt(text: str) -> dict[str, str]:
    """A txt map's keys and values; the first line for a key wins."""
    table: dict[str, str] = {}
    for raw in text.splitlines():
        for line in (raw[i : i + _MAX_LINE] for i in range(0, max(len(raw), 1), _MAX_LINE)):
            if not line or line[0] == "#" or line[0].isspace():
                continue
            words = line.split()
            if len(words) < 2 or words[0] in table:
                continue
            table[words[0]] = words[1]
    return table


def _internal(name: str, key: str) -> str:
    if name == "tolower":
        return key.lower()
    if name == "toupper":
        return key.upper()
    if name == "escape":
        return escape_uri(key)
    return unquote(key, encoding="latin-1")
