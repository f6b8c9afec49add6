"""TLS between the client's socket and a :class:`~wsgihost.frontend.connection.Connection`.

Runs in the front-end workers. A listener some TLS virtual host may answer
on gets :class:`TlsProtocol` instead of a bare Connection. Per connection,
as mod_ssl decides it, the virtual host the address alone picks (the first
on it) says whether it speaks TLS; SNI then picks the host whose
certificate is shown (one SSLContext per host, switched in the SNI
callback). TLS runs over memory BIOs rather than asyncio's own SSL so that:

- a plain HTTP request to the TLS port gets Apache's plain-text 400
  ("You're speaking plain HTTP to an SSL-enabled server port") instead of a
  reset;
- the Connection above sees an ordinary transport (:class:`TlsTransport`),
  with the raw transport's flow control, and ``socket`` hidden so that
  static files are written through TLS rather than by sendfile;
- a close sends close_notify first.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import TYPE_CHECKING, Any

from wsgihost import httpcore, tls
from wsgihost.config.model import Host, Server, Where
from wsgihost.frontend.connection import Connection, Home
from wsgihost.logs import AccessRecord
from wsgihost.routing import host_name

if TYPE_CHECKING:
    from wsgihost.routing import Router

_READ = 256 * 1024
PLAIN_HTTP_NOTE = (
    "Reason: You're speaking plain HTTP to an SSL-enabled server port.<br />\n"
    " Instead use the HTTPS scheme to access this URL, please.<br />\n"
)


class Sites:
    """The TLS hosts of one worker: their contexts, built while the worker is root."""

    def __init__(self, server: Server, router: Router) -> None:
        self.router = router
        self.contexts: dict[Where, ssl.SSLContext] = {}
        self.certs: dict[Where, tls.ServerCert] = {}
        self.ports: set[int] = set()
        self.any_port = False
        hosts = [h for h in (server.main, *server.vhosts) if h.tls is not None]
        for host in hosts:
            assert host.tls is not None
            siblings = tuple(
                h.tls
                for h in hosts
                if h.tls is not None and h is not host and _share_a_port(h, host)
            )
            ctx = tls.context(host.tls, siblings)
            ctx.sni_callback = self._on_sni
            self.contexts[host.where] = ctx
            self.certs[host.where] = tls.ServerCert.load(host.tls)
            if host is server.main or not host.addresses:
                self.any_port = True
            for address in host.addresses:
                if address.port is None:
                    self.any_port = True
                else:
                    self.ports.add(address.port)

    def __bool__(self) -> bool:
        return bool(self.contexts)

    def on_port(self, port: int) -> bool:
        """Might a connection to ``port`` be a TLS one?"""
        return self.any_port or port in self.ports

    def name_based(self, local: tuple[str, int]) -> bool:
        """Do several virtual hosts share this address (name-based hosting)?"""
        return len(self.router._candidates(local[0], local[1])) > 1

    def host_for(self, local: tuple[str, int], name: str | None) -> Host:
        return self.router.host(local[0], local[1], name.encode("latin-1") if name else None)

    def _on_sni(self, obj: Any, name: str | None, _ctx: ssl.SSLContext) -> int | None:
        state: TlsProtocol | None = getattr(obj, "wsgihost_state", None)
        if state is None or not name:
            return None
        host = self.host_for(state.local, name)
        ctx = self.contexts.get(host.where)
        state.sni = name
        if ctx is not None:
            obj.context = ctx
            state.handshake_host = host
        return None


def _share_a_port(a: Host, b: Host) -> bool:
    """May one connection reach both hosts (by SNI)? The main server and a host
    with a port-less address count as on every port."""
    ports_a = {x.port for x in a.addresses} or {None}
    ports_b = {x.port for x in b.addresses} or {None}
    return None in ports_a or None in ports_b or bool(ports_a & ports_b)


class TlsTransport:
    """What the Connection writes to: encrypts into the raw transport."""

    def __init__(self, layer: TlsProtocol) -> None:
        self._layer = layer
        self._closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing:
            return
        self._layer.send(bytes(data))

    def writelines(self, parts: list[bytes]) -> None:
        self.write(b"".join(parts))

    def can_write_eof(self) -> bool:
        return False  # TLS has close_notify, not a half close

    def write_eof(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self._layer.shutdown()

    def abort(self) -> None:
        self._closing = True
        self._layer.raw.abort()

    def is_closing(self) -> bool:
        return self._closing or self._layer.raw.is_closing()

    def pause_reading(self) -> None:
        self._layer.raw.pause_reading()

    def resume_reading(self) -> None:
        self._layer.raw.resume_reading()

    def get_write_buffer_size(self) -> int:
        return int(self._layer.raw.get_write_buffer_size())

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._layer.raw.set_write_buffer_limits(high=high, low=low)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "socket":
            return None  # no sendfile: the bytes must go through TLS
        if name == "ssl_object":
            return self._layer.obj
        if name == "wsgihost_tls":
            return self._layer
        return self._layer.raw.get_extra_info(name, default)


class TlsProtocol(asyncio.Protocol):
    """The raw side of one client connection on a listener that may speak TLS."""

    def __init__(self, sites: Sites, worker: Home) -> None:
        self.sites = sites
        self.worker = worker
        self.raw: Any = None
        self.inner: Connection | None = None
        self.obj: ssl.SSLObject | None = None
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.local: tuple[str, int] = ("", 0)
        self.sni: str | None = None
        self.default_host: Host | None = None
        self.handshake_host: Host | None = None
        self.plain = False  # the host the address picks is not a TLS one
        self.started = False
        self.done = False  # handshake finished
        self.env: dict[str, str] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.plain_buf = b""

    # -- the raw transport's events --------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.raw = transport
        local = transport.get_extra_info("sockname")
        if isinstance(local, tuple):
            address = local[0][7:] if local[0].startswith("::ffff:") else local[0]
            self.local = (address, local[1])
        host = self.sites.host_for(self.local, None)
        ctx = self.sites.contexts.get(host.where)
        if ctx is None:
            self.plain = True
            self.inner = Connection(self.worker)
            self.inner.connection_made(transport)
            return
        self.default_host = self.handshake_host = host
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.obj.wsgihost_state = self  # type: ignore[attr-defined]  # for the SNI callback
        # The handshake has Timeout (as Apache's, with no handshake= timeout).
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(self.worker.server.timeout, self._handshake_timeout)

    def data_received(self, data: bytes) -> None:
        if self.plain:
            assert self.inner is not None
            self.inner.data_received(data)
            return
        if not self.started:
            self.started = True
            if data[:1] != b"\x16":  # not a TLS handshake record: plain HTTP
                self._plain_http(data)
                return
        if self.obj is None:  # plain HTTP, being answered or answered already
            self._plain_http(data)
            return
        self.incoming.write(data)
        if not self.done:
            self._handshake()
            if not self.done:
                return
        self._read()

    def eof_received(self) -> bool | None:
        if self.inner is not None and self.done:
            return self.inner.eof_received()
        if self.plain and self.inner is not None:
            return self.inner.eof_received()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.inner is not None:
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    # -- TLS ------------------------------------------------------------------------------

    def _handshake(self) -> None:
        assert self.obj is not None
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return
        except (ssl.SSLError, OSError) as e:
            self._flush()
            self._fail(e)
            return
        self._flush()
        self.done = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        host = self.handshake_host
        if (
            host is not None
            and host.tls is not None
            and host.tls.verify_client == "require"
            and not self.obj.getpeercert(binary_form=True)
        ):
            # The port asked without demanding (its hosts differ): this one demands.
            self._fail(ssl.SSLError("peer did not return a certificate"))
            return
        inner = Connection(self.worker)
        self.inner = inner
        inner.connection_made(TlsTransport(self))  # type: ignore[arg-type]  # duck-typed

    def _fail(self, e: Exception) -> None:
        reason = getattr(e, "reason", None) or str(e)
        self.worker.log.info(f"SSL handshake with {self._peer()} failed: {reason}")
        self.raw.close()

    def _peer(self) -> str:
        peer = self.raw.get_extra_info("peername")
        return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "a client"

    def _handshake_timeout(self) -> None:
        self.timer = None
        if not self.done:
            self.raw.abort()

    def _read(self) -> None:
        assert self.obj is not None and self.inner is not None
        chunks = []
        ended = False
        while True:
            try:
                chunk = self.obj.read(_READ)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                ended = True
                break
            except (ssl.SSLError, OSError):
                self.raw.abort()
                return
            if not chunk:
                ended = True
                break
            chunks.append(chunk)
        self._flush()  # TLS 1.3 session tickets, key updates
        if chunks:
            self.inner.data_received(b"".join(chunks))
        if ended and not self.raw.is_closing() and not self.inner.eof_received():
            self.shutdown()

    def send(self, data: bytes) -> None:
        if self.obj is None or not data:
            return
        try:
            self.obj.write(data)
        except (ssl.SSLError, OSError):
            self.raw.abort()
            return
        self._flush()

    def shutdown(self) -> None:
        """close_notify, then close the raw transport once it has gone out."""
        if self.obj is not None and self.done:
            try:
                self.obj.unwrap()
            except (ssl.SSLError, OSError):
                pass  # SSLWantReadError: we do not wait for the client's close_notify
            self._flush()
        self.raw.close()

    def _flush(self) -> None:
        data = self.outgoing.read()
        if data and not self.raw.is_closing():
            self.raw.write(data)

    # -- what the app and the log see ---------------------------------------------------

    def environ(self, options: set[str]) -> dict[str, str]:
        """SSL_TLS_SNI always; the rest with StdEnvVars (mod_ssl's Fixup hook).

        mod_ssl's HTTPS=on never reaches a WSGI app: mod_wsgi leaves it out of
        the environ it builds (wsgi.url_scheme says https), so wsgihost does too.
        """
        assert self.obj is not None
        env: dict[str, str] = {}
        std = "StdEnvVars" in options
        export = "ExportCertData" in options
        if std or export:
            if self.env is None:
                host = self.handshake_host or self.default_host
                assert host is not None and host.tls is not None
                cert = self.sites.certs.get(host.where) or tls.ServerCert({}, "")
                self.env = tls.connection_vars(
                    self.obj, self.sni, cert, host.tls.verify_client or "none", True
                )
            full = self.env
            if std:
                env.update(
                    (k, v)
                    for k, v in full.items()
                    if k not in ("SSL_CLIENT_CERT", "SSL_SERVER_CERT")
                )
            if export:
                for key in ("SSL_CLIENT_CERT", "SSL_SERVER_CERT"):
                    if key in full:
                        env[key] = full[key]
        elif self.sni:
            env["SSL_TLS_SNI"] = self.sni
        return env

    def log_var(self, name: str) -> str | None:
        """%{SSL_...}x in LogFormat."""
        if self.obj is None:
            return None
        if name == "SSL_PROTOCOL":
            return self.obj.version()
        if name == "SSL_CIPHER":
            cipher = self.obj.cipher()
            return cipher[0] if cipher else None
        if name == "HTTPS":
            return "on"
        if name == "SSL_TLS_SNI":
            return self.sni
        return self.environ({"StdEnvVars"}).get(name)

    def refusal(self, host: Host, named: bytes | None, client: str | None = None) -> int:
        """The status mod_ssl's post-read-request hook answers for a request for ``host``
        (``named``: the host the request names, if any), or 0; the reason is logged as
        mod_ssl logs it."""
        log = self.worker.logs.error_log(host)
        if self.sni and not named:
            log.error(
                f"AH02031: Hostname {self.sni} provided via SNI, but no hostname provided "
                "in HTTP request",
                client,
            )
            return 400
        if self.misdirected(host):
            log.error(
                f"AH02032: Hostname {self.sni} provided via SNI and hostname "
                f"{host_name(named)} provided via HTTP have no compatible SSL setup "
                "for policy 'secure'",  # Apache 2.4.71's words (Debian's)
                client,
            )
            return 421
        shook = self.handshake_host
        strict = any(
            h is not None and h.tls is not None and h.tls.strict_sni for h in (host, shook)
        )
        if strict and not self.sni and self.sites.name_based(self.local):
            return 403
        return 0

    def client_cert(self) -> bool:
        """Whether the client presented a certificate (one that fails verification
        ends the handshake, so any it presented is verified)."""
        return self.obj is not None and bool(self.obj.getpeercert(binary_form=True))

    def verified_client_dn(self) -> str | None:
        """The subject (X509_NAME_oneline form) of the client certificate this
        connection verified, or None: none presented, or the handshake's host does
        not verify (a port whose hosts differ may have taken one it never checks)."""
        host = self.handshake_host
        if self.obj is None or host is None or host.tls is None:
            return None
        if (host.tls.verify_client or "none") == "none":
            return None
        der = self.obj.getpeercert(binary_form=True)
        return tls.oneline_dn(der) if der else None

    def fake_basic_auth(self, host: Host, section_options: tuple[str, ...]) -> bool:
        """Whether SSLOptions +FakeBasicAuth is on for a request of ``host`` and section."""
        settings = host.tls or (self.handshake_host.tls if self.handshake_host else None)
        options = tls.options_on(settings.options if settings else (), section_options)
        return "FakeBasicAuth" in options

    def request_environ(self, host: Host, section_options: tuple[str, ...]) -> dict[str, str]:
        settings = host.tls or (self.handshake_host.tls if self.handshake_host else None)
        options = tls.options_on(settings.options if settings else (), section_options)
        return self.environ(options)

    def misdirected(self, host: Host) -> bool:
        """mod_ssl's check: a request for a host whose TLS setup differs from the handshake's."""
        shook = self.handshake_host
        if not self.sni or shook is None or host is shook:
            return False
        if host.tls is None or shook.tls is None:
            return False  # Apache serves a plain host's request on the connection
        return not tls.compatible(shook.tls, host.tls)

    # -- plain HTTP on a TLS port -----------------------------------------------------------

    def _plain_http(self, data: bytes) -> None:
        """Apache reads the request head in plain and answers 400 with the reason."""
        if self.raw.is_closing():
            return  # answered: the rest is not read
        self.obj = None
        self.plain_buf += data
        ended = self.plain_buf.find(b"\r\n\r\n") >= 0 or self.plain_buf.find(b"\n\n") >= 0
        if not ended and len(self.plain_buf) < 16384:
            return
        response = httpcore.error_response(400, notes=PLAIN_HTTP_NOTE)
        self.raw.write(response)
        self.raw.close()
        self._log_plain(len(response) - response.index(b"\r\n\r\n") - 4)

    def _log_plain(self, size: int) -> None:
        """The access-log line Apache writes: mod_ssl hands the core a made-up
        "GET / HTTP/1.0" in place of what the client sent, and that is logged."""
        record = AccessRecord()
        peer = self.raw.get_extra_info("peername")
        if isinstance(peer, tuple):
            address = peer[0][7:] if peer[0].startswith("::ffff:") else peer[0]
            record.client_addr, record.client_port = address, peer[1]
        record.method, record.target, record.version = "GET", "/", "HTTP/1.0"
        record.request_line = "GET / HTTP/1.0"
        record.status = 400
        record.bytes_sent = record.bytes_out = size
        record.start = time.time()
        host = self.default_host or self.worker.server.main
        record.server_name = host.server_name or self.worker.server.main.server_name or ""
        record.server_port = self.local[1]
        for log in self.worker.logs.access_logs(host):
            log.log(record)
