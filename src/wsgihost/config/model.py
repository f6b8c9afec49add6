"""The immutable model of what a server runs.

``wsgihost serve SCRIPT`` builds one directly from its options; the Apache
configuration reader builds one from a site file. The master and the
front-end workers act on it; nothing in it opens a socket or a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Listener:
    """A TCP address to listen on."""

    host: str
    port: int

    def url(self, port: int | None = None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port if port is None else port}"


@dataclass(frozen=True)
class Limits:
    """Request limits, with Apache's defaults and meanings."""

    request_line: int = 8190  # LimitRequestLine -> 414
    field_size: int = 8190  # LimitRequestFieldSize -> 431
    fields: int = 100  # LimitRequestFields -> 431
    body: int = 1 << 30  # LimitRequestBody (Apache 2.4.54+: 1 GiB); 0 = unlimited -> 413


@dataclass(frozen=True)
class WSGIApp:
    """A WSGI script mounted at a URL path (``WSGIScriptAlias``)."""

    mount: str
    script: str
    callable_object: str = "application"
    application_group: str | None = None
    process_group: str = ""
    pass_authorization: bool = False
    script_reloading: bool = True


@dataclass(frozen=True)
class Logging:
    error_log: str | None = None  # None: standard error
    access_log: str | None = None  # None: standard output
    access_format: str = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"'
    level: str = "warn"


@dataclass(frozen=True)
class Server:
    """Everything one master runs."""

    listeners: tuple[Listener, ...]
    apps: tuple[WSGIApp, ...]
    processes: int = 2  # front-end worker processes (StartServers)
    threads: int = 15  # embedded-mode threads per worker (ThreadsPerChild)
    keepalive: bool = True
    keepalive_timeout: float = 5.0
    max_keepalive_requests: int = 0  # 0 = unlimited, as in Apache
    header_timeout: float = 20.0  # deadline for a request head (mod_reqtimeout's header=20)
    graceful_timeout: float = 30.0
    listen_backlog: int = 511  # ListenBacklog, as in Apache
    limits: Limits = field(default_factory=Limits)
    logging: Logging = field(default_factory=Logging)
