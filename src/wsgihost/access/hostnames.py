"""The client's host name for ``Require host``: reverse DNS, confirmed forward.

As Apache's REMOTE_DOUBLE_REV lookup: the address's PTR name counts only if
that name resolves back to the same address; otherwise the client has no
name and ``Require host`` does not match. The lookups block, so they run on
a pool thread, never on the event loop; answers (failures too) are kept for
``TTL`` seconds so a busy client costs one lookup, not one per request.
"""

from __future__ import annotations

import socket
import threading
import time

from wsgihost.access.address import client_ip

TTL = 60.0
MAX_ENTRIES = 4096

_cache: dict[str, tuple[float, str | None]] = {}
_lock = threading.Lock()


def double_reverse(addr: str) -> str | None:
    """The forward-confirmed name of ``addr`` (blocking; cached), or None."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(addr)
    if hit is not None and hit[0] > now:
        return hit[1]
    name = _lookup(addr)
    with _lock:
        if len(_cache) >= MAX_ENTRIES:
            _cache.clear()  # crude, but bounded: a flood of clients cannot grow it
        _cache[addr] = (now + TTL, name)
    return name


def _lookup(addr: str) -> str | None:
    ip = client_ip(addr)
    if ip is None:
        return None
    try:
        name = socket.gethostbyaddr(str(ip))[0]
    except (OSError, UnicodeError):
        return None
    try:
        infos = socket.getaddrinfo(
            name, None, family=socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        )
    except (OSError, UnicodeError):
        return None
    if any(client_ip(str(info[4][0])) == ip for info in infos):
        return name
    return None


def forget() -> None:
    """Empty the cache (for tests)."""
    with _lock:
        _cache.clear()
