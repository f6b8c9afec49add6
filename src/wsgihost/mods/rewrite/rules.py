"""mod_rewrite's configuration: conditions, rules, maps, and how scopes merge.

Pure. ``RewriteCond`` and ``RewriteRule`` lines are parsed here into frozen
records (:func:`parse_cond`, :func:`parse_rule` return the record or the
message Apache gives, which :mod:`wsgihost.config.mod_rewrite` reports with
the file and line). :class:`RewriteDir` is the module's one field in
``DirSettings``: the per-directory configuration (``<Directory>``,
``.htaccess``), and, at host level, the server configuration as well
(:class:`RewriteServer`: the vhost's rules and maps), which Apache keeps
apart from the per-directory one and merges its own way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from wsgihost.mods.rewrite.regex import ap_regcomp

# mods/redirect.py (RedirectMatch) compiles its patterns as these are compiled,
# under this name (wsgihost.mods.rewrite.regex.ap_regcomp is the public one).
_compile = ap_regcomp

# Apache's REWRITE_MAX_ROUNDS: the [N] flag's default limit of rounds.
MAX_ROUNDS = 32000

OPTIONS = {
    "inherit": "Inherit",
    "inheritbefore": "InheritBefore",
    "inheritdown": "InheritDown",
    "inheritdownbefore": "InheritDownBefore",
    "ignoreinherit": "IgnoreInherit",
    "allownoslash": "AllowNoSlash",
    "allowanyuri": "AllowAnyURI",
    "mergebase": "MergeBase",
    "ignorecontextinfo": "IgnoreContextInfo",
    "legacyprefixdocroot": "LegacyPrefixDocRoot",
    "unsafeprefixstat": "UnsafePrefixStat",
}


@dataclass(frozen=True)
class Cond:
    """One ``RewriteCond TestString CondPattern [flags]``."""

    test: str  # expanded per request
    kind: str  # "regex", "expr", "-f" ... "-F", "=", "<", "<=", ">", ">=", "-eq" ...
    pattern: str  # what is compared (the operator taken off)
    regex: re.Pattern[str] | None = None
    negate: bool = False
    nocase: bool = False
    ornext: bool = False
    novary: bool = False
    # kind "expr": the ap_expr text, checked when read and compiled where it runs
    # (a compiled one cannot be sent to the worker processes).
    expr: str | None = None


@dataclass(frozen=True)
class Rule:
    """One ``RewriteRule Pattern Substitution [flags]`` with the conditions before it."""

    pattern: str
    regex: re.Pattern[str]
    output: str
    conds: tuple[Cond, ...] = ()
    negate: bool = False
    flags: frozenset[str] = frozenset()
    status: int = 302  # R=, F (403), G (410)
    skip: int = 0
    max_rounds: int = MAX_ROUNDS
    env: tuple[str, ...] = ()  # E=VAR:VAL, E=!VAR (expanded per request)
    cookies: tuple[str, ...] = ()  # CO=
    mime: str | None = None  # T=
    handler: str | None = None  # H=
    escapes: str | None = None  # B=chars
    noescapes: str | None = None  # BNE=chars


@dataclass(frozen=True)
class MapSpec:
    """``RewriteMap name type:source``: txt and rnd files, int: functions."""

    kind: str  # "txt" | "rnd" | "int"
    source: str  # the file, or the function's name


@dataclass(frozen=True)
class RewriteServer:
    """What Apache keeps per server (rewrite_server_conf): the vhost's rules and maps."""

    engine: bool | None = None
    options: frozenset[str] | None = None
    rules: tuple[Rule, ...] = ()
    pending: tuple[Cond, ...] = ()  # conditions still waiting for their rule
    maps: tuple[tuple[str, MapSpec], ...] = ()

    def merge(self, over: RewriteServer) -> RewriteServer:
        """The main server's configuration under a virtual host's (config_server_merge)."""
        options = over.options if over.options is not None else self.options
        opts = options or frozenset()
        base_opts = self.options or frozenset()
        ignore = "IgnoreInherit" in opts
        maps = dict(self.maps)
        if "Inherit" in opts or ("InheritDown" in base_opts and not ignore):
            maps.update(dict(over.maps))  # the vhost's own win
            rules = over.rules + self.rules
        elif "InheritBefore" in opts or ("InheritDownBefore" in base_opts and not ignore):
            # apr_hash_overlay(base, overrides): the main server's entries win.
            maps = {**dict(over.maps), **dict(self.maps)}
            rules = self.rules + over.rules
        else:
            maps = dict(over.maps)
            rules = over.rules
        return RewriteServer(
            engine=over.engine if over.engine is not None else self.engine,
            options=options,
            rules=rules,
            maps=tuple(maps.items()),
        )

    def map(self, name: str) -> MapSpec | None:
        for key, spec in self.maps:
            if key == name:
                return spec
        return None


@dataclass(frozen=True)
class RewriteDir:
    """The per-directory configuration (rewrite_perdir_conf); ``server`` is set at
    host level only, where RewriteRule and RewriteMap write the server's."""

    engine: bool | None = None
    options: frozenset[str] | None = None
    base: str | None = None  # RewriteBase
    base_set: bool = False
    directory: str | None = None  # the section's path, with a trailing slash
    rules: tuple[Rule, ...] = ()
    pending: tuple[Cond, ...] = ()
    server: RewriteServer | None = field(default=None, compare=False)

    def merge(self, over: RewriteDir) -> RewriteDir:
        """``over`` (a deeper section or .htaccess) on these (config_perdir_merge)."""
        options = over.options if over.options is not None else self.options
        opts = options or frozenset()
        base_opts = self.options or frozenset()
        ignore = "IgnoreInherit" in opts
        if "MergeBase" in opts:
            base = over.base if over.base_set else self.base
            base_set = over.base_set or self.base_set
        else:
            base, base_set = over.base, over.base_set
        if "Inherit" in opts or ("InheritDown" in base_opts and not ignore):
            rules = over.rules + self.rules
        elif "InheritBefore" in opts or ("InheritDownBefore" in base_opts and not ignore):
            rules = self.rules + over.rules
        else:
            rules = over.rules
        return RewriteDir(
            engine=over.engine if over.engine is not None else self.engine,
            options=options,
            base=base,
            base_set=base_set,
            directory=over.directory,
            rules=rules,
            server=over.server if over.server is not None else self.server,
        )

    def with_options(self, added: frozenset[str]) -> RewriteDir:
        return replace(self, options=(self.options or frozenset()) | added)
