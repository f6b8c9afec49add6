"""WSGITrustedProxyHeaders and WSGITrustedProxies: what a proxy in front says about the client.

Pure. A proxy in front of the server tells it the client's address, the
scheme, host, port and mount point the client used, in headers such as
``X-Forwarded-For``; a client talking to the server directly can send the
same headers, so mod_wsgi believes only the headers the configuration names,
and only from the proxies it lists (from anyone when it lists none). It then
rewrites the environ: ``REMOTE_ADDR``, ``HTTP_HOST``, ``SERVER_NAME``,
``SERVER_PORT``, ``SCRIPT_NAME`` and ``wsgi.url_scheme``. A named header that
was not believed is taken out of the environ, with the other headers of its
kind, so an app cannot read a spoofed one by mistake (mod_wsgi 4.9's
``wsgi_process_proxy_headers``, followed here step by step).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any, Dict, List, Optional, Set, Tuple, Union

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

# The headers mod_wsgi knows, as environ keys, by what they say.
CLIENT = ("HTTP_X_FORWARDED_FOR", "HTTP_X_CLIENT_IP", "HTTP_X_REAL_IP")
HOST = ("HTTP_X_FORWARDED_HOST", "HTTP_X_HOST")
SCRIPT_NAME = ("HTTP_X_SCRIPT_NAME", "HTTP_X_FORWARDED_SCRIPT_NAME")
SCHEME_NAMES = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_SCHEME", "HTTP_X_SCHEME")
SCHEME_FLAGS = ("HTTP_X_FORWARDED_HTTPS", "HTTP_X_FORWARDED_SSL", "HTTP_X_HTTPS")
SCHEME = SCHEME_NAMES + SCHEME_FLAGS
# Taken as they come, and never removed (mod_wsgi has no kind for them).
SERVER = "HTTP_X_FORWARDED_SERVER"
PORT = "HTTP_X_FORWARDED_PORT"
KNOWN = CLIENT + HOST + SCRIPT_NAME + SCHEME + (SERVER, PORT)

_ON = ("on", "true", "1")
_OFF = ("off", "false", "0")


def header_env_name(name: str) -> Optional[str]:
    """``X-Forwarded-For`` -> ``HTTP_X_FORWARDED_FOR``; None for a name with other
    characters than letters, digits and ``-`` (mod_wsgi's ``wsgi_http2env``)."""
    if not name or not all(c.isascii() and (c.isalnum() or c == "-") for c in name):
        return None
    return "HTTP_" + name.upper().replace("-", "_")


def parse_network(text: str) -> Optional[Network]:
    """An address or ``address/bits`` (also ``address/mask``), as mod_wsgi accepts them."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


@lru_cache(maxsize=64)
def _networks(proxies: Tuple[str, ...]) -> Tuple[Network, ...]:
    found = (parse_network(p) for p in proxies)
    return tuple(n for n in found if n is not None)


def _address(text: str) -> Optional[Address]:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=1024)
def _trusted(text: str, networks: Tuple[Network, ...]) -> Optional[bool]:
    """Whether the address is in a network; None when it is not an address.
    (Cached: a proxy's address, and its clients', come back request after request.)"""
    address = _address(text)
    if address is None:
        return None
    return any(address.version == n.version and address in n for n in networks)


def _forwarded_for(
    environ: Dict[str, Any], value: str, networks: Optional[Tuple[Network, ...]]
) -> None:
    """X-Forwarded-For: the client is the first address, or with trusted proxies
    listed, the one just before the trusted proxies at the end of the list."""
    items: List[str] = [i.strip() for i in value.split(",")]
    items = [i for i in items if i]
    if not items:
        return
    if networks is None:
        environ["REMOTE_ADDR"] = items[0]  # the header itself is left as it is
        return
    first = -1
    for i in range(len(items) - 1, -1, -1):
        if not _trusted(items[i], networks):  # not trusted, or not an address
            break
        first = i
    if first >= 0:
        start = max(first - 1, 0)
        environ["REMOTE_ADDR"] = items[start]
        environ["HTTP_X_FORWARDED_FOR"] = ", ".join(items[start:])
    else:
        # No trusted proxy at the end: the last hop is all that can be said.
        environ["REMOTE_ADDR"] = environ["HTTP_X_FORWARDED_FOR"] = items[-1]


def apply(
    environ: Dict[str, Any],
    headers: Optional[Tuple[str, ...]],
    proxies: Optional[Tuple[str, ...]],
) -> None:
    """Rewrite ``environ`` from the trusted ``headers`` (environ keys, in the
    order configured), when the peer is one of ``proxies`` (None: anyone)."""
    if not headers:
        return
    networks = _networks(proxies) if proxies is not None else None
    trusted_peer = True
    if networks is not None:
        trusted_peer = bool(_trusted(str(environ.get("REMOTE_ADDR", "")), networks))
    https = environ.get("wsgi.url_scheme") == "https"
    believed: Dict[Tuple[str, ...], str] = {}  # a kind -> the header believed for it
    named: Set[Tuple[str, ...]] = set()
    for name in headers:
        kind = _kind(name)
        if kind is not None:
            named.add(kind)
        if not trusted_peer:
            continue
        value = environ.get(name)
        if value is None:
            continue
        if name == "HTTP_X_FORWARDED_FOR":
            _forwarded_for(environ, value, networks)
        elif name in CLIENT:
            environ["REMOTE_ADDR"] = value
        elif name in HOST:
            environ["HTTP_HOST"] = value  # SERVER_NAME stays: mod_wsgi leaves it
        elif name == SERVER:
            environ["SERVER_NAME"] = value
        elif name == PORT:
            environ["SERVER_PORT"] = value
        elif name in SCRIPT_NAME:
            environ["mod_wsgi.mount_point"] = value
            environ["SCRIPT_NAME"] = value
        elif name in SCHEME_NAMES:
            https = {"https": True, "http": False}.get(value.lower(), https)
        elif name in SCHEME_FLAGS:
            lowered = value.lower()
            https = True if lowered in _ON else False if lowered in _OFF else https
        if kind is not None:
            believed[kind] = name
    # Of each kind named, only the header believed stays in the environ.
    for kind in named:
        for name in kind:
            if believed.get(kind) != name:
                environ.pop(name, None)
    environ["wsgi.url_scheme"] = "https" if https else "http"


def _kind(name: str) -> Optional[Tuple[str, ...]]:
    for kind in (CLIENT, HOST, SCRIPT_NAME, SCHEME):
        if name in kind:
            return kind
    return None
