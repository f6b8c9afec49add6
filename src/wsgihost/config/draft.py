"""Mutable drafts of the model, filled in while the builder walks the parsed tree.

Pure. The directive table's apply functions write into these through a
:class:`Context`, which also knows where the directive being applied was
written, so a function only says what is wrong and the context says where.
The builder freezes the drafts into the immutable model
(:mod:`wsgihost.config.model`) once the whole tree has been walked, because
some checks need all of it (a ``WSGIProcessGroup`` may name a group defined
further down).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from wsgihost.config.model import (
    Address,
    Alias,
    Conditions,
    DaemonGroup,
    DirSettings,
    Limits,
    Listener,
    Server,
    TlsSettings,
    Where,
)
from wsgihost.config.problems import Problems

if TYPE_CHECKING:
    from wsgihost.access.rules import Methods
    from wsgihost.config.mod_alias import RedirectRule
    from wsgihost.config.mod_if import ConditionDraft
    from wsgihost.config.mod_remoteip import ProxyProtocolSettings, RemoteIPSettings

Level = Literal["server", "vhost", "directory"]


@dataclass
class DirDraft:
    """Per-directory settings being collected for one scope."""

    settings: DirSettings = field(default_factory=DirSettings)
    require: str | None = None
    # <If>/<ElseIf>/<Else> sections of this scope, in order (config/mod_if.py).
    conditions: list[ConditionDraft] = field(default_factory=list)

    def freeze(self) -> DirSettings:
        settings = self.settings
        if self.conditions:
            frozen = tuple(c.freeze() for c in self.conditions)
            settings = replace(settings, conditions=Conditions(frozen))
        return replace(settings, require=self.require)


@dataclass
class SectionDraft:
    kind: str  # "directory" | "location" | "files"
    pattern: str
    regex: bool
    where: Where
    dir: DirDraft = field(default_factory=DirDraft)
    within: SectionDraft | None = None  # the <Directory> around a nested <Files>


@dataclass
class AccessLogDraft:
    """A ``CustomLog``/``TransferLog``; a nickname is resolved when the tree is done."""

    path: str
    format: str | None  # a literal format string
    nickname: str | None
    where: Where


@dataclass
class HostDraft:
    """The main server or one ``<VirtualHost>``."""

    where: Where
    main: bool
    addresses: list[Address] = field(default_factory=list)
    server_name: str | None = None
    server_aliases: list[str] = field(default_factory=list)
    document_root: str | None = None
    server_admin: str | None = None
    aliases: list[Alias] = field(default_factory=list)
    dir: DirDraft = field(default_factory=DirDraft)
    sections: list[SectionDraft] = field(default_factory=list)
    error_log: str | None = None
    access_logs: list[AccessLogDraft] = field(default_factory=list)
    log_formats: dict[str, str] = field(default_factory=dict)  # LogFormat nicknames
    default_format: str | None = None  # LogFormat without a nickname (TransferLog)
    log_level: str | None = None
    trace_enable: str | None = None
    groups: list[DaemonGroup] = field(default_factory=list)
    group_options: dict[str, frozenset[str]] = field(default_factory=dict)  # given, by group
    redirects: list[RedirectRule] = field(default_factory=list)  # mod_alias, host level
    remoteip: RemoteIPSettings | None = None  # mod_remoteip (config/mod_remoteip.py)


@dataclass
class GroupRef:
    """A use of a daemon process group name, checked once every group is known."""

    name: str
    where: Where
    host: HostDraft
    what: str  # the directive or option that named it


@dataclass
class ServerDraft:
    """The server being built; ``model`` holds the plain scalar settings."""

    server_root: str
    main: HostDraft
    model: Server = field(default_factory=lambda: Server(listeners=()))
    limits: Limits = field(default_factory=Limits)
    vhosts: list[HostDraft] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)
    import_scripts: list[tuple[str, str, str]] = field(default_factory=list)
    group_refs: list[GroupRef] = field(default_factory=list)
    extra_files: list[str] = field(default_factory=list)  # TypesConfig, for reloading
    # mod_ssl's settings by the ``where`` of their host (config/mod_ssl.py).
    tls: dict[Where, TlsSettings] = field(default_factory=dict)
    proxy_protocol: ProxyProtocolSettings | None = None  # RemoteIPProxyProtocol

    def set(self, **values: Any) -> None:
        self.model = replace(self.model, **values)

    def set_limit(self, **values: int) -> None:
        self.limits = replace(self.limits, **values)


class Context:
    """Where the builder is in the tree, and the directive it is applying."""

    def __init__(
        self,
        level: Level,
        server: ServerDraft,
        host: HostDraft,
        problems: Problems,
        section: SectionDraft | None = None,
    ) -> None:
        self.level = level
        self.server = server
        self.host = host
        self.problems = problems
        self.section = section
        self.file = ""
        self.line = 0
        self.name = ""
        # Inside <RequireAll>/<RequireAny>/<RequireNone> (config/mod_authz.py): the
        # path to the block in the scope's rule tree, and what to check at its end.
        self.authz_path: tuple[int, ...] | None = None
        self.on_close: Callable[[], None] | None = None
        # Inside <Limit>/<LimitExcept>: the methods its Require lines speak for.
        self.limit: Methods | None = None

    def at(self, file: str, line: int, name: str) -> Context:
        """Point at the directive about to be applied (``name`` as the table spells it)."""
        self.file, self.line, self.name = file, line, name
        return self

    def child(self, level: Level, host: HostDraft, section: SectionDraft | None) -> Context:
        return Context(level, self.server, host, self.problems, section)

    @property
    def where(self) -> Where:
        return Where(self.file, self.line)

    @property
    def dir(self) -> DirDraft:
        """The settings this directive writes to: its section's, else its host's."""
        return self.section.dir if self.section is not None else self.host.dir

    def error(self, message: str) -> None:
        self.problems.error(self.file, self.line, f"{self.name}: {message}")

    def warn(self, message: str) -> None:
        self.problems.warning(self.file, self.line, f"{self.name}: {message}")

    def path(self, path: str) -> str:
        """A file system path, relative ones taken from ``ServerRoot`` (as Apache does).

        A trailing slash is kept, because ``Alias`` and ``WSGIScriptAlias``
        give it a meaning.
        """
        full = path if os.path.isabs(path) else os.path.join(self.server.server_root, path)
        normal = os.path.normpath(full)
        return normal + "/" if path.endswith("/") and normal != "/" else normal
