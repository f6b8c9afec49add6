"""The backends a configuration names ("workers", as mod_proxy calls them).

Each ProxyPass URL defines one; a request's backend URL is served by the
worker whose URL is its longest prefix (``ap_proxy_get_worker``), which
gives it its parameters (timeouts, ``upgrade=``, reuse) and its pool of
idle keep-alive connections. Workers come only from the configuration: a
client's request can pick among them only through the paths ProxyPass maps.

A worker that refused a connection is left alone for ``retry=`` seconds (60
by default), answering 503 at once meanwhile, as Apache's error state does
(here per front-end process).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from wsgihost.config.mod_proxy import ProxyDir, ProxyRule, split_url
from wsgihost.config.model import DEFAULT_SETTINGS, Server
from wsgihost.revproxy.backend import Backend

IDLE_MAX = 32  # idle connections kept per worker
DEFAULT_RETRY = 60.0


@dataclass
class Worker:
    """One backend: where it is, how to talk to it, its idle connections."""

    name: str  # the URL that defined it (up to any $ of a ProxyPassMatch)
    scheme: str
    host: str
    port: int
    timeout: float | None = None  # timeout=; None: ProxyTimeout, else Timeout
    connect_timeout: float | None = None
    retry: float = DEFAULT_RETRY
    upgrade: str | None = None  # upgrade=: the protocol a client may switch to
    reuse: bool = True
    socket: str | None = None  # a Unix socket's path (unix:/path|http://...)
    idle: list[Backend] = field(default_factory=list)
    failed_until: float = 0.0  # error state: refuse at once until then

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def take(self) -> Backend | None:
        """An idle connection still open, most recently used first."""
        while self.idle:
            conn = self.idle.pop()
            if conn.reusable:
                return conn
            conn.close()
        return None

    def give(self, conn: Backend) -> None:
        if self.reuse and conn.reusable and len(self.idle) < IDLE_MAX:
            self.idle.append(conn)
        else:
            conn.close()

    async def connect(self, timeout: float) -> Backend:
        """A new connection (OSError or TimeoutError when it cannot be had)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            if self.socket is not None:
                _, protocol = await loop.create_unix_connection(Backend, self.socket)
            else:
                _, protocol = await loop.create_connection(Backend, self.host, self.port)
        return protocol


def _worker(rule: ProxyRule) -> Worker | None:
    name = rule.url.split("$", 1)[0] if rule.regex else rule.url
    parts = split_url(name if "://" in name else rule.url)
    if parts is None:
        return None
    scheme, host, port, _ = parts
    worker = Worker(name, scheme, host, port, socket=rule.socket)
    params = dict(rule.params)
    if "timeout" in params:
        worker.timeout = float(params["timeout"])
    if "connectiontimeout" in params:
        worker.connect_timeout = float(params["connectiontimeout"])
    if "retry" in params:
        worker.retry = float(params["retry"])
    upgrade = params.get("upgrade")
    if scheme == "ws":
        upgrade = upgrade or "websocket"
    worker.upgrade = upgrade
    if params.get("disablereuse", "").lower() == "on":
        worker.reuse = False
    if rule.regex and "$" in rule.url:
        # Its address may change with each substitution: Apache never reuses these.
        worker.reuse = False
    return worker


class Workers:
    """Every worker of one configuration, found by URL."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.by_name: dict[str, Worker] = {}
        for rule in _rules(server):
            if rule.url == "!" or rule.url in self.by_name:
                continue
            worker = _worker(rule)
            if worker is not None:
                self.by_name[worker.name] = worker
        # Longest first: the first prefix that matches is the longest.
        self.ordered = sorted(self.by_name.values(), key=lambda w: -len(w.name))

    def find(self, url: str) -> Worker | None:
        low = url.lower()
        for worker in self.ordered:
            if low.startswith(worker.name.lower()):
                return worker
        return None

    def close_all(self) -> None:
        for worker in self.ordered:
            for conn in worker.idle:
                conn.close()
            worker.idle.clear()


def _rules(server: Server) -> list[ProxyRule]:
    found: list[ProxyRule] = []
    for host in (server.main, *server.vhosts):
        scopes = [host.settings] + [s.settings for s in host.sections]
        for settings in scopes:
            proxy = settings.proxy
            if proxy is None:
                continue
            found += proxy.passes
            if proxy.here is not None:
                found.append(proxy.here)
    return found


def host_proxy(server: Server, host_settings: object) -> ProxyDir:
    """A host's mod_proxy settings merged over the main server's."""
    merged = DEFAULT_SETTINGS.merge(server.main.settings)
    if host_settings is not server.main.settings:
        merged = merged.merge(host_settings)  # type: ignore[arg-type]
    return merged.proxy or ProxyDir()


_cache: dict[int, Workers] = {}


def workers_of(server: Server) -> Workers:
    """The workers of ``server`` (made once per configuration, per process)."""
    found = _cache.get(id(server))
    if found is None or found.server is not server:
        for old in _cache.values():
            old.close_all()
        _cache.clear()
        found = _cache[id(server)] = Workers(server)
    return found


def now() -> float:
    return time.monotonic()
