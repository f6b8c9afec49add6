"""mod_remoteip: the client's address from a proxy's header, or from the PROXY protocol.

Pure (the proxy list files are read as the configuration is, like Include).
Per host (main server or ``<VirtualHost>``, a vhost inheriting each setting
it does not give): ``RemoteIPHeader``, ``RemoteIPProxiesHeader`` and the
trusted and internal proxies (:class:`RemoteIPSettings`, used by
:mod:`wsgihost.mods.remoteip`). Server-wide, as mod_remoteip keeps them in
the main server's record whatever host they are written in:
``RemoteIPProxyProtocol`` (the addresses of the host it is written in) and
``RemoteIPProxyProtocolExceptions`` (:class:`ProxyProtocolSettings`, used by
:mod:`wsgihost.mods.proxyproto`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace

from wsgihost.config.draft import Context
from wsgihost.config.table import TOP, Apply, Directive, record
from wsgihost.config.values import parse_flag

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class RemoteIPSettings:
    """One host's settings; None where not given (a vhost then takes the main server's)."""

    header: str | None = None  # RemoteIPHeader
    proxies_header: str | None = None  # RemoteIPProxiesHeader
    # RemoteIP{Trusted,Internal}Proxy[List], in order: (network, internal).
    proxies: tuple[tuple[str, bool], ...] | None = None


def merged(main: RemoteIPSettings | None, host: RemoteIPSettings | None) -> RemoteIPSettings | None:
    """A host's settings over the main server's (merge_remoteip_server_config)."""
    if main is None or host is None or host is main:
        return host if host is not None else main
    return RemoteIPSettings(
        header=host.header if host.header is not None else main.header,
        proxies_header=(
            host.proxies_header if host.proxies_header is not None else main.proxies_header
        ),
        proxies=host.proxies if host.proxies is not None else main.proxies,
    )


@dataclass(frozen=True)
class ProxyProtocolSettings:
    """Where connections must start with a PROXY header (server-wide).

    ``enabled`` and ``disabled`` are (address, port) pairs, address ``""``
    for any and port 0 for any, as the hosts' addresses were when
    ``RemoteIPProxyProtocol On``/``Off`` was read; ``exceptions`` are the
    networks whose connections never carry one.
    """

    enabled: tuple[tuple[str, int], ...] = ()
    disabled: tuple[tuple[str, int], ...] = ()
    exceptions: tuple[str, ...] = ()

    def expects(self, local_addr: str, local_port: int, peer_addr: str) -> bool:
        """Must a connection to ``local_addr:local_port`` from ``peer_addr`` start
        with a PROXY header? (remoteip_hook_pre_connection)"""
        if not any(_compatible(a, (local_addr, local_port)) for a in self.enabled):
            return False
        if any(_compatible(a, (local_addr, local_port)) for a in self.disabled):
            return False
        return not in_networks(peer_addr, self.exceptions)


def _compatible(a: tuple[str, int], b: tuple[str, int]) -> bool:
    """remoteip_sockaddr_compat: the same address (either port 0: any), or either
    one a wildcard address whose port is 0 or the other's."""
    if same_ip(a[0], b[0]) and (a[1] == b[1] or not a[1] or not b[1]):
        return True
    if not a[0] and (not a[1] or a[1] == b[1]):
        return True
    return not b[0] and (not b[1] or b[1] == a[1])


def same_ip(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def in_networks(address: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n) for n in networks)


_PARTIAL_V4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){0,2}")


def parse_subnet(text: str) -> Network | None:
    """An address or network as apr_ipsubnet_create reads it: ``10.0.0.1``,
    ``10.0.0.0/8``, ``10.0.0.0/255.0.0.0``, ``2001:db8::/32`` or a partial
    IPv4 address (``10.1`` is 10.1.0.0/16). None if it is none of those."""
    address, _, mask = text.partition("/")
    try:
        if not mask and _PARTIAL_V4.fullmatch(address):
            parts = address.split(".")
            full = ".".join(parts + ["0"] * (4 - len(parts)))
            return ipaddress.ip_network(f"{full}/{8 * len(parts)}")
        return ipaddress.ip_network(f"{address}/{mask}" if mask else address, strict=False)
    except ValueError:
        return None


def _looks_like_ip(text: str) -> bool:
    """mod_remoteip's test: a colon (IPv6), or only digits and dots."""
    return ":" in text or re.fullmatch(r"[\d.]*", text) is not None


def _proxy_entry(ctx: Context, word: str, internal: bool, where: str = "") -> str | None:
    """One proxy as a network text, or None after saying what is wrong."""
    address = word.partition("/")[0]
    if not _looks_like_ip(address):
        ctx.error(
            f"'{word}'{where}: give an IP address or network; wsgihost does not look "
            "host names up when it reads its configuration"
        )
        return None
    network = parse_subnet(word)
    if network is None:
        ctx.error(f"RemoteIP: Error parsing IP {word}{where}")
        return None
    return str(network)


def _settings(ctx: Context) -> RemoteIPSettings:
    return ctx.host.remoteip or RemoteIPSettings()


def _add_proxies(ctx: Context, entries: list[str], internal: bool) -> None:
    current = _settings(ctx)
    more = tuple((e, internal) for e in entries)
    ctx.host.remoteip = replace(current, proxies=(current.proxies or ()) + more)


def _header(field: str) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        name = args[0]
        if not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", name):
            ctx.error(f"'{name}' is not a header name")
            return
        current = _settings(ctx)
        if field == "header":
            ctx.host.remoteip = replace(current, header=name)
        else:
            ctx.host.remoteip = replace(current, proxies_header=name)

    return apply


