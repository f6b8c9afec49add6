"""inotify through ctypes (Linux), so the master hears of a script change at once.

Every event in a watched directory makes the master poll its change monitor,
which decides from the files' signatures what changed. The events about a
watched file itself also say how far its writer got (:func:`meaning`): a
write under way, or a writer that closed the file or a rename that put a
whole one in place, after which the change need not wait out the full
settle time. The periodic stat goes on regardless, for file systems where
inotify is blind and for symbolic links swapped above the script. Where
inotify is not available, :func:`open_watcher` returns None and polling
alone does the work.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
from dataclasses import dataclass, field

from wsgihost.reload import COMPLETE, REPLACED, WRITING

IN_MODIFY = 0x002
IN_ATTRIB = 0x004
IN_CLOSE_WRITE = 0x008
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_MOVE_SELF
)
_HEADER = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)


def meaning(mask: int) -> str | None:
    """What an event on a watched file says about its writer, for the change monitor.

    ``IN_MODIFY``: a write, so someone has the file open for writing and may
    not be done. ``IN_CLOSE_WRITE``: that writer (or ``touch``, which opens
    the file to set its times) closed it. ``IN_MOVED_TO``: a rename put a
    file in place, whole. A creation, a deletion or a rename away: another
    inode, for which no writer is known yet. ``IN_ATTRIB`` (``chmod``,
    ``utime``, a ``touch -c`` that does not open) says nothing of content.
    """
    if mask & (IN_CLOSE_WRITE | IN_MOVED_TO):
        return COMPLETE
    if mask & IN_MODIFY:
        return WRITING
    if mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM):
        return REPLACED
    return None


@dataclass
class Events:
    """What one read of the inotify descriptor brought."""

    seen: bool = False  # something happened in a watched directory: poll now
    overflow: bool = False  # the kernel dropped events: what they said is unknown
    files: list[tuple[str, int]] = field(default_factory=list)  # (watched path, mask), in order


class Watcher:
    """An inotify descriptor watching the directories of some files."""

    def __init__(self, fd: int, libc: ctypes.CDLL) -> None:
        self.fd = fd
        self._libc = libc
        self._dirs: dict[str, int] = {}  # directory -> watch descriptor
        self._paths: dict[tuple[int, str], str] = {}  # (wd, name in it) -> the watched path
        # Some directory is not watched (it could not be, or it went or moved
        # away): the master calls watch() again at its polls until it is.
        self.missing = False

    def watch(self, paths: list[str]) -> None:
        # The directory, not the file: an editor or a deploy that renames a
        # new file into place replaces the inode a file watch would follow.
        for path in paths:
            directory = os.path.dirname(path) or "."
            wd = self._dirs.get(directory)
            if wd is None:
                wd = self._libc.inotify_add_watch(self.fd, os.fsencode(directory), MASK)
                if wd < 0:
                    self.missing = True  # polling alone watches it meanwhile
                    continue
                self._dirs[directory] = wd
            self._paths[(wd, os.path.basename(path))] = path

    def read(self) -> Events:
        """The pending events, those about watched files with their paths."""
        events = Events()
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # BlockingIOError included: nothing more for now
                return events
            if not data:
                return events
            events.seen = True
            self._parse(data, events)

    def _parse(self, data: bytes, events: Events) -> None:
        offset = 0
        while offset + _HEADER.size <= len(data):
            wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
            offset += _HEADER.size
            raw = data[offset : offset + length]
            offset += length
            if mask & IN_Q_OVERFLOW:
                events.overflow = True
            elif mask & (IN_IGNORED | IN_MOVE_SELF) and not length:
                # The directory itself went, or moved away (a deploy that swaps
                # a release folder in): the watch no longer sees its path.
                self._forget(wd, drop=bool(mask & IN_MOVE_SELF))
            else:
                path = self._paths.get((wd, os.fsdecode(raw.split(b"\0", 1)[0])))
                if path is not None:
                    events.files.append((path, mask))

    def retry(self, paths: list[str]) -> None:
        """watch() again, ``paths`` being every path wanted: the folders that are back."""
        self.missing = False
        self.watch(paths)

    def _forget(self, wd: int, drop: bool) -> None:
        if drop:
            self._libc.inotify_rm_watch(self.fd, wd)
        if wd in self._dirs.values():
            self.missing = True
        self._dirs = {d: w for d, w in self._dirs.items() if w != wd}
        self._paths = {k: p for k, p in self._paths.items() if k[0] != wd}

    def close(self) -> None:
        os.close(self.fd)


def open_watcher() -> Watcher | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
    except (OSError, AttributeError):
        return None
    if fd < 0:
        return None
    return Watcher(fd, libc)
