"""Notice that WSGI scripts changed (pure: the clock and ``stat`` are passed in).

A change is any difference in the file's signature (inode, size, mtime,
ctime), compared with ``!=`` on the whole: a deploy that renames a new file
into place, a rewrite that keeps the size, and a rollback to an *older*
mtime all count. A file that disappears is not a change (there would be
nothing to load); its return is.

A change is reported only once the signature has stayed the same for a
while, so that a file still being written is not imported half-done. How
long depends on what the master heard from inotify (:meth:`ChangeMonitor.note`):

- the writer closed the file, or a rename put a whole file in place: ``quick``
  (20 ms), just enough for the ``chmod``/``utime`` a writer often does right
  after closing (``cp -p``, ``shutil.copy2``, editors) to count as the same
  change rather than as a second one;
- a write with no close after it yet: the writer still has the file open, so
  the change waits for the close, or for ``hold`` seconds of quiet (a writer
  that keeps it open for good);
- nothing heard (a stat-only file system, a symbolic link swapped above the
  script, a bare ``chmod`` or ``utime``): ``settle`` (0.2 s), as before.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from wsgihost.wsgi.loader import FileSignature

StatFn = Callable[[str], os.stat_result]

# What inotify says about a watched file's writer (supervisor/inotify.py maps events to these).
WRITING = "writing"  # written to: someone has it open for writing
COMPLETE = "complete"  # its writer closed it, or a rename put a whole file in place
REPLACED = "replaced"  # created, deleted or renamed away: another inode, its writer unknown


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
    writing: bool = False  # a write was heard of and no close after it
    complete: bool = False  # a close or a rename-in was heard of since the last write


class ChangeMonitor:
    """The scripts a master watches, and which of them changed and settled."""

    def __init__(
        self,
        stat: StatFn = os.stat,
        settle: float = 0.2,
        quick: float = 0.02,
        hold: float = 5.0,
    ) -> None:
        self._stat = stat
        self.settle = settle
        self.quick = quick
        self.hold = hold
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

    def note(self, path: str, what: str) -> None:
        """What inotify said about a watched file's writer (WRITING, COMPLETE, REPLACED)."""
        watched = self._files.get(path)
        if watched is None:
            return
        watched.writing = what == WRITING
        watched.complete = what == COMPLETE

    def forget_notes(self) -> None:
        """inotify lost events: what was noted may be out of date, so plain settling it is."""
        for watched in self._files.values():
            watched.writing = watched.complete = False

    def _wait(self, watched: _Watched) -> float:
        if watched.writing:
            return self.hold
        if watched.complete:
            return self.quick
        return self.settle

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
            if sig is None or sig == watched.known:
                continue
            if now - watched.since >= self._wait(watched):
                watched.known = sig
                watched.writing = watched.complete = False
                changed.append(path)
        return changed

    def next_deadline(self) -> float | None:
        """When a change being watched settles (to poll again then), if any."""
        pending = [
            w.since + self._wait(w)
            for w in self._files.values()
            if w.seen is not None and w.seen != w.known
        ]
        return min(pending) if pending else None