def _proxies(internal: bool) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        found = [_proxy_entry(ctx, word, internal) for word in args]
        if None not in found:
            _add_proxies(ctx, [f for f in found if f is not None], internal)

    return apply


def _proxy_list(internal: bool) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        path = ctx.path(args[0])
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError as e:
            ctx.error(f"Could not open file {path}: {e.strerror or e}")
            return
        found: list[str] = []
        for number, line in enumerate(lines, 1):
            for word in line.split():
                if word.startswith("#"):
                    break
                entry = _proxy_entry(ctx, word, internal, f" at line {number} of {path}")
                if entry is None:
                    return
                found.append(entry)
        _add_proxies(ctx, found, internal)

    return apply


def _addresses(ctx: Context) -> list[tuple[str, int]]:
    """The addresses of the host being read, as mod_remoteip compares them."""
    if ctx.host.main or not ctx.host.addresses:
        return [("", 0)]  # the main server: every address, every port
    found = []
    for address in ctx.host.addresses:
        host = address.host
        if host in ("*", "_default_"):
            host = ""
        else:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                ctx.warn(
                    f"'{host}' is not an IP address (wsgihost does not look names up): "
                    "taken as every address"
                )
                host = ""
        found.append((host, address.port or 0))
    return found


def _proxy_protocol(ctx: Context, args: list[str]) -> None:
    on = parse_flag(ctx, args[0])
    if on is None:
        return
    current = ctx.server.proxy_protocol or ProxyProtocolSettings()
    add, remove = (
        (list(current.enabled), list(current.disabled))
        if on
        else (list(current.disabled), list(current.enabled))
    )
    for address in _addresses(ctx):
        # Taken out of the other list (remoteip_enable_proxy_protocol), then added.
        for i, other in enumerate(remove):
            if other[1] == address[1] and same_ip(other[0], address[0]):
                del remove[i]
                break
        if not any(_compatible(a, address) for a in add):
            add.insert(0, address)
    enabled, disabled = (add, remove) if on else (remove, add)
    ctx.server.proxy_protocol = replace(current, enabled=tuple(enabled), disabled=tuple(disabled))


def _exceptions(ctx: Context, args: list[str]) -> None:
    networks = []
    for word in args:
        network = parse_subnet(word)
        if network is None:
            ctx.error(f"ip address '{word.partition('/')[0]}' appears to be invalid")
            return
        networks.append(str(network))
    current = ctx.server.proxy_protocol or ProxyProtocolSettings()
    ctx.server.proxy_protocol = replace(current, exceptions=current.exceptions + tuple(networks))


_TRUST = (
    "Without any RemoteIPTrustedProxy/RemoteIPInternalProxy, every peer is trusted, as "
    "an external proxy (the addresses it gives must be public ones)."
)

DIRECTIVES: tuple[Directive, ...] = (
    record(
        "RemoteIPHeader",
        "RemoteIPHeader header-field",
        TOP,
        (1, 1),
        "",
        "The request header (X-Forwarded-For) whose addresses, read right to left over "
        "trusted proxies, give the client's address: REMOTE_ADDR, `%a`, `Require ip` and "
        "the error log's client. The header keeps the addresses not used. " + _TRUST,
        _header("header"),
        module="mod_remoteip",
    ),
    record(
        "RemoteIPProxiesHeader",
        "RemoteIPProxiesHeader header-field",
        TOP,
        (1, 1),
        "",
        "The request header that receives the trusted (not internal) proxies the "
        "address passed through.",
        _header("proxies_header"),
        module="mod_remoteip",
    ),
    record(
        "RemoteIPTrustedProxy",
        "RemoteIPTrustedProxy proxy-ip|proxy-ip/subnet ...",
        TOP,
        (1, None),
        "",
        "Proxies trusted to give RemoteIPHeader; the addresses they give must be public "
        "ones. IP addresses and networks only: wsgihost does not look names up.",
        _proxies(False),
        module="mod_remoteip",
    ),
    record(
        "RemoteIPInternalProxy",
        "RemoteIPInternalProxy proxy-ip|proxy-ip/subnet ...",
        TOP,
        (1, None),
        "",
        "As RemoteIPTrustedProxy, for proxies that may give private addresses too.",
        _proxies(True),
        module="mod_remoteip",
    ),
    record(
        "RemoteIPTrustedProxyList",
        "RemoteIPTrustedProxyList filename",
        TOP,
        (1, 1),
        "",
        "RemoteIPTrustedProxy for each address in a file (`#` comments); relative to ServerRoot.",
        _proxy_list(False),
        module="mod_remoteip",
    ),
    record(
        "RemoteIPInternalProxyList",
        "RemoteIPInternalProxyList filename",
        TOP,
        (1, 1),
        "",
        "RemoteIPInternalProxy for each address in a file (`#` comments); relative to ServerRoot.",
        _proxy_list(True),
        module="mod_remoteip",
    ),
    record(
        "RemoteIPProxyProtocol",
        "RemoteIPProxyProtocol On|Off",
        TOP,
        (1, 1),
        "Off",
        "Connections to the addresses of this host (every address, in the main server) "
        "must start with a PROXY protocol header, v1 or v2, else they are closed; its "
        "source address is the client's. A v2 LOCAL (health checks) keeps the peer's. "
        "Comes before TLS on the wire, as HAProxy sends it.",
        _proxy_protocol,
        module="mod_remoteip",
    ),
    record(
        "RemoteIPProxyProtocolExceptions",
        "RemoteIPProxyProtocolExceptions host|range [host|range] ...",
        TOP,
        (1, None),
        "",
        "Peers (addresses or networks) whose connections carry no PROXY header.",
        _exceptions,
        module="mod_remoteip",
    ),
)
