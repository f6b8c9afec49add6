"""Notice that WSGI scripts changed (pure: the clock and ``stat`` are passed in).

A change is any difference in the file's signature (inode, size, mtime,
ctime), compared with ``!=`` on the whole: a deploy that renames a new file
into place, a rewrite that keeps the size, and a rollback to an *older*
mtime all count. A change is reported only once the signature has stayed
the same for ``settle`` seconds, so a file still being written is not
imported half-done. A file that disappears is not a change (there would be
nothing to load); its return is.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from wsgihost.wsgi.loader import FileSignature

StatFn = Callable[[str], os.stat_result]


def signature(path: str, stat: StatFn = os.stat) -> FileSignature | None:
    try:
        st = stat(path)
    except OSError:
        return None
    return FileSignature(st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass
class _Watched:
    known: FileSignature | None  # what the running code was loaded from
    seen: FileSignature | None  # what the file looked like at the last look
    since: float  # when ``seen`` was first seen


class ChangeMonitor:
    """The scripts a master watches, and which of them changed and settled."""

    def __init__(self, stat: StatFn = os.stat, settle: float = 0.2) -> None:
        self._stat = stat
        self.settle = settle
        self._files: dict[str, _Watched] = {}

    def watch(self, paths: Iterable[str], now: float) -> None:
        """Start watching ``paths`` (already-watched ones keep their state)."""
        for path in paths:
            if path not in self._files:
                sig = signature(path, self._stat)
                self._files[path] = _Watched(sig, sig, now)

    def unwatch(self, path: str) -> None:
        self._files.pop(path, None)

    @property
    def paths(self) -> list[str]:
        return list(self._files)

    def poll(self, now: float, only: Iterable[str] | None = None) -> list[str]:
        """The watched files that changed and have settled since the last report."""
        changed = []
        for path in self._files if only is None else only:
            watched = self._files.get(path)
            if watched is None:
                continue
            sig = signature(path, self._stat)
            if sig != watched.seen:
                watched.seen = sig
                watched.since = now
                continue
            if sig is not None and sig != watched.known and now - watched.since >= self.settle:
                watched.known = sig
                changed.append(path)
        return changed

    def next_deadline(self) -> float | None:
        """When a change being watched settles (to poll again then), if any."""
        pending = [
            w.since + self.settle
            for w in self._files.values()
            if w.seen is not None and w.seen != w.known
        ]
        return min(pending) if pending else None
