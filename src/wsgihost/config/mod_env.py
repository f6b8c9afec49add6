"""mod_env's directives: ``SetEnv``, ``UnsetEnv`` and ``PassEnv``.

Pure (``PassEnv`` reads the environment the configuration is read in, as
Apache's ``getenv`` at start-up). The variables become the request's
environment (Apache's ``r->subprocess_env``) in the fixups phase
(:mod:`wsgihost.mods.env`), and mod_wsgi hands that environment to the app
in its WSGI environ, in both modes.

Apache's tables compare names without regard to case, so ``SetEnv foo``
replaces an inherited ``FOO`` (keeping the first spelling), as here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from wsgihost.config.draft import Context
from wsgihost.config.table import ANY, Directive, record


@dataclass(frozen=True)
class EnvSettings:
    """One scope's mod_env configuration (Apache's env_dir_config_rec).

    ``vars`` are the variables set here, in order, each name once (compared
    without case); ``unset`` the names this scope's UnsetEnv takes away from
    what it inherits. An UnsetEnv after a SetEnv of the same name in one scope
    removes that SetEnv too; one before it does not.
    """

    vars: tuple[tuple[str, str], ...] = ()
    unset: tuple[str, ...] = ()

    def merge(self, over: EnvSettings) -> EnvSettings:
        """``over`` (a deeper scope) on top: its UnsetEnv names removed from these
        variables, then its own set (Apache's merge_env_dir_configs)."""
        gone = {name.lower() for name in over.unset}
        kept = tuple((n, v) for n, v in self.vars if n.lower() not in gone)
        merged = EnvSettings(kept)
        for name, value in over.vars:
            merged = merged.setting(name, value)
        return merged  # the unset names did their work: a merged scope has none

    def setting(self, name: str, value: str) -> EnvSettings:
        """These settings with ``name`` set to ``value`` (apr_table_set: the first
        entry of that name keeps its place and spelling, with the new value)."""
        key = name.lower()
        found = False
        out: list[tuple[str, str]] = []
        for n, v in self.vars:
            if n.lower() == key:
                if not found:
                    out.append((n, value))
                found = True
            else:
                out.append((n, v))
        if not found:
            out.append((name, value))
        return replace(self, vars=tuple(out))

    def unsetting(self, name: str) -> EnvSettings:
        """These settings with ``name`` removed here and from what is inherited."""
        key = name.lower()
        unset = self.unset if key in (u.lower() for u in self.unset) else (*self.unset, name)
        return EnvSettings(tuple((n, v) for n, v in self.vars if n.lower() != key), unset)


def _current(ctx: Context) -> EnvSettings:
    return ctx.dir.settings.env or EnvSettings()


def _store(ctx: Context, env: EnvSettings) -> None:
    ctx.dir.settings = replace(ctx.dir.settings, env=env)


def _set_env(ctx: Context, args: list[str]) -> None:
    name = args[0]
    if "=" in name:
        # Apache's AH10032 warning, word for word in substance: likely a mistake.
        first, _, rest = name.partition("=")
        ctx.warn(
            f"spurious usage of '=' in an environment variable name; "
            f"'SetEnv {first} {rest}' expected instead?"
        )
    _store(ctx, _current(ctx).setting(name, args[1] if len(args) > 1 else ""))


def _unset_env(ctx: Context, args: list[str]) -> None:
    env = _current(ctx)
    for name in args:
        env = env.unsetting(name)
    _store(ctx, env)


def _pass_env(ctx: Context, args: list[str]) -> None:
    env = _current(ctx)
    for name in args:
        value = os.environ.get(name)
        if value is None:
            ctx.warn(f"PassEnv variable {name} was undefined")  # Apache's AH01506 (a warning)
            continue
        env = env.setting(name, value)
    _store(ctx, env)


_WHERE = (
    " Allowed in the server, a virtual host, <Directory>, <Location>, <Files> and "
    ".htaccess (AllowOverride FileInfo); a deeper scope's variables replace those of "
    "the same name, and reach the app's environ in both modes (mod_wsgi passes the "
    "request's environment), after the request's own CGI variables: a SetEnv of "
    "HTTP_HOST or REMOTE_ADDR does not change what the request says."
)

DIRECTIVES: tuple[Directive, ...] = (
    record(
        "SetEnv",
        "SetEnv name [value]",
        ANY,
        (1, 2),
        "",
        "Sets a request environment variable (the value empty when not given)." + _WHERE,
        _set_env,
        module="mod_env",
    ),
    record(
        "UnsetEnv",
        "UnsetEnv name [name] ...",
        ANY,
        (1, None),
        "",
        "Removes variables set by SetEnv or PassEnv in an enclosing scope (and in this "
        "one, by lines above it)." + _WHERE,
        _unset_env,
        module="mod_env",
    ),
    record(
        "PassEnv",
        "PassEnv name [name] ...",
        ANY,
        (1, None),
        "",
        "Passes variables of the environment the server starts in (a name it does not "
        "have is a warning, as in Apache)." + _WHERE,
        _pass_env,
        module="mod_env",
    ),
)
