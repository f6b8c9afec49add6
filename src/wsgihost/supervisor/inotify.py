"""inotify through ctypes (Linux), so the master hears of a script change at once.

Only a hint: on any event in a watched directory the master polls its
change monitor, which decides from the files' signatures what changed. The
periodic stat goes on regardless, for file systems where inotify is blind and
for symbolic links swapped above the script. Where inotify is not available,
:func:`open_watcher` returns None and polling alone does the work.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

IN_MODIFY = 0x002
IN_ATTRIB = 0x004
IN_CLOSE_WRITE = 0x008
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_MOVE_SELF = 0x800
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
MASK = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVE_SELF


class Watcher:
    """An inotify descriptor watching the directories of some files."""

    def __init__(self, fd: int, libc: ctypes.CDLL) -> None:
        self.fd = fd
        self._libc = libc
        self._dirs: set[str] = set()

    def watch(self, paths: list[str]) -> None:
        # The directory, not the file: an editor or a deploy that renames a
        # new file into place replaces the inode a file watch would follow.
        for directory in {os.path.dirname(p) or "." for p in paths} - self._dirs:
            if self._libc.inotify_add_watch(self.fd, os.fsencode(directory), MASK) >= 0:
                self._dirs.add(directory)

    def drain(self) -> bool:
        """Read the pending events; True if there were any."""
        got = False
        while True:
            try:
                data = os.read(self.fd, 65536)
            except (BlockingIOError, InterruptedError):
                return got
            except OSError:
                return got
            if not data:
                return got
            got = True

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
