"""Client addresses as mod_authz_host reads them: ``Require ip`` and ``Require local``.

Pure. ``Require ip`` takes what APR's apr_ipsubnet_create takes: a whole
address, a partial IPv4 address (``10.1`` is ``10.1.0.0/16``), an address
with a prefix length (``10.0.0.0/8``, ``2001:db8::/32``) or with a netmask
(``10.0.0.0/255.0.0.0``). An IPv4 rule matches a client on an IPv6 socket
that shows it as ``::ffff:a.b.c.d``, as APR's test does.
"""

from __future__ import annotations

import functools
import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LOCAL_V4 = ipaddress.ip_network("127.0.0.0/8")
LOCAL_V6 = ipaddress.ip_network("::1/128")


class BadAddress(ValueError):
    """A ``Require ip`` argument that is no address."""


@functools.lru_cache(maxsize=1024)
def parse_network(text: str) -> Network:
    """The network a ``Require ip`` argument names; BadAddress if it names none."""
    addr, slash, mask = text.partition("/")
    if slash and not mask:
        raise BadAddress(text)
    try:
        if ":" in addr:
            if mask and not mask.isdigit():
                raise BadAddress(text)
            return ipaddress.IPv6Network(f"{addr}/{mask or 128}", strict=False)
        octets = addr.rstrip(".").split(".") if addr else []
        if not octets or len(octets) > 4 or not all(o.isdigit() and int(o) < 256 for o in octets):
            raise BadAddress(text)
        if mask:
            if len(octets) != 4:
                raise BadAddress(text)  # APR takes a mask only after a whole address
            return ipaddress.IPv4Network(f"{addr}/{mask}", strict=False)
        # A partial address is the network of its octets, as APR reads it.
        whole = ".".join(octets + ["0"] * (4 - len(octets)))
        return ipaddress.IPv4Network(f"{whole}/{8 * len(octets)}", strict=False)
    except ValueError as e:
        raise BadAddress(text) from e


def client_ip(addr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The client's address, IPv4-mapped IPv6 taken as the IPv4 it maps."""
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return None  # a UNIX socket peer, say: matches no network
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def in_network(addr: str, network: Network) -> bool:
    ip = client_ip(addr)
    return ip is not None and ip.version == network.version and ip in network


def is_local(client: str, local: str) -> bool:
    """``Require local``: loopback, or a client on the very address it connected to."""
    ip = client_ip(client)
    if ip is None:
        return False
    if ip in (LOCAL_V4 if ip.version == 4 else LOCAL_V6):
        return True
    return ip == client_ip(local)


def in_domain(domain: str, name: str) -> bool:
    """``Require host``: ``name`` is ``domain`` or within it, on a label boundary
    (``example.com`` takes ``www.example.com`` but not ``badexample.com``)."""
    domain, name = domain.lower(), name.lower()
    if not name.endswith(domain):
        return False
    if len(name) == len(domain):
        return True
    return domain.startswith(".") or name[len(name) - len(domain) - 1] == "."
