"""The PROXY protocol (v1 text, v2 binary) at the start of a connection, as mod_remoteip reads it.

:class:`HeaderReader` is pure: fed the first bytes of a connection, it
says "more", gives the :class:`Header` and the bytes after it, or raises
:class:`ProxyHeaderError` with the line mod_remoteip would log. Its limits
are Apache's: a v1 line of at most 108 bytes with its CRLF; a v2 header of
at most 232 bytes (16 + 216, the largest address block); a connection that
starts with anything else is closed without a word (mod_remoteip logs none).

:class:`ProxyLayer` is the asyncio side, put under a listener's protocol
(the HTTP :class:`~wsgihost.frontend.connection.Connection`, or the TLS
layer: TLS comes after the PROXY header on the wire, as HAProxy sends it).
On a connection RemoteIPProxyProtocol covers, it holds the bytes back until
the header is whole (never blocking the loop: the header arrives in pieces
like any other bytes), within the request-head timeout, then starts the
protocol above with a transport whose ``peername`` is the client the header
names, and hands it the bytes that followed. The socket's own peer stays
available as ``wsgihost_conn_peer`` (``%{c}a``). A v2 LOCAL (HAProxy's
health checks) and a v1 UNKNOWN keep the socket's peer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V1_MAX = 108  # "PROXY TCP6 <39> <39> <5> <5>\r\n" is 104; mod_remoteip's buffer is 108
V2_MAX = 16 + 216  # sizeof(proxy_v2) in mod_remoteip: the AF_UNIX address block
_FIRST = 15  # mod_remoteip decides the version on the first 15 bytes
_V4_CHARS = frozenset("0123456789.")
_V6_CHARS = frozenset("0123456789abcdefABCDEF:")
_PORT = re.compile(r"[+-]?\d+")


class ProxyHeaderError(Exception):
    """A malformed header: the message is mod_remoteip's log line ("" for none)."""


@dataclass(frozen=True)
class Header:
    """A PROXY header read: the client it names (None: keep the socket's peer)."""

    client: tuple[str, int] | None
    version: int
    length: int  # bytes the header took


class HeaderReader:
    """Reads one PROXY header from the bytes a connection starts with."""

    def __init__(self) -> None:
        self.buf = b""

    def feed(self, data: bytes) -> tuple[Header, bytes] | None:
        """The header and the bytes after it, or None until more arrive."""
        self.buf += data
        buf = self.buf
        if len(buf) < _FIRST:
            # Say no as soon as the start can be neither version.
            if not (V2_SIGNATURE.startswith(buf[:12]) or b"PROXY ".startswith(buf[:6])):
                raise ProxyHeaderError("")
            return None
        if buf[:12] == V2_SIGNATURE and buf[12] & 0xF0 == 0x20:
            return self._v2(buf)
        if buf[:6] == b"PROXY ":
            return self._v1(buf)
        raise ProxyHeaderError("")  # not a PROXY header at all

    def _v1(self, buf: bytes) -> tuple[Header, bytes] | None:
        end = buf.find(b"\r\n", 0, V1_MAX)
        if end < 0:
            if len(buf) >= V1_MAX:
                raise ProxyHeaderError("RemoteIPProxyProtocol header too long")
            return None
        line = buf[:end].decode("latin-1")
        header = Header(parse_v1(line), 1, end + 2)
        return header, buf[end + 2 :]

    def _v2(self, buf: bytes) -> tuple[Header, bytes] | None:
        if len(buf) < 16:
            return None
        need = 16 + struct.unpack_from("!H", buf, 14)[0]
        if need > V2_MAX:
            raise ProxyHeaderError("AH10186: RemoteIPProxyProtocol protocol header length too long")
        if len(buf) < need:
            return None
        return Header(parse_v2(buf[:need]), 2, need), buf[need:]


def parse_v1(line: str) -> tuple[str, int] | None:
    """``PROXY TCP4|TCP6|UNKNOWN client dest client-port dest-port`` (without CRLF)."""
    words = [w for w in line.split(" ") if w]  # apr_strtok on spaces
    family = words[1] if len(words) > 1 else None
    if family is None:
        raise ProxyHeaderError(
            f"AH03497: RemoteIPProxyProtocol: no family found in header '{line}'"
        )
    if family == "UNKNOWN":
        return None  # the rest of the line does not matter (the spec's rule)
    if family not in ("TCP4", "TCP6"):
        raise ProxyHeaderError(
            f"AH03499: RemoteIPProxyProtocol: unknown family '{family}' in header '{line}'"
        )
    for index, what in ((2, "client-address"), (3, "destination-address"), (4, "client-port")):
        if len(words) <= index:
            raise ProxyHeaderError(
                f"AH03497: RemoteIPProxyProtocol: no {what} found in header '{line}'"
            )
    host, port_text = words[2], words[4]
    allowed = _V4_CHARS if family == "TCP4" else _V6_CHARS
    if not set(host) <= allowed:
        raise ProxyHeaderError(
            f"AH03500: RemoteIPProxyProtocol: invalid client-address '{host}' found in "
            f"header '{line}'"
        )
    # sscanf("%hu"): the leading digits, kept to 16 bits (99999 is 34463), as Apache reads it.
    digits = _PORT.match(port_text)
    if digits is None:
        raise ProxyHeaderError(
            f"AH03501: RemoteIPProxyProtocol: error parsing port '{port_text}' in header '{line}'"
        )
    port = int(digits.group(0)) & 0xFFFF
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or address.version != (4 if family == "TCP4" else 6):
        number = 2 if family == "TCP4" else 10  # APR_INET, APR_INET6 on Linux
        raise ProxyHeaderError(
            f"AH03502: RemoteIPProxyProtocol: error converting family '{number}', host '{host}', "
            f"and port '{port}' to sockaddr; header was '{line}'"
        )
    return str(address), port


