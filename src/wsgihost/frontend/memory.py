"""Give freed heap memory back to the system after a burst of large bodies.

Relaying big responses and uploads leaves the worker's C heap holding
buffers it no longer uses (glibc keeps freed blocks for reuse, and a few
live ones can pin a whole region). ``malloc_trim`` returns those pages; run
every 2 s from the worker's sweep, it keeps an idle worker's RSS near
what it was at start. Without glibc it does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_TRIM = _malloc_trim()


def release_free_memory() -> None:
    if _TRIM is not None:
        _TRIM(0)
