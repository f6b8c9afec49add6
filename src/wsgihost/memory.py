"""Give freed heap memory back to the system after a burst of large bodies.

Relaying big responses and uploads leaves a process's C heap holding
buffers it no longer uses (glibc keeps freed blocks for reuse, in an arena
per thread, and a few live ones can pin a whole region). ``malloc_trim``
returns those pages; called every couple of seconds by front-end workers and
daemon processes, it keeps an idle process's RSS near what it was at start.
Without glibc it does nothing.

Standard library only, Python 3.9 syntax: daemon processes import it too.
"""

from __future__ import annotations

import ctypes
from typing import Callable, Optional


def _malloc_trim() -> Optional[Callable[[int], int]]:
    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_TRIM = _malloc_trim()


def release_free_memory() -> None:
    if _TRIM is not None:
        _TRIM(0)
