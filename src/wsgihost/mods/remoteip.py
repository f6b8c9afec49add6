"""mod_remoteip at run time: the client's address from ``RemoteIPHeader``.

Apache's ``remoteip_modify_request`` (post_read_request, first): the header
(X-Forwarded-For) is read right to left. Each address is taken as the
client's only while the address it came from (the peer, then each address
taken) is a trusted proxy; with no RemoteIPTrustedProxy/InternalProxy at all,
every peer counts as a trusted external one. An external (not internal)
proxy may not present a private address (10/8, 127/8, 169.254/16,
172.16/12, 192.168/16; for IPv6 anything outside 2000::/3), and once a hop
is external, the hops before it are too. What was not used stays in the
header; the trusted external proxies passed go to RemoteIPProxiesHeader.
The new address is what REMOTE_ADDR, ``%a``, ``%h`` and ``Require ip`` see.

A connection that came with a PROXY protocol header
(:mod:`wsgihost.mods.proxyproto`) has its client's address from that header
already, and RemoteIPHeader is not read for it, as in mod_remoteip.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wsgihost.pipeline.hooks import Module, Outcome

if TYPE_CHECKING:
    from wsgihost.config.mod_remoteip import RemoteIPSettings
    from wsgihost.config.model import Server
    from wsgihost.pipeline.state import RequestState

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_PRIVATE_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in ("10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16")
)
_GLOBAL_V6 = ipaddress.IPv6Network("2000::/3")
PROXY_LIST_NOTE = "remoteip-proxy-ip-list"


@dataclass(frozen=True)
class Walked:
    """What the header gave: the client's address, what stays in the header (None:
    nothing, the header goes), and the trusted external proxies passed."""

    client: str
    rest: str | None
    proxies: tuple[str, ...]


def parse_address(text: str) -> Address | None:
    """An address as mod_remoteip takes it: IPv4-mapped IPv6 as the IPv4 address."""
    try:
        found = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


def _private(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv4Address):
        return any(address in n for n in _PRIVATE_V4)
    return address not in _GLOBAL_V6


class Proxies:
    """The trusted and internal proxies of a host, compiled once."""

    def __init__(self, entries: tuple[tuple[str, bool], ...] | None) -> None:
        self.entries = tuple((ipaddress.ip_network(n), internal) for n, internal in entries or ())

    def find(self, address: Address) -> bool | None:
        """None: not a proxy; else whether it is an internal one (first match wins)."""
        for network, internal in self.entries:
            if address.version == network.version and address in network:
                return internal
        return None


def walk(value: str, peer: str, proxies: Proxies) -> Walked | None:
    """The header ``value`` read from the right, from ``peer``; None: nothing taken."""
    current = parse_address(peer)
    if current is None:
        return None
    internal = bool(proxies.entries)  # none listed: every peer is a trusted external proxy
    client = peer
    taken = False
    passed: list[str] = []
    remote: str | None = value
    while remote is not None:
        if proxies.entries:
            found = proxies.find(current)
            if found is None:
                break  # the address it came from is no proxy of ours
            if internal:
                # An internal proxy may present an external one, never the reverse.
                internal = found
        left, comma, element = remote.rpartition(",")
        rest: str | None = left if comma else None
        word = element.lstrip(" ").rstrip(" ")
        address = parse_address(word) if word else None
        if address is None or (not internal and _private(address)):
            # Left in the header as it was (less trailing spaces), as Apache does.
            remote = (left + "," + element.rstrip(" ")) if comma else element.strip(" ")
            break
        if not internal:
            passed.append(client)
        taken = True
        current = address
        client = str(address)
        remote = rest
    if not taken:
        return None
    return Walked(client, remote, tuple(passed))


class RemoteIPModule(Module):
    name = "remoteip"

    def __init__(self) -> None:
        self._proxies: dict[int, Proxies] = {}

    def _compiled(self, settings: RemoteIPSettings) -> Proxies:
        key = id(settings)
        found = self._proxies.get(key)
        if found is None:
            found = self._proxies[key] = Proxies(settings.proxies)
        return found

    def post_read_request(self, r: RequestState) -> Outcome | None:
        if r.notes.get(PROXIED_NOTE):
            return None  # the PROXY protocol gave the address (it takes precedence)
        settings = r.host.remoteip
        if settings is None or settings.header is None:
            return None
        wanted = settings.header.lower().encode("latin-1")
        values = [v.decode("latin-1") for n, v in r.headers_in if n.lower() == wanted]
        if not values:
            return None
        # Apache merges repeated fields into one, comma-separated, as it reads them.
        found = walk(", ".join(values), r.client_addr, self._compiled(settings))
        if found is None:
            return None
        # The port stays the connection's: mod_wsgi's REMOTE_PORT is the peer's even
        # where mod_remoteip zeroes the useragent's (the differential suite shows it).
        r.client_addr = found.client
        if found.rest is None:
            r.unset_header(settings.header)
        else:
            r.set_header(settings.header, found.rest)
        if found.proxies:
            listed = ", ".join(found.proxies)
            r.notes[PROXY_LIST_NOTE] = listed
            if settings.proxies_header:
                r.set_header(settings.proxies_header, listed)
        return None


# Set on the requests of a connection that began with a PROXY header.
PROXIED_NOTE = "remoteip-proxy-protocol"


def activate(server: Server) -> Module | None:
    hosts = (server.main, *server.vhosts)
    if any(h.remoteip is not None and h.remoteip.header for h in hosts):
        return RemoteIPModule()
    return None