def parse_v2(header: bytes) -> tuple[str, int] | None:
    """A whole v2 header: LOCAL keeps the peer, PROXY over TCP names the client.
    The TLVs after the addresses are skipped."""
    command = header[12] & 0x0F
    family = header[13]
    block = header[16:]
    if command == 0x00:
        return None  # LOCAL: the proxy's own connection (a health check)
    if command != 0x01:
        raise ProxyHeaderError(
            f"AH03507: RemoteIPProxyProtocol: unsupported command {header[12]:02x}"
        )
    if family == 0x11:
        size = 12
    elif family == 0x21:
        size = 36
    else:
        raise ProxyHeaderError(f"AH10183: RemoteIPProxyProtocol: unsupported protocol {family:02x}")
    if len(block) < size:
        # mod_remoteip would read past the declared length; a short block is refused.
        raise ProxyHeaderError(
            f"RemoteIPProxyProtocol: address block of {len(block)} bytes is too short for "
            f"protocol {family:02x}"
        )
    length = 4 if size == 12 else 16
    address = ipaddress.ip_address(block[:length])
    (port,) = struct.unpack_from("!H", block, 2 * length)
    return str(address), port


class ProxiedTransport:
    """The connection's transport as the protocol above sees it: the client the
    PROXY header named as ``peername``, everything else the socket's."""

    def __init__(self, raw: Any, client: tuple[str, int], conn_peer: tuple[str, int]) -> None:
        self._raw = raw
        self._client = client
        self._conn_peer = conn_peer

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peername":
            return self._client
        if name == "wsgihost_conn_peer":
            return self._conn_peer
        return self._raw.get_extra_info(name, default)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)  # write, close, pause_reading, ...


Log = Callable[[str, str, str], None]  # (level, message, client "A:P")


class ProxyLayer(asyncio.Protocol):
    """The raw side of a connection on a listener some RemoteIPProxyProtocol covers."""

    def __init__(
        self,
        expects: Callable[[str, int, str], bool],
        make_inner: Callable[[], asyncio.Protocol],
        timeout: float,
        log: Log,
    ) -> None:
        self.expects = expects
        self.make_inner = make_inner
        self.timeout = timeout
        self.log = log
        self.raw: Any = None
        self.inner: asyncio.Protocol | None = None
        self.reader: HeaderReader | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.peer = ("", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.raw = transport
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        if isinstance(peer, tuple):
            self.peer = (_unmapped(peer[0]), peer[1])
        local_addr, local_port = (_unmapped(local[0]), local[1]) if local else ("", 0)
        if not self.expects(local_addr, local_port, self.peer[0]):
            self._start(transport)  # an exception, or another address: no header here
            return
        self.reader = HeaderReader()
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(self.timeout, self._late)

    def _start(self, transport: Any, rest: bytes = b"") -> None:
        inner = self.inner = self.make_inner()
        inner.connection_made(transport)
        if rest and not self.raw.is_closing():
            inner.data_received(rest)

    def data_received(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.data_received(data)
            return
        if self.reader is None or self.raw.is_closing():
            return
        try:
            found = self.reader.feed(data)
        except ProxyHeaderError as e:
            self._refuse(str(e))
            return
        if found is None:
            return
        header, rest = found
        self._stop_timer()
        self.reader = None
        client = header.client or self.peer
        self.log(
            "debug",
            f"RemoteIPProxyProtocol: received valid PROXY header: {client[0]}:{client[1]}",
            self._client(),
        )
        self._start(ProxiedTransport(self.raw, client, self.peer), rest)

    def _refuse(self, message: str) -> None:
        # mod_remoteip aborts the connection: nothing is answered.
        if message:
            self.log("error", message, self._client())
        else:
            self.log(
                "info",
                "RemoteIPProxyProtocol: the connection did not start with a PROXY header; closed",
                self._client(),
            )
        self._stop_timer()
        self.reader = None
        self.raw.abort()

    def _late(self) -> None:
        self.timer = None
        if self.inner is None and not self.raw.is_closing():
            self.log(
                "info", "RemoteIPProxyProtocol: no PROXY header in time; closed", self._client()
            )
            self.reader = None
            self.raw.abort()

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _client(self) -> str:
        return f"{self.peer[0]}:{self.peer[1]}"

    def eof_received(self) -> bool | None:
        if self.inner is not None:
            return self.inner.eof_received()
        return None  # closed: a header cut short is no header

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        if self.inner is not None:
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()


def _unmapped(addr: str) -> str:
    return addr[7:] if addr.startswith("::ffff:") and "." in addr else addr


def layered(worker: Any, make_inner: Callable[[], asyncio.Protocol]) -> Callable[[], ProxyLayer]:
    """A listener's protocol factory with the PROXY layer under it (a front-end
    worker's: its server's RemoteIPProxyProtocol settings, its main error log)."""
    from wsgihost.logs import ErrorLog

    server = worker.server
    settings = server.proxy_protocol
    main = worker.logs.error_log(server.main)
    level = server.main.log_level or server.logging.level
    # mod_remoteip's lines say [remoteip:...], in the main server's error log.
    errors = ErrorLog(
        main.dest, level, module="remoteip", fmt=main.fmt, server_name=main.server_name
    )
    # The header is part of the request head's time (mod_reqtimeout's header stage).
    timeout = server.header_timeout or server.timeout

    def log(level: str, message: str, client: str) -> None:
        errors.log(level, message, client)

    return lambda: ProxyLayer(settings.expects, make_inner, timeout, log)
